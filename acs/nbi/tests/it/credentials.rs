//! Fibreplane's credential routes: explicit credentials set and cleared per device, and the
//! listing of devices whose credentials are not derived, which never shows a password.

use crate::harness::{self, call};

#[tokio::test]
async fn explicit_credentials_are_set_listed_without_password_and_cleared() {
    let t = harness::start().await;
    let doc = harness::genieacs_device();
    let id = harness::import(&t, &doc).await;
    let target = format!("/devices/{}/credentials", crate::e2e::enc(id.as_str()));
    let body = r#"{"username": "cpe-user", "password": "cpe-password-123"}"#;
    assert_eq!(
        call(&t, "PUT", "/devices/nope-x-y/credentials", Some(body))
            .await
            .status,
        404
    );
    assert_eq!(call(&t, "PUT", &target, Some("{}")).await.status, 400);
    assert_eq!(call(&t, "PUT", &target, Some(body)).await.status, 200);
    let listed = call(&t, "GET", "/credentials", None).await;
    assert_eq!(listed.status, 200);
    assert!(!listed.body.contains("cpe-password-123"), "{}", listed.body);
    assert_eq!(
        listed.json(),
        serde_json::json!([{"_id": id.as_str(), "state": "explicit", "username": "cpe-user"}])
    );
    assert_eq!(call(&t, "DELETE", &target, None).await.status, 200);
    assert_eq!(
        call(&t, "GET", "/credentials", None).await.json(),
        serde_json::json!([])
    );
}

#[tokio::test]
async fn an_imported_device_without_credentials_is_listed_adopting() {
    let t = harness::start().await;
    // The captured device: GenieACS never read its ManagementServer.Password; its
    // ConnectionRequestURL is on 127.0.0.1 and its WAN address 172.3.89.139.
    let doc = harness::genieacs_device();
    let (meta, tree) = nbi::import::device(&doc).expect("importable");
    let creds = nbi::import::credentials(&meta, &tree, t.acs.now_ms()).expect("an adoption");
    let id = meta.id.clone();
    let mut ops: Vec<acs::store::Op> = nbi::import::store_ops(meta.clone(), &tree).into();
    ops.push(creds);
    t.acs.write(ops).await.unwrap();
    t.acs.count_adoptions().await.unwrap();
    assert_eq!(t.acs.metrics.adopting.get(), 1);
    let listed = call(&t, "GET", "/credentials", None).await.json();
    let entry = &listed[0];
    assert_eq!(entry["_id"], id.as_str());
    assert_eq!(entry["state"], "adopting");
    assert_eq!(entry["reason"], "imported");
    assert_eq!(
        entry["bound"],
        serde_json::json!(["127.0.0.1", "172.3.89.139"])
    );
    assert_eq!(
        entry["connectionRequestUrl"],
        meta.connection_request_url.as_str()
    );
    assert!(
        entry["expires"].is_string() && entry["since"].is_string(),
        "{listed}"
    );
}
