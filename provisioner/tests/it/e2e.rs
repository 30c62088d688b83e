//! End to end on loopback: erp-sim + the ACS + the provisioner + cpe-sim CPEs speaking CWMP.

use crate::harness::{self, API_SECRET, Lab, field, provisioning_model};
use fibreplane_lab::{BaseModel, Fleet};
use provisioner::state::Phase;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const SSIDS: [&str; 2] = ["Device.WiFi.SSID.1.SSID", "Device.WiFi.SSID.3.SSID"];
const KEYS: [&str; 2] = [
    "Device.WiFi.AccessPoint.1.Security.KeyPassphrase",
    "Device.WiFi.AccessPoint.3.Security.KeyPassphrase",
];
const SIP_USER: &str = "Device.X_TP_Services.VoiceService.1.VoiceProfile.1.Line.1.SIP.AuthUserName";
const SIP_PASS: &str = "Device.X_TP_Services.VoiceService.1.VoiceProfile.1.Line.1.SIP.AuthPassword";
const SIP_REG: &str = "Device.X_TP_Services.VoiceService.1.VoiceProfile.1.SIP.RegistrarServer";

/// Whether CPE `i` of `f` (lab device `offset + i`) holds exactly its own record's settings.
fn holds_own(lab: &Lab, f: &Fleet, i: usize, offset: u64) -> Result<(), String> {
    let rec = lab.record(offset + i as u64);
    let want = [
        (SSIDS[0], field(&rec, "custom_wifi_ssid")),
        (SSIDS[1], field(&rec, "custom_wifi_ssid")),
        (KEYS[0], field(&rec, "custom_wifi_password")),
        (KEYS[1], field(&rec, "custom_wifi_password")),
        (SIP_USER, field(&rec, "custom_sip_username")),
        (SIP_PASS, field(&rec, "custom_sip_password")),
        (SIP_REG, field(&rec, "custom_sip_registrar")),
    ];
    for (path, v) in want {
        let got = f.param(i, path).unwrap_or_default();
        if got != v {
            return Err(format!("CPE {i}: {path} holds {got:?}, record says {v:?}"));
        }
    }
    Ok(())
}

fn erp_status(lab: &Lab, i: u64) -> String {
    field(&lab.record(i), "custom_provisioning_status")
}

/// Every secret the lab's records hold must be absent from everything logged so far.
pub(crate) fn assert_no_secret_logged(lab: &Lab, n: u64) {
    let logs = harness::logs();
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(!text.is_empty(), "the log capture works");
    assert!(
        !text.contains(API_SECRET),
        "the ERPNext API secret was logged"
    );
    for i in 0..n {
        let rec = lab.record(i);
        for k in ["custom_wifi_password", "custom_sip_password"] {
            let secret = field(&rec, k);
            assert!(
                !secret.is_empty() && !text.contains(&secret),
                "{k} of record {i} was logged"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_cpes_bootstrapping_at_once_each_get_their_own_settings_and_erpnext_says_so() {
    const N: usize = 1000;
    let lab = Lab::start(N as u64).await;
    let f = lab.fleet(N, 0, provisioning_model()).await;
    let t0 = std::time::Instant::now();
    let report = f.run_once(Duration::from_secs(120)).await;
    assert_eq!(report.cpes_contacted, N, "every CPE bootstrapped");
    eprintln!("bootstrap wave: {:?}", t0.elapsed());
    let done = lab
        .until(Duration::from_secs(150), |l| {
            (0..N as u64).all(|i| erp_status(l, i) == "provisioned")
        })
        .await;
    assert!(done, "not all provisioned: {}", lab.prov.summary());
    eprintln!("provisioned: {:?} {}", t0.elapsed(), lab.prov.summary());
    let mut ssids = std::collections::HashSet::new();
    for i in 0..N {
        holds_own(&lab, &f, i, 0).unwrap();
        assert!(
            ssids.insert(f.param(i, SSIDS[0]).unwrap()),
            "SSID of CPE {i} is unique"
        );
        let rec = lab.record(i as u64);
        assert!(!field(&rec, "custom_provisioned_on").is_empty());
        let id = f.device_id(i);
        let st = lab.prov.state(&id).expect("state");
        assert!(
            matches!(st.phase, Phase::Provisioned { .. }),
            "{id}: {:?}",
            st.phase
        );
        assert_eq!(
            st.equipment.as_ref().map(|e| e.as_str().to_owned()),
            Some(format!("EQP-{:05}", i + 1))
        );
        // The audit names paths and outcomes, never values.
        let audit = serde_json::to_string(&st.audit).unwrap();
        assert!(audit.contains(KEYS[0]) && !audit.contains(&field(&rec, "custom_wifi_password")));
    }
    let requests = lab.prov.erp_requests();
    assert!(
        requests < 3 * N as u64,
        "ERPNext requests stay proportional to the devices: {requests}"
    );
    assert_no_secret_logged(&lab, N as u64);
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_full_xx230v_tree_takes_the_settings_and_changes_follow_erpnext() {
    let lab = Lab::start(4).await;
    let f = lab.fleet(2, 0, Arc::new(BaseModel::xx230v())).await;
    f.run_once(Duration::from_secs(30)).await;
    assert!(
        lab.until(Duration::from_secs(40), |l| erp_status(l, 0)
            == "provisioned"
            && erp_status(l, 1) == "provisioned")
            .await,
        "{} {:?}",
        lab.prov.summary(),
        [
            lab.prov.state(&f.device_id(0)),
            lab.prov.state(&f.device_id(1))
        ]
    );
    holds_own(&lab, &f, 0, 0).unwrap();
    holds_own(&lab, &f, 1, 0).unwrap();
    let before = field(&lab.record(0), "custom_provisioned_on");

    // A new SSID in ERPNext goes to the CPE at its next inform.
    let mut change = serde_json::Map::new();
    change.insert("custom_wifi_ssid".into(), json!("Renamed-Network"));
    lab.erp
        .update("Service Equipment", "EQP-00001", &change)
        .unwrap();
    let id0 = f.device_id(0);
    assert!(
        lab.until(Duration::from_secs(10), |l| l
            .prov
            .state(&id0)
            .is_some_and(|s| s.generation == 2))
            .await,
        "the change was picked up"
    );
    // The new preset is written (it is what the next inform applies).
    let preset = format!("prov-{id0}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let doc = lab
            .acs
            .store()
            .doc(acs::presets::COLLECTION, &preset)
            .await
            .unwrap();
        if doc.is_some_and(|d| String::from_utf8_lossy(&d).contains("Renamed-Network")) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the renamed preset was not written"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    f.inform(0, &["2 PERIODIC"]).await.unwrap();
    assert_eq!(f.param(0, SSIDS[0]).as_deref(), Some("Renamed-Network"));
    assert!(
        lab.until(Duration::from_secs(20), |l| {
            let r = l.record(0);
            field(&r, "custom_provisioning_status") == "provisioned"
                && field(&r, "custom_provisioned_on") > before
        })
        .await
    );

    // A new SIP password, pushed at once when asked (retry: a connection request).
    let mut change = serde_json::Map::new();
    change.insert("custom_sip_password".into(), json!("n3w-S1P-pass"));
    lab.erp
        .update("Service Equipment", "EQP-00002", &change)
        .unwrap();
    let id1 = f.device_id(1);
    assert!(
        lab.until(Duration::from_secs(10), |l| l
            .prov
            .state(&id1)
            .is_some_and(|s| s.generation == 2))
            .await
    );
    assert!(lab.prov.retry(&id1).await);
    assert!(
        lab.until(Duration::from_secs(20), |_| f.param(1, SIP_PASS).as_deref()
            == Some("n3w-S1P-pass"))
            .await,
        "pushed without waiting for an inform"
    );
    holds_own(&lab, &f, 1, 0).unwrap();
    assert!(!String::from_utf8_lossy(&harness::logs().lock().unwrap()).contains("n3w-S1P-pass"));
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erpnext_down_loses_nothing_across_a_restart_and_completes_when_it_returns() {
    const N: usize = 20;
    let lab = Lab::start(N as u64).await;
    assert!(
        lab.until(Duration::from_secs(10), |l| l.prov.summary()["records"]
            == N)
            .await
    );
    assert_eq!(
        lab.prov.summary()["erp_failures"],
        0,
        "ERPNext answered so far"
    );
    lab.erp.set_down(true);
    let f = lab.fleet(N, 0, provisioning_model()).await;
    f.run_once(Duration::from_secs(30)).await;
    // Matched from the provisioner's own copy and confirmed on the CPEs; ERPNext waits.
    let confirmed = lab
        .until(Duration::from_secs(40), |l| {
            (0..N).all(|i| {
                l.prov
                    .state(&f.device_id(i))
                    .is_some_and(|s| matches!(s.phase, Phase::Provisioned { .. }))
            })
        })
        .await;
    assert!(confirmed, "{}", lab.prov.summary());
    let failures = lab.prov.summary()["erp_failures"].as_u64().unwrap_or(0);
    assert!(failures > 0, "requests to a down ERPNext count as failures");
    assert_eq!(lab.prov.outbox_len(), N);
    assert!((0..N as u64).all(|i| erp_status(&lab, i).is_empty()));
    for i in 0..N {
        holds_own(&lab, &f, i, 0).unwrap();
    }
    f.shutdown().await;

    // The control plane restarts while ERPNext is still down: the outbox is durable.
    let lab = lab.restart().await;
    assert_eq!(lab.prov.outbox_len(), N, "{}", lab.prov.summary());
    lab.erp.set_down(false);
    let written = lab
        .until(Duration::from_secs(30), |l| {
            (0..N as u64).all(|i| erp_status(l, i) == "provisioned")
        })
        .await;
    assert!(written, "{}", lab.prov.summary());
    assert_no_secret_logged(&lab, N as u64);
}
