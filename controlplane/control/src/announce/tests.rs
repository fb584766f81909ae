use super::*;
use splicer_config::fixtures::{with_ports, REALS};
use std::time::Duration;

const VIRTUALS: &str = r#"
[[virtual]]
name = "www"
address = "198.18.0.100:80"
bind = ["s1", "s2"]

[[virtual]]
name = "www-alt"
address = "198.18.0.100:8080"
bind = ["s3"]

[[virtual]]
name = "api"
address = "198.18.0.101:80"
bind = ["s3"]
"#;

fn config(extra: &str) -> Config {
    with_ports("", &format!("{REALS}{VIRTUALS}{extra}"))
        .parse()
        .unwrap()
}

fn setup(hold: u64) -> Announce {
    Announce {
        bird_socket: "/nonexistent/bird.ctl".into(),
        routes_file: "/nonexistent/routes.conf".into(),
        hold_down: Duration::from_secs(hold),
        check_link: true,
    }
}

fn vips(routes: &[Route]) -> Vec<String> {
    routes.iter().map(|r| r.vip.to_string()).collect()
}

#[test]
fn a_vip_is_fit_while_one_of_its_virtuals_has_a_healthy_real_and_its_port_is_up() {
    let c = config("");
    let all = candidates(&c, |_| true, |_| true);
    assert_eq!(all.len(), 2, "one per address: {all:?}");
    assert!(all.iter().all(|x| x.fit));
    assert!(all
        .iter()
        .all(|x| x.next_hop == Ipv4Addr::new(198, 18, 0, 1)));
    // s3 down: api has nothing left; 198.18.0.100 still has www (s1, s2).
    let some = candidates(&c, |r| r != "s3", |_| true);
    assert!(some[0].fit, "{some:?}");
    assert!(!some[1].fit);
    assert_eq!(some[1].why, "virtual api: no healthy real in service");
    // Every real down: both withdrawn, each virtual named.
    let none = candidates(&c, |_| false, |_| true);
    assert!(none.iter().all(|x| !x.fit));
    assert!(none[0].why.contains("www:") && none[0].why.contains("www-alt:"));
    // The outside port down: nothing is fit.
    let down = candidates(&c, |_| true, |p| p != 0);
    assert!(down.iter().all(|x| !x.fit && x.why == "port outside down"));
}

#[test]
fn a_real_out_of_service_or_a_virtual_out_of_service_does_not_count() {
    let mut c = config("");
    c.reals[2].state = splicer_config::ServiceState::Maintenance;
    let all = candidates(&c, |_| true, |_| true);
    assert!(!all[1].fit, "{all:?}");
    let mut c = config("");
    c.virtuals[0].state = splicer_config::ServiceState::OutOfService;
    let all = candidates(&c, |r| r != "s3", |_| true);
    assert!(!all[0].fit);
    assert_eq!(
        all[0].why,
        "virtual www out of service; virtual www-alt: no healthy real in service"
    );
}

#[test]
fn announced_after_hold_down_withdrawn_at_once() {
    let c = config("");
    let mut a = Announcer::with_speaker(&setup(5), None);
    let t0 = Instant::now();
    let at = |s: u64| t0 + Duration::from_secs(s);
    a.poll(at(0), candidates(&c, |_| true, |_| true));
    // The first routes file is empty: it withdraws what an earlier run left.
    assert_eq!(a.generation, 1);
    assert!(a.routes().is_empty());
    assert_eq!(
        a.vips[&Ipv4Addr::new(198, 18, 0, 100)].state,
        State::HeldDown
    );
    a.poll(at(4), candidates(&c, |_| true, |_| true));
    assert!(a.routes().is_empty());
    a.poll(at(5), candidates(&c, |_| true, |_| true));
    assert_eq!(vips(&a.routes()), ["198.18.0.100", "198.18.0.101"]);
    assert_eq!(a.generation, 2);
    // Unchanged: nothing sent again.
    a.poll(at(6), candidates(&c, |_| true, |_| true));
    assert_eq!(a.generation, 2);
    // s3 fails: api is withdrawn at once.
    a.poll(at(7), candidates(&c, |r| r != "s3", |_| true));
    assert_eq!(vips(&a.routes()), ["198.18.0.100"]);
    // s3 flaps back for 3 s, fails again, comes back: announced 5 s after the last return.
    a.poll(at(8), candidates(&c, |_| true, |_| true));
    assert_eq!(
        a.vips[&Ipv4Addr::new(198, 18, 0, 101)].state,
        State::HeldDown
    );
    a.poll(at(11), candidates(&c, |r| r != "s3", |_| true));
    a.poll(at(12), candidates(&c, |_| true, |_| true));
    a.poll(at(16), candidates(&c, |_| true, |_| true));
    assert_eq!(vips(&a.routes()), ["198.18.0.100"]);
    a.poll(at(17), candidates(&c, |_| true, |_| true));
    assert_eq!(vips(&a.routes()), ["198.18.0.100", "198.18.0.101"]);
    assert!(a.withdrawn(), "without a speaker nothing waits");
}

#[test]
fn drain_withdraws_everything_until_undrain_and_reports_the_flows_left() {
    let c = config("");
    let mut a = Announcer::with_speaker(&setup(0), None);
    let t0 = Instant::now();
    let fit = || candidates(&c, |_| true, |_| true);
    a.poll(t0, fit());
    assert_eq!(a.routes().len(), 2);
    let r = a.drain(t0, Some(3));
    assert!(r.text.contains("3 flows left"), "{}", r.text);
    a.poll(t0, fit());
    assert!(a.routes().is_empty());
    let later = t0 + Duration::from_secs(4);
    a.poll(later, fit());
    a.watch_drain(later, || Some(1));
    assert!(!a.drain_logged_empty);
    // Counted again only a second later.
    a.watch_drain(later, || panic!("counted twice within DRAIN_CHECK"));
    a.watch_drain(later + Duration::from_secs(1), || Some(0));
    assert!(a.drain_logged_empty);
    let r = a.drain_status(later, Some(0));
    assert_eq!(r.text, "drained for 4s: every VIP withdrawn, no flow left");
    assert_eq!(r.data["empty"], true);
    let shown = a.show(later).text;
    assert!(
        shown.contains("withdrawn") && shown.contains("drained"),
        "{shown}"
    );
    assert!(a.undrain().text.starts_with("undrained: 2 VIP(s)"));
    a.poll(later, fit());
    assert_eq!(a.routes().len(), 2);
    assert_eq!(a.undrain().text, "not drained: nothing to do");
    assert!(a
        .drain_status(later, Some(5))
        .text
        .starts_with("not drained"));
}

#[test]
fn stopping_withdraws_for_good_and_a_removed_vip_goes() {
    let mut c = config("");
    let mut a = Announcer::with_speaker(&setup(0), None);
    let t0 = Instant::now();
    a.poll(t0, candidates(&c, |_| true, |_| true));
    assert_eq!(a.routes().len(), 2);
    c.virtuals.truncate(2);
    a.poll(t0, candidates(&c, |_| true, |_| true));
    assert_eq!(vips(&a.routes()), ["198.18.0.100"]);
    a.stop(t0, candidates(&c, |_| true, |_| true));
    assert!(a.routes().is_empty());
    a.poll(
        t0 + Duration::from_secs(60),
        candidates(&c, |_| true, |_| true),
    );
    assert!(a.routes().is_empty());
    assert!(a.show(t0).text.contains("stopping"));
}
