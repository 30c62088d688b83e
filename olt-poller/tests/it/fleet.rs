//! The fleet against olt-sim: events for a fibre cut, a power outage, recovery and optical
//! drift; history samples; a dead OLT that does not hold up a healthy one.

use std::sync::Arc;
use std::time::Duration;

use fibreplane_lab::olt::{Faults, SimVendor};
use olt_poller::{
    DownCause, EventKind, FleetConfig, OltFleet, OltId, OpticalHistory, OpticalLevel, PollerEvent,
    RedbHistory,
};
use tokio::sync::broadcast;

use super::support::{olt, sim_config, start_sim, v2c};

fn drain(rx: &mut broadcast::Receiver<PollerEvent>) -> Vec<PollerEvent> {
    let mut v = Vec::new();
    while let Ok(e) = rx.try_recv() {
        v.push(e);
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_follow_the_simulated_network() {
    for vendor in [SimVendor::Huawei, SimVendor::Zte] {
        let sim = start_sim(sim_config(vendor, 4, 8)).await;
        let dir = tempfile::tempdir().unwrap();
        let history = Arc::new(RedbHistory::open(&dir.path().join("h.redb"), 16).unwrap());
        let mut fleet = OltFleet::new(FleetConfig::default(), Some(history.clone()));
        let mut rx = fleet.subscribe();
        let name = format!("{vendor:?}");
        let id = OltId::new(name.clone()).unwrap();
        let vendor_name = if vendor == SimVendor::Huawei {
            "huawei"
        } else {
            "zte"
        };
        fleet
            .add(olt(
                &name,
                v2c(sim.handle.addr(), "lab-community"),
                vendor_name,
            ))
            .unwrap();
        let base = fleet.poll_now(&id).await.unwrap();
        assert_eq!(base.onus.len(), 32);
        assert!(drain(&mut rx).is_empty(), "the baseline poll emits nothing");
        let serial_of = |pos: usize| {
            sim.handle
                .read(|n| String::from_utf8(n.serial(&n.onus[pos])).unwrap())
        };

        // Fibre cut on port 1: every ONU that was up goes down with LOS.
        let cut = sim.handle.change(|n| n.cut_port(1));
        assert!(cut > 0);
        fleet.poll_now(&id).await.unwrap();
        let evs = drain(&mut rx);
        let los: Vec<_> = evs
            .iter()
            .filter(|e| {
                matches!(
                    e.kind,
                    EventKind::OnuOffline {
                        cause: DownCause::Los,
                        ..
                    }
                )
            })
            .collect();
        assert_eq!(los.len(), cut, "{evs:?}");
        assert!(
            los.iter()
                .all(|e| e.port.unwrap().port == fibreplane_lab::olt::slot_port(vendor, 1).1)
        );

        // Power outage on port 2 ONUs 0..5: dying gasps, with their serials.
        let n = sim.handle.change(|n| n.power_outage(&[16, 17, 18, 19, 20]));
        fleet.poll_now(&id).await.unwrap();
        let dg: Vec<_> = drain(&mut rx)
            .into_iter()
            .filter(|e| {
                matches!(
                    e.kind,
                    EventKind::OnuOffline {
                        cause: DownCause::DyingGasp,
                        ..
                    }
                )
            })
            .collect();
        assert_eq!(dg.len(), n);
        let online_before: Vec<String> = (16..21)
            .filter(|p| {
                base.onus
                    .iter()
                    .any(|o| o.serial.as_deref() == Some(&serial_of(*p)) && o.state.is_offline())
            })
            .map(serial_of)
            .collect();
        assert_eq!(n + online_before.len(), 5);

        // Drift one online ONU of port 0 (untouched above) into warning, then critical, then
        // back (with hysteresis).
        let pos = sim
            .handle
            .read(|n| n.onus.iter().position(|o| o.port == 0 && o.down.is_none()))
            .expect("port 0 has an online ONU");
        let key = base
            .onus
            .iter()
            .find(|o| o.serial.as_deref() == Some(&serial_of(pos)))
            .unwrap()
            .key;
        let mut levels = Vec::new();
        for rx_dbm in [-27.5, -30.5, -29.5, -28.5, -20.0] {
            sim.handle.change(|n| n.set_rx(pos, rx_dbm));
            fleet.poll_now(&id).await.unwrap();
            for e in drain(&mut rx) {
                if let EventKind::Optical { to, .. } = e.kind {
                    assert_eq!(e.onu, Some(key));
                    levels.push(to);
                }
            }
        }
        {
            assert_eq!(
                levels,
                vec![
                    OpticalLevel::Warning,
                    OpticalLevel::Critical,
                    OpticalLevel::Warning,
                    OpticalLevel::Normal
                ]
            );
            let hist = history.range(&id, key, 0, u64::MAX).unwrap();
            assert_eq!(
                hist.len(),
                9,
                "one sample per poll (the first tick, poll_now × 8)"
            );
            assert_eq!(hist.last().unwrap().rx_dbm.unwrap().0, -20.0);
        }

        // Restore everything: the downed ONUs come back online.
        let back = sim.handle.change(|n| n.restore(None));
        fleet.poll_now(&id).await.unwrap();
        let up = drain(&mut rx)
            .into_iter()
            .filter(|e| e.kind == EventKind::OnuOnline)
            .count();
        assert_eq!(up, back);
        fleet.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_olt_does_not_delay_a_healthy_one() {
    let dead = start_sim(sim_config(SimVendor::Huawei, 2, 8)).await;
    dead.handle.set_faults(Faults {
        drop_all: true,
        ..Faults::default()
    });
    let alive = start_sim(sim_config(SimVendor::Zte, 2, 8)).await;
    let mut fleet = OltFleet::new(
        FleetConfig {
            max_sockets: 2,
            ..FleetConfig::default()
        },
        None,
    );
    let mut rx = fleet.subscribe();
    let mut t = v2c(dead.handle.addr(), "lab-community");
    t.timeout = Duration::from_millis(300);
    t.retries = 3;
    fleet.add(olt("dead", t, "huawei")).unwrap();
    fleet
        .add(olt(
            "alive",
            v2c(alive.handle.addr(), "lab-community"),
            "zte",
        ))
        .unwrap();
    let (dead_id, alive_id) = (OltId::new("dead").unwrap(), OltId::new("alive").unwrap());
    let fleet = Arc::new(fleet);
    let (order_tx, mut order_rx) = tokio::sync::mpsc::unbounded_channel();
    let f1 = fleet.clone();
    let o1 = order_tx.clone();
    let d = dead_id.clone();
    let dead_task = tokio::spawn(async move {
        let r = f1.poll_now(&d).await;
        o1.send("dead").unwrap();
        r
    });
    let f2 = fleet.clone();
    let a = alive_id.clone();
    let alive_task = tokio::spawn(async move {
        let r = f2.poll_now(&a).await;
        order_tx.send("alive").unwrap();
        r
    });
    assert_eq!(alive_task.await.unwrap().unwrap().onus.len(), 16);
    assert!(dead_task.await.unwrap().is_err());
    assert_eq!(order_rx.recv().await, Some("alive"));
    assert_eq!(order_rx.recv().await, Some("dead"));
    let evs = drain(&mut rx);
    assert!(
        evs.iter()
            .any(|e| e.olt == dead_id && matches!(e.kind, EventKind::OltUnreachable { .. }))
    );
    // The OLT comes back: one OltReachable event.
    dead.handle.set_faults(Faults::default());
    fleet.poll_now(&dead_id).await.unwrap();
    let evs = drain(&mut rx);
    assert_eq!(
        evs.iter()
            .filter(|e| e.kind == EventKind::OltReachable)
            .count(),
        1
    );
    assert!(fleet.latest(&alive_id).is_some());

    // Every poll is in the OLT's duration histogram, by outcome: the dead OLT's failures took
    // at least its four 300 ms attempts, so none is in the buckets up to 1 s.
    let mut registry = prometheus_client::registry::Registry::default();
    fleet.register_metrics(&mut registry);
    let mut text = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut text, &registry).unwrap();
    let sample = |series: &str| -> u64 {
        let name = format!("fibreplane_olt_poll_duration_seconds_{series} ");
        let line = text.lines().find(|l| l.starts_with(&name));
        line.and_then(|l| l[name.len()..].parse().ok())
            .unwrap_or_else(|| panic!("{name} in\n{text}"))
    };
    assert!(sample("count{olt=\"dead\",outcome=\"failed\"}") >= 1);
    assert_eq!(
        sample("bucket{olt=\"dead\",outcome=\"failed\",le=\"1\"}"),
        0
    );
    assert!(sample("count{olt=\"dead\",outcome=\"ok\"}") >= 1);
    assert!(sample("count{olt=\"alive\",outcome=\"ok\"}") >= 1);
    assert_eq!(sample("count{olt=\"alive\",outcome=\"failed\"}"), 0);
}
