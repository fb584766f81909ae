//! Live edits: every error message of [`Config::edited`], and what each edit does.

use crate::edit::{Edit, Kind};
use crate::{Config, Dip, Mode, Predictor, Real, Rule, ServiceState, Url};
use std::net::{Ipv4Addr, SocketAddrV4};

const DEMO: &str = include_str!("../../../configs/demo.toml");

fn demo() -> Config {
    Config::from_toml_str(DEMO).unwrap()
}

fn sa(s: &str) -> SocketAddrV4 {
    s.parse().unwrap()
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// `c` with `edit` applied; it must succeed.
fn edit(c: &Config, edit: Edit) -> Config {
    c.edited(&edit)
        .unwrap_or_else(|m| panic!("{m}\n--- edit ---\n{edit:?}"))
}

/// The error of `edit` on `c`; `c` is left as it was.
fn fails(c: &Config, edit: Edit) -> String {
    let before = c.clone();
    let message = match c.edited(&edit) {
        Ok(_) => panic!("{edit:?} succeeded"),
        Err(m) => m,
    };
    assert_eq!(c, &before);
    message
}

fn real(name: &str, address: &str) -> Edit {
    Edit::Real {
        name: name.into(),
        address: sa(address),
        weight: None,
        pool: None,
        maxconns: None,
    }
}

fn virt(name: &str, address: &str, mode: Option<Mode>) -> Edit {
    Edit::Virtual {
        name: name.into(),
        address: sa(address),
        mode,
        predictor: None,
    }
}

fn url(name: &str, u: &str, code: Option<u32>) -> Edit {
    Edit::Url {
        name: name.into(),
        url: u.into(),
        code,
    }
}

fn bind(v: &str, members: &[&str]) -> Edit {
    Edit::Bind {
        virtual_id: v.into(),
        members: strings(members),
    }
}

fn no_bind(v: &str, members: &[&str]) -> Edit {
    Edit::NoBind {
        virtual_id: v.into(),
        members: strings(members),
    }
}

fn dip(address: &str, port: Option<&str>) -> Edit {
    Edit::Dip {
        address: ip(address),
        port: port.map(String::from),
    }
}

fn link(u: &str, target: &str) -> Edit {
    Edit::Link {
        url: u.into(),
        target: target.into(),
    }
}

fn backup(id: &str, b: &str) -> Edit {
    Edit::Backup {
        id: id.into(),
        backup: b.into(),
    }
}

fn oos(kind: Kind, id: &str, state: ServiceState, all: bool) -> Edit {
    Edit::OutOfService {
        kind,
        id: id.into(),
        state,
        all,
    }
}

fn in_service(kind: Kind, id: &str, all: bool) -> Edit {
    Edit::InService {
        kind,
        id: id.into(),
        all,
    }
}

fn rule_add(v: &str, name: &str, prefix: &str, members: &[&str], at: Option<u32>) -> Edit {
    Edit::RuleAdd {
        virtual_id: v.into(),
        rule: Box::new(Rule {
            path_prefix: Some(prefix.into()),
            ..Rule::new(name, strings(members))
        }),
        at,
    }
}

fn rule_del(v: &str, name: &str) -> Edit {
    Edit::RuleDel {
        virtual_id: v.into(),
        rule: name.into(),
    }
}

/// The acme example of Cisco's "Server load balancing method and system" (US 7,099,915)
/// on top of the demo: a redirect virtual bound to two URLs, each linked to the DIP of
/// its own real, built one command at a time.
fn acme() -> Config {
    let mut c = demo();
    for e in [
        virt("acme", "198.18.0.101:80", Some(Mode::Redirect)),
        url("coyote", "http://coyote.acme.example/%d", None),
        url("roadrunner", "http://roadrunner.acme.example/%d", Some(307)),
        bind("acme", &["coyote", "roadrunner"]),
        real("coyote-srv", "198.19.0.21:80"),
        Edit::Real {
            name: "roadrunner-srv".into(),
            address: sa("198.19.0.22:8080"),
            weight: Some(2),
            pool: Some(8),
            maxconns: None,
        },
        dip("198.19.0.21", None),
        dip("198.19.0.22", Some("outside")),
        link("coyote", "198.19.0.21"),
        link("roadrunner", "198.19.0.22:8080"),
        // US 7,099,915: `backup 1.1.1.2 1.1.1.1`, the DIP backed up by the virtual.
        backup("198.19.0.21", "198.18.0.101"),
        url("book", "http://www.book.example", Some(301)),
        backup("acme", "book"),
        oos(Kind::Virtual, "198.19.0.22", ServiceState::Sticky, false),
        rule_add("acme", "old", "/old/", &["roadrunner"], None),
        rule_add("acme", "tmp", "/tmp/", &["coyote"], Some(1)),
        rule_del("acme", "tmp"),
    ] {
        c = edit(&c, e);
    }
    c
}

const ACME: &str = r#"
[[real]]
name = "coyote-srv"
address = "198.19.0.21:80"
backup = "acme"

[[real]]
name = "roadrunner-srv"
address = "198.19.0.22:8080"
weight = 2
pool = 8
state = "sticky"

[[virtual]]
name = "acme"
address = "198.18.0.101:80"
mode = "redirect"
bind = ["coyote", "roadrunner"]
backup = "book"

[[virtual.rule]]
name = "old"
path_prefix = "/old/"
bind = ["roadrunner"]

[[url]]
name = "coyote"
url = "http://coyote.acme.example/%d"
link = "198.19.0.21"

[[url]]
name = "roadrunner"
url = "http://roadrunner.acme.example/%d"
code = 307
link = "198.19.0.22"

[[url]]
name = "book"
url = "http://www.book.example"
code = 301

[[dip]]
address = "198.19.0.21"
port = "outside"

[[dip]]
address = "198.19.0.22"
port = "outside"
"#;

#[test]
fn acme_example_by_edits_equals_the_file_and_round_trips() {
    let c = acme();
    assert_eq!(
        c,
        Config::from_toml_str(&format!("{DEMO}\n{ACME}")).unwrap()
    );
    assert_eq!(Config::from_toml_str(&c.to_toml()).unwrap(), c);
    assert_eq!(c.dip_real(0), 3);
    assert_eq!(c.dip_socket(1), sa("198.19.0.22:8080"));
    // The demo itself is untouched by all of it.
    assert_eq!(demo(), Config::from_toml_str(DEMO).unwrap());
}

#[test]
fn identifiers() {
    let c = edit(&acme(), real("s4", "198.19.0.11:8080"));
    assert_eq!(c.find_real("s2"), Ok(1));
    assert_eq!(c.find_real("198.19.0.12"), Ok(1));
    assert_eq!(c.find_real("198.19.0.12:80"), Ok(1));
    assert_eq!(c.find_real("198.19.0.11:8080"), Ok(5));
    assert_eq!(
        c.find_real("198.19.0.12:81"),
        Err("real 198.19.0.12:81 does not exist".into())
    );
    assert_eq!(c.find_real("s9"), Err("real s9 does not exist".into()));
    assert_eq!(
        c.find_real("198.19.0.11"),
        Err("198.19.0.11 matches reals s1 and s4; name one".into())
    );
    assert_eq!(c.find_virtual("acme"), Ok(1));
    assert_eq!(c.find_virtual("198.18.0.101"), Ok(1));
    assert_eq!(c.find_virtual("198.18.0.100:80"), Ok(0));
    assert_eq!(
        c.find_virtual("www2"),
        Err("virtual www2 does not exist".into())
    );
    // A DIP is not a virtual of the list; find_dip finds it.
    assert_eq!(
        c.find_virtual("198.19.0.21"),
        Err("virtual 198.19.0.21 does not exist".into())
    );
    assert_eq!(c.find_dip("198.19.0.21"), Some(0));
    assert_eq!(c.find_dip("198.19.0.21:80"), Some(0));
    assert_eq!(c.find_dip("coyote"), None);
    assert_eq!(c.find_url("book"), Ok(2));
    assert_eq!(c.find_url("x"), Err("url x does not exist".into()));
    let c = edit(&c, virt("www-tls", "198.18.0.100:443", None));
    assert_eq!(
        c.find_virtual("198.18.0.100"),
        Err("198.18.0.100 matches virtuals www and www-tls; name one".into())
    );
    assert_eq!(Kind::Virtual.name(), "virtual");
    assert_eq!(Kind::Real.name(), "real");
    assert_eq!(Kind::Url.name(), "url");
}

#[test]
fn unknown_objects() {
    let c = acme();
    for (e, want) in [
        (Edit::NoReal { id: "s9".into() }, "real s9 does not exist"),
        (
            Edit::NoVirtual { id: "www2".into() },
            "virtual www2 does not exist",
        ),
        (Edit::NoUrl { id: "x".into() }, "url x does not exist"),
        (
            Edit::Predictor {
                virtual_id: "www2".into(),
                predictor: Predictor::RoundRobin,
                rule: None,
            },
            "virtual www2 does not exist",
        ),
        (
            Edit::Weight {
                id: "s9".into(),
                weight: 1,
            },
            "real s9 does not exist",
        ),
        (bind("www2", &["s1"]), "virtual www2 does not exist"),
        (bind("www", &["s9"]), "real s9 does not exist"),
        (bind("acme", &["x"]), "url x does not exist"),
        (no_bind("www", &["s9"]), "real s9 does not exist"),
        (link("x", "www"), "url x does not exist"),
        (link("book", "www2"), "www2 is neither a virtual nor a DIP"),
        (
            link("book", "198.19.0.11"),
            "198.19.0.11 is neither a virtual nor a DIP",
        ),
        (Edit::NoLink { url: "x".into() }, "url x does not exist"),
        (
            Edit::NoDip {
                address: ip("198.19.0.99"),
            },
            "DIP 198.19.0.99 does not exist",
        ),
        (backup("s9", "www"), "s9 is neither a real nor a virtual"),
        (backup("s1", "s9"), "s9 is not a real, virtual or URL"),
        (
            Edit::NoBackup { id: "s9".into() },
            "s9 is neither a real nor a virtual",
        ),
        (
            in_service(Kind::Virtual, "www2", false),
            "virtual www2 does not exist",
        ),
        (in_service(Kind::Real, "s9", true), "real s9 does not exist"),
        (in_service(Kind::Url, "x", false), "url x does not exist"),
        (rule_del("www2", "img"), "virtual www2 does not exist"),
        (rule_del("www", "x"), "rule x does not exist in virtual www"),
    ] {
        assert_eq!(fails(&c, e.clone()), want, "{e:?}");
    }
}

#[test]
fn ranges() {
    let c = demo();
    let r = |weight, pool, maxconns| Edit::Real {
        name: "s1".into(),
        address: sa("198.19.0.11:80"),
        weight,
        pool,
        maxconns,
    };
    assert_eq!(
        fails(&c, r(Some(1001), None, None)),
        "weight must be 0..=1000"
    );
    assert_eq!(
        fails(&c, r(None, Some(1025), None)),
        "pool must be 0..=1024"
    );
    assert_eq!(
        fails(&c, r(None, None, Some(0))),
        "maxconns must be 1..=65535"
    );
    assert_eq!(
        fails(&c, r(None, None, Some(65536))),
        "maxconns must be 1..=65535"
    );
    assert_eq!(
        fails(&c, r(None, None, Some(u32::MAX))),
        "maxconns must be 1..=65535"
    );
    assert_eq!(
        fails(
            &c,
            Edit::Weight {
                id: "s1".into(),
                weight: 1001
            }
        ),
        "weight must be 0..=1000"
    );
    for code in [200, 304, 70000] {
        assert_eq!(
            fails(&c, url("x", "http://x", Some(code))),
            "code must be one of 301, 302, 303, 307, 308"
        );
    }
    // The bounds themselves are accepted.
    let c = edit(&c, r(Some(0), Some(1024), Some(65535)));
    assert_eq!(
        (c.reals[0].weight, c.reals[0].pool, c.reals[0].maxconns),
        (0, 1024, 65535)
    );
    let c = edit(&c, r(Some(1000), Some(0), Some(1)));
    assert_eq!(
        (c.reals[0].weight, c.reals[0].pool, c.reals[0].maxconns),
        (1000, 0, 1)
    );
    // A rule only validate() checks is reported with its key.
    assert_eq!(
        fails(&demo(), r(None, Some(100), None)),
        "real[0].maxconns: must be at least real[0].pool (100), got 64; the pool's idle connections count towards maxconns"
    );
}

#[test]
fn create_and_modify() {
    let c = demo();
    // A new real takes the defaults; an existing one changes only what is given.
    let c = edit(&c, real("s4", "198.19.0.14:8080"));
    assert_eq!(c.reals[3], Real::new("s4", sa("198.19.0.14:8080")));
    let c = edit(
        &c,
        Edit::Real {
            name: "s1".into(),
            address: sa("198.19.0.31:81"),
            weight: Some(5),
            pool: None,
            maxconns: Some(32),
        },
    );
    assert_eq!(
        c.reals[0],
        Real {
            weight: 5,
            maxconns: 32,
            ..Real::new("s1", sa("198.19.0.31:81"))
        }
    );
    // Virtuals: mode and predictor kept unless given.
    let c = edit(&c, virt("api", "198.18.0.100:8080", None));
    assert_eq!(c.virtuals[1].mode, Mode::Splice);
    let c = edit(&c, virt("api", "198.18.0.102:8080", Some(Mode::Redirect)));
    assert_eq!(
        (c.virtuals[1].address, c.virtuals[1].mode),
        (sa("198.18.0.102:8080"), Mode::Redirect)
    );
    let c = edit(&c, virt("api", "198.18.0.102:8081", None));
    assert_eq!(c.virtuals[1].mode, Mode::Redirect);
    let c = edit(
        &c,
        Edit::Predictor {
            virtual_id: "198.18.0.102:8081".into(),
            predictor: Predictor::RoundRobin,
            rule: None,
        },
    );
    // URLs: the code is kept unless given.
    let c = edit(&c, url("book", "http://a.example", Some(308)));
    let c = edit(&c, url("book", "http://b.example/%d", None));
    assert_eq!(
        c.urls[0],
        Url {
            code: 308,
            ..Url::new("book", "http://b.example/%d")
        }
    );
    assert_eq!(
        edit(&c, url("book2", "http://b.example", None)).urls[1].code,
        302
    );
    // Errors validate() finds are its messages.
    assert_eq!(
        fails(&c, real("s 1", "198.19.0.15:80")),
        "real[4].name: \"s 1\" is not a valid name: use 1 to 32 characters from A-Z, a-z, 0-9, '_', '.' and '-'"
    );
    assert_eq!(
        fails(&c, url("ftp", "ftp://x", None)),
        "url[1].url: \"ftp://x\" must start with http:// or https://, like \"http://coyote.acme.example/%d\""
    );
    assert_eq!(
        fails(&c, virt("www", "198.18.0.102:8081", None)),
        "virtual[1].address: 198.18.0.102:8081 is already used by virtual[0] (\"www\")"
    );
}

#[test]
fn names_are_shared() {
    let c = acme();
    assert_eq!(
        fails(&c, real("www", "198.19.0.40:80")),
        "www is already the name of a virtual; reals, virtuals and URLs need distinct names"
    );
    assert_eq!(
        fails(&c, url("s1", "http://x", None)),
        "s1 is already the name of a real; reals, virtuals and URLs need distinct names"
    );
    assert_eq!(
        fails(&c, virt("coyote", "198.18.0.110:80", None)),
        "coyote is already the name of a URL; reals, virtuals and URLs need distinct names"
    );
}

#[test]
fn mode_change_needs_no_members_of_the_other_kind() {
    let c = demo();
    assert_eq!(
        fails(&c, virt("www", "198.18.0.100:80", Some(Mode::Redirect))),
        "virtual www binds reals s1, s2 and s3; a redirect virtual binds URLs: unbind them (no bind, rule del) first"
    );
    let c = edit(&c, no_bind("www", &["s1", "s3"]));
    assert_eq!(
        fails(&c, virt("www", "198.18.0.100:80", Some(Mode::Redirect))),
        "virtual www binds reals s2; a redirect virtual binds URLs: unbind them (no bind, rule del) first"
    );
    let c = edit(&edit(&c, no_bind("www", &["s2"])), rule_del("www", "img"));
    let c = edit(&c, virt("www", "198.18.0.100:80", Some(Mode::Redirect)));
    assert_eq!(c.virtuals[0].mode, Mode::Redirect);
    let c = edit(&edit(&c, url("u", "http://u", None)), bind("www", &["u"]));
    // Giving the mode it already has is no change.
    edit(&c, virt("www", "198.18.0.100:80", Some(Mode::Redirect)));
    // A splice virtual binds URLs beside its reals: they may stay.
    let c = edit(&c, virt("www", "198.18.0.100:80", Some(Mode::Splice)));
    assert_eq!(c.virtuals[0].mode, Mode::Splice);
    assert_eq!(c.virtuals[0].bind, strings(&["u"]));
    // Back to redirect with a real beside the URL: the real is named.
    let c = edit(&c, bind("www", &["s1"]));
    assert_eq!(
        fails(&c, virt("www", "198.18.0.100:80", Some(Mode::Redirect))),
        "virtual www binds reals s1; a redirect virtual binds URLs: unbind them (no bind, rule del) first"
    );
}

#[test]
fn bind_and_unbind() {
    let c = acme();
    assert_eq!(
        fails(&c, bind("www", &["s1"])),
        "s1 is already bound to www"
    );
    assert_eq!(
        fails(&c, bind("acme", &["coyote"])),
        "coyote is already bound to acme"
    );
    assert_eq!(
        fails(&c, no_bind("acme", &["book"])),
        "book is not bound to acme"
    );
    assert_eq!(
        fails(&c, bind("www", &[])),
        "bind needs at least one real or URL"
    );
    // A URL beside the reals of a splice virtual (cross-site sharing).
    let shared = edit(&c, bind("www", &["coyote"]));
    assert_eq!(
        shared.virtuals[0].bind.last().map(String::as_str),
        Some("coyote")
    );
    assert_eq!(shared.farm().virtuals[0].bind_urls, vec![0]);
    assert_eq!(
        fails(&c, bind("acme", &["198.19.0.11"])),
        "s1 is a real; a redirect virtual binds URLs (set mode = \"splice\" to bind reals)"
    );
    assert_eq!(
        fails(&c, bind("www", &["acme"])),
        "acme is a virtual; a splice virtual binds reals (and URLs beside them)"
    );
    let c = edit(&c, no_bind("www", &["s2"]));
    assert_eq!(fails(&c, no_bind("www", &["s2"])), "s2 is not bound to www");
    // Members by address; a failure part-way binds none of them.
    let c2 = edit(&c, bind("www", &["198.19.0.12:80", "coyote-srv"]));
    assert_eq!(
        c2.virtuals[0].bind,
        strings(&["s1", "s3", "s2", "coyote-srv"])
    );
    assert_eq!(
        fails(&c, bind("www", &["s2", "s9"])),
        "real s9 does not exist"
    );
    assert_eq!(
        fails(&c, bind("www", &["s2", "s2"])),
        "s2 is already bound to www"
    );
    let c = edit(&c, real("s4", "198.19.0.11:8080"));
    assert_eq!(
        fails(&c, bind("www", &["198.19.0.11"])),
        "198.19.0.11 matches reals s1 and s4; name one"
    );
}

#[test]
fn removals_refuse_while_referenced() {
    let c = acme();
    for (e, want) in [
        (
            Edit::NoReal { id: "s1".into() },
            "real s1 is bound to virtual www; unbind it first: no bind www s1",
        ),
        (
            Edit::NoReal {
                id: "coyote-srv".into(),
            },
            "real coyote-srv has DIP 198.19.0.21; remove it first: no dip 198.19.0.21",
        ),
        (
            Edit::NoVirtual { id: "acme".into() },
            "virtual acme is the backup of real coyote-srv; remove it first: no backup coyote-srv",
        ),
        (
            Edit::NoVirtual {
                id: "198.19.0.21".into(),
            },
            "198.19.0.21 is a DIP; remove it with: no dip 198.19.0.21",
        ),
        (
            Edit::NoUrl {
                id: "coyote".into(),
            },
            "url coyote is bound to virtual acme; unbind it first: no bind acme coyote",
        ),
        (
            Edit::NoUrl {
                id: "roadrunner".into(),
            },
            "url roadrunner is bound to virtual acme; unbind it first: no bind acme roadrunner",
        ),
        (
            Edit::NoUrl { id: "book".into() },
            "url book is the backup of virtual acme; remove it first: no backup acme",
        ),
        (
            Edit::NoDip {
                address: ip("198.19.0.21"),
            },
            "DIP 198.19.0.21 is linked by url coyote; unlink it first: no link coyote",
        ),
    ] {
        assert_eq!(fails(&c, e.clone()), want, "{e:?}");
    }
    let c = edit(&c, no_bind("www", &["s2"]));
    assert_eq!(
        fails(&c, Edit::NoReal { id: "s2".into() }),
        "real s2 is bound by rule img of virtual www; delete the rule first: rule del www img"
    );
    let c = edit(&c, rule_del("www", "img"));
    let c = edit(
        &c,
        Edit::NoReal {
            id: "198.19.0.12".into(),
        },
    );
    assert!(c.find_real("s2").is_err());
    // A real that is a backup.
    let c = edit(&c, backup("www", "s3"));
    let c = edit(&c, no_bind("www", &["s3"]));
    assert_eq!(
        fails(&c, Edit::NoReal { id: "s3".into() }),
        "real s3 is the backup of virtual www; remove it first: no backup www"
    );
    // A virtual a URL is linked to.
    let c = edit(&c, link("book", "www"));
    assert_eq!(
        fails(&c, Edit::NoVirtual { id: "www".into() }),
        "virtual www is linked by url book; unlink it first: no link book"
    );
    // Once nothing refers to them, everything goes.
    let mut c = c;
    for e in [
        Edit::NoLink { url: "book".into() },
        Edit::NoBackup { id: "www".into() },
        Edit::NoReal { id: "s3".into() },
        Edit::NoVirtual { id: "www".into() },
        Edit::NoBackup {
            id: "198.19.0.21".into(),
        },
        Edit::NoLink {
            url: "coyote".into(),
        },
        Edit::NoDip {
            address: ip("198.19.0.21"),
        },
        Edit::NoReal {
            id: "coyote-srv".into(),
        },
        Edit::NoBackup { id: "acme".into() },
        Edit::NoUrl { id: "book".into() },
    ] {
        c = edit(&c, e);
    }
    assert_eq!(c.reals.len(), 2);
    assert_eq!(c.virtuals.len(), 1);
    assert_eq!(c.urls.len(), 2);
    assert_eq!(c.dips.len(), 1);
}

#[test]
fn dips() {
    let c = demo();
    assert_eq!(
        fails(&c, dip("198.19.0.99", None)),
        "no real has address 198.19.0.99"
    );
    assert_eq!(
        fails(&c, dip("198.19.0.11", Some("dmz"))),
        "port dmz does not exist"
    );
    let c = edit(&c, dip("198.19.0.11", None));
    assert_eq!(
        c.dips,
        vec![Dip {
            address: ip("198.19.0.11"),
            port: "outside".into()
        }]
    );
    assert_eq!(
        fails(&c, dip("198.19.0.11", None)),
        "DIP 198.19.0.11 already exists"
    );
    assert_eq!(
        fails(&c, real("s1", "198.19.0.41:80")),
        "real s1 has DIP 198.19.0.11; remove it first: no dip 198.19.0.11"
    );
    // Its port may change; a second real on the DIP's address is refused by validate().
    let c = edit(&c, real("s1", "198.19.0.11:8000"));
    assert_eq!(c.dip_socket(0), sa("198.19.0.11:8000"));
    assert_eq!(
        fails(&c, real("s4", "198.19.0.11:8080")),
        "dip[0].address: reals s1 and s4 both have 198.19.0.11; a DIP pairs with one real"
    );
    let c = edit(&demo(), real("s4", "198.19.0.11:8080"));
    assert_eq!(
        fails(&c, dip("198.19.0.11", None)),
        "reals s1 and s4 both have 198.19.0.11; a DIP pairs with one real"
    );
    // No virtual to take the port from.
    let mut bare = demo();
    bare.virtuals.clear();
    assert_eq!(
        fails(&bare, dip("198.19.0.11", None)),
        "there is no virtual to take the DIP's port from; name the port: dip 198.19.0.11 port <name>"
    );
    assert_eq!(
        edit(&bare, dip("198.19.0.11", Some("inside"))).dips[0].port,
        "inside"
    );
    // The port of the first virtual, not the first port.
    let mut inside = demo();
    inside.virtuals[0].port = None;
    inside.virtuals[0].address = sa("203.0.113.7:80");
    inside.virtuals[0].port = Some("inside".into());
    let inside = inside.edited(&dip("198.19.0.12", None)).unwrap();
    assert_eq!(inside.dips[0].port, "inside");
}

#[test]
fn links() {
    let c = acme();
    assert_eq!(c.urls[0].link.as_deref(), Some("198.19.0.21"));
    let c = edit(&c, link("book", "198.18.0.100:80"));
    assert_eq!(c.urls[2].link.as_deref(), Some("www"));
    let c = edit(&c, link("book", "198.19.0.22"));
    assert_eq!(c.urls[2].link.as_deref(), Some("198.19.0.22"));
    let c = edit(&c, Edit::NoLink { url: "book".into() });
    assert_eq!(
        fails(&c, Edit::NoLink { url: "book".into() }),
        "url book is not linked"
    );
    let c = edit(&c, virt("www-tls", "198.18.0.100:443", None));
    assert_eq!(
        fails(&c, link("book", "198.18.0.100")),
        "198.18.0.100 matches virtuals www and www-tls; name one"
    );
}

#[test]
fn backups() {
    let c = acme();
    assert_eq!(c.reals[3].backup.as_deref(), Some("acme"));
    assert_eq!(
        fails(&c, backup("s1", "s1")),
        "real s1 cannot be its own backup"
    );
    assert_eq!(
        fails(&c, backup("198.19.0.11", "s1")),
        "real s1 cannot be its own backup"
    );
    assert_eq!(
        fails(&c, backup("acme", "198.18.0.101:80")),
        "virtual acme cannot be its own backup"
    );
    assert_eq!(
        fails(&c, backup("coyote", "book")),
        "coyote is a URL; only reals and virtuals (and DIPs) have a backup"
    );
    assert_eq!(
        fails(&c, Edit::NoBackup { id: "s1".into() }),
        "real s1 has no backup"
    );
    // Targets by name or address; a DIP names its real.
    let c = edit(&c, backup("s1", "198.19.0.22"));
    assert_eq!(c.reals[0].backup.as_deref(), Some("roadrunner-srv"));
    let c = edit(&c, backup("s1", "coyote"));
    assert_eq!(c.reals[0].backup.as_deref(), Some("coyote"));
    let c = edit(&c, backup("www", "s1"));
    assert_eq!(
        fails(&c, backup("s1", "www")),
        "real[0].backup: backups loop: s1 → www → s1"
    );
    // A URL ends a chain: www → s1 → coyote is no loop; through a real's real it is.
    let c = edit(&c, backup("s1", "roadrunner-srv"));
    assert_eq!(
        fails(&c, backup("roadrunner-srv", "www")),
        "real[0].backup: backups loop: s1 → roadrunner-srv → www → s1"
    );
    let c = edit(&c, backup("roadrunner-srv", "book"));
    assert_eq!(c.reals[4].backup.as_deref(), Some("book"));
}

#[test]
fn states() {
    let c = acme();
    let c = edit(&c, real("s4", "198.19.0.11:8080"));
    let c = edit(&c, virt("www-tls", "198.18.0.100:443", None));
    let states = |c: &Config| -> Vec<ServiceState> {
        c.reals
            .iter()
            .map(|r| r.state)
            .chain(c.virtuals.iter().map(|v| v.state))
            .chain(c.urls.iter().map(|u| u.state))
            .collect()
    };
    use ServiceState::*;
    // reals s1 s2 s3 coyote-srv roadrunner-srv s4, virtuals www acme www-tls, urls.
    assert_eq!(
        states(&c),
        [
            InService, InService, InService, InService, Sticky, InService, InService, InService,
            InService, InService, InService, InService
        ]
    );
    // One real; then every real on its IP.
    let one = edit(&c, oos(Kind::Real, "s1", Maintenance, false));
    assert_eq!(
        &states(&one)[..6],
        [
            Maintenance,
            InService,
            InService,
            InService,
            Sticky,
            InService
        ]
    );
    let all = edit(&c, oos(Kind::Real, "s1", Maintenance, true));
    assert_eq!(
        &states(&all)[..6],
        [
            Maintenance,
            InService,
            InService,
            InService,
            Sticky,
            Maintenance
        ]
    );
    let all = edit(&c, oos(Kind::Real, "198.19.0.11", Failed, true));
    assert_eq!(
        &states(&all)[..6],
        [Failed, InService, InService, InService, Sticky, Failed]
    );
    assert_eq!(
        fails(&c, oos(Kind::Real, "198.19.0.11", Failed, false)),
        "198.19.0.11 matches reals s1 and s4; name one"
    );
    let back = edit(&all, in_service(Kind::Real, "s4", true));
    assert_eq!(states(&back), states(&c));
    // Virtuals, with all: every virtual on the VIP.
    let v = edit(&c, oos(Kind::Virtual, "www", OutOfService, true));
    assert_eq!(&states(&v)[6..9], [OutOfService, InService, OutOfService]);
    let v = edit(&v, in_service(Kind::Virtual, "198.18.0.100:443", false));
    assert_eq!(&states(&v)[6..9], [OutOfService, InService, InService]);
    let v = edit(&v, oos(Kind::Virtual, "198.18.0.100", Sticky, true));
    assert_eq!(&states(&v)[6..9], [Sticky, InService, Sticky]);
    // A DIP named as a virtual: its real's state, which it shares.
    let d = edit(&c, oos(Kind::Virtual, "198.19.0.21", Failed, false));
    assert_eq!(d.reals[3].state, Failed);
    assert_eq!(states(&d)[6..], states(&c)[6..]);
    let d = edit(&d, in_service(Kind::Virtual, "198.19.0.21:80", true));
    assert_eq!(d, c);
    let d = edit(&c, in_service(Kind::Virtual, "198.19.0.22", false));
    assert_eq!(d.reals[4].state, InService);
    // URLs.
    let u = edit(&c, oos(Kind::Url, "book", OutOfService, false));
    assert_eq!(u.urls[2].state, OutOfService);
    assert_eq!(edit(&u, in_service(Kind::Url, "book", false)), c);
    assert_eq!(
        fails(&c, oos(Kind::Url, "book", OutOfService, true)),
        "all applies to reals and virtuals (every one on an IP address); a URL has no address"
    );
    assert_eq!(
        fails(&c, oos(Kind::Real, "s1", InService, false)),
        "out-of-service takes a state other than in-service: oos, maintenance, sticky or failed"
    );
    // The kind matters: a real's name is no virtual.
    assert_eq!(
        fails(&c, oos(Kind::Virtual, "s1", OutOfService, false)),
        "virtual s1 does not exist"
    );
}

#[test]
fn weights() {
    let c = acme();
    let c2 = edit(
        &c,
        Edit::Weight {
            id: "198.19.0.12".into(),
            weight: 0,
        },
    );
    assert_eq!(c2.reals[1].weight, 0);
    assert_eq!(
        fails(
            &c,
            Edit::Weight {
                id: "coyote".into(),
                weight: 5
            }
        ),
        "url coyote takes its weight from DIP 198.19.0.21 (real coyote-srv); set the real's weight"
    );
    let c2 = edit(
        &c,
        Edit::Weight {
            id: "book".into(),
            weight: 7,
        },
    );
    assert_eq!(c2.urls[2].weight, 7);
    // A URL linked to a virtual keeps its own weight.
    let c2 = edit(
        &edit(&c, link("book", "www")),
        Edit::Weight {
            id: "book".into(),
            weight: 0,
        },
    );
    assert_eq!(c2.urls[2].weight, 0);
}

#[test]
fn rules() {
    let c = demo();
    assert_eq!(
        fails(&c, rule_add("www", "img", "/x/", &["s1"], None)),
        "rule img already exists in virtual www"
    );
    assert_eq!(
        fails(&c, rule_add("www", "a", "/a/", &["s1"], Some(0))),
        "rule position must be 1..=2"
    );
    assert_eq!(
        fails(&c, rule_add("www", "a", "/a/", &["s1"], Some(3))),
        "rule position must be 1..=2"
    );
    assert_eq!(
        fails(&c, rule_add("www", "a", "/a/", &["s9"], None)),
        "real s9 does not exist"
    );
    let c = edit(&c, rule_add("www", "last", "/l/", &["198.19.0.13"], None));
    let c = edit(&c, rule_add("www", "first", "/f/", &["s1", "s3"], Some(1)));
    let c = edit(&c, rule_add("www", "second", "/s/", &["s2"], Some(2)));
    let names: Vec<&str> = c.virtuals[0]
        .rules
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(names, ["first", "second", "img", "last"]);
    assert_eq!(c.virtuals[0].rules[3].bind, strings(&["s3"]));
    assert_eq!(
        fails(&c, rule_add("www", "a", "/a/", &["s1"], Some(6))),
        "rule position must be 1..=5"
    );
    let c = edit(&c, rule_del("www", "img"));
    assert_eq!(
        fails(&c, rule_del("www", "img")),
        "rule img does not exist in virtual www"
    );
    // Conditions are checked as in the file.
    assert_eq!(
        fails(
            &c,
            Edit::RuleAdd {
                virtual_id: "www".into(),
                rule: Box::new(Rule::new("any", strings(&["s1"]))),
                at: None
            }
        ),
        "virtual[0].rule[3]: rule any has no condition; put its reals in the virtual's bind list"
    );
    assert_eq!(
        fails(&c, rule_add("www", "a", "img/", &["s1"], None)),
        "virtual[0].rule[3].path_prefix: \"img/\" must start with '/', like \"/img/\""
    );
    // A redirect virtual's rules bind URLs.
    let c = acme();
    assert_eq!(
        fails(&c, rule_add("acme", "a", "/a/", &["s1"], None)),
        "s1 is a real; a redirect virtual binds URLs (set mode = \"splice\" to bind reals)"
    );
}
