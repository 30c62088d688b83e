//! Contract tests from the captured GenieACS 1.2.16 exchanges (fixtures/genieacs/nbi): the same
//! request against Fibreplane's NBI gives the same status, reason phrase, headers that clients
//! read, body framing and documents.

use crate::harness::{self, call, capture, genieacs_device, import, qs};
use serde_json::{Value, json};

#[tokio::test]
async fn device_search_with_projection_returns_the_captured_document() {
    let t = harness::start().await;
    let cap = capture("01-get-device-with-projection.json");
    // The device as GenieACS held it when the capture was taken (an earlier state than
    // device-full.json): the captured answer itself, imported.
    let body = cap["response"]["body"].as_str().unwrap();
    let held: Value = serde_json::from_str(&body[2..body.len() - 2]).unwrap();
    import(&t, &held).await;
    // A second device that the query must not return.
    import(&t, &genieacs_device_with_id("202BC1-BM632w-000001")).await;
    let req = &cap["request"];
    let target = format!("{}{}", req["path"].as_str().unwrap(), qs(&req["query"]));
    let r = call(&t, "GET", &target, None).await;
    let want = &cap["response"];
    assert_eq!((r.status, r.reason.as_str()), (200, "OK"));
    assert_eq!(r.header("total"), Some("1"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.chunked, "listings are streamed");
    let body = want["body"].as_str().unwrap();
    let captured: Value = serde_json::from_str(&body[2..body.len() - 2]).unwrap();
    assert_eq!(r.list(), vec![captured]);
}

fn genieacs_device_with_id(id: &str) -> Value {
    let mut d = genieacs_device();
    d["_id"] = json!(id);
    d
}

#[tokio::test]
async fn the_whole_captured_document_round_trips_through_import() {
    let t = harness::start().await;
    import(&t, &genieacs_device()).await;
    let r = call(&t, "GET", "/devices/", None).await;
    // The document root's own `_timestamp` (when the root's children were listed) is kept too,
    // as the tree's root node.
    let want = genieacs_device();
    assert!(want.get("_timestamp").is_some());
    assert_eq!(r.list(), vec![want]);
    let head = call(
        &t,
        "HEAD",
        "/devices/?query=%7B%22_tags%22%3A%22vip%22%7D",
        None,
    )
    .await;
    assert_eq!(
        (head.status, head.header("total"), head.body.as_str()),
        (200, Some("1"), "")
    );
    let none = call(
        &t,
        "GET",
        "/devices/?query=%7B%22_tags%22%3A%22nope%22%7D",
        None,
    )
    .await;
    assert_eq!(
        (none.header("total"), none.body.as_str()),
        (Some("0"), "[\n\n]")
    );
}

#[tokio::test]
async fn a_task_without_connection_request_is_queued_with_202() {
    let t = harness::start().await;
    let id = import(&t, &genieacs_device()).await;
    let cap = capture("03-task-queued-202.json");
    let r = call(
        &t,
        "POST",
        &format!("/devices/{id}/tasks"),
        cap["request"]["body"].as_str(),
    )
    .await;
    assert_eq!((r.status, r.reason.as_str()), (202, "Accepted"));
    let task = r.json();
    let want: Value = serde_json::from_str(cap["response"]["body"].as_str().unwrap()).unwrap();
    for field in ["name", "device"] {
        assert_eq!(task[field], want[field], "{field}");
    }
    let tid = task["_id"].as_str().unwrap().to_owned();
    assert_eq!(tid.len(), 24, "an ObjectId-like _id");
    assert!(nbi::date::parse(task["timestamp"].as_str().unwrap()).is_some());
    // GET /tasks lists it, and its _id finds it.
    let listed = call(
        &t,
        "GET",
        &format!("/tasks/?query=%7B%22_id%22%3A%22{tid}%22%7D"),
        None,
    )
    .await;
    assert_eq!(listed.list(), vec![task]);
    // DELETE /tasks/<id> removes it; a second time it is not found.
    assert_eq!(
        call(&t, "DELETE", &format!("/tasks/{tid}"), None)
            .await
            .status,
        200
    );
    let again = call(&t, "DELETE", &format!("/tasks/{tid}"), None).await;
    assert_eq!((again.status, again.body.as_str()), (404, "Task not found"));
}

#[tokio::test]
async fn connection_request_failures_use_genieacs_reason_phrases() {
    let t = harness::start().await;
    // The captured device's ConnectionRequestURL points at a port nothing listens on.
    let id = import(&t, &genieacs_device()).await;
    let cap = capture("07-cr-only-device-offline-504.json");
    let r = call(
        &t,
        "POST",
        &format!("/devices/{id}/tasks?connection_request"),
        None,
    )
    .await;
    let want = &cap["response"];
    assert_eq!(r.status, want["status"].as_u64().unwrap() as u16);
    assert_eq!(r.reason, want["reason"].as_str().unwrap());
    assert_eq!(r.body, want["body"].as_str().unwrap());

    let cap = capture("06-task-cr-device-offline-202.json");
    let r = call(
        &t,
        "POST",
        &format!("/devices/{id}/tasks?connection_request"),
        cap["request"]["body"].as_str(),
    )
    .await;
    assert_eq!((r.status, r.reason.as_str()), (202, "Device is offline"));
    let sent: Value = serde_json::from_str(cap["request"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(r.json()["name"], sent["name"]);
    assert_eq!(r.json()["objectName"], sent["objectName"]);
}

#[tokio::test]
async fn error_responses_match_the_captures() {
    let t = harness::start().await;
    let cap = capture("09-errors.json");
    for ex in cap["exchanges"].as_array().unwrap() {
        let req = &ex["request"];
        let path = req["path"].as_str().unwrap();
        let target = format!("{path}{}", qs(&req["query"]));
        let r = call(
            &t,
            req["method"].as_str().unwrap(),
            &target,
            req["body"].as_str(),
        )
        .await;
        let want = &ex["response"];
        assert_eq!(r.status, want["status"].as_u64().unwrap() as u16, "{path}");
        assert_eq!(r.reason, want["reason"].as_str().unwrap(), "{path}");
        let body = want["body"].as_str().unwrap();
        if path.starts_with("/provisions") {
            // The script check words its errors as V8 does for the mistakes it catches.
            assert_eq!(r.body, body, "{path}");
        } else if body.starts_with("SyntaxError: ") {
            // serde_json's wording for bad query JSON differs from V8's; the error class and
            // a 400 are what clients see.
            assert!(r.body.starts_with("SyntaxError: "), "{}", r.body);
        } else {
            assert_eq!(r.body, body, "{path}");
        }
    }
    let r = call(&t, "PATCH", "/devices/", None).await;
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, HEAD")));
    let r = call(&t, "GET", "/devices/x", None).await;
    assert_eq!(
        (r.status, r.header("allow"), r.body.as_str()),
        (405, Some("DELETE"), "405 Method Not Allowed")
    );
    let r = call(&t, "POST", "/devices/x/tasks", Some("{\"name\":\"nope\"}")).await;
    assert_eq!(r.status, 404, "an unknown device is checked first");
}

#[tokio::test]
async fn tags_are_added_and_removed_and_indexed() {
    let t = harness::start().await;
    let id = import(&t, &genieacs_device()).await;
    assert_eq!(
        call(
            &t,
            "POST",
            &format!("/devices/{id}/tags/north%20zone"),
            None
        )
        .await
        .status,
        200
    );
    let r = call(
        &t,
        "GET",
        "/devices/?query=%7B%22_tags%22%3A%22north%20zone%22%7D&projection=_tags",
        None,
    )
    .await;
    assert_eq!(
        r.list(),
        vec![json!({"_id": id.to_string(), "_tags": ["north zone", "vip"]})]
    );
    assert_eq!(
        call(&t, "DELETE", &format!("/devices/{id}/tags/vip"), None)
            .await
            .status,
        200
    );
    let r = call(&t, "GET", "/devices/?projection=_tags", None).await;
    assert_eq!(
        r.list(),
        vec![json!({"_id": id.to_string(), "_tags": ["north zone"]})]
    );
    // Deleting the device removes it from every listing.
    assert_eq!(
        call(&t, "DELETE", &format!("/devices/{id}"), None)
            .await
            .status,
        200
    );
    assert_eq!(call(&t, "GET", "/devices/", None).await.body, "[\n\n]");
}
