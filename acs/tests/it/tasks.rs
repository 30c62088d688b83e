//! The durable task queue, driven by a hand-played CPE over loopback HTTP: RPCs sent in order,
//! answers stored, faults recorded and retried with back-off, tasks surviving a restart.

use crate::harness::{self, reply, session};
use acs::{AcsConfig, TaskKind, TaskOutcome, TaskStatus};
use cwmp::{Body, Fault, ParameterValue, SetParameterValuesFault, XsdType};
use std::time::Duration;

/// A quiet ACS on a fresh store, with the CPE `serial` registered.
async fn registered(serial: &str) -> harness::TestAcs {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = harness::quiet(tmp.path());
    let t = harness::start_in(tmp, cfg).await;
    register(&t, serial).await;
    t
}

async fn register(t: &harness::TestAcs, serial: &str) {
    let (mut c, _) = session(t, serial, &["0 BOOTSTRAP", "1 BOOT"]).await;
    assert_eq!(c.post(Vec::new(), &[]).await.status, 204);
}

#[tokio::test]
async fn queued_tasks_run_in_order_with_gpv_batched_and_results_stored() {
    let t = registered("T1").await;
    let dev = harness::device("T1");
    let g1 = harness::enqueue_uptime(&t, &dev).await;
    let g2 = t
        .acs
        .enqueue(
            &dev,
            TaskKind::GetParameterValues {
                names: vec!["Device.WiFi.SSID.1.SSID".into()],
            },
        )
        .await
        .unwrap();
    let values = vec![(
        "Device.WiFi.SSID.1.SSID".into(),
        "Gigafibre-42".into(),
        "string".into(),
    )];
    let s = t
        .acs
        .enqueue(
            &dev,
            TaskKind::SetParameterValues {
                values,
                parameter_key: "k42".into(),
            },
        )
        .await
        .unwrap();
    assert!(g1.id < g2.id && g2.id < s.id, "ids are monotonic");

    let (mut c, _) = session(&t, "T1", &["2 PERIODIC"]).await;
    let gpv = c.post(Vec::new(), &[]).await.envelope();
    match &gpv.body {
        Body::GetParameterValues { names } => {
            assert_eq!(
                names,
                &["Device.DeviceInfo.UpTime", "Device.WiFi.SSID.1.SSID"],
                "two tasks, one RPC"
            )
        }
        other => panic!("expected GPV, got {other:?}"),
    }
    let answer = Body::GetParameterValuesResponse {
        parameters: vec![
            ParameterValue::new("Device.DeviceInfo.UpTime", "3600", XsdType::UnsignedInt),
            ParameterValue::new("Device.WiFi.SSID.1.SSID", "old", XsdType::String),
        ],
    };
    let spv = reply(&mut c, &gpv, answer).await.envelope();
    match &spv.body {
        Body::SetParameterValues {
            parameters,
            parameter_key,
        } => {
            assert_eq!(parameter_key, "k42");
            assert_eq!(parameters[0].value, "Gigafibre-42");
        }
        other => panic!("expected SPV, got {other:?}"),
    }
    let end = reply(&mut c, &spv, Body::SetParameterValuesResponse { status: 0 }).await;
    assert_eq!(end.status, 204);

    for id in [g1.id, g2.id, s.id] {
        let out = t.acs.wait_task(id, Duration::from_secs(5)).await.unwrap();
        assert!(matches!(out, TaskOutcome::Done(_)), "{out:?}");
    }
    let tree = t.acs.store().get_tree(&dev).await.unwrap();
    let uptime = tree
        .get("Device.DeviceInfo.UpTime")
        .and_then(|p| p.value.clone())
        .unwrap();
    assert_eq!(uptime.text(), "3600");
    assert_eq!(uptime.xsd_type(), "unsignedInt");
    let ssid = tree.get("Device.WiFi.SSID.1.SSID").unwrap();
    assert_eq!(ssid.value.as_ref().unwrap().text(), "Gigafibre-42");
    assert_eq!(
        t.acs
            .store()
            .get(&dev)
            .await
            .unwrap()
            .unwrap()
            .value
            .parameter_key,
        "k42"
    );
}

#[tokio::test]
async fn a_cpe_fault_is_recorded_with_its_detail_and_retried_after_back_off() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = AcsConfig {
        task_retry_base: Duration::from_millis(300),
        task_max_attempts: 2,
        ..harness::quiet(tmp.path())
    };
    let t = harness::start_in(tmp, cfg).await;
    register(&t, "T2").await;
    let dev = harness::device("T2");
    let values = vec![("Device.Bogus".into(), "1".into(), "string".into())];
    let task = t
        .acs
        .enqueue(
            &dev,
            TaskKind::SetParameterValues {
                values,
                parameter_key: String::new(),
            },
        )
        .await
        .unwrap();
    let mut fault = Fault::new(9003, "Invalid arguments");
    fault
        .set_parameter_values_faults
        .push(SetParameterValuesFault {
            name: "Device.Bogus".into(),
            code: 9005,
            string: "Invalid parameter name".into(),
        });

    let (mut c, _) = session(&t, "T2", &["2 PERIODIC"]).await;
    let spv = c.post(Vec::new(), &[]).await.envelope();
    assert!(matches!(spv.body, Body::SetParameterValues { .. }));
    assert_eq!(
        reply(&mut c, &spv, Body::Fault(fault.clone())).await.status,
        204
    );
    let out = t
        .acs
        .wait_task(task.id, Duration::from_secs(5))
        .await
        .unwrap();
    let TaskOutcome::Faulted(rec, f) = out else {
        panic!("{out:?}")
    };
    assert_eq!(f.code, "cwmp.9003");
    assert!(f.detail.contains("Device.Bogus: 9005"), "{}", f.detail);
    assert_eq!((rec.attempts, &rec.status), (1, &TaskStatus::Pending));

    // Inside the back-off window the task is not sent again.
    let (mut c, _) = session(&t, "T2", &["2 PERIODIC"]).await;
    assert_eq!(c.post(Vec::new(), &[]).await.status, 204);
    tokio::time::sleep(Duration::from_millis(400)).await;
    // After it, it is; the second fault exhausts the attempts.
    let (mut c, _) = session(&t, "T2", &["2 PERIODIC"]).await;
    let spv = c.post(Vec::new(), &[]).await.envelope();
    assert!(matches!(spv.body, Body::SetParameterValues { .. }));
    assert_eq!(reply(&mut c, &spv, Body::Fault(fault)).await.status, 204);
    let rec = t.acs.store().task(task.id).await.unwrap().unwrap();
    assert!(matches!(rec.status, TaskStatus::Faulted { .. }), "{rec:?}");
    let (mut c, _) = session(&t, "T2", &["2 PERIODIC"]).await;
    assert_eq!(
        c.post(Vec::new(), &[]).await.status,
        204,
        "a task faulted for good is not sent"
    );
}

#[tokio::test]
async fn tasks_survive_a_restart_of_the_acs() {
    survive_restart(acs::StoreBackend::Redb).await;
}

/// sled stays a tested backend: the same ACS behaviour over it.
#[cfg(feature = "sled")]
#[tokio::test]
async fn tasks_survive_a_restart_of_the_acs_on_sled() {
    survive_restart(acs::StoreBackend::Sled).await;
}

async fn survive_restart(backend: acs::StoreBackend) {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = AcsConfig {
        backend,
        ..harness::quiet(tmp.path())
    };
    let t = harness::start_in(tmp, cfg.clone()).await;
    register(&t, "T3").await;
    let dev = harness::device("T3");
    let task = t.acs.enqueue(&dev, TaskKind::Reboot).await.unwrap();
    let dir = t.stop().await;

    let t = harness::start_in(dir, cfg).await;
    let pending = t
        .acs
        .store()
        .task(task.id)
        .await
        .unwrap()
        .expect("task survived");
    assert_eq!(pending.status, TaskStatus::Pending);
    let (mut c, _) = session(&t, "T3", &["2 PERIODIC"]).await;
    let reboot = c.post(Vec::new(), &[]).await.envelope();
    match &reboot.body {
        Body::Reboot { command_key } => assert_eq!(command_key, &format!("task_{}", task.id)),
        other => panic!("expected Reboot, got {other:?}"),
    }
    assert_eq!(
        reply(&mut c, &reboot, Body::RebootResponse).await.status,
        204
    );
    let out = t
        .acs
        .wait_task(task.id, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(matches!(out, TaskOutcome::Done(_)), "{out:?}");
    // A task id is never reused after a restart.
    let next = t.acs.enqueue(&dev, TaskKind::FactoryReset).await.unwrap();
    assert!(next.id > task.id);
}

#[tokio::test]
async fn enqueue_for_an_unknown_device_is_refused() {
    let t = harness::start(harness::quiet(std::path::Path::new("."))).await;
    let err = t
        .acs
        .enqueue(&harness::device("NOPE"), TaskKind::Reboot)
        .await
        .unwrap_err();
    assert!(matches!(err, acs::AcsError::NoSuchDevice), "{err}");
}

#[tokio::test]
async fn an_answer_that_does_not_match_the_request_ends_the_session_with_400() {
    let t = registered("T4").await;
    t.acs
        .enqueue(&harness::device("T4"), TaskKind::Reboot)
        .await
        .unwrap();
    let (mut c, _) = session(&t, "T4", &["2 PERIODIC"]).await;
    let reboot = c.post(Vec::new(), &[]).await.envelope();
    let r = reply(&mut c, &reboot, Body::FactoryResetResponse).await;
    assert_eq!(r.status, 400);
    assert_eq!(t.acs.live_sessions(), 0);
}

#[tokio::test]
async fn completed_tasks_are_purged_after_their_retention_and_live_ones_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let config = AcsConfig {
        done_task_retention: Duration::from_secs(60),
        ..harness::quiet(tmp.path())
    };
    let t = harness::start_in(tmp, config).await;
    register(&t, "P1").await;
    let dev = harness::device("P1");
    let now = t.acs.now_ms();
    let mut ids = Vec::new();
    for finished in [Some(now - 120_000), Some(now - 1_000), None] {
        let mut task = t.acs.enqueue(&dev, TaskKind::Reboot).await.unwrap();
        if let Some(finished_ms) = finished {
            task.status = TaskStatus::Done { finished_ms };
            t.acs
                .write(vec![acs::store::Op::PutTask(task.clone())])
                .await
                .unwrap();
        }
        ids.push(task.id);
    }
    assert_eq!(t.acs.purge_done_tasks().await.unwrap(), 1);
    let store = t.acs.store();
    assert!(
        store.task(ids[0]).await.unwrap().is_none(),
        "old completed task purged"
    );
    assert!(
        store.task(ids[1]).await.unwrap().is_some(),
        "recent completed task kept"
    );
    assert!(
        store.task(ids[2]).await.unwrap().is_some(),
        "pending task kept"
    );
    assert_eq!(t.acs.purge_done_tasks().await.unwrap(), 0);
}

#[tokio::test]
async fn a_task_left_unanswered_by_a_cpe_that_came_back_is_retried_under_its_rules() {
    let t = registered("T9").await;
    let dev = harness::device("T9");
    let task = harness::enqueue_uptime(&t, &dev).await;
    let (mut c, _) = session(&t, "T9", &["2 PERIODIC"]).await;
    let gpv = c.post(Vec::new(), &[]).await.envelope();
    assert_eq!(gpv.body.name(), "GetParameterValues");
    // The CPE crashes before answering and comes back: served at once, the RPC counted lost.
    let (mut again, _) = session(&t, "T9", &["2 PERIODIC"]).await;
    let lost = t.acs.store().task(task.id).await.unwrap().unwrap();
    assert_eq!((lost.attempts, &lost.status), (1, &TaskStatus::Pending));
    assert!(
        lost.not_before_ms > t.acs.now_ms(),
        "it waits out its back-off"
    );
    let faults = t.acs.store().faults(Some(&dev)).await.unwrap();
    assert!(
        faults
            .iter()
            .any(|f| f.channel == format!("task_{}", task.id) && f.code == "session_lost"),
        "{faults:?}"
    );
    // Not due yet: this session ends at once.
    assert_eq!(again.post(Vec::new(), &[]).await.status, 204);
    // After its back-off (200 ms here) it runs and completes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (mut c, _) = session(&t, "T9", &["2 PERIODIC"]).await;
    let gpv = c.post(Vec::new(), &[]).await.envelope();
    assert_eq!(gpv.body.name(), "GetParameterValues");
    let answer = harness::uptime_answer("5");
    assert_eq!(reply(&mut c, &gpv, answer).await.status, 204);
    let done = t.acs.wait_task(task.id, Duration::ZERO).await.unwrap();
    assert!(matches!(done, TaskOutcome::Done(_)), "{done:?}");
    assert_eq!(t.acs.metrics.sessions_taken_over.get(), 1);
}

#[tokio::test]
async fn a_reboot_the_cpe_carried_out_before_answering_is_done_when_it_comes_back_booted() {
    let t = registered("T10").await;
    let dev = harness::device("T10");
    let task = t.acs.enqueue(&dev, TaskKind::Reboot).await.unwrap();
    let (mut c, _) = session(&t, "T10", &["2 PERIODIC"]).await;
    let reboot = c.post(Vec::new(), &[]).await.envelope();
    assert_eq!(reboot.body.name(), "Reboot");
    // It reboots at once, without answering, and informs with BOOT.
    let (mut again, _) = session(&t, "T10", &["1 BOOT", "M Reboot"]).await;
    let done = t.acs.wait_task(task.id, Duration::ZERO).await.unwrap();
    assert!(matches!(done, TaskOutcome::Done(_)), "{done:?}");
    assert_eq!(
        again.post(Vec::new(), &[]).await.status,
        204,
        "not rebooted twice"
    );
}
