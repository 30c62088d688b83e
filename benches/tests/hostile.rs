//! The short variant of the hostile-input proof, in the default test suite so it cannot rot:
//! 20,000 generated inputs across the six surfaces (about 1,000 of them over HTTP, plus hostile
//! SNMP and modem peers), 100 slowloris connections, oversized bodies. The full run (1,000,000
//! inputs, 1,000 connections) is the proof harness's `hostile` scenario.

use fibreplane_benches::hostile::{self, HostileConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_inputs_are_refused_cleanly_and_slowloris_does_not_stop_cpes() {
    let cfg = HostileConfig {
        inputs: 20_000,
        slowloris: 100,
        seed: 0x5EED_0008,
    };
    let r = hostile::run(&cfg).await.expect("the hostile run completes");
    let table = hostile::rows(&r);
    let show = table
        .iter()
        .map(|x| format!("{}: {} (target {})", x.figure, x.measured, x.target))
        .collect::<Vec<_>>()
        .join("\n");

    assert_eq!(r.inputs(), 20_000, "{show}");
    assert_eq!(r.panics, 0, "panics: {:#?}", r.findings);
    assert_eq!(r.unclean, 0, "unclean replies: {:#?}", r.findings);
    for (surface, c) in &r.surfaces {
        assert!(c.inputs > 3000, "{surface:?} got its share: {c:?}");
        assert!(
            c.refused > 0,
            "{surface:?} refused some mutated inputs: {c:?}"
        );
        assert!(
            c.accepted > 0,
            "{surface:?} accepted some inputs that stayed valid: {c:?}"
        );
        assert!(
            c.live > 0,
            "{surface:?} was also exercised over the network: {c:?}"
        );
    }
    assert!(
        r.mutations.iter().all(|(_, n)| *n > 0),
        "every mutation ran: {:?}",
        r.mutations
    );
    // Both peers were reached and, with mutated answers, refused some reads.
    assert!(r.snmp_polls.1 > 0 && r.modem_reads.1 > 0, "{show}");
    assert!(
        r.rss_growth() < hostile::RSS_BOUND,
        "resident memory grew by {} bytes",
        r.rss_growth()
    );

    let sl = &r.slowloris;
    assert_eq!(sl.opened, 100, "every slow connection was accepted: {sl:?}");
    assert_eq!(
        sl.closed_by_server, sl.opened,
        "the ACS closed every slow connection: {sl:?}"
    );
    assert!(
        sl.baseline.sessions > 0 && sl.baseline.failed == 0,
        "{sl:?}"
    );
    assert!(
        sl.attacked.sessions > 0 && sl.attacked.failed == 0,
        "CPE sessions kept completing during slowloris: {sl:?}"
    );

    assert_eq!(r.oversize.len(), 3);
    for o in &r.oversize {
        assert!(o.rejected_early(), "oversized body refused early: {o:?}");
    }
    assert!(
        table
            .iter()
            .all(|x| x.met != Some(false) || x.figure.starts_with("generated")),
        "{show}"
    );
}
