//! Parsing of the commands that change the configuration, and their errors.

use super::*;
use splicer_config::{
    ClassEdit, CookieMatch, HeaderMatch, Kind, Method, Mode, Predictor, Rule, ServiceState,
};

#[test]
fn edits_parse() {
    assert_eq!(
        edit("virtual www 198.18.0.100:80"),
        Edit::Virtual {
            name: "www".into(),
            address: addr("198.18.0.100:80"),
            mode: None,
            predictor: None,
        }
    );
    assert_eq!(
        edit("VIRTUAL www 198.18.0.100:80 predictor RoundRobin MODE redirect"),
        Edit::Virtual {
            name: "www".into(),
            address: addr("198.18.0.100:80"),
            mode: Some(Mode::Redirect),
            predictor: Some(Predictor::RoundRobin),
        }
    );
    assert_eq!(
        edit("virtual www 198.18.0.100:80 mode splice"),
        Edit::Virtual {
            name: "www".into(),
            address: addr("198.18.0.100:80"),
            mode: Some(Mode::Splice),
            predictor: None,
        }
    );
    assert_eq!(edit("no virtual www"), Edit::NoVirtual { id: "www".into() });
    assert_eq!(
        edit("real s1 198.19.0.11:80"),
        Edit::Real {
            name: "s1".into(),
            address: addr("198.19.0.11:80"),
            weight: None,
            pool: None,
            maxconns: None,
        }
    );
    // Numbers pass as written: ranges are Config::edited's.
    assert_eq!(
        edit("real s1 198.19.0.11:80 maxconns 70000 weight 5 pool 0"),
        Edit::Real {
            name: "s1".into(),
            address: addr("198.19.0.11:80"),
            weight: Some(5),
            pool: Some(0),
            maxconns: Some(70000),
        }
    );
    assert_eq!(edit("no real s1"), Edit::NoReal { id: "s1".into() });
    assert_eq!(
        edit("url moved http://%h/new/%d"),
        Edit::Url {
            name: "moved".into(),
            url: "http://%h/new/%d".into(),
            code: None,
        }
    );
    assert_eq!(
        edit("url moved HTTP://Example.com/%d 301"),
        Edit::Url {
            name: "moved".into(),
            url: "HTTP://Example.com/%d".into(),
            code: Some(301),
        }
    );
    assert_eq!(edit("no url moved"), Edit::NoUrl { id: "moved".into() });
    assert_eq!(
        edit("bind www s1 s2 moved"),
        Edit::Bind {
            virtual_id: "www".into(),
            members: strings(&["s1", "s2", "moved"]),
        }
    );
    assert_eq!(
        edit("no bind www s2"),
        Edit::NoBind {
            virtual_id: "www".into(),
            members: strings(&["s2"]),
        }
    );
    assert_eq!(
        edit("dip 198.19.0.11"),
        Edit::Dip {
            address: Ipv4Addr::new(198, 19, 0, 11),
            port: None,
        }
    );
    assert_eq!(
        edit("dip 198.19.0.11 port outside"),
        Edit::Dip {
            address: Ipv4Addr::new(198, 19, 0, 11),
            port: Some("outside".into()),
        }
    );
    assert_eq!(
        edit("no dip 198.19.0.11"),
        Edit::NoDip {
            address: Ipv4Addr::new(198, 19, 0, 11),
        }
    );
    assert_eq!(
        edit("link moved www"),
        Edit::Link {
            url: "moved".into(),
            target: "www".into(),
        }
    );
    assert_eq!(
        edit("link moved 198.19.0.11"),
        Edit::Link {
            url: "moved".into(),
            target: "198.19.0.11".into(),
        }
    );
    assert_eq!(
        edit("no link moved"),
        Edit::NoLink {
            url: "moved".into()
        }
    );
    assert_eq!(
        edit("backup www moved"),
        Edit::Backup {
            id: "www".into(),
            backup: "moved".into(),
        }
    );
    assert_eq!(edit("no backup s1"), Edit::NoBackup { id: "s1".into() });
    assert_eq!(
        edit("weight s1 5"),
        Edit::Weight {
            id: "s1".into(),
            weight: 5,
        }
    );
    assert_eq!(
        edit("predictor www roundrobin"),
        Edit::Predictor {
            virtual_id: "www".into(),
            predictor: Predictor::RoundRobin,
            rule: None,
        }
    );
    assert_eq!(
        edit("predictor www leastconns rule img"),
        Edit::Predictor {
            virtual_id: "www".into(),
            predictor: Predictor::LeastConns,
            rule: Some("img".into()),
        }
    );
}

#[test]
fn service_states_parse() {
    assert_eq!(
        edit("in-service real s1"),
        Edit::InService {
            kind: Kind::Real,
            id: "s1".into(),
            all: false,
        }
    );
    assert_eq!(
        edit("in-service VIRTUAL 198.19.0.11 all"),
        Edit::InService {
            kind: Kind::Virtual,
            id: "198.19.0.11".into(),
            all: true,
        }
    );
    assert_eq!(
        edit("out-of-service url moved"),
        Edit::OutOfService {
            kind: Kind::Url,
            id: "moved".into(),
            state: ServiceState::OutOfService,
            all: false,
        }
    );
    assert_eq!(
        edit("out-of-service real s1 all"),
        Edit::OutOfService {
            kind: Kind::Real,
            id: "s1".into(),
            state: ServiceState::OutOfService,
            all: true,
        }
    );
    for (word, state) in [
        ("oos", ServiceState::OutOfService),
        ("maintenance", ServiceState::Maintenance),
        ("Sticky", ServiceState::Sticky),
        ("failed", ServiceState::Failed),
    ] {
        assert_eq!(
            edit(&format!("out-of-service virtual www {word} all")),
            Edit::OutOfService {
                kind: Kind::Virtual,
                id: "www".into(),
                state,
                all: true,
            }
        );
    }
    assert_eq!(
        OUT_OF_SERVICE_STATES,
        ["oos", "maintenance", "sticky", "failed"]
    );
}

#[test]
fn rules_parse() {
    let Edit::RuleAdd {
            virtual_id,
            rule,
            at,
        } = edit("rule add www img path_prefix /img/ path_suffix .jpg host Example.com method POST header X-Tenant blue cookie session blue bind s2 s3 at 1")
        else {
            panic!()
        };
    assert_eq!(virtual_id, "www");
    assert_eq!(at, Some(1));
    assert_eq!(
        *rule,
        Rule {
            path_prefix: Some("/img/".into()),
            path_suffix: Some(".jpg".into()),
            host: Some("Example.com".into()),
            method: Some(Method::Post),
            header: Some(HeaderMatch {
                name: "X-Tenant".into(),
                value: "blue".into(),
            }),
            cookie: Some(CookieMatch {
                name: "session".into(),
                value: "blue".into(),
            }),
            ..Rule::new("img", strings(&["s2", "s3"]))
        }
    );
    // Keywords in any order after the name; the bind list ends at a keyword.
    assert_eq!(
        edit("rule add api v1 bind s1 HOST api.example.com"),
        Edit::RuleAdd {
            virtual_id: "api".into(),
            rule: Box::new(Rule {
                host: Some("api.example.com".into()),
                ..Rule::new("v1", strings(&["s1"]))
            }),
            at: None,
        }
    );
    assert_eq!(
        edit("rule del www img"),
        Edit::RuleDel {
            virtual_id: "www".into(),
            rule: "img".into(),
        }
    );
    assert_eq!(
        parse("rule list www"),
        Ok(Command::Show(Show::Rule(Some("www".into()))))
    );
}

#[test]
fn new_shows_and_save_parse() {
    assert_eq!(parse("show url"), Ok(Command::Show(Show::Url(None))));
    assert_eq!(
        parse("show url moved"),
        Ok(Command::Show(Show::Url(Some("moved".into()))))
    );
    assert_eq!(parse("show rule"), Ok(Command::Show(Show::Rule(None))));
    assert_eq!(
        parse("show rule www"),
        Ok(Command::Show(Show::Rule(Some("www".into()))))
    );
    assert_eq!(
        parse("show flows"),
        Ok(Command::Show(Show::Flows(FlowQuery::default())))
    );
    assert_eq!(FlowQuery::default().limit, 100);
    assert_eq!(
        parse("show flows limit 10000 client 203.0.113.7 real s1 virtual www"),
        Ok(Command::Show(Show::Flows(FlowQuery {
            virtual_id: Some("www".into()),
            real: Some("s1".into()),
            client: Some(Ipv4Addr::new(203, 0, 113, 7)),
            limit: 10000,
        })))
    );
    assert_eq!(parse("save"), Ok(Command::Save(None)));
    assert_eq!(parse("reload"), Ok(Command::Reload));
    assert_eq!(parse("RELOAD"), Ok(Command::Reload));
    assert!(parse("reload now").is_err());
    assert_eq!(
        parse("save /etc/splicer/Live.toml"),
        Ok(Command::Save(Some("/etc/splicer/Live.toml".into())))
    );
    // Every command of the table parses from its example.
    for s in SYNTAX.iter().filter(|s| !s.example.is_empty()) {
        assert!(parse(s.example).is_ok(), "{}", s.example);
        assert!(s.example.starts_with(&s.words.join(" ")), "{}", s.example);
    }
}

#[test]
fn edit_errors() {
    for (line, message) in [
            ("weight s1 x", "weight must be a whole number, like weight s1 5"),
            ("weight s1 -1", "weight must be a whole number, like weight s1 5"),
            ("weight s1 4294967296", "weight 4294967296 is too large (at most 4294967295)"),
            ("weight s1", "missing <N>; usage: weight <real|url> <N>"),
            ("weight", "missing <real|url>; usage: weight <real|url> <N>"),
            ("weight s1 5 6", "unexpected '6'; usage: weight <real|url> <N>"),
            ("virtual www 198.18.0.1000:80", "expected an address like 198.18.0.100:80, got 198.18.0.1000:80"),
            ("virtual www 198.18.0.100", "expected an address like 198.18.0.100:80, got 198.18.0.100"),
            ("virtual www", "missing <ip:port>; usage: virtual <name> <ip:port> [mode splice|redirect|tcp] [predictor <p>]"),
            ("virtual www 198.18.0.100:80 mode fast", "unknown mode fast; one of splice, redirect, tcp, handoff"),
            ("virtual www 198.18.0.100:80 mode", "missing splice|redirect|tcp after 'mode'; usage: virtual <name> <ip:port> [mode splice|redirect|tcp] [predictor <p>]"),
            ("virtual www 198.18.0.100:80 mode splice mode redirect", "'mode' is given twice"),
            ("virtual www 198.18.0.100:80 fast", "unexpected 'fast'; usage: virtual <name> <ip:port> [mode splice|redirect|tcp] [predictor <p>]"),
            ("predictor www random", "unknown predictor random; one of roundrobin, weighted, leastconns, fastest, qos, maglev"),
            ("real s1 198.19.0.11:80 pool many", "pool must be a whole number, like real s1 198.19.0.11:80 weight 5 pool 4 maxconns 64"),
            ("url moved http://x/ abc", "code must be a whole number, like url moved http://%h:8080/new/%d 301"),
            ("url moved", "missing <url_string>; usage: url <url_id> <url_string> [code]"),
            ("bind www", "missing <real|url>; usage: bind <virtual> <real|url>..."),
            ("no bind", "missing <virtual>; usage: no bind <virtual> <real|url>..."),
            ("dip 198.19.0", "expected an IP address like 198.19.0.11, got 198.19.0"),
            ("dip 198.19.0.11 port", "missing <name> after 'port'; usage: dip <ip> [port <name>]"),
            ("no dip www", "expected an IP address like 198.19.0.11, got www"),
            ("link moved", "missing <virtual|dip>; usage: link <url_id> <virtual|dip>"),
            ("backup www", "missing <real|virtual|url>; usage: backup <real|virtual> <real|virtual|url>"),
            ("no virtual www api", "too many arguments: 'no virtual' takes at most one argument (<name>), got 'www api'"),
            ("in-service server s1", "unknown kind server; one of virtual, real, url"),
            ("in-service real", "missing <id>; usage: in-service virtual|real|url <id> [all]"),
            ("in-service real all", "missing <id>; usage: in-service virtual|real|url <id> [all]"),
            ("in-service real s1 oos", "unexpected 'oos'; usage: in-service virtual|real|url <id> [all]"),
            ("out-of-service real s1 x", "unknown state x; one of oos, maintenance, sticky, failed"),
            ("out-of-service real s1 in-service", "unknown state in-service; one of oos, maintenance, sticky, failed"),
            ("out-of-service real s1 all all", "'all' is given twice"),
            ("out-of-service real s1 all failed", "unexpected 'failed'; usage: out-of-service virtual|real|url <id> [oos|maintenance|sticky|failed] [all]"),
            ("rule add www img bind s1", "missing a condition (path_prefix <p>, path_suffix <s>, host <h>, method <M>, header <name> <value>, cookie <name> <value>); usage: rule add <virtual> <name> <condition>... bind <member>... [at <N>]"),
            ("rule add www img host a.example", "missing bind <member>...; usage: rule add <virtual> <name> <condition>... bind <member>... [at <N>]"),
            ("rule add www img host a.example bind", "missing <member> after 'bind'; usage: rule add <virtual> <name> <condition>... bind <member>... [at <N>]"),
            ("rule add www img host a.example bind at 1", "missing <member> after 'bind'; usage: rule add <virtual> <name> <condition>... bind <member>... [at <N>]"),
            ("rule add www host a.example bind s1", "missing <name>; usage: rule add <virtual> <name> <condition>... bind <member>... [at <N>]"),
            ("rule add www img method get bind s1", "unknown method get; one of GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH, TRACE (methods are case-sensitive)"),
            ("rule add www img method FETCH bind s1", "unknown method FETCH; one of GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH, TRACE (methods are case-sensitive)"),
            ("rule add www img header X-A bind s1", "missing <value> after 'header'; usage: rule add <virtual> <name> <condition>... bind <member>... [at <N>]"),
            ("rule add www img header X-A", "missing <value> after 'header'; usage: rule add <virtual> <name> <condition>... bind <member>... [at <N>]"),
            ("rule add www img cookie session bind s1", "missing <value> after 'cookie'; usage: rule add <virtual> <name> <condition>... bind <member>... [at <N>]"),
            ("rule add www img host a host b bind s1", "'host' is given twice"),
            ("rule add www img host a bind s1 at first", "at must be a whole number, like rule add www img path_prefix /img/ method GET bind s2 s3 at 1"),
            ("rule del www", "missing <name>; usage: rule del <virtual> <name>"),
            ("rule list", "missing <virtual>; usage: rule list <virtual>"),
            ("rule", "'rule' needs one of: add, del, class, list"),
            ("rule remove www img", "unknown command 'rule remove'; 'rule' is followed by one of: add, del, class, list"),
            ("no", "'no' needs one of: virtual, real, url, bind, dip, link, backup"),
            ("no weight s1", "unknown command 'no weight'; 'no' is followed by one of: virtual, real, url, bind, dip, link, backup"),
            ("out-of-servise real s1", "unknown command 'out-of-servise'; did you mean 'out-of-service'?"),
            ("show flows limit 0", "limit must be 1 to 10000, got 0"),
            ("show flows limit 10001", "limit must be 1 to 10000, got 10001"),
            ("show flows limit lots", "limit must be a whole number, like show flows virtual www client 203.0.113.7 limit 20"),
            ("show flows client 203.0.113", "expected an IP address like 198.19.0.11, got 203.0.113"),
            ("show flows www", "unexpected 'www'; usage: show flows [virtual <V>] [real <R>] [client <IP>] [limit <N>]"),
            ("show url a b", "too many arguments: 'show url' takes at most one argument ([name]), got 'a b'"),
            ("save a b", "too many arguments: 'save' takes at most one argument ([file]), got 'a b'"),
        ] {
            assert_eq!(err(line), message, "{line}");
        }
}

#[test]
fn class_edits_parse() {
    assert_eq!(
        edit("tier s3 2"),
        Edit::Class(ClassEdit::Tier {
            id: "s3".into(),
            tier: 2
        })
    );
    // Numbers pass as written: ranges are Config::edited's.
    assert_eq!(
        edit("queue www cost 4 size 70000"),
        Edit::Class(ClassEdit::Queue {
            virtual_id: "www".into(),
            size: Some(70000),
            priority: None,
            cost: Some(4),
        })
    );
    assert_eq!(
        edit("rule class www img priority 7"),
        Edit::Class(ClassEdit::Rule {
            virtual_id: "www".into(),
            rule: "img".into(),
            priority: Some(Some(7)),
            cost: None,
        })
    );
    assert!(err("tier s3").contains("<N>"), "{}", err("tier s3"));
    assert!(
        err("queue www size lots").contains("whole number"),
        "{}",
        err("queue www size lots")
    );
}
