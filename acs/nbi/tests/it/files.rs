//! Files: uploaded through the NBI with GenieACS's metadata headers, listed like GenieACS's
//! `fs.files`, served with ranges by the file server, and fetched by a CPE for a Download task.

use crate::e2e::enc;
use crate::harness::{self, TOKEN, capture, raw};
use std::time::Duration;

fn firmware(len: usize) -> String {
    (0..len)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect()
}

async fn upload(t: &harness::TestNbi, name: &str, body: &str) -> harness::Reply {
    let cap = capture("10-put-file-201.json");
    let h = &cap["exchanges"][0]["request"]["headers"];
    let auth = format!("Bearer {TOKEN}");
    let headers: Vec<(&str, &str)> = vec![
        ("Authorization", auth.as_str()),
        ("fileType", h["fileType"].as_str().unwrap()),
        ("oui", h["oui"].as_str().unwrap()),
        ("productClass", h["productClass"].as_str().unwrap()),
        ("version", h["version"].as_str().unwrap()),
    ];
    raw(
        t.nbi,
        "PUT",
        &format!("/files/{name}"),
        Some(body),
        &headers,
    )
    .await
}

#[tokio::test]
async fn an_upload_is_listed_like_genieacs_and_served_with_ranges() {
    let t = harness::start().await;
    let body = firmware(200_000);
    let r = upload(&t, "fw-test.bin", &body).await;
    assert_eq!(
        (r.status, r.reason.as_str(), r.body.as_str()),
        (201, "Created", "")
    );
    let listed = harness::call(&t, "GET", "/files/", None).await.list();
    let cap = capture("10-put-file-201.json");
    let want = &cap["exchanges"][1]["response"]["body_fields"];
    let got = &listed[0];
    for field in ["_id", "length", "chunkSize", "filename", "metadata"] {
        assert_eq!(got[field], want[field], "{field}");
    }
    assert!(nbi::date::parse(got["uploadDate"].as_str().unwrap()).is_some());
    // The file server: whole file, a range, an unsatisfiable range, HEAD.
    let whole = raw(t.fs, "GET", "/fw-test.bin", None, &[]).await;
    assert_eq!((whole.status, whole.body.len()), (200, 200_000));
    assert!(whole.body == body);
    let part = raw(
        t.fs,
        "GET",
        "/fw-test.bin",
        None,
        &[("Range", "bytes=100-199")],
    )
    .await;
    assert_eq!(
        (part.status, part.header("content-range")),
        (206, Some("bytes 100-199/200000"))
    );
    assert_eq!(part.body, body[100..200]);
    let bad = raw(
        t.fs,
        "GET",
        "/fw-test.bin",
        None,
        &[("Range", "bytes=300000-")],
    )
    .await;
    assert_eq!(bad.status, 416);
    let head = raw(t.fs, "HEAD", "/fw-test.bin", None, &[]).await;
    assert_eq!(
        (head.status, head.header("content-length")),
        (200, Some("200000"))
    );
    assert_eq!(
        raw(t.fs, "GET", "/../etc/passwd", None, &[]).await.status,
        404
    );
    assert_eq!(
        raw(t.fs, "PUT", "/fw-test.bin", Some("x"), &[])
            .await
            .status,
        405
    );
    // Deleted: gone from the listing and the file server.
    assert_eq!(
        harness::call(&t, "DELETE", "/files/fw-test.bin", None)
            .await
            .status,
        200
    );
    assert_eq!(
        harness::call(&t, "GET", "/files/", None).await.body,
        "[\n\n]"
    );
    assert_eq!(
        raw(t.fs, "GET", "/fw-test.bin", None, &[]).await.status,
        404
    );
    assert_eq!(
        harness::call(&t, "DELETE", "/files/fw-test.bin", None)
            .await
            .status,
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_task_makes_the_cpe_fetch_the_uploaded_file() {
    let t = harness::start().await;
    assert_eq!(
        upload(&t, "fw-2.0.bin", &firmware(64 * 1024)).await.status,
        201
    );
    let (fleet, id) = crate::e2e::registered_cpe(&t).await;
    let body =
        r#"{"name":"download","fileType":"1 Firmware Upgrade Image","fileName":"fw-2.0.bin"}"#;
    let r = harness::call(
        &t,
        "POST",
        &format!("/devices/{id}/tasks?connection_request"),
        Some(body),
    )
    .await;
    assert!(r.status == 200 || r.status == 202, "{r:?}");
    assert_eq!(r.json()["fileName"], "fw-2.0.bin");
    // The CPE downloads, reports TransferComplete in a new session, and the task completes.
    let done = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let tasks = harness::call(&t, "GET", "/tasks/", None).await.list();
            let last = fleet.last_session(0).unwrap();
            if tasks.is_empty() && last.events.iter().any(|e| e == "7 TRANSFER COMPLETE") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(done.is_ok(), "the download completed and its task is gone");
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_preset_sends_the_file_once_and_records_the_transfer() {
    let t = harness::start().await;
    assert_eq!(
        upload(&t, "fw-3.0.bin", &firmware(32 * 1024)).await.status,
        201
    );
    let preset = r#"{"channel": "firmware", "events": {"2 PERIODIC": true}, "configurations":
        [{"type": "provision", "name": "download", "args": ["1 Firmware Upgrade Image", "fw-3.0.bin"]}]}"#;
    assert_eq!(
        harness::call(&t, "PUT", "/presets/firmware", Some(preset))
            .await
            .status,
        200
    );
    let (fleet, _) = crate::e2e::registered_cpe(&t).await;
    let s = fleet
        .inform(0, &["2 PERIODIC"])
        .await
        .expect("periodic session");
    assert_eq!(
        s.acs_requests.last().map(String::as_str),
        Some("Download"),
        "{:?}",
        s.acs_requests
    );
    // The CPE fetches the file and reports in a session of its own; the recorded transfer
    // keeps the preset from sending the file again.
    let id = fleet.device_id(0);
    let query = format!(
        "/devices/?query={}&projection=Downloads",
        enc(&format!(r#"{{"_id":"{id}"}}"#))
    );
    let recorded = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let docs = harness::call(&t, "GET", &query, None).await.list();
            let d = &docs[0]["Downloads"]["1"];
            if d["LastFileName"]["_value"] == "fw-3.0.bin" {
                return d.clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("TransferComplete recorded under Downloads.1");
    assert_eq!(recorded["FileType"]["_value"], "1 Firmware Upgrade Image");
    let again = fleet
        .inform(0, &["2 PERIODIC"])
        .await
        .expect("next session");
    assert!(again.acs_requests.is_empty(), "{:?}", again.acs_requests);
    fleet.shutdown().await;
}
