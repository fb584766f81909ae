//! Writing the running configuration over an existing file, keeping what a person wrote.
//!
//! `save` used to write [`Config::to_toml`], which loses every comment, the key order
//! and the defaults a person left out. [`Config::to_toml_over`] instead edits the file
//! with `toml_edit`: it compares the configuration the file loads to with the running
//! one, both in their canonical TOML form, and changes in the file only what differs —
//! a changed value in place (its inline comment kept), a removed `[[real]]` (or virtual,
//! rule, ...) with the comments above it, an added one appended after its kind's last
//! table, without the keys at their defaults. Untouched parts stay byte for byte.
//!
//! The result is checked: it must load to exactly the running configuration. When it
//! does not (the file does not load, or a change the merge cannot express in place, such
//! as a reordered list of ports), the full canonical form is written instead and the
//! reason is returned, so the caller can say so.

use crate::Config;
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, TableLike, Value};

/// The text [`Config::to_toml_over`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Saved {
    /// The file with only the differences applied: comments and layout kept.
    Merged(String),
    /// The whole configuration in canonical form ([`Config::to_toml`]); `reason` says why
    /// the file could not be kept.
    Full { text: String, reason: String },
}

impl Saved {
    /// The text to write.
    pub fn text(&self) -> &str {
        match self {
            Saved::Merged(t) | Saved::Full { text: t, .. } => t,
        }
    }
}

impl Config {
    /// This configuration written over `file`, the text of an existing configuration
    /// file: only what differs between the configuration `file` loads to and this one is
    /// changed, the rest of `file` (comments, order, spelling of values, left-out
    /// defaults) is kept. Falls back to [`Config::to_toml`] (with the reason) when `file`
    /// does not load or the edited text would not load back to this configuration.
    pub fn to_toml_over(&self, file: &str) -> Saved {
        let full = |reason: String| Saved::Full {
            text: self.to_toml(),
            reason,
        };
        let old = match Config::from_toml_str(file) {
            Ok(c) => c,
            Err(e) => return full(format!("the file does not load ({e})")),
        };
        let mut doc: DocumentMut = match file.parse() {
            Ok(d) => d,
            Err(e) => return full(format!("the file does not parse ({e})")),
        };
        let canonical = |c: &Config| -> DocumentMut {
            c.to_toml()
                .parse()
                .expect("to_toml writes valid TOML (it loads back)")
        };
        let (o, n) = (canonical(&old), canonical(self));
        merge_table(doc.as_table_mut(), o.as_table(), n.as_table());
        self.trim_added(&mut doc);
        let text = doc.to_string();
        match Config::from_toml_str(&text) {
            Ok(back) if back == *self => Saved::Merged(text),
            Ok(_) => full("the file cannot be edited in place to the running configuration (an order changed, e.g. of ports or rules)".into()),
            Err(e) => full(format!("the edited file does not load ({e})")),
        }
    }
}

impl Config {
    /// Leaves out of every added table (an appended `[[real]]`, ...) the keys that are at
    /// their default, as a person would write it: a key is dropped when the document
    /// still loads to this configuration without it.
    fn trim_added(&self, doc: &mut DocumentMut) {
        let mut paths = Vec::new();
        added_tables(doc.as_table(), &mut Vec::new(), &mut paths);
        for path in paths {
            let keys: Vec<String> = match table_at(doc, &path) {
                Some(t) => t.iter().map(|(k, _)| k.to_string()).collect(),
                None => continue,
            };
            for key in keys {
                let mut trial = doc.clone();
                if let Some(t) = table_at(&mut trial, &path) {
                    t.remove(&key);
                }
                if Config::from_toml_str(&trial.to_string()).is_ok_and(|c| c == *self) {
                    *doc = trial;
                }
            }
        }
    }
}

/// Where a table sits in a document: (key of an array of tables, index) steps.
type TablePath = Vec<(String, usize)>;

/// The paths of the tables in arrays of tables that the merge added (they have no
/// document position: parsed ones do).
fn added_tables(t: &Table, path: &mut TablePath, out: &mut Vec<TablePath>) {
    for (k, item) in t.iter() {
        if let Item::ArrayOfTables(a) = item {
            for (i, e) in a.iter().enumerate() {
                path.push((k.to_string(), i));
                if e.position().is_none() {
                    out.push(path.clone());
                }
                added_tables(e, path, out);
                path.pop();
            }
        }
    }
}

fn table_at<'a>(doc: &'a mut DocumentMut, path: &TablePath) -> Option<&'a mut Table> {
    let mut t = doc.as_table_mut();
    for (k, i) in path {
        t = t.get_mut(k)?.as_array_of_tables_mut()?.get_mut(*i)?;
    }
    Some(t)
}

/// Applies to `f` (the file's table) the differences between `o` (the file's
/// configuration, canonical) and `n` (the running one, canonical).
fn merge_table(f: &mut dyn TableLike, o: &dyn TableLike, n: &dyn TableLike) {
    for (key, n_item) in n.iter() {
        let o_item = o.get(key);
        if let Some(f_item) = f.get_mut(key) {
            match o_item {
                Some(o_item) => merge_item(f_item, o_item, n_item),
                // The file has a key the canonical form of its configuration leaves out:
                // replace it when it reads differently from the running value.
                None if !same(f_item, n_item) => replace(f_item, n_item),
                None => {}
            }
        } else if !o_item.is_some_and(|o_item| same(o_item, n_item)) {
            // Left out of the file (a default) and now different, or new.
            f.insert(key, fresh(n_item));
        }
    }
    let gone: Vec<String> = o
        .iter()
        .filter(|(k, _)| !n.contains_key(k))
        .map(|(k, _)| k.to_string())
        .collect();
    for key in gone {
        f.remove(&key);
    }
}

fn merge_item(f: &mut Item, o: &Item, n: &Item) {
    if same(o, n) {
        return;
    }
    if o.as_table_like().is_some() && n.as_table_like().is_some() {
        if let Some(ft) = f.as_table_like_mut() {
            merge_table(ft, o.as_table_like().unwrap(), n.as_table_like().unwrap());
            return;
        }
    }
    if let (Item::ArrayOfTables(ft), Item::ArrayOfTables(ot), Item::ArrayOfTables(nt)) =
        (&mut *f, o, n)
    {
        if ft.len() == ot.len() {
            merge_tables(ft, ot, nt);
            return;
        }
    }
    replace(f, n);
}

/// What identifies an element of an array of tables (`[[real]]`, `[[virtual.rule]]`,
/// ...): its `name`, else (`[[dip]]`) its `address`.
fn identity(t: &Table) -> Option<String> {
    ["name", "address"]
        .iter()
        .find_map(|k| t.get(k).and_then(Item::as_str).map(str::to_owned))
}

/// Merges arrays of tables by identity: `f[i]` is the file's table that `o[i]` was
/// read from. When identities are missing or repeated, matches by index instead.
fn merge_tables(f: &mut ArrayOfTables, o: &ArrayOfTables, n: &ArrayOfTables) {
    let ids = |a: &ArrayOfTables| -> Option<Vec<String>> {
        let ids: Option<Vec<String>> = a.iter().map(identity).collect();
        let ids = ids?;
        let unique: std::collections::HashSet<&String> = ids.iter().collect();
        (unique.len() == ids.len()).then_some(ids)
    };
    let (o_ids, n_ids) = match (ids(o), ids(n)) {
        (Some(a), Some(b)) => (a, b),
        _ => {
            let index = |a: &ArrayOfTables| (0..a.len()).map(|i| i.to_string()).collect();
            (index(o), index(n))
        }
    };
    // Removed elements, from the end so that the indexes stay valid.
    for i in (0..o_ids.len()).rev() {
        if !n_ids.contains(&o_ids[i]) {
            f.remove(i);
        }
    }
    let kept: Vec<usize> = (0..o_ids.len())
        .filter(|&i| n_ids.contains(&o_ids[i]))
        .collect();
    for (fi, &oi) in kept.iter().enumerate() {
        let ni = n_ids
            .iter()
            .position(|id| *id == o_ids[oi])
            .expect("kept ids are in n");
        let (ot, nt) = (o.get(oi).unwrap(), n.get(ni).unwrap());
        if let Some(ft) = f.get_mut(fi) {
            merge_table(ft, ot, nt);
        }
    }
    for (ni, id) in n_ids.iter().enumerate() {
        if !o_ids.contains(id) {
            if let Item::Table(t) = fresh(&Item::Table(n.get(ni).unwrap().clone())) {
                f.push(t);
            }
        }
    }
}

/// Puts `n`'s value in `f`'s place, in `f`'s form (a value keeps its decor, so an
/// inline comment after it stays).
fn replace(f: &mut Item, n: &Item) {
    if let Item::Value(fv) = f {
        if let Ok(mut nv) = fresh(n).into_value() {
            *nv.decor_mut() = fv.decor().clone();
            *fv = nv;
            return;
        }
    }
    *f = fresh(n);
}

/// A copy of `item` without document positions: toml_edit places a table without a
/// position right after the table before it, so an added `[[real]]` lands after the
/// last one instead of where the canonical document had it.
fn fresh(item: &Item) -> Item {
    match item {
        Item::Table(t) => Item::Table(fresh_table(t)),
        Item::ArrayOfTables(a) => {
            let mut out = ArrayOfTables::new();
            for t in a.iter() {
                out.push(fresh_table(t));
            }
            Item::ArrayOfTables(out)
        }
        other => other.clone(),
    }
}

fn fresh_table(t: &Table) -> Table {
    let mut out = Table::new();
    *out.decor_mut() = t.decor().clone();
    out.set_implicit(t.is_implicit());
    for (k, v) in t.iter() {
        out.insert(k, fresh(v));
    }
    out
}

/// Whether two items hold the same data, whatever their formatting (decor, inline or
/// not, string quoting).
fn same(a: &Item, b: &Item) -> bool {
    if let (Some(x), Some(y)) = (a.as_table_like(), b.as_table_like()) {
        return x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)));
    }
    match (a, b) {
        (Item::ArrayOfTables(x), Item::ArrayOfTables(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|(s, t)| same(&Item::Table(s.clone()), &Item::Table(t.clone())))
        }
        (Item::Value(x), Item::Value(y)) => same_value(x, y),
        (Item::None, Item::None) => true,
        _ => false,
    }
}

fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.value() == y.value(),
        (Value::Integer(x), Value::Integer(y)) => x.value() == y.value(),
        (Value::Float(x), Value::Float(y)) => x.value().to_bits() == y.value().to_bits(),
        (Value::Boolean(x), Value::Boolean(y)) => x.value() == y.value(),
        (Value::Datetime(x), Value::Datetime(y)) => x.value() == y.value(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(s, t)| same_value(s, t))
        }
        (Value::InlineTable(x), Value::InlineTable(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w)))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests;
