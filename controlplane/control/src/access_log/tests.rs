use super::*;
use splicer_config::fixtures;
use splicer_pipeline::access::Term;

const VIRTUAL: &str = r#"
[[virtual]]
name = "www"
address = "198.18.0.10:80"
bind = ["s1"]

[[virtual.rule]]
name = "images"
path_prefix = "/img"
bind = ["s2"]
"#;

fn setup() -> (Config, FarmIds) {
    let text = fixtures::with_ports("", &format!("{}{VIRTUAL}", fixtures::REALS));
    let config: Config = text.parse().expect("valid");
    let mut ids = FarmIds::default();
    config.plan(&mut ids);
    (config, ids)
}

/// A record of a request to rule `images` on real 1 (s2), at 1 MHz ticks.
fn record() -> AccessRecord {
    let mut r = AccessRecord {
        worker: 1,
        client: [198, 18, 0, 2],
        client_port: 40000,
        vip: [198, 18, 0, 10],
        vip_port: 80,
        rule: 0,
        real: 1,
        status: 200,
        bytes_in: 60,
        bytes_out: 1234,
        head_start: 1_000,
        head_done: 1_250,
        sent: 1_300,
        first_byte: 2_300,
        end: 3_000,
        ..AccessRecord::default()
    };
    r.set_line(b"GET /img/a\"b HTTP/1.1\r\n");
    r
}

fn writer(
    format: &str,
    path: &std::path::Path,
) -> (AccessWriter, Arc<AccessRing>, Arc<AtomicBool>) {
    let text = format!(
        "[access_log]\npath = {:?}\nformat = \"{format}\"\n",
        path.display().to_string()
    );
    let config: Config = fixtures::with_ports("", &text).parse().expect("valid");
    let ring = AccessRing::new(16);
    let reopen = Arc::new(AtomicBool::new(false));
    let w = AccessWriter::new(
        config.access_log.as_ref().expect("on"),
        vec![ring.clone()],
        1_000_000,
        reopen.clone(),
    )
    .expect("opens");
    (w, ring, reopen)
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("splicer-access-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn json_lines_have_the_documented_fields() {
    let (config, ids) = setup();
    let names = Names {
        config: &config,
        ids: &ids,
    };
    let dir = temp("json");
    let (mut w, ring, _) = writer("json", &dir.join("a.log"));
    let _ = ring_push(&ring, record());
    w.poll(&names, 3_000);
    let text = std::fs::read_to_string(dir.join("a.log")).unwrap();
    let line = text.lines().next().expect("a line");
    for want in [
        "\"worker\":1",
        "\"client\":\"198.18.0.2\"",
        "\"client_port\":40000",
        "\"vip\":\"198.18.0.10:80\"",
        "\"virtual\":\"www\"",
        "\"rule\":\"images\"",
        "\"real\":\"s2\"",
        "\"method\":\"GET\"",
        "\"path\":\"/img/a\\\"b\"",
        "\"version\":\"HTTP/1.1\"",
        "\"truncated\":false",
        "\"status\":200",
        "\"bytes_in\":60",
        "\"bytes_out\":1234",
        "\"head_us\":250",
        "\"queue_us\":50",
        "\"server_us\":1000",
        "\"total_us\":2000",
        "\"term\":\"--\"",
    ] {
        assert!(line.contains(want), "{want} in {line}");
    }
    assert!(
        line.starts_with("{\"time\":\"20") && line.ends_with('}'),
        "{line}"
    );
    assert_eq!(text.lines().count(), 1);
    let _ = std::fs::remove_dir_all(dir);
}

fn ring_push(ring: &AccessRing, rec: AccessRecord) -> bool {
    ring.push(rec)
}

#[test]
fn text_lines_escape_what_the_client_sent_and_mark_what_did_not_happen() {
    let (config, ids) = setup();
    let names = Names {
        config: &config,
        ids: &ids,
    };
    let dir = temp("text");
    let (mut w, ring, _) = writer("text", &dir.join("a.log"));
    let mut r = record();
    r.set_line(b"GE\x01T /x\n");
    r.real = NONE16;
    r.rule = NONE16;
    r.sent = 0;
    r.first_byte = 0;
    r.status = 400;
    r.term = Term::Refused;
    ring_push(&ring, r);
    w.poll(&names, 3_000);
    let text = std::fs::read_to_string(dir.join("a.log")).unwrap();
    let line = text.lines().next().expect("a line");
    assert!(
        line.ends_with("] www -/- 250/-1/-1/2000 400 1234 60 PR \"GE\\x01T /x\""),
        "{line}"
    );
    assert!(line.starts_with("198.18.0.2:40000 [20"), "{line}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn reopen_moves_to_a_new_file_and_loses_nothing() {
    let (config, ids) = setup();
    let names = Names {
        config: &config,
        ids: &ids,
    };
    let dir = temp("reopen");
    let path = dir.join("a.log");
    let (mut w, ring, reopen) = writer("json", &path);
    ring_push(&ring, record());
    w.poll(&names, 3_000);
    std::fs::rename(&path, dir.join("a.log.1")).unwrap();
    // Written after the move but before the reopen: still the old file.
    ring_push(&ring, record());
    w.poll(&names, 3_000);
    reopen.store(true, Ordering::Relaxed);
    ring_push(&ring, record());
    ring_push(&ring, record());
    w.poll(&names, 3_000);
    let old = std::fs::read_to_string(dir.join("a.log.1")).unwrap();
    let new = std::fs::read_to_string(&path).unwrap();
    assert_eq!((old.lines().count(), new.lines().count()), (2, 2));
    assert_eq!(w.written, 4);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn syslog_messages_reach_the_socket() {
    let dir = temp("syslog");
    let sock = dir.join("log");
    let server = UnixDatagram::bind(&sock).unwrap();
    let text = format!(
        "[access_log]\nsyslog = true\nsyslog_socket = {:?}\nformat = \"text\"\n",
        sock.display().to_string()
    );
    let config: Config = fixtures::with_ports("", &text).parse().expect("valid");
    let ring = AccessRing::new(4);
    let mut w = AccessWriter::new(
        config.access_log.as_ref().unwrap(),
        vec![ring.clone()],
        1_000_000,
        Arc::new(AtomicBool::new(false)),
    )
    .unwrap();
    let ids = FarmIds::default();
    ring_push(&ring, record());
    w.poll(
        &Names {
            config: &config,
            ids: &ids,
        },
        3_000,
    );
    let mut buf = [0u8; 1024];
    let n = server.recv(&mut buf).unwrap();
    let msg = std::str::from_utf8(&buf[..n]).unwrap();
    assert!(msg.starts_with("<134>"), "{msg}");
    assert!(msg.contains(" splicer["), "{msg}");
    assert!(msg.contains("198.18.0.2:40000 ["), "{msg}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn dates_are_civil() {
    let mut s = String::new();
    rfc3339(&mut s, 0);
    assert_eq!(s, "1970-01-01T00:00:00.000000Z");
    s.clear();
    // 2026-12-06T19:13:09.5Z
    rfc3339(&mut s, 1_796_584_389_500_000);
    assert_eq!(s, "2026-12-06T19:13:09.500000Z");
    s.clear();
    syslog_time(&mut s, 1_796_584_389_500_000);
    assert_eq!(s, "Dec  6 19:13:09");
    s.clear();
    rfc3339(&mut s, 951_782_400_000_000);
    assert_eq!(s, "2000-02-29T00:00:00.000000Z");
}
