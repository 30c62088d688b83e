//! Presets, objects, provisions and virtual parameters: stored as GenieACS stores them
//! (replace on PUT, `_id` = name), listed with the query language, deleted.

use crate::harness::{self, call};
use serde_json::json;

#[tokio::test]
async fn presets_are_replaced_listed_and_deleted() {
    let t = harness::start().await;
    let preset = r#"{"weight":0,"channel":"inform","events":{"0 BOOTSTRAP":true},"precondition":"","configurations":[{"type":"value","name":"Device.ManagementServer.PeriodicInformInterval","value":300}]}"#;
    assert_eq!(
        call(&t, "PUT", "/presets/inform", Some(preset))
            .await
            .status,
        200
    );
    assert_eq!(
        call(
            &t,
            "PUT",
            "/presets/default",
            Some(r#"{"weight":1,"configurations":[]}"#)
        )
        .await
        .status,
        200
    );
    // A second PUT replaces the document.
    assert_eq!(
        call(
            &t,
            "PUT",
            "/presets/default",
            Some(r#"{"weight":2,"configurations":[]}"#)
        )
        .await
        .status,
        200
    );
    let r = call(
        &t,
        "GET",
        "/presets/?query=%7B%22_id%22%3A%22inform%22%7D",
        None,
    )
    .await;
    let mut want: serde_json::Value = serde_json::from_str(preset).unwrap();
    want["_id"] = json!("inform");
    assert_eq!((r.header("total"), r.list()), (Some("1"), vec![want]));
    let r = call(
        &t,
        "GET",
        "/presets/?query=%7B%22weight%22%3A%7B%22%24gt%22%3A1%7D%7D&projection=weight",
        None,
    )
    .await;
    assert_eq!(r.list(), vec![json!({"_id": "default", "weight": 2})]);
    let r = call(&t, "GET", "/presets/inform", None).await;
    assert_eq!((r.status, r.header("allow")), (405, Some("PUT, DELETE")));
    let r = call(&t, "PUT", "/presets/bad", Some("{bad")).await;
    assert!(
        r.status == 400 && r.body.starts_with("SyntaxError: "),
        "{r:?}"
    );
    assert_eq!(
        call(&t, "DELETE", "/presets/inform", None).await.status,
        200
    );
    assert_eq!(call(&t, "GET", "/presets/", None).await.list().len(), 1);
}

#[tokio::test]
async fn provisions_and_virtual_parameters_keep_their_scripts() {
    let t = harness::start().await;
    let script = "const now = Date.now();\ndeclare(\"Device.DeviceInfo.UpTime\", {value: now});\n";
    assert_eq!(
        call(&t, "PUT", "/provisions/uptime", Some(script))
            .await
            .status,
        200
    );
    assert_eq!(
        call(
            &t,
            "PUT",
            "/virtual_parameters/wan_ip",
            Some("return {writable: false, value: [\"\", \"xsd:string\"]};")
        )
        .await
        .status,
        200
    );
    let r = call(&t, "GET", "/provisions/", None).await;
    assert_eq!(r.list(), vec![json!({"_id": "uptime", "script": script})]);
    assert_eq!(
        call(&t, "GET", "/virtual_parameters/", None)
            .await
            .list()
            .len(),
        1
    );
    assert_eq!(
        call(&t, "DELETE", "/virtual_parameters/wan_ip", None)
            .await
            .status,
        200
    );
    assert_eq!(
        call(&t, "GET", "/virtual_parameters/", None).await.body,
        "[\n\n]"
    );
    let r = call(&t, "POST", "/provisions/uptime", Some("x")).await;
    assert_eq!((r.status, r.header("allow")), (405, Some("PUT, DELETE")));
}
