//! Short variants of the proof harness's scenarios (`cargo run -p fibreplane-benches --release
//! --bin proof -- all`), run on a debug `fibreplane` binary so they cannot rot: the same code as
//! the full runs, with small fleets. Each asserts the scenario's invariants, not its timings.

use std::time::Duration;

use fibreplane_benches::proof::{crash, scale, storm};

use crate::binary::fibreplane;

/// The scenarios each load both cores (an ACS process and a fleet); run side by side, their
/// CPEs time out and back off further than a scenario waits. One at a time, as the harness does.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boot_storm_loses_no_registration_inform_or_task() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let cfg = storm::StormConfig {
        fibreplane: fibreplane(),
        fleets: storm::Fleets::InProcess,
        cpes: 400,
        new_cpes: 40,
        tasks: 40,
        window: Duration::from_secs(2),
        timeout: Duration::from_secs(120),
        // Few session slots, so the registration before the outage (256 sessions at a time) is
        // refused in part and its CPEs must come back after their Retry-After: a real storm's
        // path, whether or not the storm itself outruns the slots on a given machine.
        max_sessions: 8,
        // Short waits, so the refused CPEs come back within the test's time.
        retry_after: Some((1, 3)),
    };
    let r = storm::run(&cfg).await.expect("storm runs");
    assert!(r.lossless(), "{r:#?}");
    assert_eq!(r.done, 440, "{r:#?}");
    assert_eq!(r.registered, 440);
    assert_eq!(r.tasks_applied, 40);
    assert!(r.acs_peak_rss > 0);
    let rows = storm::rows(&r, cfg.window);
    assert!(
        rows.iter()
            .any(|row| row.figure.contains("lost") && row.met == Some(true))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_rounds_lose_no_acknowledged_task_and_cpes_keep_informing() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let cfg = crash::CrashConfig {
        fibreplane: fibreplane(),
        rounds: 3,
        cpes: 150,
        interval: Duration::from_secs(2),
        kill_after: (Duration::from_millis(300), Duration::from_millis(1500)),
        task_every: Duration::from_millis(30),
        settle: Duration::from_secs(90),
        seed: 7,
    };
    let r = crash::run(&cfg).await.expect("crash scenario runs");
    assert!(r.clean(), "{r:#?}");
    assert_eq!(r.restarts_ok, 3);
    assert!(r.tasks_acked > 0, "the NBI acknowledged no task: {r:#?}");
    assert_eq!(r.tasks_done, r.tasks_acked);
    assert_eq!(r.informed_after_last_restart, 150);
    assert!(crash::rows(&r).iter().all(|row| row.met != Some(false)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_filled_by_the_importer_is_served_and_informed() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let cfg = scale::ScaleConfig {
        fibreplane: fibreplane(),
        cpe_sim: None,
        devices: 3_000,
        baseline_devices: 300,
        requests: 50,
        periodic_cpes: 100,
        periodic: Duration::from_secs(2),
        idle: Duration::from_millis(300),
    };
    let r = scale::run(&cfg).await.expect("scale scenario runs");
    for (s, n) in [(&r.big, 3_000u64), (&r.base, 300)] {
        assert_eq!(s.counted, n, "{r:#?}");
        assert!(s.disk_bytes > 0 && s.idle_rss > 0);
        assert_eq!(s.periodic_failed, 0, "{r:#?}");
        assert!(s.periodic_per_s > 0.0, "{r:#?}");
    }
    assert!(r.big.disk_bytes > r.base.disk_bytes);
    let rows = scale::rows(&r);
    assert_eq!(rows.iter().filter(|row| row.baseline != "—").count(), 8);
}
