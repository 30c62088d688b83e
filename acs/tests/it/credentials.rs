//! Credentials of a fleet that moves, end to end against cpe-sim CPEs that authenticate with
//! their own `ManagementServer.Username`/`Password` (`Credential::Model`): explicit credentials
//! imported and used; adoption (accepted once without a verified password, re-keyed, confirmed
//! by a connection request, then only the new credentials); adoption bound to an address,
//! limited in time, never for an unknown device; a factory-reset CPE with its vendor's defaults.

use crate::e2e::{WAIT, put_preset};
use crate::harness::{self, SECRET};
use acs::credentials::{AdoptionEntry, VendorDefault, import_op};
use acs::store::{DeviceMeta, Identity, Op};
use acs::{AcsConfig, DeviceEvent, DeviceId, Secret, TaskKind, TaskStatus};
use fibreplane_lab::{CpeAuth, Credential, Fleet, SimConfig};
use serde_json::json;
use std::time::Duration;

const USERNAME: &str = "Device.ManagementServer.Username";
const PASSWORD: &str = "Device.ManagementServer.Password";

/// A fleet whose CPEs carry the credentials GenieACS let them keep.
async fn fleet(url: String, count: usize) -> Fleet {
    let f = Fleet::start(SimConfig {
        acs_url: url,
        count,
        auth: CpeAuth::Digest(Credential::Model),
        stagger: Duration::ZERO,
        ..SimConfig::default()
    })
    .await
    .expect("fleet");
    for i in 0..count {
        assert!(f.set_param(i, USERNAME, "genie-cpe"));
        assert!(f.set_param(i, PASSWORD, "genie-old-password"));
    }
    f
}

fn id(f: &Fleet, i: usize) -> DeviceId {
    DeviceId::parse(&f.device_id(i)).unwrap()
}

/// The record `fibreplane import genieacs` writes for CPE `i`: its identity, its
/// ConnectionRequestURL and connection-request credentials.
fn imported(f: &Fleet, i: usize) -> DeviceMeta {
    let device = id(f, i);
    let mut parts = device.as_str().splitn(3, '-');
    let (oui, class) = (parts.next().unwrap(), parts.next().unwrap());
    let mut meta = DeviceMeta::new(
        device.clone(),
        Identity {
            manufacturer: "TP-Link".into(),
            oui: oui.into(),
            product_class: class.into(),
            serial_number: f.serial(i),
        },
    );
    meta.connection_request_url = f.cr_url(i);
    meta.cr_username = f
        .param(i, "Device.ManagementServer.ConnectionRequestUsername")
        .unwrap();
    meta.cr_password = f
        .param(i, "Device.ManagementServer.ConnectionRequestPassword")
        .unwrap();
    meta
}

/// Imports CPE `i` with these credentials (empty: unknown, so adopting).
async fn import(t: &harness::TestAcs, f: &Fleet, i: usize, username: &str, password: &str) {
    let meta = imported(f, i);
    let creds = import_op(&meta, username, password, t.acs.now_ms()).expect("an address to bind");
    t.acs
        .write(vec![
            Op::PutDevice {
                meta,
                expect: acs::store::Expect::Any,
            },
            creds,
        ])
        .await
        .unwrap();
    t.acs.count_adoptions().await.unwrap();
}

/// The credential state the NBI would list for a device, if not derived.
async fn state(t: &harness::TestAcs, name: &str) -> Option<&'static str> {
    let all = t.acs.credentials().await.unwrap();
    all.into_iter().find(|v| v.name == name).map(|v| v.state)
}

fn derived(f: &Fleet, i: usize) -> String {
    acs::derive_password(&Secret::new(SECRET), &f.device_id(i))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_credentials_imported_are_used_and_only_they() {
    let t = harness::start(harness::quiet(std::path::Path::new("."))).await;
    let f = fleet(t.url(), 1).await;
    import(&t, &f, 0, "genie-cpe", "genie-old-password").await;
    assert_eq!(state(&t, id(&f, 0).as_str()).await, Some("explicit"));
    let s = f
        .inform(0, &["2 PERIODIC"])
        .await
        .expect("explicit credentials admit");
    assert!(s.ended_204);
    // The derived credentials are not this device's any more.
    f.set_param(0, USERNAME, &f.device_id(0));
    f.set_param(0, PASSWORD, &derived(&f, 0));
    assert!(
        f.inform(0, &["2 PERIODIC"]).await.is_err(),
        "derived refused"
    );
    // Set through the API (the NBI's route): the new ones work, the old ones no more.
    t.acs
        .set_credentials(&id(&f, 0), "nbi-user", Secret::new("nbi-password"))
        .await
        .unwrap();
    f.set_param(0, USERNAME, "nbi-user");
    f.set_param(0, PASSWORD, "nbi-password");
    f.inform(0, &["2 PERIODIC"])
        .await
        .expect("credentials set through the API");
    f.set_param(0, USERNAME, "genie-cpe");
    f.set_param(0, PASSWORD, "genie-old-password");
    assert!(
        f.inform(0, &["2 PERIODIC"]).await.is_err(),
        "old explicit refused"
    );
    t.acs.clear_credentials(&id(&f, 0)).await.unwrap();
    f.set_param(0, USERNAME, &f.device_id(0));
    f.set_param(0, PASSWORD, &derived(&f, 0));
    f.inform(0, &["2 PERIODIC"])
        .await
        .expect("derived again once cleared");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adopting_device_is_rekeyed_alone_confirmed_then_held_to_the_new_credentials() {
    let t = harness::start(harness::config(std::path::Path::new("."))).await;
    let f = fleet(t.url(), 1).await;
    let dev = id(&f, 0);
    import(&t, &f, 0, "", "").await;
    assert_eq!(state(&t, dev.as_str()).await, Some("adopting"));
    assert_eq!(t.acs.metrics.adopting.get(), 1);
    // A task and a preset wait: neither may reach the CPE before it authenticated.
    let ssid = "Device.WiFi.SSID.1.SSID";
    let task = t
        .acs
        .enqueue(
            &dev,
            TaskKind::SetParameterValues {
                values: vec![(ssid.into(), "FromTask".into(), "string".into())],
                parameter_key: String::new(),
            },
        )
        .await
        .unwrap();
    put_preset(
        &t,
        "wifi",
        json!({"channel": "wifi", "precondition": "",
               "configurations": [{"type": "value", "name": "Device.WiFi.AccessPoint.1.Security.KeyPassphrase", "value": "secret-wifi-key"}]}),
    )
    .await;
    let mut events = t.acs.subscribe();
    let s = f.inform(0, &[]).await.expect("adopting session");
    assert_eq!(
        s.acs_requests,
        ["SetParameterValues"],
        "the credential change only"
    );
    assert!(s.ended_204);
    assert_eq!(f.param(0, USERNAME).as_deref(), Some(dev.as_str()));
    assert_eq!(f.param(0, PASSWORD), Some(derived(&f, 0)));
    assert_ne!(f.param(0, ssid).as_deref(), Some("FromTask"));
    assert_ne!(
        f.param(0, "Device.WiFi.AccessPoint.1.Security.KeyPassphrase")
            .as_deref(),
        Some("secret-wifi-key")
    );
    // The ACS confirms with a connection request to the known URL: the CPE's next session,
    // authenticated with the new credentials, ends the adoption and runs what waited.
    let ok = f.wait_sessions(0, 2, WAIT).await;
    let m = &t.acs.metrics;
    assert!(
        ok,
        "the confirming session: rekeyed {} confirmations {} CRs {} failed {} state {:?}",
        m.adoptions_rekeyed.get(),
        m.adoption_confirmations.get(),
        m.connection_requests.get(),
        m.connection_request_failures.get(),
        state(&t, dev.as_str()).await
    );
    let out = t.acs.wait_task(task.id, WAIT).await.unwrap();
    assert!(matches!(out, acs::TaskOutcome::Done(_)), "{out:?}");
    let rekeyed = tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(DeviceEvent::Rekeyed { device }) = events.recv().await {
                return device;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(rekeyed, dev);
    for _ in 0..200 {
        if state(&t, dev.as_str()).await.is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(state(&t, dev.as_str()).await, None, "derived now");
    let m = &t.acs.metrics;
    assert_eq!(
        (
            m.adoption_sessions.get(),
            m.adoptions_rekeyed.get(),
            m.adoptions_completed.get()
        ),
        (1, 1, 1)
    );
    assert_eq!(m.adoption_confirmations.get(), 1);
    assert_eq!(m.adopting.get(), 0);
    assert_eq!(f.param(0, ssid).as_deref(), Some("FromTask"));
    // The ACS kept the password out of the tree it shows.
    let tree = t.acs.store().get_tree(&dev).await.unwrap();
    let stored = tree
        .get(PASSWORD)
        .and_then(|p| p.value.as_ref())
        .map(|v| v.text().into_owned());
    assert_eq!(stored.as_deref(), Some(""));
    // Only the new credentials now: the old ones are refused.
    f.set_param(0, USERNAME, "genie-cpe");
    f.set_param(0, PASSWORD, "genie-old-password");
    assert!(f.inform(0, &["2 PERIODIC"]).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn until_the_new_credentials_are_used_the_old_way_in_stays_open() {
    let t = harness::start(harness::quiet(std::path::Path::new("."))).await;
    let f = fleet(t.url(), 1).await;
    let dev = id(&f, 0);
    let mut meta = imported(&f, 0);
    // No confirming request can reach this CPE: the adoption stays re-keyed, not completed.
    meta.connection_request_url = "http://127.0.0.1:9/".into();
    let creds = import_op(&meta, "", "", t.acs.now_ms()).unwrap();
    t.acs
        .write(vec![
            Op::PutDevice {
                meta,
                expect: acs::store::Expect::Any,
            },
            creds,
        ])
        .await
        .unwrap();
    t.acs.count_adoptions().await.unwrap();
    f.inform(0, &[]).await.expect("adopting session");
    for _ in 0..100 {
        if state(&t, dev.as_str()).await == Some("rekeyed") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(state(&t, dev.as_str()).await, Some("rekeyed"));
    // The CPE lost the change (a reset of its settings, say): its old password is still let
    // in, from its address, and re-keyed again.
    f.set_param(0, USERNAME, "genie-cpe");
    f.set_param(0, PASSWORD, "genie-old-password");
    let s = f
        .inform(0, &["2 PERIODIC"])
        .await
        .expect("old credentials, once more");
    assert_eq!(s.acs_requests, ["SetParameterValues"]);
    // The new credentials, used once, close the old way in.
    f.inform(0, &["2 PERIODIC"]).await.expect("new credentials");
    assert_eq!(state(&t, dev.as_str()).await, None);
    f.set_param(0, USERNAME, "genie-cpe");
    f.set_param(0, PASSWORD, "genie-old-password");
    assert!(f.inform(0, &["2 PERIODIC"]).await.is_err());
    assert_eq!(t.acs.metrics.adoption_sessions.get(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_from_another_address_is_refused_with_an_alert() {
    let t = harness::start(harness::quiet(std::path::Path::new("."))).await;
    let f = fleet(t.url(), 1).await;
    // The adoption file says this serial comes from 127.0.0.9; the CPE comes from 127.0.0.1.
    let entry = AdoptionEntry {
        serial: f.serial(0),
        bound: vec!["127.0.0.9".parse().unwrap()],
        cr_url: None,
    };
    assert_eq!(t.acs.adopt(&[entry]).await.unwrap(), 1);
    let mut events = t.acs.subscribe();
    assert!(f.inform(0, &[]).await.is_err(), "refused");
    let alert = tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(e @ DeviceEvent::CredentialsRefused { .. }) = events.recv().await {
                return e;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(
        alert,
        DeviceEvent::CredentialsRefused {
            device: id(&f, 0),
            address: "127.0.0.1".into(),
            reason: "unknown_address".into(),
        }
    );
    assert!(t.acs.metrics.adoption_refused.get() >= 1);
    assert!(
        t.acs.store().get(&id(&f, 0)).await.unwrap().is_none(),
        "not registered"
    );
    assert_eq!(
        state(&t, &f.serial(0)).await,
        Some("adopting"),
        "still waiting"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adoption_file_admits_its_device_and_never_an_unknown_one() {
    let t = harness::start(harness::quiet(std::path::Path::new("."))).await;
    let f = fleet(t.url(), 2).await;
    // The ACS never learns this CPE's connection-request credentials (nothing was imported):
    // a CPE without any accepts the confirming request.
    f.set_param(0, "Device.ManagementServer.ConnectionRequestUsername", "");
    f.set_param(0, "Device.ManagementServer.ConnectionRequestPassword", "");
    let entries = acs::credentials::parse_adoption_file(&format!(
        "{} 127.0.0.1 {}\n",
        f.serial(0),
        f.cr_url(0)
    ))
    .unwrap();
    t.acs.adopt(&entries).await.unwrap();
    // CPE 1 comes from the same address, but nothing names it.
    assert!(f.inform(1, &[]).await.is_err(), "unknown device refused");
    assert!(t.acs.store().get(&id(&f, 1)).await.unwrap().is_none());
    let s = f.inform(0, &[]).await.expect("the named device is adopted");
    assert_eq!(s.acs_requests, ["SetParameterValues"]);
    assert!(t.acs.store().get(&id(&f, 0)).await.unwrap().is_some());
    assert!(
        f.wait_sessions(0, 2, WAIT).await,
        "confirmed at the file's URL"
    );
    assert!(f.last_session(0).is_some_and(|s| s.ended_204));
    assert!(f.inform(1, &[]).await.is_err(), "still unknown");
    assert_eq!(t.acs.metrics.adoption_sessions.get(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adoption_past_its_window_is_refused() {
    let config = AcsConfig {
        adoption_window: Duration::from_millis(1),
        ..harness::quiet(std::path::Path::new("."))
    };
    let t = harness::start(config).await;
    let f = fleet(t.url(), 1).await;
    import(&t, &f, 0, "", "").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(f.inform(0, &[]).await.is_err());
    assert!(t.acs.metrics.adoption_expired.get() >= 1);
    assert_eq!(t.acs.metrics.adoption_sessions.get(), 0);
    t.acs.count_adoptions().await.unwrap();
    assert_eq!(
        t.acs.metrics.adopting.get(),
        0,
        "a closed window is not an open adoption"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_factory_reset_cpe_with_vendor_defaults_is_rekeyed_before_anything_else() {
    // cpe-sim's XX230v (`harness::device`).
    let config = AcsConfig {
        vendor_defaults: vec![VendorDefault {
            oui: "1C61B4".into(),
            product_class: "Device2".into(),
            username: "admin".into(),
            password: Secret::new("vendor-default"),
        }],
        // The registration gives the CPE connection-request credentials, which the confirming
        // request after the re-keying uses.
        ..harness::config(std::path::Path::new("."))
    };
    let t = harness::start(config).await;
    let f = fleet(t.url(), 1).await;
    let dev = id(&f, 0);
    // A device the ACS manages with derived credentials.
    f.set_param(0, USERNAME, dev.as_str());
    f.set_param(0, PASSWORD, &derived(&f, 0));
    f.inform(0, &[]).await.expect("registered");
    let task = t
        .acs
        .enqueue(
            &dev,
            TaskKind::GetParameterValues {
                names: vec!["Device.DeviceInfo.UpTime".into()],
            },
        )
        .await
        .unwrap();
    // It comes back with its vendor's defaults.
    f.set_param(0, USERNAME, "admin");
    f.set_param(0, PASSWORD, "vendor-default");
    assert!(
        f.inform(0, &["2 PERIODIC"]).await.is_err(),
        "defaults without BOOTSTRAP refused"
    );
    let s = f
        .inform(0, &["0 BOOTSTRAP"])
        .await
        .expect("factory-reset adoption");
    assert_eq!(
        s.acs_requests,
        ["SetParameterValues"],
        "re-keyed, nothing else"
    );
    assert_eq!(f.param(0, PASSWORD), Some(derived(&f, 0)));
    assert_eq!(
        t.acs.store().task(task.id).await.unwrap().map(|t| t.status),
        Some(TaskStatus::Pending)
    );
    assert!(f.wait_sessions(0, 4, WAIT).await, "the confirming session");
    let out = t.acs.wait_task(task.id, WAIT).await.unwrap();
    assert!(matches!(out, acs::TaskOutcome::Done(_)), "{out:?}");
    assert_eq!(state(&t, dev.as_str()).await, None);
    // The defaults are no way in any more, BOOTSTRAP or not... unless it is reset again.
    f.set_param(0, USERNAME, "admin");
    f.set_param(0, PASSWORD, "wrong");
    assert!(f.inform(0, &["0 BOOTSTRAP"]).await.is_err());
}
