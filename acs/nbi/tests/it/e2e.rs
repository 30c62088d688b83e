//! End to end over loopback: NBI → ACS → connection request → lab cpe-sim CPE (real CWMP agent
//! with the XX230v data model) → results back through the NBI.

use crate::harness::{self, SECRET, call};
use fibreplane_lab::{CpeAuth, Credential, Fleet, SimConfig};
use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub(crate) async fn registered_cpe(t: &harness::TestNbi) -> (Fleet, String) {
    let config = SimConfig {
        acs_url: t.cwmp_url(),
        count: 1,
        auth: CpeAuth::Digest(Credential::Secret(SECRET.to_owned())),
        stagger: Duration::ZERO,
        ..SimConfig::default()
    };
    let fleet = Fleet::start(config).await.expect("fleet");
    fleet.inform(0, &[]).await.expect("first session");
    let id = fleet.device_id(0);
    (fleet, id)
}

pub(crate) fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_parameter_values_with_connection_request_answers_200_and_stores_the_value() {
    let t = harness::start().await;
    let (fleet, id) = registered_cpe(&t).await;
    let body = r#"{"name":"getParameterValues","parameterNames":["Device.DeviceInfo.UpTime","Device.WiFi.SSID.1.SSID"]}"#;
    // Ids are escaped once more in paths, as GenieACS clients do.
    let r = call(
        &t,
        "POST",
        &format!("/devices/{}/tasks?connection_request", enc(&id)),
        Some(body),
    )
    .await;
    assert_eq!((r.status, r.reason.as_str()), (200, "OK"), "{}", r.body);
    assert_eq!(r.json()["name"], json!("getParameterValues"));
    let q = enc(&format!(r#"{{"_id":"{id}"}}"#));
    let r = call(
        &t,
        "GET",
        &format!("/devices/?query={q}&projection=Device.WiFi.SSID.1.SSID"),
        None,
    )
    .await;
    let docs = r.list();
    let ssid = &docs[0]["Device"]["WiFi"]["SSID"]["1"]["SSID"];
    assert_eq!(
        ssid["_value"].as_str(),
        fleet.param(0, "Device.WiFi.SSID.1.SSID").as_deref(),
        "{ssid}"
    );
    assert_eq!(ssid["_type"], json!("xsd:string"));
    // The task is done and gone from the queue, as in GenieACS.
    let tasks = call(&t, "GET", "/tasks/", None).await;
    assert_eq!(tasks.list(), Vec::<serde_json::Value>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_set_shows_in_faults_and_can_be_retried_or_deleted() {
    let t = harness::start().await;
    let (_fleet, id) = registered_cpe(&t).await;
    // The serial number is read-only: the CPE answers with a SetParameterValues fault.
    let body = r#"{"name":"setParameterValues","parameterValues":[["Device.DeviceInfo.SerialNumber","X"]]}"#;
    let r = call(
        &t,
        "POST",
        &format!("/devices/{}/tasks?connection_request", enc(&id)),
        Some(body),
    )
    .await;
    assert_eq!(
        (r.status, r.reason.as_str()),
        (202, "Task faulted"),
        "{}",
        r.body
    );
    let tid = r.json()["_id"].as_str().unwrap().to_owned();
    let faults = call(&t, "GET", "/faults/", None).await.list();
    assert_eq!(faults.len(), 1, "{faults:?}");
    let f = &faults[0];
    assert_eq!(f["_id"], json!(format!("{id}:task_{tid}")));
    assert_eq!(f["channel"], json!(format!("task_{tid}")));
    assert!(f["code"].as_str().unwrap().starts_with("cwmp."), "{f}");
    // Retry clears the fault and re-queues the task.
    assert_eq!(
        call(&t, "POST", &format!("/tasks/{tid}/retry"), None)
            .await
            .status,
        200
    );
    assert_eq!(call(&t, "GET", "/faults/", None).await.body, "[\n\n]");
    assert_eq!(call(&t, "GET", "/tasks/", None).await.list().len(), 1);
    // Deleting the fault of a task deletes the task too.
    let r = call(
        &t,
        "POST",
        &format!("/devices/{}/tasks?connection_request", enc(&id)),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "connection request only");
    let faulted = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let f = call(&t, "GET", "/faults/", None).await.list();
            if !f.is_empty() {
                return f;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the retried task faults again");
    let fid = faulted[0]["_id"].as_str().unwrap();
    assert_eq!(
        call(&t, "DELETE", &format!("/faults/{}", enc(fid)), None)
            .await
            .status,
        200
    );
    assert_eq!(call(&t, "GET", "/faults/", None).await.body, "[\n\n]");
    assert_eq!(call(&t, "GET", "/tasks/", None).await.body, "[\n\n]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_for_a_device_in_session_waits_for_that_session_to_end_before_its_connection_request()
 {
    let t = harness::start().await;
    let (fleet, id) = registered_cpe(&t).await;
    let held = harness::HeldSession::open(&t, &fleet.serial(0)).await;
    let sessions = fleet.sessions(0);
    let post = {
        let (nbi, target) = (
            t.nbi,
            format!(
                "/devices/{}/tasks?connection_request&timeout=5000",
                enc(&id)
            ),
        );
        let auth = format!("Bearer {}", harness::TOKEN);
        tokio::spawn(async move {
            let body =
                r#"{"name":"getParameterValues","parameterNames":["Device.DeviceInfo.UpTime"]}"#;
            harness::raw(
                nbi,
                "POST",
                &target,
                Some(body),
                &[("Authorization", auth.as_str())],
            )
            .await
        })
    };
    // While the session lasts, nothing is queued and no connection request goes out.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(
        !post.is_finished(),
        "the POST waits for the session in progress"
    );
    assert_eq!(
        fleet.sessions(0),
        sessions,
        "no connection request during the session"
    );
    assert!(call(&t, "GET", "/tasks/", None).await.list().is_empty());
    held.end().await;
    // Then the task is queued, the CPE is called, and its session does the task.
    let r = post.await.unwrap();
    assert_eq!((r.status, r.reason.as_str()), (200, "OK"), "{}", r.body);
    // The CPE counts its session once the 204 arrives, just after the task is done.
    assert!(
        fleet
            .wait_sessions(0, sessions + 1, Duration::from_secs(10))
            .await
    );
    assert!(call(&t, "GET", "/tasks/", None).await.list().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accepted_connection_request_without_a_session_gives_202_queued() {
    let t = harness::start().await;
    // A CPE that accepts connection requests but never informs.
    let cr = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let cr_url = format!("http://{}/", cr.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut s, _)) = cr.accept().await {
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf).await;
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .await;
        }
    });
    let mut doc = harness::genieacs_device();
    doc["InternetGatewayDevice"]["ManagementServer"]["ConnectionRequestURL"]["_value"] =
        json!(cr_url);
    let id = harness::import(&t, &doc).await;
    let cap = harness::capture("08-task-cr-no-session-202.json");
    let r = call(
        &t,
        "POST",
        &format!("/devices/{id}/tasks?connection_request&timeout=1500"),
        // The capture did not record its task body; any task will do.
        Some(r#"{"name":"reboot"}"#),
    )
    .await;
    assert_eq!(r.status, cap["response"]["status"].as_u64().unwrap() as u16);
    assert_eq!(r.reason, cap["response"]["reason"].as_str().unwrap());
    assert_eq!(
        call(&t, "GET", "/tasks/", None).await.list().len(),
        1,
        "the task stays queued"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preset_put_through_the_nbi_changes_the_ssid_at_the_next_inform() {
    let t = harness::start().await;
    let (fleet, id) = registered_cpe(&t).await;
    let preset = r#"{"weight":0,"channel":"wifi","events":{"2 PERIODIC":true},"precondition":"","configurations":[{"type":"value","name":"Device.WiFi.SSID.1.SSID","value":"Client-4821"}]}"#;
    assert_eq!(
        call(&t, "PUT", "/presets/wifi", Some(preset)).await.status,
        200
    );
    fleet
        .inform(0, &["2 PERIODIC"])
        .await
        .expect("periodic session");
    assert_eq!(
        fleet.param(0, "Device.WiFi.SSID.1.SSID").as_deref(),
        Some("Client-4821")
    );
    let q = enc(&format!(r#"{{"_id":"{id}"}}"#));
    let docs = call(
        &t,
        "GET",
        &format!("/devices/?query={q}&projection=Device.WiFi.SSID.1.SSID"),
        None,
    )
    .await
    .list();
    assert_eq!(
        docs[0]["Device"]["WiFi"]["SSID"]["1"]["SSID"]["_value"],
        json!("Client-4821")
    );
    assert_eq!(call(&t, "GET", "/faults/", None).await.body, "[\n\n]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_discovery_learnt_per_model_is_listed() {
    let t = harness::start().await;
    // What the ACS writes when a model's CPEs need their leaves read by name.
    let profile = acs::discovery::Profile {
        mode: acs::discovery::Mode::Leaves,
        failures: 2,
        updated_ms: 1_700_000_000_000,
    };
    for (name, p) in [
        ("1C61B4-Device2-1.0", &profile),
        (
            "00259E-HG8245-V3",
            &acs::discovery::Profile {
                mode: acs::discovery::Mode::Fast,
                ..profile.clone()
            },
        ),
    ] {
        t.acs
            .write(vec![acs::store::Op::PutDoc {
                collection: acs::discovery::PROFILES.to_owned(),
                name: name.to_owned(),
                body: serde_json::to_vec(p).unwrap(),
            }])
            .await
            .unwrap();
    }
    let q = enc(r#"{"mode":"leaves"}"#);
    let docs = call(&t, "GET", &format!("/discovery/?query={q}"), None)
        .await
        .list();
    assert_eq!(docs.len(), 1, "{docs:?}");
    assert_eq!(docs[0]["_id"], json!("1C61B4-Device2-1.0"));
    assert_eq!(docs[0]["failures"], json!(2));
    assert_eq!(docs[0]["updated"], json!("2023-11-14T22:13:20.000Z"));
    assert_eq!(call(&t, "GET", "/discovery/", None).await.list().len(), 2);
    // Read only: the ACS keeps it.
    assert_eq!(
        call(&t, "PUT", "/discovery/x", Some("{}")).await.status,
        404
    );
}
