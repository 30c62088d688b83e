//! The service API: bearer token, allow-list, per-section routes, read-only.

use std::sync::Arc;
use std::time::Duration;

use fibreplane_lab::xx230v::SimCipher;
use modem_bridge::service::{AllowList, ApiState, serve};
use modem_bridge::{Bridge, Secret};
use serde_json::Value;

use crate::common::{PASSWORD, sim};

const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn api_requires_the_token_and_only_reads_allow_listed_modems() {
    let s = sim(SimCipher::Cbc).await;
    // The password comes from a file (edition 2024 makes `set_var` unsafe, which the workspace
    // forbids; operators can use either).
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
    let allow = AllowList::from_json(&format!(
        r#"{{"modems":[{{"id":"lab-1","address":"{}","password_file":{}}}]}}"#,
        s.addr,
        serde_json::to_string(&pw).unwrap()
    ))
    .unwrap();
    let bridge = Bridge::new(Duration::from_secs(10), None).unwrap();
    let state = Arc::new(ApiState::new(bridge, &allow, vec![Secret::new(TOKEN)]).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, state, async {
        let _ = rx.await;
    }));
    let http = reqwest::Client::new();
    let get = |path: &str, token: Option<&str>| {
        let mut r = http.get(format!("http://{api}{path}"));
        if let Some(t) = token {
            r = r.header("Authorization", format!("Bearer {t}"));
        }
        r.send()
    };
    assert_eq!(
        get("/modem/lab-1/diagnostics", None)
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        get("/modem/lab-1/diagnostics", Some(&TOKEN[1..]))
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        get(&format!("/modem/lab-1/diagnostics?token={TOKEN}"), None)
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        get("/modem/lab-2/diagnostics", Some(TOKEN))
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        get("/modem/127.0.0.1:80/diagnostics", Some(TOKEN))
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        get("/modem/lab-1/bogus", Some(TOKEN))
            .await
            .unwrap()
            .status(),
        404
    );
    let full: Value = get("/modem/lab-1/diagnostics", Some(TOKEN))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(full["path"], "native");
    assert_eq!(
        full["diagnostics"]["DeviceInfo"]["SerialNumber"],
        "22275A7000395"
    );
    assert_eq!(
        full["diagnostics"]["Optical"]["OpticalSignalLevelDbm"],
        -2.5
    );
    let optics: Value = get("/modem/lab-1/optics", Some(TOKEN))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .parse()
        .unwrap();
    assert!(optics["diagnostics"]["DeviceInfo"].is_null());
    assert_eq!(optics["diagnostics"]["Optical"]["Status"], "Up");
    let post = http
        .post(format!("http://{api}/modem/lab-1/diagnostics"))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 405, "read-only");
    let _ = tx.send(());
    server.await.unwrap().unwrap();
    s.stop().await;
}

#[test]
fn short_tokens_and_missing_passwords_are_refused_at_start() {
    let allow = AllowList::from_json(r#"{"modems":[{"id":"m","address":"127.0.0.1:1","password_env":"FIBREPLANE_TEST_UNSET_VAR"}]}"#).unwrap();
    let b = || Bridge::new(Duration::from_secs(1), None).unwrap();
    assert!(ApiState::new(b(), &allow, vec![Secret::new("short")]).is_err());
    assert!(ApiState::new(b(), &allow, vec![Secret::new(TOKEN)]).is_err());
    assert!(
        AllowList::from_json(
            r#"{"modems":[{"id":"a/b","address":"127.0.0.1:1","password_env":"X"}]}"#
        )
        .is_err()
    );
    assert!(
        AllowList::from_json(r#"{"modems":[{"id":"a","url":"http://x/","password_env":"X"}]}"#)
            .is_err()
    );
    let neither =
        AllowList::from_json(r#"{"modems":[{"id":"m","address":"127.0.0.1:1"}]}"#).unwrap();
    assert!(ApiState::new(b(), &neither, vec![Secret::new(TOKEN)]).is_err());
}

#[tokio::test]
async fn a_configured_default_path_applies_to_reads_that_name_none() {
    let s = sim(SimCipher::Cbc).await;
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, PASSWORD).unwrap();
    let allow = AllowList::from_json(&format!(
        r#"{{"modems":[{{"id":"lab-1","address":"{}","password_file":{}}}]}}"#,
        s.addr,
        serde_json::to_string(&pw).unwrap()
    ))
    .unwrap();
    // No browser pool: a read forced onto the Chromium path fails with the configuration error,
    // which tells which path a read took without launching a browser.
    let bridge = Bridge::new(Duration::from_secs(10), None).unwrap();
    let state = ApiState::new(bridge, &allow, vec![Secret::new(TOKEN)])
        .unwrap()
        .with_default_path(modem_bridge::PathChoice::Chromium);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, Arc::new(state), async {
        let _ = rx.await;
    }));
    let http = reqwest::Client::new();
    let get = |path: String| {
        http.get(format!("http://{api}{path}"))
            .header("Authorization", format!("Bearer {TOKEN}"))
            .send()
    };
    let forced = get("/modem/lab-1/device".into()).await.unwrap();
    assert_eq!(forced.status(), 502);
    assert!(
        forced.text().await.unwrap().contains("Chromium path"),
        "the default path is the configured one"
    );
    let named: Value = get("/modem/lab-1/device?path=native".into())
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(named["path"], "native", "a request's own path wins");
    let _ = tx.send(());
    server.await.unwrap().unwrap();
    s.stop().await;
}
