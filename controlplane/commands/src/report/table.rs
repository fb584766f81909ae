//! Column-aligned text tables, the shape of every `show` text.

/// A column-aligned table; columns of numbers are right-aligned.
pub fn table(headers: &[String], rows: Vec<Vec<String>>) -> String {
    table_sections(headers, vec![rows])
}

/// A column-aligned table whose rows come in sections, a blank line between two
/// sections; every section is aligned with the others.
pub fn table_sections(headers: &[String], sections: Vec<Vec<Vec<String>>>) -> String {
    let columns = headers.len();
    let mut width: Vec<usize> = headers.iter().map(String::len).collect();
    // Right-aligned: columns of numbers (whole, decimal like `2226.1`, or percentages
    // like `20.1%`; '-' for none), with at least one number (a column of '-' only, like
    // a backup nothing has, is text).
    let is_number = |cell: &str| {
        cell.parse::<u64>().is_ok()
            || cell
                .strip_suffix('%')
                .unwrap_or(cell)
                .split_once('.')
                .is_some_and(|(whole, frac)| {
                    !whole.is_empty()
                        && !frac.is_empty()
                        && whole
                            .bytes()
                            .chain(frac.bytes())
                            .all(|b| b.is_ascii_digit())
                })
    };
    let mut numeric = vec![true; columns];
    let mut any_number = vec![false; columns];
    for row in sections.iter().flatten() {
        for (i, cell) in row.iter().enumerate().take(columns) {
            width[i] = width[i].max(cell.len());
            let number = is_number(cell);
            numeric[i] &= number || cell == "-";
            any_number[i] |= number;
        }
    }
    for (n, any) in numeric.iter_mut().zip(any_number) {
        *n &= any;
    }
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate().take(columns) {
            if i > 0 {
                out.push_str("  ");
            }
            if numeric[i] && i > 0 {
                out.push_str(&format!("{cell:>w$}", w = width[i]));
            } else {
                out.push_str(&format!("{cell:<w$}", w = width[i]));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(headers);
    for (i, rows) in sections.iter().filter(|rows| !rows.is_empty()).enumerate() {
        if i > 0 {
            out.push('\n');
        }
        for row in rows {
            out.push_str(&line(row));
        }
    }
    out
}

pub(super) fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}
