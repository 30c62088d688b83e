//! End to end: the ACS against the lab's cpe-sim agents (real CWMP CPE role, real XX230v data
//! model, real HTTP over loopback), for registration, every task type, connection requests and
//! authentication.

use crate::harness::{self, SECRET};
use acs::store::Index;
use acs::{DeviceId, TaskKind, TaskOutcome};
use fibreplane_lab::{CpeAuth, Credential, Fleet, SimConfig};
use std::time::Duration;

pub(crate) const WAIT: Duration = Duration::from_secs(20);

pub(crate) async fn fleet(url: String, count: usize, secret: &str) -> Fleet {
    fleet_with(SimConfig {
        acs_url: url,
        count,
        auth: CpeAuth::Digest(Credential::Secret(secret.to_owned())),
        stagger: Duration::ZERO,
        ..SimConfig::default()
    })
    .await
}

pub(crate) async fn fleet_with(config: SimConfig) -> Fleet {
    Fleet::start(config).await.expect("fleet")
}

pub(crate) fn id(fleet: &Fleet, i: usize) -> DeviceId {
    DeviceId::parse(&fleet.device_id(i)).unwrap()
}

/// Runs `kind` on CPE 0 through a connection request, waits for the task and for the CPE's
/// session to end (the task finishes inside the session, before the CPE sees the 204).
async fn run(t: &harness::TestAcs, f: &Fleet, dev: &DeviceId, kind: TaskKind) -> TaskOutcome {
    let before = f.sessions(0);
    let task = t.acs.enqueue(dev, kind).await.expect("enqueue");
    t.acs
        .connection_request(dev)
        .await
        .expect("connection request");
    let out = t.acs.wait_task(task.id, WAIT).await.expect("wait");
    assert!(
        f.wait_sessions(0, before + 1, WAIT).await,
        "the CR session ended"
    );
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_discovers_the_tree_and_sets_connection_request_credentials() {
    let t = harness::start(harness::config(std::path::Path::new("."))).await;
    let f = fleet(t.url(), 1, SECRET).await;
    let report = f.inform(0, &[]).await.expect("session");
    assert!(
        report.events.iter().any(|e| e == "0 BOOTSTRAP"),
        "{:?}",
        report.events
    );
    assert_eq!(
        report.acs_requests,
        [
            "SetParameterValues",
            "GetParameterNames",
            "GetParameterValues"
        ]
    );
    assert!(report.ended_204);
    let dev = id(&f, 0);
    let meta = t
        .acs
        .store()
        .get(&dev)
        .await
        .unwrap()
        .expect("registered")
        .value;
    assert!(!meta.cr_password.is_empty());
    assert_eq!(
        f.param(0, "Device.ManagementServer.ConnectionRequestPassword")
            .as_deref(),
        Some(meta.cr_password.as_str())
    );
    assert_eq!(meta.connection_request_url, f.cr_url(0));
    let tree = t.acs.store().get_tree(&dev).await.unwrap();
    assert!(
        tree.len() > 6000,
        "whole XX230v tree stored, got {}",
        tree.len()
    );
    let ssid = tree.get("Device.WiFi.SSID.1.SSID").expect("leaf");
    assert_eq!(ssid.writable, Some(true));
    assert_eq!(
        ssid.value.as_ref().unwrap().text(),
        f.param(0, "Device.WiFi.SSID.1.SSID").unwrap()
    );
    // The indexes find it by serial and by one of its own MACs.
    assert_eq!(
        t.acs
            .store()
            .scan_index(Index::Serial, &f.serial(0))
            .await
            .unwrap(),
        vec![dev.clone()]
    );
    let mac = meta.macs.first().expect("a MAC from the tree").clone();
    assert_eq!(
        t.acs
            .store()
            .scan_index(Index::Mac, &mac.to_lowercase())
            .await
            .unwrap(),
        vec![dev]
    );
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_task_type_runs_through_a_connection_request() {
    let t = harness::start(harness::config(std::path::Path::new("."))).await;
    let f = fleet(t.url(), 1, SECRET).await;
    f.inform(0, &[]).await.expect("registration");
    let dev = id(&f, 0);

    let out = run(
        &t,
        &f,
        &dev,
        TaskKind::GetParameterValues {
            names: vec!["Device.DeviceInfo.UpTime".into()],
        },
    )
    .await;
    assert!(matches!(out, TaskOutcome::Done(_)), "{out:?}");
    let last = f.last_session(0).unwrap();
    assert!(
        last.events.iter().any(|e| e == "6 CONNECTION REQUEST"),
        "{:?}",
        last.events
    );

    let values = vec![(
        "Device.WiFi.SSID.1.SSID".into(),
        "Gigafibre-4242".into(),
        "string".into(),
    )];
    let out = run(
        &t,
        &f,
        &dev,
        TaskKind::SetParameterValues {
            values,
            parameter_key: "push-1".into(),
        },
    )
    .await;
    assert!(matches!(out, TaskOutcome::Done(_)), "{out:?}");
    assert_eq!(
        f.param(0, "Device.WiFi.SSID.1.SSID").as_deref(),
        Some("Gigafibre-4242")
    );
    assert_eq!(
        f.param(0, "Device.ManagementServer.ParameterKey")
            .as_deref(),
        Some("push-1")
    );

    let values = vec![(
        "Device.DeviceInfo.SerialNumber".into(),
        "x".into(),
        "string".into(),
    )];
    let out = run(
        &t,
        &f,
        &dev,
        TaskKind::SetParameterValues {
            values,
            parameter_key: String::new(),
        },
    )
    .await;
    let TaskOutcome::Faulted(_, fault) = out else {
        panic!("{out:?}")
    };
    assert_eq!(fault.code, "cwmp.9003");
    assert!(fault.detail.contains("9008"), "{}", fault.detail);

    let out = run(
        &t,
        &f,
        &dev,
        TaskKind::RefreshObject {
            path: "Device.WiFi".into(),
        },
    )
    .await;
    assert!(matches!(out, TaskOutcome::Done(_)), "{out:?}");

    let out = run(
        &t,
        &f,
        &dev,
        TaskKind::AddObject {
            path: "Device.Bridging.Bridge.1.Port".into(),
            parameter_key: "add-1".into(),
        },
    )
    .await;
    let TaskOutcome::Done(_) = out else {
        panic!("{out:?}")
    };
    let tree = t.acs.store().get_tree(&dev).await.unwrap();
    let added: Vec<String> = tree
        .iter()
        .map(|(p, _)| p.to_owned())
        .filter(|p| p.starts_with("Device.Bridging.Bridge.1.Port.") && p.matches('.').count() == 5)
        .collect();
    let newest = added
        .iter()
        .max_by_key(|p| p.rsplit('.').next().unwrap().parse::<u32>().unwrap_or(0))
        .unwrap()
        .clone();
    assert!(
        f.param(0, &format!("{newest}.Enable")).is_some(),
        "the CPE has {newest}"
    );

    let out = run(
        &t,
        &f,
        &dev,
        TaskKind::DeleteObject {
            path: format!("{newest}."),
            parameter_key: "del-1".into(),
        },
    )
    .await;
    assert!(matches!(out, TaskOutcome::Done(_)), "{out:?}");
    assert!(f.param(0, &format!("{newest}.Enable")).is_none());
    assert!(
        t.acs
            .store()
            .get_tree(&dev)
            .await
            .unwrap()
            .get(&newest)
            .is_none()
    );

    let sessions = f.sessions(0);
    let out = run(&t, &f, &dev, TaskKind::Reboot).await;
    assert!(matches!(out, TaskOutcome::Done(_)), "{out:?}");
    assert!(
        f.wait_sessions(0, sessions + 2, WAIT).await,
        "the CPE comes back after rebooting"
    );
    let boot = f.last_session(0).unwrap();
    assert!(
        boot.events.iter().any(|e| e == "1 BOOT") && boot.events.iter().any(|e| e == "M Reboot"),
        "{:?}",
        boot.events
    );

    let sessions = f.sessions(0);
    let out = run(&t, &f, &dev, TaskKind::FactoryReset).await;
    assert!(matches!(out, TaskOutcome::Done(_)), "{out:?}");
    assert!(f.wait_sessions(0, sessions + 2, WAIT).await);
    let boot = f.last_session(0).unwrap();
    assert!(
        boot.events.iter().any(|e| e == "0 BOOTSTRAP"),
        "{:?}",
        boot.events
    );
    // After a factory reset the ACS sets fresh connection-request credentials again.
    assert_eq!(
        boot.acs_requests.first().map(String::as_str),
        Some("SetParameterValues")
    );
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_completes_with_transfer_complete() {
    let t = harness::start(harness::config(std::path::Path::new("."))).await;
    let f = fleet(t.url(), 1, SECRET).await;
    f.inform(0, &[]).await.expect("registration");
    let dev = id(&f, 0);
    let files = harness::FileServer::start(vec![7u8; 64 * 1024]).await;
    let kind = TaskKind::Download {
        file_type: "1 Firmware Upgrade Image".into(),
        url: files.url("fw.bin"),
        username: String::new(),
        password: String::new(),
        file_size: 64 * 1024,
        target_file_name: "fw.bin".into(),
    };
    let before = f.sessions(0);
    let out = run(&t, &f, &dev, kind).await;
    assert!(matches!(out, TaskOutcome::Done(_)), "{out:?}");
    assert!(files.hits() >= 1, "the CPE fetched the file");
    // The Download session, then the TransferComplete session.
    assert!(f.wait_sessions(0, before + 2, WAIT).await);
    let last = f.last_session(0).unwrap();
    assert!(
        last.events.iter().any(|e| e == "7 TRANSFER COMPLETE"),
        "{:?}",
        last.events
    );
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cpe_with_the_wrong_secret_cannot_inform() {
    let t = harness::start(harness::config(std::path::Path::new("."))).await;
    let f = fleet(t.url(), 1, "not-the-secret").await;
    assert!(f.inform(0, &[]).await.is_err());
    assert!(t.acs.metrics.auth_failures.get() >= 1);
    assert!(
        t.acs.store().get(&id(&f, 0)).await.unwrap().is_none(),
        "nothing registered"
    );
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_requests_need_the_credentials_the_acs_set() {
    let t = harness::start(harness::config(std::path::Path::new("."))).await;
    let f = fleet(t.url(), 1, SECRET).await;
    f.inform(0, &[]).await.expect("registration");
    let err = acs::cr::send(
        &f.cr_url(0),
        &f.device_id(0),
        "wrong",
        Duration::from_secs(2),
    )
    .await
    .unwrap_err();
    assert_eq!(err, acs::CrError::AuthFailed);
    let offline = acs::cr::send("http://127.0.0.1:9/cr", "u", "p", Duration::from_secs(2))
        .await
        .unwrap_err();
    assert_eq!(offline, acs::CrError::Offline);
    let before = f.sessions(0);
    t.acs
        .connection_request(&id(&f, 0))
        .await
        .expect("right credentials");
    assert!(f.wait_sessions(0, before + 1, WAIT).await);
    f.shutdown().await;
}

pub(crate) async fn put_preset(t: &harness::TestAcs, name: &str, doc: serde_json::Value) {
    t.acs
        .write(vec![acs::store::Op::PutDoc {
            collection: "presets".into(),
            name: name.into(),
            body: doc.to_string().into_bytes(),
        }])
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preset_sets_the_wifi_ssid_at_the_next_inform_then_asks_nothing() {
    let t = harness::start(harness::quiet(std::path::Path::new("."))).await;
    let f = fleet(t.url(), 1, SECRET).await;
    f.inform(0, &[]).await.expect("registration");
    let ssid = "Device.WiFi.SSID.1.SSID";
    assert_ne!(f.param(0, ssid).as_deref(), Some("Gigafibre-4821"));
    put_preset(
        &t,
        "wifi",
        serde_json::json!({"weight": 0, "channel": "wifi", "events": {"2 PERIODIC": true},
            "precondition": "{\"_deviceId._ProductClass\":\"Device2\"}",
            "configurations": [{"type": "value", "name": ssid, "value": "Gigafibre-4821"},
                               {"type": "add_tag", "tag": "wifi-set"}]}),
    )
    .await;
    // A boot without `2 PERIODIC` does not match the preset's events.
    let boot = f.inform(0, &["1 BOOT"]).await.expect("boot session");
    assert!(boot.acs_requests.is_empty(), "{:?}", boot.acs_requests);
    let first = f
        .inform(0, &["2 PERIODIC"])
        .await
        .expect("periodic session");
    // The tree knows `Device` from the Inform only: like GenieACS, the planner walks down to
    // the declared leaf one level at a time (`Device.`, `Device.WiFi.`, `…SSID.`, `…SSID.1.`)
    // rather than listing the whole tree.
    assert_eq!(
        first.acs_requests,
        [
            "GetParameterNames",
            "GetParameterNames",
            "GetParameterNames",
            "GetParameterNames",
            "GetParameterValues",
            "SetParameterValues"
        ],
        "discover the instance, read it, write the difference"
    );
    assert_eq!(f.param(0, ssid).as_deref(), Some("Gigafibre-4821"));
    let dev = id(&f, 0);
    assert!(
        t.acs
            .store()
            .get(&dev)
            .await
            .unwrap()
            .unwrap()
            .value
            .tags
            .contains("wifi-set")
    );
    let again = f
        .inform(0, &["2 PERIODIC"])
        .await
        .expect("second periodic session");
    assert!(
        again.acs_requests.is_empty(),
        "converged: {:?}",
        again.acs_requests
    );
    assert!(t.acs.store().faults(Some(&dev)).await.unwrap().is_empty());
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presets_that_fail_or_need_what_is_missing_leave_a_fault_on_their_channel() {
    let t = harness::start(harness::quiet(std::path::Path::new("."))).await;
    let f = fleet(t.url(), 1, SECRET).await;
    f.inform(0, &[]).await.expect("registration");
    put_preset(
        &t,
        "read-only",
        serde_json::json!({"channel": "serial", "configurations":
            [{"type": "value", "name": "Device.DeviceInfo.SerialNumber", "value": "X"}]}),
    )
    .await;
    put_preset(
        &t,
        "script",
        serde_json::json!({"channel": "script", "configurations": [{"type": "provision", "name": "inform"}]}),
    )
    .await;
    f.inform(0, &["2 PERIODIC"]).await.expect("session");
    let faults = t.acs.store().faults(Some(&id(&f, 0))).await.unwrap();
    let by_channel = |c: &str| faults.iter().find(|x| x.channel == c).cloned();
    let script = by_channel("script").expect("script preset fault");
    // No `inform` provision is stored: the preset's channel says so.
    assert_eq!(
        (script.code.as_str(), script.message.as_str()),
        ("script", "Provision 'inform' does not exist"),
        "{script:?}"
    );
    // The serial number is read-only in the model: the planner does not write it, so nothing
    // faults on that channel and the session asks nothing more.
    assert!(by_channel("serial").is_none(), "{faults:?}");
    // Its first fault came in a run of two channels, so it was run again alone at once, as
    // GenieACS's `retryNow` does, and faulted again: one retry.
    assert_eq!(script.retries, 1);
    // Within 600 s the faulted channel is left alone; after it, it is tried again and counts a
    // retry (the next wait is 1200 s).
    f.inform(0, &["2 PERIODIC"]).await.expect("session");
    let dev = id(&f, 0);
    let again = t.acs.store().faults(Some(&dev)).await.unwrap();
    assert_eq!(again.iter().find(|x| x.channel == "script"), Some(&script));
    let mut aged = script.clone();
    aged.timestamp_ms -= 601_000;
    t.acs
        .write(vec![acs::store::Op::PutFault(aged)])
        .await
        .unwrap();
    f.inform(0, &["2 PERIODIC"]).await.expect("session");
    let retried = t.acs.store().faults(Some(&dev)).await.unwrap();
    let retried = retried.iter().find(|x| x.channel == "script").unwrap();
    assert_eq!(retried.retries, 2, "{retried:?}");
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presets_that_undo_each_other_end_in_a_preset_loop_fault() {
    let t = harness::start(harness::quiet(std::path::Path::new("."))).await;
    let f = fleet(t.url(), 1, SECRET).await;
    f.inform(0, &[]).await.expect("registration");
    put_preset(
        &t,
        "add",
        serde_json::json!({"channel": "flip", "precondition": "{\"_tags\":{\"$ne\":\"x\"}}",
            "configurations": [{"type": "add_tag", "tag": "x"}]}),
    )
    .await;
    put_preset(
        &t,
        "remove",
        serde_json::json!({"channel": "flip", "precondition": "{\"_tags\":\"x\"}",
            "configurations": [{"type": "delete_tag", "tag": "x"}]}),
    )
    .await;
    let report = f.inform(0, &["2 PERIODIC"]).await.expect("session");
    assert!(report.ended_204, "the session still ends normally");
    let faults = t.acs.store().faults(Some(&id(&f, 0))).await.unwrap();
    let fault = faults
        .iter()
        .find(|x| x.channel == "flip")
        .expect("a fault on the channel");
    assert_eq!(fault.code, "preset_loop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_preset_applies_to_its_device_only_and_reports_what_it_wrote() {
    let t = harness::start(harness::quiet(std::path::Path::new("."))).await;
    let f = fleet(t.url(), 2, SECRET).await;
    f.inform(0, &[]).await.expect("registration 0");
    f.inform(1, &[]).await.expect("registration 1");
    let ssid = "Device.WiFi.SSID.1.SSID";
    let target = id(&f, 0);
    put_preset(
        &t,
        "own",
        serde_json::json!({"channel": "own", "parameterKey": "own-1", "precondition": {"_id": target.as_str()},
            "configurations": [{"type": "value", "name": ssid, "value": "Only-Mine"}]}),
    )
    .await;
    let mut events = t.acs.subscribe();
    f.inform(0, &["2 PERIODIC"]).await.expect("session 0");
    f.inform(1, &["2 PERIODIC"]).await.expect("session 1");
    assert_eq!(f.param(0, ssid).as_deref(), Some("Only-Mine"));
    assert_ne!(f.param(1, ssid).as_deref(), Some("Only-Mine"));
    let mut converged = Vec::new();
    while let Ok(e) = events.try_recv() {
        if let acs::DeviceEvent::ChannelConverged {
            device,
            channel,
            written,
            parameter_key,
        } = e
        {
            assert_eq!(
                parameter_key, "own-1",
                "the preset's key, accepted by the CPE"
            );
            converged.push((device, channel, written));
        }
    }
    assert_eq!(
        converged,
        vec![(target.clone(), "own".to_owned(), vec![(ssid.to_owned(), 0)])],
        "one convergence, on the preset's device, with the SPV status"
    );
    // The next session finds the device converged: the event says so with nothing written.
    f.inform(0, &["2 PERIODIC"]).await.expect("session 0 again");
    let mut again = None;
    while let Ok(e) = events.try_recv() {
        if let acs::DeviceEvent::ChannelConverged { written, .. } = e {
            again = Some(written);
        }
    }
    assert_eq!(again, Some(Vec::new()));
    assert_eq!(
        f.param(0, "Device.ManagementServer.ParameterKey")
            .as_deref(),
        Some("own-1"),
        "the CPE holds the key of the settings it took"
    );
    f.shutdown().await;
}
