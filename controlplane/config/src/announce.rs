//! `[announce]`: the VIPs announced to the routers through a local BIRD
//! (docs/SCALE-OUT.md, "Announcement"). Off when the table is left out.

use crate::raw::describe;
use crate::ConfigError;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;
use toml::Value;

/// Default `bird_socket`: where Debian's bird2 puts its control socket.
pub const BIRD_SOCKET_DEFAULT: &str = "/run/bird/bird.ctl";
/// Default `routes_file`: next to Debian's `/etc/bird/bird.conf`, which includes it.
pub const ROUTES_FILE_DEFAULT: &str = "/etc/bird/splicer-vips.conf";
/// Default `hold_down`.
pub const HOLD_DOWN_DEFAULT: Duration = Duration::from_secs(5);
/// Longest `hold_down`.
pub const HOLD_DOWN_MAX: Duration = Duration::from_secs(3600);

/// `[announce]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Announce {
    /// `bird_socket` (string, default `"/run/bird/bird.ctl"`): BIRD's control socket,
    /// on which Splicer asks BIRD to `configure` after each change of the routes file.
    pub bird_socket: PathBuf,
    /// `routes_file` (string, default `"/etc/bird/splicer-vips.conf"`): the file
    /// Splicer writes (atomically: a temporary file renamed over it) with one static
    /// route per announced VIP, next hop the address of the port that owns the VIP.
    /// BIRD's configuration includes it in a `protocol static` block.
    pub routes_file: PathBuf,
    /// `hold_down` (duration, default `"5s"`, 0s..=1h): how long a VIP must have been
    /// fit to announce (a healthy real, the port up, not drained) before it is
    /// announced, at start-up and after every withdrawal, so that a real that flaps does
    /// not make the routers reshuffle their flows each time. Withdrawal is at once.
    #[serde(serialize_with = "crate::duration::serialize")]
    pub hold_down: Duration,
    /// `check_link` (boolean, default true): a port whose link is down makes its VIPs
    /// unfit. False for ports whose driver cannot see the link: a `net_tap` port whose
    /// kernel side was moved to another network namespace reports its link down.
    pub check_link: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "an [announce] table")]
pub(crate) struct RawAnnounce {
    bird_socket: Option<Value>,
    routes_file: Option<Value>,
    hold_down: Option<Value>,
    check_link: Option<Value>,
}

fn path(key: &str, v: Option<Value>, default: &str) -> Result<PathBuf, ConfigError> {
    match v {
        None => Ok(PathBuf::from(default)),
        Some(Value::String(s)) if s.starts_with('/') => Ok(PathBuf::from(s)),
        Some(Value::String(s)) => Err(ConfigError::invalid(
            key,
            format!("{s:?} is not an absolute path (like {default:?})"),
        )),
        Some(other) => Err(ConfigError::invalid(
            key,
            format!("expected a path string, got {}", describe(&other)),
        )),
    }
}

impl RawAnnounce {
    pub(crate) fn convert(self) -> Result<Announce, ConfigError> {
        let hold_down = match self.hold_down {
            None => HOLD_DOWN_DEFAULT,
            Some(v) => crate::duration::parse(&v)
                .map_err(|e| ConfigError::invalid("announce.hold_down", e))?,
        };
        if hold_down > HOLD_DOWN_MAX {
            return Err(ConfigError::invalid(
                "announce.hold_down",
                format!(
                    "{} is longer than the most, {}",
                    crate::duration::format(hold_down),
                    crate::duration::format(HOLD_DOWN_MAX)
                ),
            ));
        }
        let check_link = match self.check_link {
            None => true,
            Some(Value::Boolean(b)) => b,
            Some(other) => {
                return Err(ConfigError::invalid(
                    "announce.check_link",
                    format!("expected true or false, got {}", describe(&other)),
                ))
            }
        };
        let announce = Announce {
            check_link,
            bird_socket: path(
                "announce.bird_socket",
                self.bird_socket,
                BIRD_SOCKET_DEFAULT,
            )?,
            routes_file: path(
                "announce.routes_file",
                self.routes_file,
                ROUTES_FILE_DEFAULT,
            )?,
            hold_down,
        };
        if announce.routes_file == announce.bird_socket {
            return Err(ConfigError::invalid(
                "announce.routes_file",
                "is the same path as announce.bird_socket",
            ));
        }
        Ok(announce)
    }
}

#[cfg(test)]
mod tests {
    use crate::Config;
    use std::time::Duration;

    fn load(extra: &str) -> Result<Config, String> {
        crate::fixtures::parse_outside_only(extra)
    }

    #[test]
    fn off_by_default_and_defaults_when_on() {
        assert_eq!(load("").unwrap().announce, None);
        let a = load("[announce]\n").unwrap().announce.unwrap();
        assert_eq!(a.bird_socket.to_str(), Some(super::BIRD_SOCKET_DEFAULT));
        assert_eq!(a.routes_file.to_str(), Some(super::ROUTES_FILE_DEFAULT));
        assert_eq!(a.hold_down, Duration::from_secs(5));
        assert!(a.check_link);
        let a = load("[announce]\nbird_socket = \"/tmp/b.ctl\"\nhold_down = \"0s\"\n")
            .unwrap()
            .announce
            .unwrap();
        assert_eq!(a.bird_socket.to_str(), Some("/tmp/b.ctl"));
        assert_eq!(a.hold_down, Duration::ZERO);
    }

    #[test]
    fn mistakes_are_named() {
        for (extra, says) in [
            ("[announce]\nhold_down = \"2h\"\n", "announce.hold_down"),
            ("[announce]\nhold_down = 5\n", "needs a unit"),
            (
                "[announce]\nbird_socket = \"bird.ctl\"\n",
                "not an absolute path",
            ),
            ("[announce]\nroutes_file = 3\n", "announce.routes_file"),
            (
                "[announce]\nroutes_file = \"/run/b\"\nbird_socket = \"/run/b\"\n",
                "same path",
            ),
            ("[announce]\nasn = 65000\n", "asn"),
            ("[announce]\ncheck_link = \"no\"\n", "announce.check_link"),
        ] {
            let e = load(extra).expect_err(extra);
            assert!(e.contains(says), "{extra}: {e}");
        }
    }

    #[test]
    fn written_back_and_read_again() {
        let c = load(
            "[announce]\nroutes_file = \"/tmp/r.conf\"\nhold_down = \"2s\"\ncheck_link = false\n",
        )
        .unwrap();
        let again: Config = c.to_toml().parse().expect("reads back");
        assert_eq!(again.announce, c.announce);
    }
}
