//! The DPDK EAL arguments: what Splicer adds to them, and how many lcores they give.

use std::collections::BTreeSet;

/// Highest lcore id the lcore parser accepts (DPDK's `RTE_MAX_LCORE` is a build option,
/// 128 by default; the EAL itself rejects ids above its own limit).
const MAX_LCORE_ID: u32 = 1023;

/// The EAL's own arguments: those before a `--` terminator.
fn eal_part(args: &[String]) -> &[String] {
    let end = args.iter().position(|a| a == "--").unwrap_or(args.len());
    &args[..end]
}

/// Occurrences of an option in any of the forms `-x v`, `-xv` (for `short`),
/// `--long v`, `--long=v` (for `long`): (index of the option, its value if any).
fn find_option(
    args: &[String],
    short: Option<&str>,
    long: Option<&str>,
) -> Vec<(usize, Option<String>)> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if Some(a) == short || Some(a) == long {
            found.push((i, args.get(i + 1).cloned()));
            i += 2;
            continue;
        }
        let attached = if a.starts_with("--") {
            long.and_then(|l| a.strip_prefix(l)?.strip_prefix('='))
        } else {
            short
                .and_then(|s| a.strip_prefix(s))
                .filter(|v| !v.is_empty())
        };
        if let Some(v) = attached {
            found.push((i, Some(v.to_string())));
        }
        i += 1;
    }
    found
}

/// `program`, the configured arguments, then `--no-pci` and `--file-prefix splicer`
/// unless given (see [`crate::Config::eal_args`]), before any `--`.
pub(crate) fn full_args(program: &str, args: &[String]) -> Vec<String> {
    let eal = eal_part(args);
    let mut out = Vec::with_capacity(args.len() + 4);
    out.push(program.to_string());
    out.extend(eal.iter().cloned());
    let no_pci = eal.iter().any(|a| a == "--no-pci");
    let allows_pci = find_option(eal, Some("-a"), Some("--allow"))
        .iter()
        .any(|(_, v)| v.is_some());
    if !no_pci && !allows_pci {
        out.push("--no-pci".to_string());
    }
    let has_prefix = eal
        .iter()
        .any(|a| a == "--file-prefix" || a.starts_with("--file-prefix="));
    if !has_prefix {
        out.push("--file-prefix".to_string());
        out.push("splicer".to_string());
    }
    out.extend(args[eal.len()..].iter().cloned());
    out
}

/// One lcore option found in the EAL arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LcoreOption {
    /// As it should be quoted to the user: `-l 0-1`, `--lcores (0-1)@0`, `-c 0x3`.
    pub text: String,
    /// The number of lcores it gives, if its value can be read.
    pub count: Option<u32>,
}

/// Every `-l`, `--lcores` and `-c` in the EAL arguments, in order.
pub(crate) fn lcore_options(args: &[String]) -> Vec<LcoreOption> {
    let eal = eal_part(args);
    type Parser = fn(&str) -> Option<u32>;
    let kinds: [(&str, Option<&str>, Option<&str>, Parser); 3] = [
        ("-l", Some("-l"), None, parse_corelist),
        ("--lcores", None, Some("--lcores"), parse_lcores_map),
        ("-c", Some("-c"), None, parse_coremask),
    ];
    let mut found: Vec<(usize, LcoreOption)> = Vec::new();
    for (name, short, long, parse) in kinds {
        for (i, value) in find_option(eal, short, long) {
            let option = match value {
                Some(v) => LcoreOption {
                    text: format!("{name} {v}"),
                    count: parse(&v),
                },
                None => LcoreOption {
                    text: name.to_string(),
                    count: None,
                },
            };
            found.push((i, option));
        }
    }
    found.sort_by_key(|(i, _)| *i);
    found.into_iter().map(|(_, o)| o).collect()
}

/// The lcore count, when exactly one readable lcore option is given.
pub(crate) fn lcore_count(args: &[String]) -> Option<u32> {
    match lcore_options(args).as_slice() {
        [only] => only.count,
        _ => None,
    }
}

fn number(s: &str) -> Option<u32> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|&n| n <= MAX_LCORE_ID)
}

/// Adds the ids of a list like `0-3,5` to `set`.
fn add_list(s: &str, set: &mut BTreeSet<u32>) -> Option<()> {
    for part in s.split(',') {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (number(a)?, number(b)?),
            None => {
                let n = number(part)?;
                (n, n)
            }
        };
        set.extend(a.min(b)..=a.max(b));
    }
    Some(())
}

/// `-l`: a list like `0-3,5`; the number of distinct ids.
pub(crate) fn parse_corelist(s: &str) -> Option<u32> {
    let mut set = BTreeSet::new();
    add_list(s, &mut set)?;
    Some(set.len() as u32)
}

/// One side of an `--lcores` element: `3`, `7-8` or a group `(0,2-4)`.
fn add_group(s: &str, set: &mut BTreeSet<u32>) -> Option<()> {
    let s = s.trim();
    match s.strip_prefix('(') {
        Some(inner) => add_list(inner.strip_suffix(')')?, set),
        None if s.contains([',', ')']) => None,
        None => add_list(s, set),
    }
}

/// `--lcores`: a map like `0@0,1@1,2@1`, `(0-1)@0` or `1,2@(5-7),(3-5)@(0,2),7-8`;
/// the number of distinct lcore ids (the left of each `@`).
pub(crate) fn parse_lcores_map(s: &str) -> Option<u32> {
    let mut lcores = BTreeSet::new();
    let mut depth = 0u32;
    let mut start = 0;
    let mut elements = Vec::new();
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.checked_sub(1)?,
            ',' if depth == 0 => {
                elements.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return None;
    }
    elements.push(&s[start..]);
    for element in elements {
        let (ids, cpus) = match element.split_once('@') {
            Some((ids, cpus)) => (ids, Some(cpus)),
            None => (element, None),
        };
        add_group(ids, &mut lcores)?;
        if let Some(cpus) = cpus {
            add_group(cpus, &mut BTreeSet::new())?;
        }
    }
    Some(lcores.len() as u32)
}

/// `-c`: a hexadecimal mask like `0x3` or `f`; the number of set bits (a zero mask
/// is unusable: `None`).
pub(crate) fn parse_coremask(s: &str) -> Option<u32> {
    let s = s.trim();
    let hex = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    if hex.is_empty() {
        return None;
    }
    let mut bits = 0;
    for c in hex.chars() {
        bits += c.to_digit(16)?.count_ones();
    }
    (bits > 0).then_some(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn adds_no_pci_and_file_prefix() {
        assert_eq!(
            full_args("splicer", &v(&["-l", "0-1", "--vdev", "net_tap0"])),
            v(&[
                "splicer",
                "-l",
                "0-1",
                "--vdev",
                "net_tap0",
                "--no-pci",
                "--file-prefix",
                "splicer"
            ])
        );
    }

    #[test]
    fn keeps_given_no_pci_and_file_prefix() {
        let args = v(&["-l", "0-1", "--no-pci", "--file-prefix", "demo"]);
        let mut want = v(&["prog"]);
        want.extend(args.clone());
        assert_eq!(full_args("prog", &args), want);
        let args = v(&["--file-prefix=demo"]);
        assert_eq!(
            full_args("prog", &args),
            v(&["prog", "--file-prefix=demo", "--no-pci"])
        );
    }

    #[test]
    fn allowed_pci_device_suppresses_no_pci() {
        for args in [
            v(&["-a", "0000:01:00.0"]),
            v(&["-a0000:01:00.0"]),
            v(&["--allow", "0000:01:00.0"]),
            v(&["--allow=0000:01:00.0"]),
        ] {
            let full = full_args("p", &args);
            assert!(
                !full.contains(&"--no-pci".to_string()),
                "{args:?} -> {full:?}"
            );
            assert!(
                full.ends_with(&v(&["--file-prefix", "splicer"])),
                "{full:?}"
            );
        }
        // Not an allow option: --no-pci is still added.
        for args in [v(&["--allowx=1"]), v(&["--vdev", "net_tap0,iface=-a"])] {
            assert!(
                full_args("p", &args).contains(&"--no-pci".to_string()),
                "{args:?}"
            );
        }
    }

    #[test]
    fn additions_go_before_terminator() {
        assert_eq!(
            full_args("p", &v(&["-l", "0-1", "--", "--app-arg"])),
            v(&[
                "p",
                "-l",
                "0-1",
                "--no-pci",
                "--file-prefix",
                "splicer",
                "--",
                "--app-arg"
            ])
        );
        // An --allow after the terminator belongs to the application.
        assert!(full_args("p", &v(&["--", "-a", "x"])).contains(&"--no-pci".to_string()));
    }

    #[test]
    fn corelists() {
        assert_eq!(parse_corelist("0-1"), Some(2));
        assert_eq!(parse_corelist("0-3,5"), Some(5));
        assert_eq!(parse_corelist("3"), Some(1));
        assert_eq!(parse_corelist("0-3,2-5"), Some(6));
        assert_eq!(parse_corelist("3-1"), Some(3));
        assert_eq!(parse_corelist(" 0 - 1 , 4 "), Some(3));
        for bad in ["", "a", "0-", "-1", "1,,2", "0-1-2", "0x3", "0-99999"] {
            assert_eq!(parse_corelist(bad), None, "{bad}");
        }
    }

    #[test]
    fn lcore_maps() {
        assert_eq!(parse_lcores_map("0@0,1@1,2@1"), Some(3));
        assert_eq!(parse_lcores_map("(0-1)@0"), Some(2));
        assert_eq!(parse_lcores_map("0-3"), Some(4));
        assert_eq!(parse_lcores_map("1,2@(5-7),(3-5)@(0,2),(0,6),7-8"), Some(9));
        assert_eq!(parse_lcores_map("0@(0,1),0@2"), Some(1));
        for bad in [
            "", "(0-1", "0-1)", "0@", "@1", "(a)@0", "0@(1", "(0,1", "0@1@2",
        ] {
            assert_eq!(parse_lcores_map(bad), None, "{bad}");
        }
    }

    #[test]
    fn coremasks() {
        assert_eq!(parse_coremask("0x3"), Some(2));
        assert_eq!(parse_coremask("0XF0"), Some(4));
        assert_eq!(parse_coremask("f"), Some(4));
        assert_eq!(
            parse_coremask("0x10000000000000000000000000000001"),
            Some(2)
        );
        for bad in ["", "0x", "0", "0x0", "xyz", "0x3g"] {
            assert_eq!(parse_coremask(bad), None, "{bad}");
        }
    }

    #[test]
    fn finds_lcore_options_in_every_form() {
        let c = |a: &[&str]| lcore_count(&v(a));
        assert_eq!(c(&["-l", "0-3,5"]), Some(5));
        assert_eq!(c(&["-l0-2"]), Some(3));
        assert_eq!(c(&["--lcores", "0@0,1@1,2@1"]), Some(3));
        assert_eq!(c(&["--lcores=(0-1)@0"]), Some(2));
        assert_eq!(c(&["-c", "0x3"]), Some(2));
        assert_eq!(c(&["-cf"]), Some(4));
        assert_eq!(
            c(&["--no-huge", "--vdev", "net_tap0", "-l", "0-1", "-m", "1024"]),
            Some(2)
        );
        // Absent, unreadable, value missing, after the terminator.
        assert_eq!(c(&["--no-huge"]), None);
        assert_eq!(c(&["-l", "zero"]), None);
        assert_eq!(c(&["-l"]), None);
        assert_eq!(c(&["--", "-l", "0-1"]), None);
        // DPDK refuses more than one of them: unknown.
        assert_eq!(c(&["-l", "0-1", "-c", "0x3"]), None);
    }

    #[test]
    fn quotes_options_as_written() {
        let o = lcore_options(&v(&["-c", "0x3", "-l0-1", "--lcores=0@0", "-l"]));
        let texts: Vec<_> = o.iter().map(|o| o.text.as_str()).collect();
        assert_eq!(texts, ["-c 0x3", "-l 0-1", "--lcores 0@0", "-l"]);
        assert_eq!(o[1].count, Some(2));
        assert_eq!(o[3].count, None);
    }
}
