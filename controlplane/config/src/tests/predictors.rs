//! Predictors per virtual and per rule, and `maglev`'s `hash`.

use super::*;
use crate::{Edit, HashKey};
use splicer_pipeline::balance::Route;

#[test]
fn every_predictor_is_accepted_per_virtual_and_per_rule() {
    for &p in Predictor::NAMES {
        let c = ok(&www(&format!("predictor = \"{p}\"")));
        assert_eq!(c.virtuals[0].predictor.name(), p);
        round_trip(&c);
        let c = ok(&rule(&format!(
            "path_prefix = \"/a/\"\nbind = [\"s2\"]\npredictor = \"{p}\""
        )));
        assert_eq!(c.virtuals[0].rules[0].predictor.map(|p| p.name()), Some(p));
        round_trip(&c);
    }
}

#[test]
fn a_rule_overrides_the_virtuals_predictor_and_hash() {
    let c = ok(&rule(
        "path_prefix = \"/a/\"\nbind = [\"s2\", \"s3\"]\npredictor = \"maglev\"\n\
         hash = \"cookie:sid\"\n\
         [[virtual.rule]]\npath_prefix = \"/b/\"\nbind = [\"s2\"]",
    ));
    assert_eq!(c.virtuals[0].hash, HashKey::Source);
    assert_eq!(c.virtuals[0].rules[1].predictor, None);
    round_trip(&c);
    let farm = c.farm();
    let v = &farm.virtuals[0];
    assert_eq!(
        v.chooser(Route::Rule(0)),
        (Predictor::Maglev, &HashKey::Cookie("sid".into()))
    );
    assert_eq!(
        v.chooser(Route::Rule(1)),
        (Predictor::RoundRobin, &HashKey::Source)
    );
    assert_eq!(
        v.chooser(Route::Bind),
        (Predictor::RoundRobin, &HashKey::Source)
    );
    let c = ok(&www("predictor = \"maglev\"\nhash = \"header:X-User\""));
    assert_eq!(c.virtuals[0].hash, HashKey::Header("X-User".into()));
    assert!(c.to_toml().contains("hash = \"header:X-User\""));
    assert_eq!(
        c.farm().virtuals[0].chooser(Route::Bind),
        (Predictor::Maglev, &HashKey::Header("X-User".into()))
    );
    // The default key is not written.
    assert!(!ok(&www("hash = \"source\"")).to_toml().contains("hash"));
}

#[test]
fn hash_and_rule_predictor_errors() {
    let accepted = "accepted values: \"source\", \"header:<Name>\", \"cookie:<name>\" \
                    (names are HTTP tokens)";
    assert_eq!(
        invalid(&www("hash = \"client\""), "virtual[0].hash"),
        format!("virtual[0].hash: unknown hash key \"client\"; {accepted}")
    );
    assert_eq!(
        invalid(&www("hash = \"header:\""), "virtual[0].hash"),
        format!("virtual[0].hash: unknown hash key \"header:\"; {accepted}")
    );
    assert_eq!(
        invalid(&www("hash = 3"), "virtual[0].hash"),
        "virtual[0].hash: expected a string, got integer 3"
    );
    assert_eq!(
        invalid(
            &rule("path_prefix = \"/a/\"\nbind = [\"s2\"]\nhash = \"cookie:a b\""),
            "virtual[0].rule[0].hash"
        ),
        format!("virtual[0].rule[0].hash: unknown hash key \"cookie:a b\"; {accepted}")
    );
    assert_eq!(
        invalid(
            &rule("path_prefix = \"/a/\"\nbind = [\"s2\"]\npredictor = \"fast\""),
            "virtual[0].rule[0].predictor"
        ),
        format!(
            "virtual[0].rule[0].predictor: unknown predictor \"fast\"; accepted values: {}",
            Predictor::NAMES.join(", ")
        )
    );
}

#[test]
fn predictor_of_a_virtual_or_of_one_rule() {
    // www: bind s1..s3, rule img (/img/) → s2.
    let c = ok(&www("bind = [\"s1\", \"s2\", \"s3\"]\n[[virtual.rule]]\nname = \"img\"\npath_prefix = \"/img/\"\nbind = [\"s2\"]"));
    let edit = |c: &Config, e: Edit| c.edited(&e).unwrap();
    let fails = |c: &Config, e: Edit| c.edited(&e).unwrap_err();
    let set = |p: Predictor, rule: Option<&str>| Edit::Predictor {
        virtual_id: "www".into(),
        predictor: p,
        rule: rule.map(String::from),
    };
    let c = edit(&c, set(Predictor::Fastest, Some("img")));
    assert_eq!(c.virtuals[0].rules[0].predictor, Some(Predictor::Fastest));
    assert_eq!(c.virtuals[0].predictor, Predictor::RoundRobin);
    let c = edit(&c, set(Predictor::LeastConns, None));
    assert_eq!(c.virtuals[0].predictor, Predictor::LeastConns);
    assert_eq!(c.virtuals[0].rules[0].predictor, Some(Predictor::Fastest));
    assert_eq!(
        fails(&c, set(Predictor::Qos, Some("video"))),
        "rule video does not exist in virtual www"
    );
}
