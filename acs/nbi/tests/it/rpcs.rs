//! The rest of the CWMP RPC set end to end over loopback: NBI task → ACS → connection request →
//! cpe-sim (its transfer queue, uploads, deployment units) → results back through the NBI;
//! the CPE's own requests (GetRPCMethods, AutonomousTransferComplete, RequestDownload,
//! AutonomousDUStateChangeComplete); task expiry, the download timeout and `/ping`.

use crate::e2e::{enc, registered_cpe};
use crate::harness::{self, TOKEN, call, raw};
use cwmp::Body;
use serde_json::{Value, json};
use std::time::Duration;

/// Posts a task with a connection request; returns the reply.
async fn task(t: &harness::TestNbi, id: &str, body: &str) -> harness::Reply {
    call(
        t,
        "POST",
        &format!("/devices/{}/tasks?connection_request", enc(id)),
        Some(body),
    )
    .await
}

/// The device's document projected on `projection`.
async fn device(t: &harness::TestNbi, id: &str, projection: &str) -> Value {
    let q = enc(&format!(r#"{{"_id":"{id}"}}"#));
    let docs = call(
        t,
        "GET",
        &format!("/devices/?query={q}&projection={projection}"),
        None,
    )
    .await
    .list();
    docs.into_iter().next().unwrap_or(Value::Null)
}

/// Polls `check` every 50 ms until it gives `Some`, for at most 20 s.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let found = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let Some(v) = check().await {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    match found {
        Ok(v) => v,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// Waits until the task is gone from `/tasks` (done and purged from the listing).
async fn task_done(t: &harness::TestNbi, tid: &str) {
    let q = enc(&format!(r#"{{"_id":"{tid}"}}"#));
    eventually("the task to be done", || async {
        let left = call(t, "GET", &format!("/tasks/?query={q}"), None)
            .await
            .list();
        left.is_empty().then_some(())
    })
    .await;
}

/// Puts a file through the NBI with a file type.
async fn put_file(t: &harness::TestNbi, name: &str, file_type: &str, body: &str) {
    let auth = format!("Bearer {TOKEN}");
    let r = raw(
        t.nbi,
        "PUT",
        &format!("/files/{name}"),
        Some(body),
        &[("Authorization", auth.as_str()), ("fileType", file_type)],
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_rpc_methods_task_records_what_the_cpe_supports() {
    let t = harness::start().await;
    let (_fleet, id) = registered_cpe(&t).await;
    let r = task(&t, &id, r#"{"name":"getRPCMethods"}"#).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["name"], json!("getRPCMethods"));
    let doc = device(&t, &id, "CWMP.RPCMethods").await;
    let methods = doc["CWMP"]["RPCMethods"]["_value"].as_str().unwrap_or("");
    for m in [
        "GetParameterValues",
        "Upload",
        "ChangeDUState",
        "GetAllQueuedTransfers",
    ] {
        assert!(methods.split(',').any(|x| x == m), "{m} in {methods}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedule_inform_brings_the_cpe_back_with_its_command_key() {
    let t = harness::start().await;
    let (fleet, id) = registered_cpe(&t).await;
    let before = fleet.sessions(0);
    let r = task(
        &t,
        &id,
        r#"{"name":"scheduleInform","delaySeconds":1,"commandKey":"si-1"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The connection-request session, then the scheduled one.
    assert!(
        fleet
            .wait_sessions(0, before + 2, Duration::from_secs(10))
            .await
    );
    let events = fleet.last_session(0).expect("a session").events;
    assert!(events.contains(&"3 SCHEDULED".to_owned()), "{events:?}");
    assert!(
        events.contains(&"M ScheduleInform".to_owned()),
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_files_the_cpe_configuration_and_log_in_the_file_server() {
    let t = harness::start().await;
    let (_fleet, id) = registered_cpe(&t).await;
    for (body, name, needle) in [
        (
            r#"{"name":"upload","fileType":"1 Vendor Configuration File","fileName":"backup.cfg"}"#,
            "backup.cfg",
            "Device.DeviceInfo.SerialNumber=",
        ),
        (
            r#"{"name":"upload","fileType":"2 Vendor Log File","fileName":"cpe.log"}"#,
            "cpe.log",
            "lab-cpe: boot ok",
        ),
    ] {
        let r = task(&t, &id, body).await;
        // The CPE accepts with status 1: the task completes at its TransferComplete.
        assert_eq!(r.status, 202, "{}", r.body);
        let tid = r.json()["_id"].as_str().unwrap().to_owned();
        assert!(
            r.json()["url"].as_str().unwrap().contains("/upload/"),
            "{}",
            r.body
        );
        task_done(&t, &tid).await;
        let q = enc(&format!(r#"{{"_id":"{name}"}}"#));
        let listed = call(&t, "GET", &format!("/files/?query={q}"), None)
            .await
            .list();
        assert_eq!(listed.len(), 1, "{name} is listed");
        assert_eq!(listed[0]["metadata"]["device"], json!(id));
        let got = raw(t.fs, "GET", &format!("/{name}"), None, &[]).await;
        assert_eq!(got.status, 200);
        assert!(got.body.contains(needle), "{}", got.body);
    }
    assert_eq!(call(&t, "GET", "/faults/", None).await.body, "[\n\n]");
    // A slot is good for one upload only.
    let again = raw(t.fs, "PUT", "/upload/00", Some("x"), &[]).await;
    assert_eq!(again.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedule_download_fetches_in_its_window_and_completes() {
    let t = harness::start().await;
    let (fleet, id) = registered_cpe(&t).await;
    put_file(&t, "fw-2.bin", "1 Firmware Upgrade Image", "firmware").await;
    let before = fleet.sessions(0);
    let r = task(
        &t,
        &id,
        r#"{"name":"scheduleDownload","fileName":"fw-2.bin","timeWindows":[{"windowStart":0,"windowEnd":60}]}"#,
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let tid = r.json()["_id"].as_str().unwrap().to_owned();
    task_done(&t, &tid).await;
    // The connection-request session, then the one reporting the transfer.
    assert!(
        fleet
            .wait_sessions(0, before + 2, Duration::from_secs(10))
            .await
    );
    let events = fleet.last_session(0).expect("a session").events;
    assert!(
        events.contains(&"M ScheduleDownload".to_owned()),
        "{events:?}"
    );
    assert_eq!(call(&t, "GET", "/faults/", None).await.body, "[\n\n]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_transfers_are_listed_and_a_cancelled_one_times_out() {
    // A short download timeout: the cancelled transfer never reports, and its task faults
    // `timeout` at the next session after it, as GenieACS's `cwmp.downloadTimeout` does.
    let t = harness::start_custom(nbi::Access::Token(nbi::Token::new(TOKEN)), |c| {
        c.download_timeout = Duration::from_secs(3);
    })
    .await;
    let (fleet, id) = registered_cpe(&t).await;
    let r = task(
        &t,
        &id,
        r#"{"name":"upload","fileType":"2 Vendor Log File","delaySeconds":600}"#,
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let upload_id = r.json()["_id"].as_str().unwrap().to_owned();
    // The ACS's command key names the task by its number (the NBI shows it in hex).
    let key = format!("task_{}", u64::from_str_radix(&upload_id, 16).unwrap());
    let r = task(&t, &id, r#"{"name":"getQueuedTransfers"}"#).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let doc = device(&t, &id, "CWMP.QueuedTransfers").await;
    let row = &doc["CWMP"]["QueuedTransfers"]["1"];
    assert_eq!(row["CommandKey"]["_value"], json!(key), "{doc}");
    assert_eq!(row["State"]["_value"], json!(1));
    let r = task(&t, &id, r#"{"name":"getAllQueuedTransfers"}"#).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let doc = device(&t, &id, "CWMP.AllQueuedTransfers").await;
    let row = &doc["CWMP"]["AllQueuedTransfers"]["1"];
    assert_eq!(row["IsDownload"]["_value"], json!(false), "{doc}");
    assert_eq!(row["FileType"]["_value"], json!("2 Vendor Log File"));
    let cancel = format!(r#"{{"name":"cancelTransfer","commandKey":"{key}"}}"#);
    assert_eq!(task(&t, &id, &cancel).await.status, 200);
    let r = task(&t, &id, r#"{"name":"getQueuedTransfers"}"#).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let doc = device(&t, &id, "CWMP.QueuedTransfers").await;
    assert_eq!(
        doc["CWMP"]["QueuedTransfers"].get("1"),
        None,
        "cancelled: {doc}"
    );
    // Cancelling it again is the CPE's 9021.
    let r = task(&t, &id, &cancel).await;
    assert_eq!((r.status, r.reason.as_str()), (202, "Task faulted"));
    // Past the timeout, the next session faults the parked upload.
    tokio::time::sleep(Duration::from_millis(3100)).await;
    fleet.inform(0, &["2 PERIODIC"]).await.expect("a session");
    let faults = call(&t, "GET", "/faults/", None).await.list();
    let timeout = faults
        .iter()
        .find(|f| f["code"] == json!("timeout"))
        .unwrap_or_else(|| panic!("a timeout fault in {faults:?}"));
    assert_eq!(timeout["message"], json!("Download operation timed out"));
    assert_eq!(timeout["channel"], json!(format!("task_{upload_id}")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_du_state_installs_and_uninstalls_with_du_state_change_complete() {
    let t = harness::start().await;
    let (fleet, id) = registered_cpe(&t).await;
    put_file(&t, "app.ipk", "X LAB Package", "package").await;
    let url = format!("http://{}/app.ipk", t.fs);
    let body = format!(
        r#"{{"name":"changeDUState","operations":[{{"type":"install","url":"{url}","uuid":"u-1"}}]}}"#
    );
    let r = task(&t, &id, &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    task_done(&t, r.json()["_id"].as_str().unwrap()).await;
    assert_eq!(
        fleet.deployment_units(0),
        vec![("u-1".to_owned(), "1.0".to_owned())]
    );
    let doc = device(&t, &id, "CWMP.DUStateChange").await;
    let result = &doc["CWMP"]["DUStateChange"]["1"];
    assert_eq!(
        result["CurrentState"]["_value"],
        json!("Installed"),
        "{doc}"
    );
    assert_eq!(result["UUID"]["_value"], json!("u-1"));
    let r = task(
        &t,
        &id,
        r#"{"name":"changeDUState","operations":[{"type":"uninstall","uuid":"u-1"}]}"#,
    )
    .await;
    task_done(&t, r.json()["_id"].as_str().unwrap()).await;
    assert!(fleet.deployment_units(0).is_empty());
    // An unknown unit is the CPE's 9028, kept as the task's fault.
    let r = task(
        &t,
        &id,
        r#"{"name":"changeDUState","operations":[{"type":"uninstall","uuid":"nope"}]}"#,
    )
    .await;
    let tid = r.json()["_id"].as_str().unwrap().to_owned();
    let fault = eventually("the 9028 fault", || async {
        let faults = call(&t, "GET", "/faults/", None).await.list();
        faults.into_iter().find(|f| f["code"] == json!("cwmp.9028"))
    })
    .await;
    assert_eq!(fault["channel"], json!(format!("task_{tid}")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_task_is_not_sent_and_is_removed() {
    let t = harness::start().await;
    let (fleet, id) = registered_cpe(&t).await;
    let r = call(
        &t,
        "POST",
        &format!("/devices/{}/tasks", enc(&id)),
        Some(r#"{"name":"reboot","expiry":1}"#),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert!(r.json()["expiry"].is_string(), "{}", r.body);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let report = fleet.inform(0, &["2 PERIODIC"]).await.expect("a session");
    assert!(
        !report.acs_requests.contains(&"Reboot".to_owned()),
        "{report:?}"
    );
    assert_eq!(call(&t, "GET", "/tasks/", None).await.body, "[\n\n]");
    assert_eq!(call(&t, "GET", "/faults/", None).await.body, "[\n\n]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cpe_own_requests_are_answered_and_recorded() {
    let t = harness::start().await;
    let (fleet, id) = registered_cpe(&t).await;
    fleet.queue_request(0, Body::GetRpcMethods);
    fleet.queue_request(
        0,
        Body::AutonomousTransferComplete(cwmp::AutonomousTransferComplete {
            transfer_url: "http://127.0.0.1:1/local.bin".into(),
            is_download: true,
            file_type: "1 Firmware Upgrade Image".into(),
            file_size: 42,
            ..cwmp::AutonomousTransferComplete::default()
        }),
    );
    fleet.queue_request(
        0,
        Body::AutonomousDuStateChangeComplete {
            results: vec![cwmp::OpResult {
                uuid: "local-du".into(),
                current_state: "Installed".into(),
                operation_performed: "Install".into(),
                ..cwmp::OpResult::default()
            }],
        },
    );
    let report = fleet.inform(0, &["2 PERIODIC"]).await.expect("a session");
    assert_eq!(
        report.cpe_requests,
        [
            "GetRPCMethods",
            "AutonomousTransferComplete",
            "AutonomousDUStateChangeComplete"
        ]
    );
    let methods = fleet.acs_methods(0).expect("GetRPCMethodsResponse");
    assert_eq!(
        methods[..3],
        ["Inform", "GetRPCMethods", "TransferComplete"],
        "GenieACS's three first"
    );
    assert!(methods.contains(&"RequestDownload".to_owned()));
    let doc = device(&t, &id, "CWMP").await;
    let atc = &doc["CWMP"]["LastAutonomousTransfer"];
    assert_eq!(
        atc["TransferURL"]["_value"],
        json!("http://127.0.0.1:1/local.bin"),
        "{doc}"
    );
    // 64-bit values reach JSON as text, as every unsignedLong does through the NBI.
    assert_eq!(atc["FileSize"]["_value"], json!("42"));
    assert_eq!(atc["FileSize"]["_type"], json!("xsd:unsignedLong"));
    let du = &doc["CWMP"]["AutonomousDUStateChange"]["1"];
    assert_eq!(
        du["OperationPerformed"]["_value"],
        json!("Install"),
        "{doc}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_download_is_served_by_file_type_while_the_cpe_holds_its_requests() {
    let t = harness::start().await;
    let (fleet, _id) = registered_cpe(&t).await;
    put_file(&t, "vendor.cfg", "3 Vendor Configuration File", "cfg").await;
    put_file(&t, "other.bin", "1 Firmware Upgrade Image", "fw").await;
    fleet.queue_request(
        0,
        Body::RequestDownload {
            file_type: "3 Vendor Configuration File".into(),
            arguments: Vec::new(),
        },
    );
    fleet.queue_request(0, Body::GetRpcMethods);
    let report = fleet.inform(0, &["2 PERIODIC"]).await.expect("a session");
    assert!(report.held, "the answer set HoldRequests");
    assert_eq!(
        report.cpe_requests,
        ["RequestDownload"],
        "the held request waits"
    );
    assert_eq!(report.acs_requests, ["Download"]);
    // The CPE fetches the file and reports, with its held request, in its next session.
    let before = fleet.sessions(0);
    assert!(
        fleet
            .wait_sessions(0, before + 1, Duration::from_secs(10))
            .await
    );
    let next = fleet.last_session(0).expect("a session");
    assert!(
        next.cpe_requests.contains(&"TransferComplete".to_owned()),
        "{next:?}"
    );
    assert!(next.events.contains(&"M Download".to_owned()), "{next:?}");
}

#[tokio::test]
async fn ping_answers_like_genieacs_for_loopback() {
    let t = harness::start().await;
    let r = call(&t, "GET", "/ping/127.0.0.1", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    assert!(
        r.body
            .contains("3 packets transmitted, 3 received, 0% packet loss"),
        "{}",
        r.body
    );
    assert!(r.body.contains("rtt min/avg/max/mdev = "), "{}", r.body);
    // Characters GenieACS's route does not admit are not this route.
    assert_eq!(call(&t, "GET", "/ping/a%3Bid", None).await.status, 404);
    let r = call(&t, "POST", "/ping/127.0.0.1", None).await;
    assert_eq!(r.status, 405);
}
