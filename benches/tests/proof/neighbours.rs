//! Faults of neighbours, short: the proof scenario `neighbours` (benches/src/neighbours) with a
//! few seconds of outage per neighbour, on a debug `fibreplane` binary. Each fault must show in
//! the metrics and the log, leave every other feature answering, recover by itself and lose
//! nothing.

use std::time::Duration;

use fibreplane_benches::neighbours::{self, Fault, NeighbourConfig};

use crate::binary::fibreplane;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_neighbours_fault_degrades_only_its_feature_and_recovers_by_itself() {
    let report = neighbours::run(&NeighbourConfig {
        fibreplane_bin: fibreplane(),
        outage: Duration::from_secs(3),
        cpes: 3,
    })
    .await
    .expect("the scenario runs");
    let order: Vec<Fault> = report.faults.iter().map(|f| f.fault).collect();
    assert_eq!(
        order,
        [
            Fault::OltSilent,
            Fault::ChromiumKilled,
            Fault::ErpnextDown,
            Fault::MqttRestart
        ]
    );
    for f in &report.faults {
        let name = f.fault.name();
        assert!(f.detected_after.is_some(), "{name} detected: {f:#?}");
        assert!(f.recovered_after.is_some(), "{name} recovered: {f:#?}");
        assert!(f.lost.is_empty(), "{name} lost nothing: {f:#?}");
        assert!(f.others_healthy(), "{name}: other features healthy: {f:#?}");
        assert!(f.missing_logs.is_empty(), "{name}: log lines: {f:#?}");
        for feature in ["acs", "nbi", "summary", "sse"] {
            assert!(f.others.contains_key(feature), "{name}: {feature} probed");
        }
    }
    let reading = |fault: usize, name: &str| {
        report.faults[fault]
            .metric(name)
            .unwrap_or_else(|| panic!("{name} read"))
            .clone()
    };
    // The metrics tell each story: down while the fault lasts, up after.
    let olt = reading(0, "fibreplane_olt_reachable{olt=\"olt-demo\"}");
    assert_eq!(
        (olt.before, olt.during, olt.after),
        (Some(1.0), Some(0.0), Some(1.0))
    );
    let launches = reading(1, "fibreplane_bridge_browser_launches_total");
    assert_eq!(
        launches.after.zip(launches.before).map(|(a, b)| a - b),
        Some(1.0),
        "one relaunch"
    );
    // When the kill came after the page sent its login, the killed browser may have left the
    // modem's one web session open; if the modem holds it, the next read takes it over instead
    // of waiting for the modem's idle expiry (modem-bridge's own tests make each case
    // deterministic).
    let delta = |m: &neighbours::MetricReading, a: Option<f64>, b: Option<f64>| {
        a.zip(b)
            .map(|(a, b)| a - b)
            .unwrap_or_else(|| panic!("{m:?}"))
    };
    let left = reading(1, "fibreplane_bridge_sessions_left_open_total");
    let taken = reading(1, "fibreplane_bridge_sessions_taken_over_total");
    let left_open = delta(&left, left.during, left.before);
    assert!(left_open == 0.0 || left_open == 1.0, "{left:?}");
    // A takeover only ever follows a read that may have left the session open.
    let taken_over = delta(&taken, taken.after, taken.during);
    assert!(taken_over == 0.0 || taken_over == left_open, "{taken:?}");
    assert!(
        report.faults[1]
            .detected_after
            .is_some_and(|d| d < Duration::from_secs(10)),
        "the killed read ended at once, not at its budget: {:#?}",
        report.faults[1]
    );
    let failures = reading(1, "fibreplane_bridge_failures_total");
    assert_eq!(
        failures.during.zip(failures.before).map(|(d, b)| d - b),
        Some(1.0),
        "the killed read counted as a failure"
    );
    let erp = reading(2, "fibreplane_provisioning_erp_up");
    assert_eq!(
        (erp.before, erp.during, erp.after),
        (Some(1.0), Some(0.0), Some(1.0))
    );
    let erp_failures = reading(2, "fibreplane_provisioning_erp_failures_total");
    assert!(
        erp_failures.during > erp_failures.before,
        "{erp_failures:?}"
    );
    let mqtt = reading(3, "fibreplane_mqtt_connected");
    assert_eq!(
        (mqtt.before, mqtt.during, mqtt.after),
        (Some(1.0), Some(0.0), Some(1.0))
    );
    let lost = reading(3, "fibreplane_mqtt_disconnects_total");
    assert_eq!(lost.after.zip(lost.before).map(|(a, b)| a - b), Some(1.0));
    assert!(!report.secret_in_log, "no secret in the log");
    assert!(
        report.graceful_stop,
        "fibreplane stops gracefully afterwards"
    );
    let rows = neighbours::rows(&report);
    assert!(
        rows.iter()
            .all(|r| r.scenario == "neighbours" && r.met != Some(false)),
        "{rows:#?}"
    );
}
