//! Property tests of the correlator: any sequence of inputs, in virtual time.

use std::collections::BTreeMap;
use std::time::Duration;

use incidents::kuma::KumaStatus;
use incidents::{IncidentEvent, IncidentState};
use olt_poller::{DownCause, EventKind};
use proptest::prelude::*;

use crate::harness::{Harness, fast_config};

const OLTS: [&str; 2] = ["olt-a", "olt-b"];
const PORTS: u32 = 3;
/// ONUs 0..10 of each port take any cause; 10..12 only ever go down for admin or reset.
const ONUS: u32 = 12;
const ADMIN_ONLY: u32 = 10;

#[derive(Debug, Clone)]
enum Op {
    Down {
        olt: usize,
        port: u32,
        onu: u32,
        cause: usize,
        at: i64,
    },
    Up {
        olt: usize,
        port: u32,
        onu: u32,
    },
    Unreachable(usize),
    Reachable(usize),
    KumaDown(usize, bool),
    KumaUp(usize),
    Totals(usize),
    Advance(u64),
}

const CAUSES: [DownCause; 7] = [
    DownCause::Los,
    DownCause::DyingGasp,
    DownCause::Admin,
    DownCause::Reset,
    DownCause::AuthFailed,
    DownCause::Other,
    DownCause::Unknown,
];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..2usize, 0..PORTS, 0..ONUS, 0..CAUSES.len(), 0..900i64)
            .prop_map(|(olt, port, onu, cause, at)| Op::Down { olt, port, onu, cause, at }),
        4 => (0..2usize, 0..PORTS, 0..ONUS).prop_map(|(olt, port, onu)| Op::Up { olt, port, onu }),
        1 => (0..2usize).prop_map(Op::Unreachable),
        1 => (0..2usize).prop_map(Op::Reachable),
        1 => (0..2usize, any::<bool>()).prop_map(|(o, r)| Op::KumaDown(o, r)),
        1 => (0..2usize).prop_map(Op::KumaUp),
        1 => (0..2usize).prop_map(Op::Totals),
        4 => (0..120_000u64).prop_map(Op::Advance),
    ]
}

fn apply(h: &mut Harness, op: &Op) {
    match *op {
        Op::Down {
            olt,
            port,
            onu,
            cause,
            at,
        } => {
            let mut cause = CAUSES[cause];
            if onu >= ADMIN_ONLY {
                cause = if at % 2 == 0 {
                    DownCause::Admin
                } else {
                    DownCause::Reset
                };
            }
            h.down(OLTS[olt], port, onu, cause, at);
        }
        Op::Up { olt, port, onu } => h.up(OLTS[olt], port, onu),
        Op::Unreachable(o) => h.olt_event(OLTS[o], EventKind::OltUnreachable { error: "t".into() }),
        Op::Reachable(o) => h.olt_event(OLTS[o], EventKind::OltReachable),
        Op::KumaDown(o, resend) => h.kuma(o as u64, OLTS[o], KumaStatus::Down, resend),
        Op::KumaUp(o) => h.kuma(o as u64, OLTS[o], KumaStatus::Up, false),
        Op::Totals(o) => {
            let ports: Vec<(u32, u32)> = (0..PORTS).map(|p| (p, ONUS)).collect();
            h.totals(OLTS[o], &ports);
        }
        Op::Advance(ms) => h.advance(Duration::from_millis(ms)),
    }
}

/// Everything comes back: every ONU online, every OLT reachable, every monitor up.
fn restore_all(h: &mut Harness) {
    for (i, olt) in OLTS.iter().enumerate() {
        h.olt_event(olt, EventKind::OltReachable);
        h.kuma(i as u64, olt, KumaStatus::Up, false);
        for port in 0..PORTS {
            for onu in 0..ONUS {
                h.up(olt, port, onu);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn any_sequence_keeps_the_invariants(ops in proptest::collection::vec(op(), 0..80)) {
        let config = fast_config();
        let flap = config.flap_window;
        let mut h = Harness::new(config);
        for op in &ops {
            apply(&mut h, op);
        }
        restore_all(&mut h);
        // Long enough for the single-ONU delay, the quiet time and a whole flap window.
        for _ in 0..30 {
            h.advance(Duration::from_secs(60));
        }
        let evs = h.take();

        // Admin and reset never count: ONUs that only ever went down for those are in no incident.
        for ev in &evs {
            for m in &ev.incident().onus {
                prop_assert!(m.onu_id < ADMIN_ONLY, "admin-only ONU in {ev:#?}");
            }
        }
        // Each incident opens once and resolves at most once per flap window.
        let mut by_id: BTreeMap<_, Vec<&IncidentEvent>> = BTreeMap::new();
        for ev in &evs {
            by_id.entry(ev.incident().id).or_default().push(ev);
        }
        for (id, list) in &by_id {
            let opened = list.iter().filter(|e| e.name() == "opened").count();
            prop_assert_eq!(opened, 1, "incident {} opened {} times", id, opened);
            prop_assert_eq!(list[0].name(), "opened");
            let resolved: Vec<_> = list
                .iter()
                .filter(|e| e.name() == "resolved")
                .filter_map(|e| e.incident().resolved_at)
                .collect();
            for w in resolved.windows(2) {
                prop_assert!(w[1].since(w[0]) >= flap, "{id} resolved twice within the flap window");
            }
            // Everything is back: the last word on every incident is that it resolved.
            prop_assert_eq!(list.last().unwrap().name(), "resolved", "{:#?}", list);
        }
        prop_assert!(h.c.incidents().all(|i| i.state == IncidentState::Resolved));
    }
}
