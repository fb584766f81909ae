//! The farm a configuration builds for the data plane.

use super::*;

#[test]
fn demo_farm() {
    let farm = ok(DEMO).farm();
    let real = |name: &str, last: u8| balance::Real {
        tier: 1,
        name: name.into(),
        status: balance::Status::InService,
        backup: None,
        check: None,
        health: balance::Health::UP,
        agent: None,
        handoff_routed: false,
        local: false,
        address: SocketAddrV4::new(Ipv4Addr::new(198, 19, 0, last), 80),
        weight: 1,
        pool: 4,
        maxconns: 64,
    };
    assert_eq!(
        farm,
        Farm {
            reals: vec![real("s1", 11), real("s2", 12), real("s3", 13)],
            virtuals: vec![VirtualPolicy {
                class: balance::RequestClass::default(),
                queue_size: VirtualPolicy::DEFAULT_QUEUE_SIZE,
                name: "www".into(),
                mode: balance::Mode::Splice,
                status: balance::Status::InService,
                backup: None,
                predictor: Predictor::RoundRobin,
                rules: vec![RuleRoute {
                    class: balance::RequestClass::default(),
                    name: "img".into(),
                    rule: HttpRule::new(vec![Matcher::PathPrefix("/img/".into())]),
                    members: vec![1],
                    urls: vec![],
                    predictor: None,
                    hash: None,
                }],
                bind: vec![0, 1, 2],
                bind_urls: vec![],
                sticky: None,
                hash: Default::default(),
            }],
            urls: Vec::new(),
        }
    );
}

const FULL: &str = r#"
[dataplane]
eal = ["-l", "0-1", "--no-huge"]
connect_timeout = "1s"

[[port]]
name = "outside"
address = "198.18.0.1/24"

[[port]]
name = "inside"
address = "198.19.0.1/24"
gateway = "198.19.0.254"

[[real]]
name = "s1"
address = "198.19.0.11:80"

[[real]]
name = "s2"
address = "198.19.0.12:80"
weight = 3
pool = 0
maxconns = 10

[[real]]
name = "remote"
address = "203.0.113.20:8080"
weight = 0
pool = 2
maxconns = 2

[[virtual]]
name = "www"
address = "198.18.0.100:80"
mode = "splice"
predictor = "roundrobin"
bind = ["s2", "s1"]

[[virtual.rule]]
name = "img"
path_prefix = "/img/"
path_suffix = ".jpg"
bind = ["s2"]

[[virtual.rule]]
host = "api.example"
method = "GET"
header = { name = "X-Tenant", value = "blue" }
bind = ["remote", "s1"]

[[virtual]]
name = "empty"
address = "198.18.0.101:80"

[[virtual]]
name = "rules-only"
address = "198.18.0.100:8080"

[[virtual.rule]]
method = "DELETE"
bind = ["s1"]
"#;

#[test]
fn full_example_farm() {
    let c = ok(FULL);
    let farm = c.farm();
    assert_eq!(
        farm.reals,
        vec![
            balance::Real {
                tier: 1,
                name: "s1".into(),
                status: balance::Status::InService,
                backup: None,
                check: None,
                health: balance::Health::UP,
                agent: None,
                handoff_routed: false,
                local: false,
                address: "198.19.0.11:80".parse().unwrap(),
                weight: 1,
                pool: 4,
                maxconns: 64,
            },
            balance::Real {
                tier: 1,
                name: "s2".into(),
                status: balance::Status::InService,
                backup: None,
                check: None,
                health: balance::Health::UP,
                agent: None,
                handoff_routed: false,
                local: false,
                address: "198.19.0.12:80".parse().unwrap(),
                weight: 3,
                pool: 0,
                maxconns: 10,
            },
            balance::Real {
                tier: 1,
                name: "remote".into(),
                status: balance::Status::InService,
                backup: None,
                check: None,
                health: balance::Health::UP,
                agent: None,
                handoff_routed: false,
                local: false,
                address: "203.0.113.20:8080".parse().unwrap(),
                weight: 0,
                pool: 2,
                maxconns: 2,
            },
        ]
    );
    assert_eq!(
        farm.virtuals,
        vec![
            VirtualPolicy {
                class: balance::RequestClass::default(),
                queue_size: VirtualPolicy::DEFAULT_QUEUE_SIZE,
                name: "www".into(),
                mode: balance::Mode::Splice,
                status: balance::Status::InService,
                backup: None,
                predictor: Predictor::RoundRobin,
                rules: vec![
                    RuleRoute {
                        class: balance::RequestClass::default(),
                        name: "img".into(),
                        rule: HttpRule::new(vec![
                            Matcher::PathPrefix("/img/".into()),
                            Matcher::PathSuffix(".jpg".into()),
                        ]),
                        members: vec![1],
                        urls: vec![],
                        predictor: None,
                        hash: None,
                    },
                    RuleRoute {
                        class: balance::RequestClass::default(),
                        name: "rule2".into(),
                        rule: HttpRule::new(vec![
                            Matcher::Host("api.example".into()),
                            Matcher::Method(Method::Get),
                            Matcher::Header {
                                name: "X-Tenant".into(),
                                value: "blue".into(),
                            },
                        ]),
                        members: vec![2, 0],
                        urls: vec![],
                        predictor: None,
                        hash: None,
                    },
                ],
                bind: vec![1, 0],
                bind_urls: vec![],
                sticky: None,
                hash: Default::default(),
            },
            VirtualPolicy {
                class: balance::RequestClass::default(),
                queue_size: VirtualPolicy::DEFAULT_QUEUE_SIZE,
                name: "empty".into(),
                mode: balance::Mode::Splice,
                status: balance::Status::InService,
                backup: None,
                predictor: Predictor::RoundRobin,
                rules: vec![],
                bind: vec![],
                bind_urls: vec![],
                sticky: None,
                hash: Default::default(),
            },
            VirtualPolicy {
                class: balance::RequestClass::default(),
                queue_size: VirtualPolicy::DEFAULT_QUEUE_SIZE,
                name: "rules-only".into(),
                mode: balance::Mode::Splice,
                status: balance::Status::InService,
                backup: None,
                predictor: Predictor::RoundRobin,
                rules: vec![RuleRoute {
                    class: balance::RequestClass::default(),
                    name: "rule1".into(),
                    rule: HttpRule::new(vec![Matcher::Method(Method::Delete)]),
                    members: vec![0],
                    urls: vec![],
                    predictor: None,
                    hash: None,
                }],
                bind: vec![],
                bind_urls: vec![],
                sticky: None,
                hash: Default::default(),
            },
        ]
    );
    assert_eq!(c.dataplane.connect_timeout, Duration::from_secs(1));
    round_trip(&c);
    assert_eq!(ok(&toml::to_string(&c).unwrap()).farm(), farm);

    // The farm routes requests the way docs/CONFIGURATION.md says.
    let head = |req: &str| match splicer_http::parse_head(req.as_bytes(), 16384) {
        splicer_http::HeadStatus::Complete(h) => h,
        other => panic!("{other:?}"),
    };
    let route = |v: u16, req: &str| farm.route(v, &head(req)).map(|(r, set)| (r, set.to_vec()));
    assert_eq!(
        route(0, "GET /img/a.jpg HTTP/1.1\r\nHost: www\r\n\r\n"),
        Some((Route::Rule(0), vec![1]))
    );
    assert_eq!(
        route(0, "GET /img/a.png HTTP/1.1\r\nHost: www\r\n\r\n"),
        Some((Route::Bind, vec![1, 0]))
    );
    assert_eq!(
        route(
            0,
            "GET /x HTTP/1.1\r\nHost: API.example:80\r\nX-Tenant: blue\r\n\r\n"
        ),
        Some((Route::Rule(1), vec![2, 0]))
    );
    assert_eq!(
        route(
            0,
            "POST /x HTTP/1.1\r\nHost: api.example\r\nX-Tenant: blue\r\nContent-Length: 0\r\n\r\n"
        ),
        Some((Route::Bind, vec![1, 0]))
    );
    assert_eq!(
        route(1, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        Some((Route::Bind, vec![]))
    );
    assert_eq!(
        route(2, "DELETE /a HTTP/1.1\r\nHost: x\r\n\r\n"),
        Some((Route::Rule(0), vec![0]))
    );
    assert_eq!(route(3, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), None);
}

#[test]
fn validate_rejects_edited_routing() {
    let mut c = ok(DEMO);
    c.virtuals[0].rules[0].method = Some(Method::Other);
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "virtual[0].rule[0].method: \"\" is not a method a rule can match; accepted values: GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH, TRACE"
    );
    let mut c = ok(DEMO);
    c.virtuals[0].rules[0].bind.clear();
    assert_eq!(
        c.validate().unwrap_err().key(),
        Some("virtual[0].rule[0].bind")
    );
    let mut c = ok(DEMO);
    c.virtuals[0].rules.push(Rule::new("any", strings(&["s1"])));
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "virtual[0].rule[1]: rule any has no condition; put its reals in the virtual's bind list"
    );
    let mut c = ok(DEMO);
    c.reals[2].pool = 2000;
    c.reals[2].maxconns = 2000;
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "real[2].pool: must be at most 1024, got 2000"
    );
    let mut c = ok(DEMO);
    c.reals[1].maxconns = 0;
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "real[1].maxconns: must be between 1 and 65535, got 0"
    );
    let mut c = ok(DEMO);
    c.reals.remove(1);
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "virtual[0].bind: real s2 does not exist"
    );
    let mut c = ok(DEMO);
    c.reals.truncate(1);
    c.reals[0].weight = 0;
    c.virtuals[0].bind = strings(&["s1"]);
    c.virtuals[0].rules[0].bind = strings(&["s1"]);
    assert_eq!(c.validate().unwrap(), ());
}

#[test]
#[should_panic(expected = "bind: s2 does not exist (the configuration was not validated)")]
fn farm_panics_on_unvalidated_config() {
    let mut c = ok(DEMO);
    c.reals.remove(1);
    c.farm();
}
