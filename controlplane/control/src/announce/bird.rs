//! BIRD's control socket, spoken directly: the line protocol `birdc` speaks.
//!
//! Directly rather than by running `birdc -s`: no process to spawn and reap from the
//! control core, one deadline for the whole exchange, and the reply's code (not a
//! text that `birdc` reformats) tells success from failure. The protocol is small:
//! BIRD greets with `0001 BIRD <version> ready.`; each command is one line; each reply
//! line is `DDDD-text` (more follows), ` text` (more follows, same code) or `DDDD text`
//! (the last line). Codes 0xxx report success or progress, 8xxx run-time errors (a
//! configuration file that does not parse is `8002`), 9xxx syntax errors of the command.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// The last line of a reply: its code and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    pub(crate) code: u16,
    /// Every line's text, joined with "; ".
    pub(crate) text: String,
}

impl Reply {
    /// Whether `configure` did (or will do) what was asked. BIRD's codes: 3
    /// Reconfigured, 4 Reconfiguration in progress, 5 already in progress, queueing (it
    /// reads the file again after), 18 confirmed, 19 Nothing to do, 20 Configuration OK.
    pub(crate) fn configured(&self) -> bool {
        matches!(self.code, 3 | 4 | 5 | 18 | 19 | 20)
    }
}

/// Reads one reply (the lines up to the one that ends it).
fn read_reply(reader: &mut impl BufRead) -> Result<Reply, String> {
    let mut texts = Vec::new();
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).map_err(|e| match e.kind() {
            // The socket's timeout (the exchange's deadline) ran out.
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                "reading BIRD's reply: no answer before the deadline".to_string()
            }
            _ => format!("reading BIRD's reply: {e}"),
        })?;
        if n == 0 {
            return Err("BIRD closed the control connection before its reply ended".into());
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if let Some(rest) = line.strip_prefix(' ') {
            texts.push(rest.to_string());
            continue;
        }
        let (code, sep, text) = match (line.get(..4), line.get(4..5), line.get(5..)) {
            (Some(c), Some(s), t) if c.bytes().all(|b| b.is_ascii_digit()) => {
                (c.parse::<u16>().unwrap_or(0), s, t.unwrap_or(""))
            }
            _ => return Err(format!("not a BIRD reply line: {line:?}")),
        };
        if !text.is_empty() {
            texts.push(text.to_string());
        }
        match sep {
            "-" => continue,
            " " => {
                return Ok(Reply {
                    code,
                    text: texts.join("; "),
                })
            }
            _ => return Err(format!("not a BIRD reply line: {line:?}")),
        }
    }
}

/// Runs `command` on the BIRD listening on `socket`; the whole exchange (connect,
/// greeting, command, reply) within `timeout`.
pub(crate) fn run(socket: &Path, command: &str, timeout: Duration) -> Result<Reply, String> {
    let deadline = Instant::now() + timeout;
    let stream = UnixStream::connect(socket)
        .map_err(|e| format!("cannot connect to BIRD at {}: {e}", socket.display()))?;
    let arm = |s: &UnixStream| {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("BIRD did not answer within {timeout:?}"));
        }
        s.set_read_timeout(Some(left))
            .and_then(|()| s.set_write_timeout(Some(left)))
            .map_err(|e| e.to_string())
    };
    arm(&stream)?;
    let mut reader = BufReader::new(&stream);
    let hello = read_reply(&mut reader)?;
    if hello.code != 1 {
        return Err(format!(
            "unexpected greeting from BIRD: {:04} {}",
            hello.code, hello.text
        ));
    }
    arm(&stream)?;
    (&stream)
        .write_all(format!("{command}\n").as_bytes())
        .map_err(|e| format!("sending {command:?} to BIRD: {e}"))?;
    arm(&stream)?;
    read_reply(&mut reader)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::net::UnixListener;

    fn reply(text: &str) -> Result<Reply, String> {
        read_reply(&mut text.as_bytes())
    }

    #[test]
    fn replies_are_read_to_their_last_line() {
        let r = reply("0002-Reading configuration from /etc/bird/bird.conf\n0003 Reconfigured\n")
            .unwrap();
        assert_eq!(r.code, 3);
        assert!(r.configured());
        assert_eq!(
            r.text,
            "Reading configuration from /etc/bird/bird.conf; Reconfigured"
        );
        let r = reply("0002-Reading configuration from /x\n8002 /x:3:1 syntax error, unexpected CF_SYM_UNDEFINED\n")
            .unwrap();
        assert_eq!(r.code, 8002);
        assert!(!r.configured());
        assert!(r.text.contains("syntax error"), "{}", r.text);
        let r = reply("1000-BIRD 2.0.12\n Router ID is 1.2.3.4\n0000 \n").unwrap();
        assert_eq!(
            (r.code, r.text.as_str()),
            (0, "BIRD 2.0.12; Router ID is 1.2.3.4")
        );
        assert!(reply("0002-Reading\n").is_err());
        assert!(reply("hello\n").is_err());
        assert!(reply("0003+odd\n").is_err());
        assert!(!reply("0006 Reconfiguration ignored, shutting down\n")
            .unwrap()
            .configured());
    }

    /// A fake BIRD on a socket: greets, checks the command, answers `answer`.
    fn fake_bird(answer: &'static str) -> (std::path::PathBuf, std::thread::JoinHandle<String>) {
        let path = std::env::temp_dir().join(format!(
            "splicer-fake-bird-{}-{}.ctl",
            std::process::id(),
            answer.len()
        ));
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).unwrap();
        let t = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.write_all(b"0001 BIRD 2.0.12 ready.\n").unwrap();
            let mut got = [0u8; 64];
            let n = s.read(&mut got).unwrap();
            s.write_all(answer.as_bytes()).unwrap();
            String::from_utf8_lossy(&got[..n]).into_owned()
        });
        (path, t)
    }

    #[test]
    fn configure_is_asked_and_its_answer_read() {
        let (path, bird) =
            fake_bird("0002-Reading configuration from /etc/bird.conf\n0003 Reconfigured\n");
        let r = run(&path, "configure", Duration::from_secs(5)).unwrap();
        assert_eq!(bird.join().unwrap(), "configure\n");
        assert!(r.configured(), "{r:?}");
        let _ = std::fs::remove_file(&path);
        let e = run(&path, "configure", Duration::from_secs(1)).unwrap_err();
        assert!(e.starts_with("cannot connect to BIRD at "), "{e}");
    }

    #[test]
    fn a_silent_bird_is_given_up() {
        let path =
            std::env::temp_dir().join(format!("splicer-mute-bird-{}.ctl", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).unwrap();
        let start = Instant::now();
        let e = run(&path, "configure", Duration::from_millis(200)).unwrap_err();
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );
        assert!(e.contains("reading BIRD's reply"), "{e}");
        drop(listener);
        let _ = std::fs::remove_file(&path);
    }
}
