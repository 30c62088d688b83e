//! Security checks: every route of every surface (hub API, NBI, file server, modem bridge, CWMP,
//! a CPE's connection-request URL) called with every credential of its surface, each status
//! compared with the table in `table.rs`; the table's coverage of `openapi.json` and
//! `nbi::ROUTES`; and SECURITY.md showing the same table.

mod call;
mod doc;
mod table;

use crate::harness::{self, Options, TOKEN};
use std::time::Duration;

fn security_md_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../SECURITY.md")
}

#[test]
fn the_table_covers_every_documented_hub_route_and_every_nbi_route() {
    let rows = table::rows();
    let spec: serde_json::Value =
        serde_json::from_str(include_str!("../../../src/api/openapi.json")).unwrap();
    let mut gaps = doc::openapi_gaps(&rows, &spec);
    gaps.extend(doc::nbi_gaps(&rows));
    for surface in table::Surface::ALL {
        if !rows.iter().any(|r| r.surface == surface) {
            gaps.push(format!("{surface:?} has no rows"));
        }
    }
    assert!(
        gaps.is_empty(),
        "the table and the routes differ:\n{}",
        gaps.join("\n")
    );
}

/// SECURITY.md carries the table as rendered from `table.rs`; `UPDATE_EXPECT=1` rewrites it.
#[test]
fn security_md_shows_the_tested_table() {
    let path = security_md_path();
    let text = std::fs::read_to_string(&path).expect("SECURITY.md at the repository root");
    let rendered = doc::render(&table::rows());
    let part = doc::generated_part(&text).expect("SECURITY.md has the table's markers");
    if text[part.clone()] == rendered {
        return;
    }
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        let mut updated = text.clone();
        updated.replace_range(part, &rendered);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    panic!(
        "SECURITY.md's table differs from the tested one; run with UPDATE_EXPECT=1 to rewrite it.\n\
         Expected:\n{rendered}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_gives_every_credential_the_status_the_table_says() {
    let t = harness::start(Options {
        devices: 2,
        modems: 1,
        nbi: true,
        trusted_proxy_addr: Some("127.0.0.2".parse().unwrap()),
        locations: vec![(0, "LOC-00001"), (1, "LOC-00002")],
        ..Options::default()
    })
    .await;
    t.polled().await;
    // The provisioner has seen device 1 (its routes answer 404 until then).
    let seen = format!("/provisioning/{}", harness::device(1));
    let mut status = 0;
    for _ in 0..200 {
        status = t.get(&seen, Some(TOKEN)).await.0;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, 200, "the provisioner never saw device 1");
    let (bridge, bridge_token, stop_bridge) = start_bridge(&t).await;
    let field = |name: &str| {
        t.fleet
            .param(
                0,
                &format!("Device.ManagementServer.ConnectionRequest{name}"),
            )
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| panic!("the ACS set CPE 0's connection-request {name}"))
    };
    let ctx = call::Ctx {
        t: &t,
        trusted: reqwest::Client::builder()
            .local_address(Some("127.0.0.2".parse().unwrap()))
            .build()
            .unwrap(),
        bridge,
        bridge_token,
        cr_user: field("Username"),
        cr_pass: field("Password"),
        tech: call::TechTokens::new(),
    };
    let rows = table::rows();
    let mut mismatches = Vec::new();
    let mut cells = 0;
    for row in &rows {
        for (cred, want) in row.expected() {
            cells += 1;
            let got = ctx.send(row, cred).await;
            if got != Ok(want) {
                mismatches.push(format!(
                    "{:?} {} {} [{}]: want {want}, got {got:?}",
                    row.surface,
                    row.method,
                    row.route,
                    cred.label()
                ));
            }
        }
    }
    let _ = stop_bridge.send(());
    t.stop().await;
    assert!(
        mismatches.is_empty(),
        "{} of {cells} cells differ from the table:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

/// The modem bridge's service API on its own listener, with the lab modem in its allow-list.
async fn start_bridge(
    t: &harness::TestStack,
) -> (
    std::net::SocketAddr,
    String,
    tokio::sync::oneshot::Sender<()>,
) {
    let token = "bridge-token-bridge-token-bridge-token".to_owned();
    let allow = modem_bridge::service::AllowList {
        modems: t.config.modem.modems.clone(),
    };
    let bridge = modem_bridge::Bridge::new(Duration::from_secs(20), None).unwrap();
    let state = modem_bridge::service::ApiState::new(
        bridge,
        &allow,
        vec![modem_bridge::Secret::new(&token)],
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(modem_bridge::service::serve(
        listener,
        std::sync::Arc::new(state),
        async {
            let _ = rx.await;
        },
    ));
    (addr, token, tx)
}
