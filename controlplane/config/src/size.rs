//! Byte sizes: an integer (bytes) or a string like `"16KiB"` in the file.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// The units a size string may use, with their factors, in the order the messages
/// list them. Case-sensitive: `KB`, `kib` or `mb` are errors, not guesses.
const UNITS: [(&str, u64); 5] = [
    ("B", 1),
    ("KiB", 1024),
    ("MiB", 1024 * 1024),
    ("kB", 1000),
    ("MB", 1000 * 1000),
];

/// What an error message says about the accepted units.
const UNIT_LIST: &str = "B, KiB, MiB, kB or MB";

/// A number of bytes, written in the file as an integer (bytes) or as a string
/// `"<integer><unit>"` with the unit `B`, `KiB` (1024), `MiB` (1024²), `kB` (1000) or
/// `MB` (1000²), case-sensitive, with an optional space between the number and the
/// unit: `16384`, `"16KiB"`, `"16 KiB"`, `"64kB"`.
///
/// It displays and serializes as its shortest exact string (`"16KiB"`, `"1MB"`,
/// `"1536B"`), which parses back to the same size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(u64);

impl ByteSize {
    /// A size of `bytes` bytes.
    pub const fn from_bytes(bytes: u64) -> Self {
        ByteSize(bytes)
    }

    /// A size of `n` KiB (`n` x 1024 bytes).
    ///
    /// # Panics
    /// If the number of bytes does not fit in a `u64`.
    pub const fn kib(n: u64) -> Self {
        match n.checked_mul(1024) {
            Some(bytes) => ByteSize(bytes),
            None => panic!("ByteSize::kib: too large"),
        }
    }

    /// The size in bytes.
    pub const fn bytes(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ByteSize {
    /// The shortest exact form: `16384` bytes is `16KiB`, `1000` is `1kB`, `0` is `0B`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        let mut shortest = format!("{n}B");
        for (unit, factor) in &UNITS[1..] {
            let whole = n / factor;
            // Exact only (`is_multiple_of` needs Rust 1.87, the workspace allows 1.80).
            if whole != 0 && whole * factor == n {
                let s = format!("{whole}{unit}");
                if s.len() < shortest.len() {
                    shortest = s;
                }
            }
        }
        f.pad(&shortest)
    }
}

/// A string that is not a size `"<integer><unit>"`. Displays as
/// `invalid size "16 KB": unknown unit "KB" (use B, KiB, MiB, kB or MB)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteSizeError {
    input: String,
    kind: ErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ErrorKind {
    /// No digits at the start (empty, a sign, a unit alone...).
    NoNumber,
    /// A fraction or decimal point after the digits.
    NotWhole,
    /// Digits and nothing after them.
    NoUnit,
    /// Something after the digits that is not a unit.
    UnknownUnit(String),
    /// More bytes than a `u64` holds.
    TooLarge,
}

impl fmt::Display for ByteSizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid size {:?}: ", self.input)?;
        match &self.kind {
            ErrorKind::NoNumber => write!(
                f,
                "expected an integer followed by a unit, like \"16KiB\" (units: {UNIT_LIST})"
            ),
            ErrorKind::NotWhole => write!(
                f,
                "the number must be an integer; use a smaller unit (units: {UNIT_LIST})"
            ),
            ErrorKind::NoUnit => write!(f, "missing unit (use {UNIT_LIST})"),
            ErrorKind::UnknownUnit(unit) => write!(f, "unknown unit {unit:?} (use {UNIT_LIST})"),
            ErrorKind::TooLarge => write!(f, "too large, the limit is {} bytes", u64::MAX),
        }
    }
}

impl std::error::Error for ByteSizeError {}

impl FromStr for ByteSize {
    type Err = ByteSizeError;

    /// Parses `"<integer><unit>"`, with an optional space between the two; spaces
    /// around the whole are ignored. A string without a unit is an error (in the file,
    /// a plain number of bytes is written as a bare integer).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |kind| ByteSizeError {
            input: s.to_string(),
            kind,
        };
        let t = s.trim();
        let digits = t.bytes().take_while(u8::is_ascii_digit).count();
        let (number, rest) = t.split_at(digits);
        if number.is_empty() {
            return Err(err(ErrorKind::NoNumber));
        }
        if rest.starts_with(['.', ',']) {
            return Err(err(ErrorKind::NotWhole));
        }
        let unit = rest.trim_start();
        if unit.is_empty() {
            return Err(err(ErrorKind::NoUnit));
        }
        let factor = UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|(_, factor)| *factor)
            .ok_or_else(|| err(ErrorKind::UnknownUnit(unit.to_string())))?;
        // Only digits: parsing fails only when the number overflows.
        let n: u64 = number.parse().map_err(|_| err(ErrorKind::TooLarge))?;
        n.checked_mul(factor)
            .map(ByteSize)
            .ok_or_else(|| err(ErrorKind::TooLarge))
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Accepts what the file accepts: a non-negative integer (bytes) or a size string.
impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct SizeVisitor;

        impl Visitor<'_> for SizeVisitor {
            type Value = ByteSize;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size like \"16KiB\" or an integer number of bytes")
            }

            fn visit_u64<E: de::Error>(self, n: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(n))
            }

            fn visit_i64<E: de::Error>(self, n: i64) -> Result<ByteSize, E> {
                u64::try_from(n)
                    .map(ByteSize)
                    .map_err(|_| E::custom(negative(n)))
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<ByteSize, E> {
                s.parse().map_err(E::custom)
            }
        }

        d.deserialize_any(SizeVisitor)
    }
}

fn negative(n: i64) -> String {
    format!("invalid size {n}: a size cannot be negative")
}

/// Parses a size as written in the file: a non-negative integer (bytes) or a size
/// string. The error is the message to show after the key.
pub(crate) fn parse(value: &toml::Value) -> Result<ByteSize, String> {
    match value {
        toml::Value::String(s) => s.parse().map_err(|e: ByteSizeError| e.to_string()),
        toml::Value::Integer(n) => u64::try_from(*n).map(ByteSize).map_err(|_| negative(*n)),
        other => Err(format!(
            "expected a size like \"16KiB\" or an integer number of bytes, got {}",
            crate::raw::describe(other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use toml::Value;

    fn p(s: &str) -> Result<u64, String> {
        s.parse::<ByteSize>()
            .map(ByteSize::bytes)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn units_and_spaces() {
        assert_eq!(p("0B"), Ok(0));
        assert_eq!(p("1536B"), Ok(1536));
        assert_eq!(p("16KiB"), Ok(16384));
        assert_eq!(p("16 KiB"), Ok(16384));
        assert_eq!(p(" 16  KiB "), Ok(16384));
        assert_eq!(p("2MiB"), Ok(2 * 1024 * 1024));
        assert_eq!(p("64kB"), Ok(64000));
        assert_eq!(p("1 MB"), Ok(1_000_000));
        assert_eq!(p("007B"), Ok(7));
        assert_eq!(p("18446744073709551615B"), Ok(u64::MAX));
    }

    #[test]
    fn errors() {
        let cases = [
            (
                "16 KB",
                "invalid size \"16 KB\": unknown unit \"KB\" (use B, KiB, MiB, kB or MB)",
            ),
            (
                "16kib",
                "invalid size \"16kib\": unknown unit \"kib\" (use B, KiB, MiB, kB or MB)",
            ),
            (
                "16 KiB extra",
                "invalid size \"16 KiB extra\": unknown unit \"KiB extra\" (use B, KiB, MiB, kB or MB)",
            ),
            (
                "16",
                "invalid size \"16\": missing unit (use B, KiB, MiB, kB or MB)",
            ),
            (
                "1.5KiB",
                "invalid size \"1.5KiB\": the number must be an integer; use a smaller unit (units: B, KiB, MiB, kB or MB)",
            ),
            (
                "KiB",
                "invalid size \"KiB\": expected an integer followed by a unit, like \"16KiB\" (units: B, KiB, MiB, kB or MB)",
            ),
            (
                "-1KiB",
                "invalid size \"-1KiB\": expected an integer followed by a unit, like \"16KiB\" (units: B, KiB, MiB, kB or MB)",
            ),
            (
                "",
                "invalid size \"\": expected an integer followed by a unit, like \"16KiB\" (units: B, KiB, MiB, kB or MB)",
            ),
            (
                "18446744073709551616B",
                "invalid size \"18446744073709551616B\": too large, the limit is 18446744073709551615 bytes",
            ),
            (
                "18446744073709551615KiB",
                "invalid size \"18446744073709551615KiB\": too large, the limit is 18446744073709551615 bytes",
            ),
        ];
        for (s, want) in cases {
            assert_eq!(p(s), Err(want.to_string()), "{s:?}");
        }
    }

    #[test]
    fn displays_the_shortest_exact_form() {
        let cases = [
            (0, "0B"),
            (1, "1B"),
            (1000, "1kB"),
            (1023, "1023B"),
            (1024, "1KiB"),
            (1536, "1536B"),
            (16384, "16KiB"),
            (64000, "64kB"),
            (65536, "64KiB"),
            (1_000_000, "1MB"),
            (1_024_000, "1024kB"),
            (1_048_576, "1MiB"),
            (3 * 1_048_576, "3MiB"),
            (u64::MAX, "18446744073709551615B"),
        ];
        for (bytes, want) in cases {
            let size = ByteSize::from_bytes(bytes);
            assert_eq!(size.to_string(), want, "{bytes}");
            assert_eq!(p(want), Ok(bytes), "{want}");
        }
        assert_eq!(format!("[{:>6}]", ByteSize::kib(16)), "[ 16KiB]");
    }

    #[test]
    fn constructors() {
        assert_eq!(ByteSize::kib(16).bytes(), 16384);
        assert_eq!(ByteSize::from_bytes(7).bytes(), 7);
        assert!(ByteSize::kib(1) < ByteSize::kib(2));
    }

    #[test]
    #[should_panic(expected = "too large")]
    fn kib_overflow_panics() {
        ByteSize::kib(u64::MAX);
    }

    #[test]
    fn file_values() {
        assert_eq!(parse(&Value::Integer(16384)), Ok(ByteSize::kib(16)));
        assert_eq!(parse(&Value::Integer(0)), Ok(ByteSize::from_bytes(0)));
        assert_eq!(parse(&Value::String("16KiB".into())), Ok(ByteSize::kib(16)));
        assert_eq!(
            parse(&Value::Integer(-1)),
            Err("invalid size -1: a size cannot be negative".to_string())
        );
        assert_eq!(
            parse(&Value::Float(1.5)),
            Err(
                "expected a size like \"16KiB\" or an integer number of bytes, got float 1.5"
                    .to_string()
            )
        );
        assert_eq!(
            parse(&Value::String("16 KB".into())),
            Err(
                "invalid size \"16 KB\": unknown unit \"KB\" (use B, KiB, MiB, kB or MB)"
                    .to_string()
            )
        );
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Holder {
        size: ByteSize,
    }

    #[test]
    fn serde() {
        let text = toml::to_string(&Holder {
            size: ByteSize::kib(16),
        })
        .unwrap();
        assert_eq!(text.trim(), "size = \"16KiB\"");
        for (text, bytes) in [
            ("size = \"16KiB\"", 16384),
            ("size = 1536", 1536),
            ("size = \"64 kB\"", 64000),
        ] {
            let h: Holder = toml::from_str(text).unwrap();
            assert_eq!(h.size.bytes(), bytes, "{text}");
        }
        let e = toml::from_str::<Holder>("size = -1").unwrap_err();
        assert!(e.message().contains("a size cannot be negative"), "{e}");
        let e = toml::from_str::<Holder>("size = \"16 KB\"").unwrap_err();
        assert!(e.message().contains("unknown unit \"KB\""), "{e}");
        let e = toml::from_str::<Holder>("size = true").unwrap_err();
        assert!(
            e.message()
                .contains("expected a size like \"16KiB\" or an integer number of bytes"),
            "{e}"
        );
    }
}
