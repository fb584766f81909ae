//! Reals, the routing keys of virtuals (mode, predictor, bind) and content rules.

use super::*;

#[test]
fn real_defaults_and_shared_addresses() {
    let c = ok(&one_real("name = \"s1\"\naddress = \"198.19.0.11:80\""));
    assert_eq!(
        c.reals,
        vec![Real {
            name: "s1".into(),
            address: "198.19.0.11:80".parse().unwrap(),
            weight: defaults::REAL_WEIGHT,
            pool: defaults::REAL_POOL,
            maxconns: defaults::REAL_MAXCONNS,
            state: ServiceState::InService,
            backup: None,
            tier: defaults::REAL_TIER,
            check: None,
            slowstart: Duration::ZERO,
            agent: None,
            handoff_mode: HandoffMode::L2,
            local: false,
        }]
    );
    // Two reals on one address and port (say, two names for one server): accepted.
    let c = ok(&with_reals(
        "[[real]]\nname = \"s1-again\"\naddress = \"198.19.0.11:80\"\n",
    ));
    assert_eq!(c.reals[3].address, c.reals[0].address);
    // Reals need no virtual, and a virtual needs no real.
    assert_eq!(ok(&with_reals("")).virtuals, vec![]);
    // Bounds.
    ok(&one_real(
        "name = \"a\"\naddress = \"198.19.0.11:1\"\nweight = 0\npool = 0\nmaxconns = 1",
    ));
    ok(&one_real(
        "name = \"a\"\naddress = \"198.19.0.11:65535\"\nweight = 1000\npool = 1024\nmaxconns = 1024",
    ));
}

#[test]
fn real_beyond_a_gateway() {
    let gw = "[[port]]\nname = \"outside\"\naddress = \"198.18.0.1/24\"\n[[port]]\nname = \"inside\"\naddress = \"198.19.0.1/24\"\ngateway = \"198.19.0.254\"\n";
    let c = ok(&doc(
        "",
        &format!("{gw}[[real]]\nname = \"far\"\naddress = \"203.0.113.9:80\"\n"),
    ));
    assert_eq!(c.reals[0].address, "203.0.113.9:80".parse().unwrap());
    assert_eq!(
        invalid(
            &one_real("name = \"far\"\naddress = \"203.0.113.9:80\""),
            "real[0].address"
        ),
        "real[0].address: 203.0.113.9 is on no port's subnet and no port has a gateway, so Splicer cannot reach it; put the real on a port's subnet or give the port that leads to it a gateway"
    );
}

#[test]
fn real_errors() {
    let a = "address = \"198.19.0.11:80\"";
    let cases = [
        (format!("name = \"s 1\"\n{a}"), "real[0].name", "real[0].name: \"s 1\" is not a valid name: use 1 to 32 characters from A-Z, a-z, 0-9, '_', '.' and '-'".to_string()),
        (format!("name = \"{}\"\n{a}", "s".repeat(33)), "real[0].name", format!("real[0].name: \"{}\" is not a valid name: use 1 to 32 characters from A-Z, a-z, 0-9, '_', '.' and '-'", "s".repeat(33))),
        (format!("name = \"\"\n{a}"), "real[0].name", "real[0].name: \"\" is not a valid name: use 1 to 32 characters from A-Z, a-z, 0-9, '_', '.' and '-'".into()),
        (a.to_string(), "real[0].name", "real[0].name: missing; it is required, like name = \"s1\"".into()),
        (format!("name = 1\n{a}"), "real[0].name", "real[0].name: expected a string, got integer 1".into()),
        ("name = \"s1\"".into(), "real[0].address", "real[0].address: missing; it is required, like address = \"198.19.0.11:80\"".into()),
        ("name = \"s1\"\naddress = \"198.19.0.11\"".into(), "real[0].address", "real[0].address: \"198.19.0.11\" is not an IPv4 address with a TCP port (like 198.19.0.11:80)".into()),
        ("name = \"s1\"\naddress = \"server1:80\"".into(), "real[0].address", "real[0].address: \"server1:80\" is not an IPv4 address with a TCP port (like 198.19.0.11:80)".into()),
        ("name = \"s1\"\naddress = \"198.19.0.11:0\"".into(), "real[0].address", "real[0].address: TCP port must be between 1 and 65535, got 0 (198.19.0.11:0)".into()),
        ("name = \"s1\"\naddress = \"127.0.0.1:80\"".into(), "real[0].address", "real[0].address: 127.0.0.1 is a loopback address".into()),
        ("name = \"s1\"\naddress = \"198.19.0.1:80\"".into(), "real[0].address", "real[0].address: 198.19.0.1 is the address of port[1] (\"inside\"), one of Splicer's own; give the real server's address".into()),
        ("name = \"s1\"\naddress = \"198.18.0.100:8080\"".into(), "real[0].address", "real[0].address: 198.18.0.100 is the address of virtual[0] (\"www\"), one of Splicer's own; give the real server's address".into()),
        ("name = \"s1\"\naddress = \"198.19.0.255:80\"".into(), "real[0].address", "real[0].address: 198.19.0.255 is the broadcast address of port[1] (\"inside\") subnet 198.19.0.0/24".into()),
        ("name = \"s1\"\naddress = \"198.19.0.0:80\"".into(), "real[0].address", "real[0].address: 198.19.0.0 is the network address of port[1] (\"inside\") subnet 198.19.0.0/24".into()),
        (format!("name = \"s1\"\n{a}\nweight = 1001"), "real[0].weight", "real[0].weight: must be at most 1000, got 1001".into()),
        (format!("name = \"s1\"\n{a}\nweight = -1"), "real[0].weight", "real[0].weight: must be at most 1000, got -1".into()),
        (format!("name = \"s1\"\n{a}\nweight = 100000"), "real[0].weight", "real[0].weight: must be at most 1000, got 100000".into()),
        (format!("name = \"s1\"\n{a}\nweight = \"1\""), "real[0].weight", "real[0].weight: expected an integer, got string \"1\"".into()),
        (format!("name = \"s1\"\n{a}\npool = 1025"), "real[0].pool", "real[0].pool: must be at most 1024, got 1025".into()),
        (format!("name = \"s1\"\n{a}\npool = -4"), "real[0].pool", "real[0].pool: must be at most 1024, got -4".into()),
        (format!("name = \"s1\"\n{a}\nmaxconns = 0"), "real[0].maxconns", "real[0].maxconns: must be between 1 and 65535, got 0".into()),
        (format!("name = \"s1\"\n{a}\nmaxconns = 65536"), "real[0].maxconns", "real[0].maxconns: must be between 1 and 65535, got 65536".into()),
        (format!("name = \"s1\"\n{a}\nmaxconns = 1.5"), "real[0].maxconns", "real[0].maxconns: expected an integer, got float 1.5".into()),
        (format!("name = \"s1\"\n{a}\npool = 8\nmaxconns = 4"), "real[0].maxconns", "real[0].maxconns: must be at least real[0].pool (8), got 4; the pool's idle connections count towards maxconns".into()),
        // The default pool (4) counts too.
        (format!("name = \"s1\"\n{a}\nmaxconns = 2"), "real[0].maxconns", "real[0].maxconns: must be at least real[0].pool (4), got 2; the pool's idle connections count towards maxconns".into()),
    ];
    for (keys, key, want) in cases {
        assert_eq!(invalid(&one_real(&keys), key), want, "{keys}");
    }
    assert_eq!(
        invalid(
            &with_reals("[[real]]\nname = \"s2\"\naddress = \"198.19.0.14:80\"\n"),
            "real[3].name"
        ),
        "real[3].name: duplicate real name \"s2\" (real[1] has it too)"
    );
    // Real names are case-sensitive: S1 is not s1.
    ok(&with_reals(
        "[[real]]\nname = \"S1\"\naddress = \"198.19.0.14:80\"\n",
    ));
}

#[test]
fn real_shape_errors() {
    let s = one_real("name = \"s1\"\naddress = \"198.19.0.11:80\"\nspare = true");
    let line = s.lines().position(|l| l == "spare = true").unwrap() + 1;
    let m = toml_err(&s, "`spare`", line);
    assert!(
        m.contains(
            "unknown field `spare`, expected one of `name`, `address`, `weight`, `pool`, `maxconns`, `state`, `backup`"
        ),
        "{m}"
    );
    let s = doc(
        "",
        &format!("{PORTS}[real]\nname = \"s1\"\naddress = \"198.19.0.11:80\"\n"),
    );
    let line = s.lines().position(|l| l == "[real]").unwrap() + 1;
    let m = toml_err(&s, "[[real]]", line);
    assert!(
        m.contains("expected an array of tables, written [[real]]"),
        "{m}"
    );
}

// ---------------------------------------------------------------- virtual routing keys

#[test]
fn virtual_routing_defaults() {
    let c = ok(&www(""));
    let v = &c.virtuals[0];
    assert_eq!(v.mode, Mode::Splice);
    assert_eq!(v.predictor, Predictor::RoundRobin);
    assert!(v.bind.is_empty());
    assert!(v.rules.is_empty());
    let farm = c.farm();
    assert_eq!(farm.reals.len(), 3);
    assert_eq!(
        farm.virtuals,
        vec![VirtualPolicy {
            name: "www".into(),
            mode: balance::Mode::Splice,
            status: balance::Status::InService,
            backup: None,
            predictor: Predictor::RoundRobin,
            rules: vec![],
            bind: vec![],
            class: balance::RequestClass {
                priority: 4,
                cost: 1,
            },
            queue_size: 256,
            bind_urls: vec![],
            sticky: None,
            hash: Default::default(),
        }]
    );
    let c = ok(&www(
        "mode = \"splice\"\npredictor = \"roundrobin\"\nbind = []",
    ));
    assert_eq!(c.virtuals[0], v.clone());
}

#[test]
fn mode_and_predictor_errors() {
    // "redirect" is a mode now (see the redirect tests); an unknown one is refused.
    assert_eq!(
        ok(&www("mode = \"redirect\"")).virtuals[0].mode,
        Mode::Redirect
    );
    assert_eq!(
        invalid(&www("mode = \"proxy\""), "virtual[0].mode"),
        "virtual[0].mode: unknown mode \"proxy\"; accepted values: splice, redirect, tcp, handoff"
    );
    assert_eq!(
        invalid(&www("mode = \"Splice\""), "virtual[0].mode"),
        "virtual[0].mode: unknown mode \"Splice\"; accepted values: splice, redirect, tcp, handoff"
    );
    assert_eq!(
        invalid(&www("mode = 1"), "virtual[0].mode"),
        "virtual[0].mode: expected a string, got integer 1"
    );
    assert_eq!(
        invalid(&www("predictor = \"random\""), "virtual[0].predictor"),
        format!(
            "virtual[0].predictor: unknown predictor \"random\"; accepted values: {}",
            Predictor::NAMES.join(", ")
        )
    );
    assert_eq!(
        invalid(&www("predictor = \"least_conns\""), "virtual[0].predictor"),
        "virtual[0].predictor: unknown predictor \"least_conns\"; accepted values: \
         roundrobin, weighted, leastconns, fastest, qos, maglev"
    );
    assert_eq!(
        invalid(&www("predictor = true"), "virtual[0].predictor"),
        "virtual[0].predictor: expected a string, got boolean true"
    );
}

#[test]
fn bind_errors() {
    let cases = [
        ("bind = [\"s1\", \"s9\"]", "virtual[0].bind", "virtual[0].bind: real s9 does not exist"),
        ("bind = [\"s1\", \"s2\", \"s1\"]", "virtual[0].bind", "virtual[0].bind: real s1 is listed twice"),
        ("bind = [\"S1\"]", "virtual[0].bind", "virtual[0].bind: real S1 does not exist"),
        ("bind = \"s1\"", "virtual[0].bind", "virtual[0].bind: expected an array of [[real]] names (like [\"s1\", \"s2\"]), got string \"s1\""),
        ("bind = [\"s1\", 2]", "virtual[0].bind[1]", "virtual[0].bind[1]: expected a string (the name of a [[real]]), got integer 2"),
    ];
    for (keys, key, want) in cases {
        assert_eq!(invalid(&www(keys), key), want, "{keys}");
    }
    // No [[real]] at all.
    assert_eq!(
        invalid(
            &dp("").replace(WWW, &format!("{WWW}bind = [\"s1\"]\n")),
            "virtual[0].bind"
        ),
        "virtual[0].bind: real s1 does not exist"
    );
    // The second virtual's key.
    assert_eq!(
        invalid(
            &www(&format!(
                "bind = [\"s1\"]\n{}bind = [\"s4\"]\n",
                vip("api", "198.18.0.100:8080", None)
            )),
            "virtual[1].bind"
        ),
        "virtual[1].bind: real s4 does not exist"
    );
}

// ---------------------------------------------------------------- rules

#[test]
fn rule_defaults_and_every_matcher() {
    let c = ok(&www(r#"bind = ["s1", "s3"]
[[virtual.rule]]
path_prefix = "/img/"
bind = ["s2"]
[[virtual.rule]]
name = "jpg.v2"
path_suffix = ".jpg"
bind = ["s2", "s3"]
[[virtual.rule]]
host = "api.example"
bind = ["s3"]
[[virtual.rule]]
method = "POST"
bind = ["s1"]
[[virtual.rule]]
header = { name = "X-Tenant", value = "blue" }
bind = ["s1"]
[[virtual.rule]]
cookie = { name = "session", value = "blue" }
bind = ["s2"]
"#));
    let names: Vec<_> = c.virtuals[0]
        .rules
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["rule1", "jpg.v2", "rule3", "rule4", "rule5", "rule6"]
    );
    let rules: Vec<_> = c.farm().virtuals[0]
        .rules
        .iter()
        .map(|r| r.rule.clone())
        .collect();
    assert_eq!(
        rules,
        vec![
            HttpRule::new(vec![Matcher::PathPrefix("/img/".into())]),
            HttpRule::new(vec![Matcher::PathSuffix(".jpg".into())]),
            HttpRule::new(vec![Matcher::Host("api.example".into())]),
            HttpRule::new(vec![Matcher::Method(Method::Post)]),
            HttpRule::new(vec![Matcher::Header {
                name: "X-Tenant".into(),
                value: "blue".into()
            }]),
            HttpRule::new(vec![Matcher::Cookie {
                name: "session".into(),
                value: "blue".into()
            }]),
        ]
    );
    round_trip(&c);
    // Every method with a variant of its own.
    for m in [
        "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE",
    ] {
        let c = ok(&rule(&format!("method = \"{m}\"\nbind = [\"s2\"]")));
        let got = c.virtuals[0].rules[0].method.unwrap();
        assert_eq!(got.as_str(), Some(m));
        round_trip(&c);
    }
    // An empty header value is a value.
    ok(&rule(
        "header = { name = \"X-Empty\", value = \"\" }\nbind = [\"s2\"]",
    ));
    // So is an empty cookie value, and a quoted one (the quotes are part of it).
    for value in ["", "\\\"blue\\\"", "a=b/c:d"] {
        let c = ok(&rule(&format!(
            "cookie = {{ name = \"sid\", value = \"{value}\" }}\nbind = [\"s2\"]"
        )));
        round_trip(&c);
    }
}

#[test]
fn rule_errors() {
    const METHODS: &str = "accepted values: GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH, TRACE";
    let cases: Vec<(&str, &str, String)> = vec![
        ("name = \"img\"\nbind = [\"s2\"]", "virtual[0].rule[0]", "virtual[0].rule[0]: rule img has no condition; put its reals in the virtual's bind list".into()),
        ("bind = [\"s2\"]", "virtual[0].rule[0]", "virtual[0].rule[0]: rule rule1 has no condition; put its reals in the virtual's bind list".into()),
        ("name = \"a b\"\nhost = \"x\"\nbind = [\"s2\"]", "virtual[0].rule[0].name", "virtual[0].rule[0].name: \"a b\" is not a valid name: use 1 to 32 characters from A-Z, a-z, 0-9, '_', '.' and '-'".into()),
        ("name = 3\nhost = \"x\"\nbind = [\"s2\"]", "virtual[0].rule[0].name", "virtual[0].rule[0].name: expected a string, got integer 3".into()),
        ("path_prefix = \"\"\nbind = [\"s2\"]", "virtual[0].rule[0].path_prefix", "virtual[0].rule[0].path_prefix: must not be empty, like \"/img/\"".into()),
        ("path_prefix = \"img/\"\nbind = [\"s2\"]", "virtual[0].rule[0].path_prefix", "virtual[0].rule[0].path_prefix: \"img/\" must start with '/', like \"/img/\"".into()),
        ("path_prefix = \"/a b\"\nbind = [\"s2\"]", "virtual[0].rule[0].path_prefix", "virtual[0].rule[0].path_prefix: \"/a b\" contains a space or a control character, which a request path never has".into()),
        ("path_prefix = \"/a?b=1\"\nbind = [\"s2\"]", "virtual[0].rule[0].path_prefix", "virtual[0].rule[0].path_prefix: \"/a?b=1\" contains '?' or '#'; the path is matched without its query".into()),
        ("path_prefix = [\"/a\"]\nbind = [\"s2\"]", "virtual[0].rule[0].path_prefix", "virtual[0].rule[0].path_prefix: expected a string, got an array".into()),
        ("path_suffix = \"\"\nbind = [\"s2\"]", "virtual[0].rule[0].path_suffix", "virtual[0].rule[0].path_suffix: must not be empty, like \".jpg\"".into()),
        ("path_suffix = \".jpg\\t\"\nbind = [\"s2\"]", "virtual[0].rule[0].path_suffix", "virtual[0].rule[0].path_suffix: \".jpg\\t\" contains a space or a control character, which a request path never has".into()),
        ("host = \"\"\nbind = [\"s2\"]", "virtual[0].rule[0].host", "virtual[0].rule[0].host: must not be empty, like \"api.example\"".into()),
        ("host = \"api example\"\nbind = [\"s2\"]", "virtual[0].rule[0].host", "virtual[0].rule[0].host: \"api example\" is not a host name (like \"api.example\")".into()),
        ("method = \"get\"\nbind = [\"s2\"]", "virtual[0].rule[0].method", format!("virtual[0].rule[0].method: methods are case-sensitive, write \"GET\"; {METHODS}")),
        ("method = \"PROPFIND\"\nbind = [\"s2\"]", "virtual[0].rule[0].method", format!("virtual[0].rule[0].method: \"PROPFIND\" is not a method a rule can match; {METHODS}")),
        ("method = \"CONNECT\"\nbind = [\"s2\"]", "virtual[0].rule[0].method", format!("virtual[0].rule[0].method: CONNECT requests are always refused (501), so a rule for them would never match; {METHODS}")),
        ("method = \"connect\"\nbind = [\"s2\"]", "virtual[0].rule[0].method", format!("virtual[0].rule[0].method: CONNECT requests are always refused (501), so a rule for them would never match; {METHODS}")),
        ("method = \"Post\"\nbind = [\"s2\"]", "virtual[0].rule[0].method", format!("virtual[0].rule[0].method: methods are case-sensitive, write \"POST\"; {METHODS}")),
        ("method = \"GET /\"\nbind = [\"s2\"]", "virtual[0].rule[0].method", "virtual[0].rule[0].method: \"GET /\" is not an HTTP method token (like \"GET\")".into()),
        ("method = \"\"\nbind = [\"s2\"]", "virtual[0].rule[0].method", "virtual[0].rule[0].method: \"\" is not an HTTP method token (like \"GET\")".into()),
        ("header = { name = \"X Tenant\", value = \"blue\" }\nbind = [\"s2\"]", "virtual[0].rule[0].header.name", "virtual[0].rule[0].header.name: \"X Tenant\" is not a header field name (like \"X-Tenant\")".into()),
        ("header = { name = \"\", value = \"blue\" }\nbind = [\"s2\"]", "virtual[0].rule[0].header.name", "virtual[0].rule[0].header.name: \"\" is not a header field name (like \"X-Tenant\")".into()),
        ("header = { name = \"X-Tenant\" }\nbind = [\"s2\"]", "virtual[0].rule[0].header.value", "virtual[0].rule[0].header.value: missing; it is required, like header = { name = \"X-Tenant\", value = \"blue\" }".into()),
        ("header = { value = \"blue\" }\nbind = [\"s2\"]", "virtual[0].rule[0].header.name", "virtual[0].rule[0].header.name: missing; it is required, like header = { name = \"X-Tenant\", value = \"blue\" }".into()),
        ("header = { name = \"X-Tenant\", value = 5 }\nbind = [\"s2\"]", "virtual[0].rule[0].header.value", "virtual[0].rule[0].header.value: expected a string, got integer 5".into()),
        ("header = { name = \"X-Tenant\", value = \" blue\" }\nbind = [\"s2\"]", "virtual[0].rule[0].header.value", "virtual[0].rule[0].header.value: \" blue\" starts or ends with whitespace; the request's value is compared without it, so this would never match".into()),
        ("header = { name = \"X-Tenant\", value = \"a\\nb\" }\nbind = [\"s2\"]", "virtual[0].rule[0].header.value", "virtual[0].rule[0].header.value: \"a\\nb\" contains a control character".into()),
        ("cookie = { name = \"my session\", value = \"blue\" }\nbind = [\"s2\"]", "virtual[0].rule[0].cookie.name", "virtual[0].rule[0].cookie.name: \"my session\" is not a cookie name (a token, like \"session\")".into()),
        ("cookie = { name = \"\", value = \"blue\" }\nbind = [\"s2\"]", "virtual[0].rule[0].cookie.name", "virtual[0].rule[0].cookie.name: \"\" is not a cookie name (a token, like \"session\")".into()),
        ("cookie = { name = \"session\" }\nbind = [\"s2\"]", "virtual[0].rule[0].cookie.value", "virtual[0].rule[0].cookie.value: missing; it is required, like cookie = { name = \"session\", value = \"blue\" }".into()),
        ("cookie = { name = \"session\", value = 5 }\nbind = [\"s2\"]", "virtual[0].rule[0].cookie.value", "virtual[0].rule[0].cookie.value: expected a string, got integer 5".into()),
        ("cookie = { name = \"session\", value = \"blue; x=1\" }\nbind = [\"s2\"]", "virtual[0].rule[0].cookie.value", "virtual[0].rule[0].cookie.value: \"blue; x=1\" contains ';', which a cookie value cannot (RFC 6265: no whitespace, control characters, '\"' inside, ',', ';' or '\\')".into()),
        ("cookie = { name = \"session\", value = \"a b\" }\nbind = [\"s2\"]", "virtual[0].rule[0].cookie.value", "virtual[0].rule[0].cookie.value: \"a b\" contains ' ', which a cookie value cannot (RFC 6265: no whitespace, control characters, '\"' inside, ',', ';' or '\\')".into()),
        ("cookie = { name = \"session\", value = \"\\\"blue\" }\nbind = [\"s2\"]", "virtual[0].rule[0].cookie.value", "virtual[0].rule[0].cookie.value: \"\\\"blue\" contains '\"', which a cookie value cannot (RFC 6265: no whitespace, control characters, '\"' inside, ',', ';' or '\\')".into()),
        ("host = \"x\"", "virtual[0].rule[0].bind", "virtual[0].rule[0].bind: missing; it is required, like bind = [\"s2\"]".into()),
        ("host = \"x\"\nbind = []", "virtual[0].rule[0].bind", "virtual[0].rule[0].bind: must name at least one real, like bind = [\"s2\"]".into()),
        ("host = \"x\"\nbind = [\"s9\"]", "virtual[0].rule[0].bind", "virtual[0].rule[0].bind: real s9 does not exist".into()),
        ("host = \"x\"\nbind = [\"s2\", \"s3\", \"s2\"]", "virtual[0].rule[0].bind", "virtual[0].rule[0].bind: real s2 is listed twice".into()),
        ("host = \"x\"\nbind = \"s2\"", "virtual[0].rule[0].bind", "virtual[0].rule[0].bind: expected an array of [[real]] names (like [\"s1\", \"s2\"]), got string \"s2\"".into()),
    ];
    for (keys, key, want) in cases {
        assert_eq!(invalid(&rule(keys), key), want, "{keys}");
    }
}

#[test]
fn rule_names_are_unique_within_a_virtual() {
    let two = |first: &str, second: &str| {
        www(&format!(
            "[[virtual.rule]]\n{first}host = \"a\"\nbind = [\"s1\"]\n[[virtual.rule]]\n{second}host = \"b\"\nbind = [\"s2\"]\n"
        ))
    };
    assert_eq!(
        invalid(
            &two("name = \"img\"\n", "name = \"img\"\n"),
            "virtual[0].rule[1].name"
        ),
        "virtual[0].rule[1].name: duplicate rule name \"img\" (rule[0] has it too)"
    );
    // An explicit name that is another rule's default name.
    assert_eq!(
        invalid(&two("name = \"rule2\"\n", ""), "virtual[0].rule[1].name"),
        "virtual[0].rule[1].name: duplicate rule name \"rule2\" (rule[0] has it too); a rule without a name is called rule<N>, N its position from 1"
    );
    ok(&two("name = \"rule1\"\n", ""));
    // The same rule name in two virtuals is fine.
    let c = ok(&www(&format!(
        "[[virtual.rule]]\nname = \"img\"\nhost = \"a\"\nbind = [\"s1\"]\n{}[[virtual.rule]]\nname = \"img\"\nhost = \"b\"\nbind = [\"s2\"]\n",
        vip("api", "198.18.0.100:8080", None)
    )));
    assert_eq!(c.virtuals[1].rules[0].name, "img");
}

#[test]
fn rule_shape_errors() {
    let s = rule("path = \"/x\"\nbind = [\"s2\"]");
    let line = s.lines().position(|l| l == "path = \"/x\"").unwrap() + 1;
    let m = toml_err(&s, "`path`", line);
    assert!(
        m.contains("unknown field `path`, expected one of `name`, `path_prefix`, `path_suffix`, `host`, `method`, `header`, `cookie`, `bind`"),
        "{m}"
    );
    let s = rule("header = { name = \"a\", value = \"b\", regex = true }\nbind = [\"s2\"]");
    let line = s.lines().position(|l| l.starts_with("header =")).unwrap() + 1;
    let m = toml_err(&s, "`regex`", line);
    assert!(
        m.contains("unknown field `regex`, expected `name` or `value`"),
        "{m}"
    );
    let s = rule("header = \"X-Tenant: blue\"\nbind = [\"s2\"]");
    let line = s.lines().position(|l| l.starts_with("header =")).unwrap() + 1;
    let m = toml_err(&s, "header", line);
    assert!(
        m.contains("expected a table like { name = \"X-Tenant\", value = \"blue\" }"),
        "{m}"
    );
    let s = www("[virtual.rule]\nhost = \"a\"\nbind = [\"s1\"]");
    let line = s.lines().position(|l| l == "[virtual.rule]").unwrap() + 1;
    let m = toml_err(&s, "[virtual.rule]", line);
    assert!(
        m.contains("expected an array of tables, written [[virtual.rule]]"),
        "{m}"
    );
}

/// `queue_size`, `priority` and `cost` (virtual and rule), `tier` (real): defaults,
/// rules inheriting the virtual's, the farm the data plane gets, the range errors.
#[test]
fn classes_tiers_and_queues() {
    let c = ok(&www("bind = [\"s1\"]"));
    let v = &c.virtuals[0];
    assert_eq!((v.queue_size, v.priority, v.cost), (256, 4, 1));
    assert!(c.reals.iter().all(|r| r.tier == 1));
    let c = ok(&www(
        "bind = [\"s1\", \"s2\"]\nqueue_size = 8\npriority = 2\ncost = 3\n\
         [[virtual.rule]]\nname = \"media\"\npath_prefix = \"/v/\"\nbind = [\"s2\"]\ncost = 4\n\
         [[virtual.rule]]\nname = \"cart\"\npath_prefix = \"/c/\"\nbind = [\"s1\"]\npriority = 7\n",
    ));
    round_trip(&c);
    let farm = c.farm();
    let p = &farm.virtuals[0];
    assert_eq!(p.queue_size, 8);
    let class = |priority, cost| balance::RequestClass { priority, cost };
    assert_eq!(p.class, class(2, 3));
    assert_eq!(p.rules[0].class, class(2, 4));
    assert_eq!(p.rules[1].class, class(7, 3));
    let c = ok(&one_real(
        "name = \"s1\"\naddress = \"198.19.0.11:80\"\ntier = 3",
    ));
    assert_eq!(c.reals[0].tier, 3);
    assert_eq!(c.farm().reals[0].tier, 3);

    for (keys, key, message) in [
        (
            "queue_size = 70000",
            "virtual[0].queue_size",
            "must be at most 65535, got 70000",
        ),
        (
            "priority = 8",
            "virtual[0].priority",
            "must be at most 7, got 8",
        ),
        (
            "cost = 0",
            "virtual[0].cost",
            "must be between 1 and 1000, got 0",
        ),
        (
            "cost = 1001",
            "virtual[0].cost",
            "must be between 1 and 1000, got 1001",
        ),
    ] {
        let m = invalid(&www(keys), key);
        assert!(m.ends_with(message), "{m}");
    }
    for (keys, key, message) in [
        (
            "priority = 9",
            "virtual[0].rule[0].priority",
            "must be at most 7, got 9",
        ),
        (
            "cost = -1",
            "virtual[0].rule[0].cost",
            "must be between 1 and 1000, got -1",
        ),
        (
            "cost = 5000",
            "virtual[0].rule[0].cost",
            "must be between 1 and 1000, got 5000",
        ),
    ] {
        let m = invalid(
            &rule(&format!("path_prefix = \"/a/\"\nbind = [\"s2\"]\n{keys}")),
            key,
        );
        assert!(m.ends_with(message), "{m}");
    }
    for (tier, message) in [(0, "got 0"), (17, "got 17")] {
        let m = invalid(
            &one_real(&format!(
                "name = \"s1\"\naddress = \"198.19.0.11:80\"\ntier = {tier}"
            )),
            "real[0].tier",
        );
        assert!(
            m.ends_with(&format!("must be between 1 and 16, {message}")),
            "{m}"
        );
    }
}
