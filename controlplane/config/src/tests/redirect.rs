//! Redirect virtuals, URLs, DIPs, service states and backups.

use super::*;

#[test]
fn redirect_keys() {
    let c = ok(&redirect());
    assert_eq!(c.reals[0].state, ServiceState::Sticky);
    assert_eq!(c.reals[0].backup.as_deref(), Some("acme"));
    assert_eq!(c.reals[1].state, ServiceState::InService);
    assert_eq!(c.reals[2].backup, None);
    let acme = &c.virtuals[0];
    assert_eq!(acme.mode, Mode::Redirect);
    assert_eq!(acme.bind, strings(&["coyote", "roadrunner"]));
    assert_eq!(acme.rules[0].bind, strings(&["book"]));
    assert_eq!(acme.state, ServiceState::Maintenance);
    assert_eq!(c.virtuals[1].state, ServiceState::Failed);
    assert_eq!(
        c.urls,
        vec![
            Url {
                link: Some("198.19.0.11".into()),
                ..Url::new("coyote", "http://coyote.acme.example/%d")
            },
            Url {
                name: "roadrunner".into(),
                url: "https://%h:%s/rr/%d?x=%%".into(),
                code: 307,
                weight: 0,
                link: Some("acme".into()),
                state: ServiceState::OutOfService,
            },
            Url {
                code: 301,
                ..Url::new("book", "http://www.book.example")
            },
        ]
    );
    assert_eq!(
        c.dips,
        vec![
            Dip {
                address: Ipv4Addr::new(198, 19, 0, 11),
                port: "outside".into()
            },
            Dip {
                address: Ipv4Addr::new(198, 19, 0, 12),
                port: "inside".into()
            },
        ]
    );
    assert_eq!(c.dip_real(1), 1);
    assert_eq!(c.dip_socket(1), "198.19.0.12:8080".parse().unwrap());
    assert_eq!(c.find_dip("198.19.0.12:8080"), Some(1));
    assert_eq!(c.find_dip("198.19.0.12:80"), None);
    assert_eq!(c.find_dip("198.19.0.11"), Some(0));
    // Defaults.
    assert_eq!(defaults::URL_CODE, 302);
    assert_eq!(defaults::URL_WEIGHT, 1);
    assert_eq!(defaults::STATE, ServiceState::InService);
    let u = Url::new("x", "http://x");
    assert_eq!(
        (u.code, u.weight, u.state),
        (302, 1, ServiceState::InService)
    );
}

#[test]
fn redirect_round_trip() {
    let c = ok(&redirect());
    round_trip(&c);
    let text = c.to_toml();
    assert_eq!(Config::from_toml_str(&text).unwrap(), c);
    for line in [
        "state = \"sticky\"",
        "state = \"maintenance\"",
        "state = \"failed\"",
        "state = \"oos\"",
        "backup = \"acme\"",
        "mode = \"redirect\"",
        "[[url]]",
        "url = \"https://%h:%s/rr/%d?x=%%\"",
        "code = 307",
        "code = 302",
        "link = \"198.19.0.11\"",
        "[[dip]]",
        "address = \"198.19.0.11\"",
        "port = \"inside\"",
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in:\n{text}");
    }
    // In service is the default, and not written.
    assert!(!text.contains("in-service"), "{text}");
    // Nor are the new keys of a file without them.
    let demo = ok(DEMO).to_toml();
    for key in ["state", "backup", "link", "[[url]]", "[[dip]]"] {
        assert!(!demo.contains(key), "{key} in:\n{demo}");
    }
    assert_eq!(demo, toml::to_string(&ok(DEMO)).unwrap());
}

#[test]
fn state_names() {
    for (i, name) in ServiceState::NAMES.iter().enumerate() {
        let s = ServiceState::from_name(name).unwrap();
        assert_eq!(s.name(), *name);
        let c = ok(&one_real(&format!(
            "name = \"s1\"\naddress = \"198.19.0.11:80\"\nstate = \"{name}\""
        )));
        assert_eq!(c.reals[0].state, s);
        assert_eq!(s.is_in_service(), i == 0);
        round_trip(&c);
    }
    assert_eq!(ServiceState::from_name("out-of-service"), None);
    let real = |keys: &str| {
        one_real(&format!(
            "name = \"s1\"\naddress = \"198.19.0.11:80\"\n{keys}"
        ))
    };
    assert_eq!(
        invalid(&real("state = \"out-of-service\""), "real[0].state"),
        "real[0].state: unknown state \"out-of-service\"; out of service is written \"oos\"; accepted values: in-service, oos, maintenance, sticky, failed"
    );
    assert_eq!(
        invalid(&real("state = \"down!\""), "real[0].state"),
        "real[0].state: unknown state \"down!\"; accepted values: in-service, oos, maintenance, sticky, failed"
    );
    assert_eq!(
        invalid(&real("state = false"), "real[0].state"),
        "real[0].state: expected a string, got boolean false"
    );
    assert_eq!(
        invalid(&real("backup = 1"), "real[0].backup"),
        "real[0].backup: expected a string, got integer 1"
    );
    assert_eq!(
        invalid(&www("state = \"Sticky\""), "virtual[0].state"),
        "virtual[0].state: unknown state \"Sticky\"; accepted values: in-service, oos, maintenance, sticky, failed"
    );
    assert_eq!(
        invalid(&www("backup = [\"s1\"]"), "virtual[0].backup"),
        "virtual[0].backup: expected a string, got an array"
    );
}

/// The standard ports, the three reals, then `rest`.
fn acme(rest: &str) -> String {
    with_reals(rest)
}

const COYOTE: &str = "[[url]]\nname = \"coyote\"\nurl = \"http://coyote.acme.example\"\n";

#[test]
fn url_errors() {
    let url = |keys: &str| acme(&format!("[[url]]\n{keys}\n"));
    let u = "name = \"coyote\"";
    let cases: Vec<(String, &str, String)> = vec![
        ("url = \"http://x\"".into(), "url[0].name", "url[0].name: missing; it is required, like name = \"coyote\"".into()),
        (u.into(), "url[0].url", "url[0].url: missing; it is required, like url = \"http://coyote.acme.example/%d\"".into()),
        ("name = \"a b\"\nurl = \"http://x\"".into(), "url[0].name", "url[0].name: \"a b\" is not a valid name: use 1 to 32 characters from A-Z, a-z, 0-9, '_', '.' and '-'".into()),
        (format!("{u}\nurl = 5"), "url[0].url", "url[0].url: expected a string, got integer 5".into()),
        (format!("{u}\nurl = \"ftp://x\""), "url[0].url", "url[0].url: \"ftp://x\" must start with http:// or https://, like \"http://coyote.acme.example/%d\"".into()),
        (format!("{u}\nurl = \"HTTP://x\""), "url[0].url", "url[0].url: \"HTTP://x\" must start with http:// or https://, like \"http://coyote.acme.example/%d\"".into()),
        (format!("{u}\nurl = \"coyote.acme.example\""), "url[0].url", "url[0].url: \"coyote.acme.example\" must start with http:// or https://, like \"http://coyote.acme.example/%d\"".into()),
        (format!("{u}\nurl = \"http://{}\"", "a".repeat(506)), "url[0].url", "url[0].url: is 513 bytes long; a URL can be at most 512 bytes".into()),
        (format!("{u}\nurl = \"http://a b\""), "url[0].url", "url[0].url: \"http://a b\" contains a space or a control character; write them %-encoded (%%20)".into()),
        (format!("{u}\nurl = \"http://a\\tb\""), "url[0].url", "url[0].url: \"http://a\\tb\" contains a space or a control character; write them %-encoded (%%20)".into()),
        (format!("{u}\nurl = \"http://a\\u007f\""), "url[0].url", "url[0].url: \"http://a\\u{7f}\" contains a space or a control character; write them %-encoded (%%20)".into()),
        (format!("{u}\nurl = \"http://\""), "url[0].url", "url[0].url: \"http://\" has no host after the scheme (%h stands for the request's host)".into()),
        (format!("{u}\nurl = \"https:///x\""), "url[0].url", "url[0].url: \"https:///x\" has no host after the scheme (%h stands for the request's host)".into()),
        (format!("{u}\nurl = \"http://x/a%20b\""), "url[0].url", "url[0].url: \"http://x/a%20b\" has an unknown macro %2; the macros are %h (the request's host), %s (its port), %d (its document) and %% (a %)".into()),
        (format!("{u}\nurl = \"http://x/%\""), "url[0].url", "url[0].url: \"http://x/%\" has an unknown macro %; the macros are %h (the request's host), %s (its port), %d (its document) and %% (a %)".into()),
        (format!("{u}\nurl = \"http://x\"\ncode = 200"), "url[0].code", "url[0].code: must be one of 301, 302, 303, 307, 308, got 200".into()),
        (format!("{u}\nurl = \"http://x\"\ncode = 70000"), "url[0].code", "url[0].code: must be one of 301, 302, 303, 307, 308, got 70000".into()),
        (format!("{u}\nurl = \"http://x\"\ncode = -302"), "url[0].code", "url[0].code: must be one of 301, 302, 303, 307, 308, got -302".into()),
        (format!("{u}\nurl = \"http://x\"\ncode = \"302\""), "url[0].code", "url[0].code: expected an integer, got string \"302\"".into()),
        (format!("{u}\nurl = \"http://x\"\nweight = 1001"), "url[0].weight", "url[0].weight: must be at most 1000, got 1001".into()),
        (format!("{u}\nurl = \"http://x\"\nweight = -1"), "url[0].weight", "url[0].weight: must be at most 1000, got -1".into()),
        (format!("{u}\nurl = \"http://x\"\nlink = \"www2\""), "url[0].link", "url[0].link: www2 is neither a virtual nor a DIP's address (like \"198.19.0.11\")".into()),
        (format!("{u}\nurl = \"http://x\"\nlink = \"198.19.0.11\""), "url[0].link", "url[0].link: no DIP has address 198.19.0.11".into()),
        (format!("{u}\nurl = \"http://x\"\nlink = 3"), "url[0].link", "url[0].link: expected a string, got integer 3".into()),
        (format!("{u}\nurl = \"http://x\"\nstate = \"gone\""), "url[0].state", "url[0].state: unknown state \"gone\"; accepted values: in-service, oos, maintenance, sticky, failed".into()),
        ("name = \"s1\"\nurl = \"http://x\"".into(), "url[0].name", "url[0].name: s1 is already the name of a real; reals, virtuals and URLs need distinct names".into()),
    ];
    for (keys, key, want) in cases {
        assert_eq!(invalid(&url(&keys), key), want, "{keys}");
    }
    // Bounds and every code.
    ok(&url(&format!(
        "{u}\nurl = \"http://{}\"\nweight = 0",
        "a".repeat(505)
    )));
    for code in [301, 302, 303, 307, 308] {
        let c = ok(&url(&format!(
            "{u}\nurl = \"https://%h/%d\"\ncode = {code}\nweight = 1000"
        )));
        assert_eq!(c.urls[0].code, code);
    }
    assert_eq!(
        invalid(&acme(&format!("{COYOTE}{COYOTE}")), "url[1].name"),
        "url[1].name: duplicate URL name \"coyote\" (url[0] has it too)"
    );
    assert_eq!(
        invalid(&acme(&format!("{WWW}[[url]]\nname = \"www\"\nurl = \"http://x\"\n")), "url[0].name"),
        "url[0].name: www is already the name of a virtual; reals, virtuals and URLs need distinct names"
    );
    assert_eq!(
        invalid(&acme(&vip("s1", "198.18.0.100:80", None)), "virtual[0].name"),
        "virtual[0].name: s1 is already the name of a real; reals, virtuals and URLs need distinct names"
    );
    // Shape errors keep TOML's context.
    let s = url(&format!("{u}\nurl = \"http://x\"\ntarget = \"y\""));
    let line = s.lines().position(|l| l == "target = \"y\"").unwrap() + 1;
    let m = toml_err(&s, "`target`", line);
    assert!(
        m.contains("unknown field `target`, expected one of `name`, `url`, `code`, `weight`, `link`, `state`"),
        "{m}"
    );
    let s = acme("[url]\nname = \"coyote\"\nurl = \"http://x\"\n");
    let line = s.lines().position(|l| l == "[url]").unwrap() + 1;
    let m = toml_err(&s, "[[url]]", line);
    assert!(
        m.contains("expected an array of tables, written [[url]]"),
        "{m}"
    );
}

#[test]
fn dip_errors() {
    let dip = |keys: &str| acme(&format!("{WWW}[[dip]]\n{keys}\n"));
    let cases: Vec<(&str, &str, String)> = vec![
        ("port = \"outside\"", "dip[0].address", "dip[0].address: missing; it is required, like address = \"198.19.0.11\"".into()),
        ("address = \"198.19.0.11\"", "dip[0].port", "dip[0].port: missing; it is required, like port = \"outside\"".into()),
        ("address = \"198.19.0.99\"\nport = \"outside\"", "dip[0].address", "dip[0].address: no real has address 198.19.0.99".into()),
        ("address = \"198.19.0.1\"\nport = \"outside\"", "dip[0].address", "dip[0].address: 198.19.0.1 is the address of port[1] (\"inside\"); a DIP has the address of a real".into()),
        ("address = \"198.19.0.11:80\"\nport = \"outside\"", "dip[0].address", "dip[0].address: \"198.19.0.11:80\" is not an IPv4 address (like 198.19.0.11); a DIP takes its real's TCP port, write \"198.19.0.11\"".into()),
        ("address = \"coyote\"\nport = \"outside\"", "dip[0].address", "dip[0].address: \"coyote\" is not an IPv4 address (like 198.19.0.11)".into()),
        ("address = 1\nport = \"outside\"", "dip[0].address", "dip[0].address: expected a string, got integer 1".into()),
        ("address = \"198.19.0.11\"\nport = \"dmz\"", "dip[0].port", "dip[0].port: no [[port]] named \"dmz\"".into()),
        ("address = \"198.19.0.11\"\nport = 0", "dip[0].port", "dip[0].port: expected a string, got integer 0".into()),
    ];
    for (keys, key, want) in cases {
        assert_eq!(invalid(&dip(keys), key), want, "{keys}");
    }
    let s = |extra: &str| {
        acme(&format!(
            "{extra}[[dip]]\naddress = \"198.19.0.11\"\nport = \"outside\"\n"
        ))
    };
    ok(&s(""));
    assert_eq!(
        invalid(
            &s("[[real]]\nname = \"s4\"\naddress = \"198.19.0.11:8080\"\n"),
            "dip[0].address"
        ),
        "dip[0].address: reals s1 and s4 both have 198.19.0.11; a DIP pairs with one real"
    );
    assert_eq!(
        invalid(
            &s("[[real]]\nname = \"s4\"\naddress = \"198.19.0.11:8080\"\n[[real]]\nname = \"s5\"\naddress = \"198.19.0.11:8081\"\n"),
            "dip[0].address"
        ),
        "dip[0].address: reals s1, s4 and s5 all have 198.19.0.11; a DIP pairs with one real"
    );
    assert_eq!(
        invalid(
            &s("[[dip]]\naddress = \"198.19.0.11\"\nport = \"inside\"\n"),
            "dip[1].address"
        ),
        "dip[1].address: duplicate DIP 198.19.0.11 (dip[0] has it too)"
    );
    // A DIP's socket that is a virtual's address: a real cannot have a VIP's address,
    // so only a built configuration can get there; the real's own check speaks first.
    let mut c = ok(&s(""));
    c.virtuals
        .push(Virtual::new("v", "198.19.0.11:80".parse().unwrap()));
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "real[0].address: 198.19.0.11 is the address of virtual[0] (\"v\"), one of Splicer's own; give the real server's address"
    );
    let text = dip("address = \"198.19.0.11\"\nport = \"outside\"\nvirtual = \"www\"");
    let line = text.lines().position(|l| l == "virtual = \"www\"").unwrap() + 1;
    let m = toml_err(&text, "`virtual`", line);
    assert!(
        m.contains("unknown field `virtual`, expected `address` or `port`"),
        "{m}"
    );
}

#[test]
fn membership_errors() {
    let redirect = |keys: &str| acme(&format!("{COYOTE}{WWW}mode = \"redirect\"\n{keys}\n"));
    let splice = |keys: &str| acme(&format!("{COYOTE}{WWW}{keys}\n"));
    // A splice virtual binds URLs beside its reals (cross-site sharing).
    let c = ok(&splice("bind = [\"s1\", \"coyote\"]"));
    assert_eq!(c.farm().virtuals[0].bind, vec![0]);
    assert_eq!(c.farm().virtuals[0].bind_urls, vec![0]);
    round_trip(&c);
    assert_eq!(
        invalid(
            &splice("bind = [\"s1\", \"coyote\", \"coyote\"]"),
            "virtual[0].bind"
        ),
        "virtual[0].bind: url coyote is listed twice"
    );
    assert_eq!(
        invalid(&redirect("bind = [\"coyote\", \"s1\"]"), "virtual[0].bind"),
        "virtual[0].bind: s1 is a real; a redirect virtual binds URLs (set mode = \"splice\" to bind reals)"
    );
    assert_eq!(
        invalid(&redirect("bind = [\"book\"]"), "virtual[0].bind"),
        "virtual[0].bind: url book does not exist"
    );
    assert_eq!(
        invalid(
            &redirect("bind = [\"coyote\", \"coyote\"]"),
            "virtual[0].bind"
        ),
        "virtual[0].bind: url coyote is listed twice"
    );
    assert_eq!(
        invalid(&redirect("bind = [\"coyote\", 1]"), "virtual[0].bind[1]"),
        "virtual[0].bind[1]: expected a string (the name of a [[url]]), got integer 1"
    );
    assert_eq!(
        invalid(&redirect("bind = \"coyote\""), "virtual[0].bind"),
        "virtual[0].bind: expected an array of [[url]] names (like [\"coyote\", \"roadrunner\"]), got string \"coyote\""
    );
    assert_eq!(
        invalid(&splice("bind = [\"www\"]"), "virtual[0].bind"),
        "virtual[0].bind: www is a virtual; a splice virtual binds reals (and URLs beside them)"
    );
    assert_eq!(
        invalid(&redirect("bind = [\"www\"]"), "virtual[0].bind"),
        "virtual[0].bind: www is a virtual; a redirect virtual binds URLs"
    );
    // Rules bind the same kind as their virtual.
    let rule = |mode: &str, bind: &str| {
        acme(&format!(
            "{COYOTE}{WWW}mode = \"{mode}\"\n[[virtual.rule]]\nhost = \"a\"\n{bind}\n"
        ))
    };
    assert_eq!(
        invalid(&rule("redirect", "bind = [\"s2\"]"), "virtual[0].rule[0].bind"),
        "virtual[0].rule[0].bind: s2 is a real; a redirect virtual binds URLs (set mode = \"splice\" to bind reals)"
    );
    let c = ok(&rule("splice", "bind = [\"coyote\", \"s2\"]"));
    let rule0 = &c.farm().virtuals[0].rules[0];
    assert_eq!(
        (rule0.members.clone(), rule0.urls.clone()),
        (vec![1], vec![0])
    );
    assert_eq!(
        invalid(&rule("redirect", "bind = []"), "virtual[0].rule[0].bind"),
        "virtual[0].rule[0].bind: must name at least one URL, like bind = [\"coyote\"]"
    );
    assert_eq!(
        invalid(&rule("redirect", ""), "virtual[0].rule[0].bind"),
        "virtual[0].rule[0].bind: missing; it is required, like bind = [\"coyote\"]"
    );
    let c = ok(&rule("redirect", "bind = [\"coyote\"]"));
    assert_eq!(c.virtuals[0].rules[0].bind, strings(&["coyote"]));
    assert_eq!(
        invalid(
            &acme(&format!(
                "{COYOTE}{WWW}mode = \"redirect\"\n[[virtual.rule]]\nbind = [\"coyote\"]\n"
            )),
            "virtual[0].rule[0]"
        ),
        "virtual[0].rule[0]: rule rule1 has no condition; put its URLs in the virtual's bind list"
    );
}

#[test]
fn backup_errors() {
    let real_backup = |b: &str, rest: &str| {
        doc(
            "",
            &format!("{PORTS}[[real]]\nname = \"s1\"\naddress = \"198.19.0.11:80\"\nbackup = \"{b}\"\n[[real]]\nname = \"s2\"\naddress = \"198.19.0.12:80\"\n{rest}"),
        )
    };
    assert_eq!(
        invalid(&real_backup("s9", ""), "real[0].backup"),
        "real[0].backup: s9 is not the name of a real, virtual or URL"
    );
    assert_eq!(
        invalid(&real_backup("s1", ""), "real[0].backup"),
        "real[0].backup: s1 cannot be its own backup"
    );
    assert_eq!(
        invalid(
            &real_backup("www", &format!("{WWW}backup = \"s1\"\n")),
            "real[0].backup"
        ),
        "real[0].backup: backups loop: s1 → www → s1"
    );
    // A loop that s1 only leads into is reported where it is.
    assert_eq!(
        invalid(
            &real_backup("s2", &format!("backup = \"www\"\n{WWW}backup = \"s2\"\n")),
            "real[1].backup"
        ),
        "real[1].backup: backups loop: s2 → www → s2"
    );
    assert_eq!(
        invalid(
            &doc("", &format!("{PORTS}{WWW}backup = \"www\"\n")),
            "virtual[0].backup"
        ),
        "virtual[0].backup: www cannot be its own backup"
    );
    // Chains that end: at a URL, or at something without a backup.
    let c = ok(&real_backup(
        "www",
        &format!("backup = \"s1\"\n{WWW}backup = \"book\"\n[[url]]\nname = \"book\"\nurl = \"http://www.book.example\"\n"),
    ));
    assert_eq!(c.virtuals[0].backup.as_deref(), Some("book"));
    ok(&real_backup("s2", ""));
}

#[test]
fn names_are_shared_by_reals_virtuals_and_urls() {
    // Ports are apart: a real, a virtual or a URL may be called like a port.
    ok(&acme(&format!(
        "{}[[url]]\nname = \"inside\"\nurl = \"http://x\"\n",
        vip("outside", "198.18.0.100:80", None)
    )));
}
