//! The correlator in virtual time: each outage class, escalation, suppression, hysteresis.

use std::sync::Arc;
use std::time::Duration;

use incidents::correlate::IncidentKind;
use incidents::directory::{CustomerId, Subscriber};
use incidents::kuma::KumaStatus;
use incidents::{InMemoryDirectory, IncidentEvent, IncidentState};
use olt_poller::{DownCause, EventKind};

use crate::harness::{Harness, fast_config, serial};

const SETTLE: Duration = Duration::from_millis(250);

fn opened(evs: &[IncidentEvent]) -> Vec<&incidents::Incident> {
    evs.iter()
        .filter(|e| matches!(e, IncidentEvent::Opened { .. }))
        .map(IncidentEvent::incident)
        .collect()
}

#[test]
fn a_whole_port_losing_signal_is_a_fibre_cut_with_its_customers() {
    let dir = Arc::new(InMemoryDirectory::new());
    for onu in 0..32 {
        dir.insert(
            serial("olt01", 3, onu),
            Subscriber {
                customer: Some(CustomerId(format!("CUST-{onu:04}"))),
                ..Subscriber::default()
            },
        );
    }
    let mut h = Harness::with_directory(fast_config(), dir);
    h.totals("olt01", &[(3, 32), (4, 32)]);
    // 31 of 32 (one was already down before): 97 %.
    for onu in 0..31 {
        h.down("olt01", 3, onu, DownCause::Los, 0);
    }
    h.advance(Duration::from_millis(100));
    assert!(h.take().is_empty(), "nothing before the settle time");
    h.advance(SETTLE);
    let evs = h.take();
    let o = opened(&evs);
    assert_eq!(o.len(), 1, "{evs:#?}");
    let inc = o[0];
    assert_eq!(inc.kind, IncidentKind::FibreCut);
    assert_eq!(inc.onus.len(), 31);
    assert_eq!(inc.customers.len(), 31);
    assert_eq!(inc.ports.len(), 1);
    assert_eq!(inc.ports[0].onus_total, Some(32));
    assert_eq!(inc.ports[0].name.as_deref(), Some("GPON 0/1/3"));
    let json = serde_json::to_value(&evs[0]).unwrap();
    assert_eq!(json["event"], "opened");
    assert_eq!(json["incident"]["kind"], "fibre_cut");
    assert_eq!(json["incident"]["ports"][0]["port"], "0/1/3");
    assert_eq!(json["incident"]["onus"][0]["customer"], "CUST-0000");
    assert_eq!(json["incident"]["started_at"], "2026-11-22T10:00:00.000Z");
    // Everything back: resolved after the quiet time, not before.
    for onu in 0..31 {
        h.up("olt01", 3, onu);
    }
    h.advance(Duration::from_secs(20));
    assert!(h.take().is_empty());
    h.advance(Duration::from_secs(15));
    let evs = h.take();
    assert!(
        matches!(evs.as_slice(), [IncidentEvent::Resolved { .. }]),
        "{evs:#?}"
    );
    assert_eq!(evs[0].incident().onus_offline, 0);
}

#[test]
fn a_subset_of_a_port_is_a_splitter_branch_and_later_polls_escalate_it() {
    let mut h = Harness::new(fast_config());
    h.totals("olt01", &[(2, 32)]);
    for onu in 0..5 {
        h.down("olt01", 2, onu, DownCause::Los, 10);
    }
    h.advance(SETTLE);
    let evs = h.take();
    let o = opened(&evs);
    assert_eq!(o.len(), 1);
    assert_eq!(o[0].kind, IncidentKind::SplitterBranch);
    let id = o[0].id;
    // The next poll sees 20 more that went down in the same seconds (OLT clock): one incident.
    h.advance(Duration::from_secs(60));
    for onu in 5..25 {
        h.down("olt01", 2, onu, DownCause::Los, 12);
    }
    h.advance(SETTLE);
    let evs = h.take();
    assert!(opened(&evs).is_empty(), "{evs:#?}");
    let last = evs.last().unwrap().incident();
    assert_eq!(last.id, id);
    assert_eq!(last.kind, IncidentKind::FibreCut);
    assert_eq!(last.onus.len(), 25);
}

#[test]
fn dying_gasps_across_ports_are_a_power_outage_that_absorbs_a_lone_los() {
    let mut h = Harness::new(fast_config());
    h.totals("olt01", &[(0, 32), (1, 32), (2, 32)]);
    for (p, onu) in [(0, 1), (0, 7), (1, 3), (1, 4), (2, 9)] {
        h.down("olt01", p, onu, DownCause::DyingGasp, 5);
    }
    // An ONU without a battery-backed dying gasp: LOS in the same window.
    h.down("olt01", 2, 20, DownCause::Los, 6);
    h.advance(SETTLE);
    let evs = h.take();
    let o = opened(&evs);
    assert_eq!(o.len(), 1, "{evs:#?}");
    assert_eq!(o[0].kind, IncidentKind::PowerOutage);
    assert_eq!(o[0].ports.len(), 3);
    assert_eq!(o[0].cause, Some(DownCause::DyingGasp));
    // The lone LOS waits for the single-ONU delay, then joins the outage instead.
    h.advance(Duration::from_secs(61));
    let evs = h.take();
    assert!(opened(&evs).is_empty(), "{evs:#?}");
    let inc = evs.last().unwrap().incident();
    assert_eq!(inc.onus.len(), 6);
    assert_eq!(inc.cause, None, "a mixed cluster has no single cause");
}

#[test]
fn one_onu_is_a_single_onu_matter_only_if_it_stays_down() {
    let mut h = Harness::new(fast_config());
    h.totals("olt01", &[(5, 32)]);
    h.down("olt01", 5, 1, DownCause::Los, 0);
    h.advance(Duration::from_secs(30));
    h.up("olt01", 5, 1);
    h.advance(Duration::from_secs(120));
    assert!(h.take().is_empty(), "a bounce is not an incident");
    h.down("olt01", 5, 2, DownCause::DyingGasp, 200);
    h.advance(Duration::from_secs(59));
    assert!(h.take().is_empty());
    h.advance(Duration::from_secs(2));
    let evs = h.take();
    let o = opened(&evs);
    assert_eq!(o.len(), 1);
    assert_eq!(o[0].kind, IncidentKind::SingleOnu);
    assert_eq!(o[0].cause, Some(DownCause::DyingGasp));
}

#[test]
fn admin_and_reset_causes_never_count() {
    let mut h = Harness::new(fast_config());
    h.totals("olt01", &[(1, 32)]);
    for onu in 0..20 {
        let cause = if onu % 2 == 0 {
            DownCause::Admin
        } else {
            DownCause::Reset
        };
        h.down("olt01", 1, onu, cause, 0);
    }
    h.down("olt01", 1, 30, DownCause::Los, 0);
    h.advance(Duration::from_secs(120));
    let evs = h.take();
    let o = opened(&evs);
    assert_eq!(o.len(), 1, "{evs:#?}");
    assert_eq!(o[0].kind, IncidentKind::SingleOnu);
    assert_eq!(h.c.stats().excluded, 20);
}

#[test]
fn snmp_and_kuma_down_make_one_olt_incident_and_silence_its_onus() {
    let mut h = Harness::new(fast_config());
    h.totals("olt01", &[(0, 32)]);
    h.olt_event(
        "olt01",
        EventKind::OltUnreachable {
            error: "timeout".into(),
        },
    );
    h.advance(SETTLE);
    h.kuma(42, "olt01", KumaStatus::Down, false);
    h.kuma(42, "olt01", KumaStatus::Down, true);
    for onu in 0..32 {
        h.down("olt01", 0, onu, DownCause::Los, 0);
    }
    h.advance(Duration::from_secs(120));
    let evs = h.take();
    let o = opened(&evs);
    assert_eq!(o.len(), 1, "{evs:#?}");
    assert_eq!(o[0].kind, IncidentKind::OltUnreachable);
    let last = evs.last().unwrap().incident();
    assert!(last.evidence.snmp_down_since.is_some());
    assert_eq!(last.evidence.kuma.len(), 1, "a resend adds nothing");
    assert_eq!(h.c.stats().suppressed, 32);
    // SNMP answers again but Kuma still says down: still open.
    h.olt_event("olt01", EventKind::OltReachable);
    h.advance(Duration::from_secs(120));
    assert!(h.c.incidents().all(|i| i.state == IncidentState::Open));
    h.kuma(42, "olt01", KumaStatus::Up, false);
    h.advance(Duration::from_secs(31));
    let evs = h.take();
    assert!(
        matches!(evs.last(), Some(IncidentEvent::Resolved { .. })),
        "{evs:#?}"
    );
}

#[test]
fn a_flapping_port_reopens_its_incident_and_resolves_once_per_window() {
    let mut h = Harness::new(fast_config());
    h.totals("olt01", &[(3, 8)]);
    let cut = |h: &mut Harness, at| {
        for onu in 0..8 {
            h.down("olt01", 3, onu, DownCause::Los, at);
        }
    };
    let restore = |h: &mut Harness| {
        for onu in 0..8 {
            h.up("olt01", 3, onu);
        }
    };
    cut(&mut h, 0);
    h.advance(SETTLE);
    // Quick flaps while open: no close.
    for _ in 0..5 {
        restore(&mut h);
        h.advance(Duration::from_secs(10));
        cut(&mut h, 0);
        h.advance(Duration::from_secs(10));
    }
    restore(&mut h);
    h.advance(Duration::from_secs(31));
    // Down again after it resolved, within the flap window: the same incident reopens.
    cut(&mut h, 200);
    h.advance(SETTLE);
    restore(&mut h);
    h.advance(Duration::from_secs(100));
    let evs = h.take();
    let ids: std::collections::BTreeSet<_> = evs.iter().map(|e| e.incident().id).collect();
    assert_eq!(ids.len(), 1, "{evs:#?}");
    let names: Vec<_> = evs.iter().map(IncidentEvent::name).collect();
    assert_eq!(names.iter().filter(|n| **n == "opened").count(), 1);
    assert_eq!(
        names.iter().filter(|n| **n == "resolved").count(),
        1,
        "{names:?}"
    );
    assert_eq!(evs.last().unwrap().incident().reopens, 1);
    // It resolves again only once the flap window since the last resolution is over.
    h.advance(Duration::from_secs(600));
    let evs = h.take();
    assert!(
        matches!(evs.as_slice(), [IncidentEvent::Resolved { .. }]),
        "{evs:#?}"
    );
}

#[test]
fn an_incident_resolves_at_the_restore_ratio_and_lists_who_is_still_down() {
    let mut h = Harness::new(fast_config());
    h.totals("olt01", &[(6, 10)]);
    for onu in 0..10 {
        h.down("olt01", 6, onu, DownCause::Los, 0);
    }
    h.advance(SETTLE);
    for onu in 0..8 {
        h.up("olt01", 6, onu);
    }
    h.advance(Duration::from_secs(31));
    let evs = h.take();
    let resolved = evs.last().unwrap();
    assert_eq!(resolved.name(), "resolved", "{evs:#?}");
    assert_eq!(resolved.incident().onus_offline, 2);
    // The two left behind are quiet now: no new incident from them.
    h.advance(Duration::from_secs(300));
    assert!(opened(&h.take()).is_empty());
}
