//! Network routes: the topology for the ops page, the OLT poller's views, and the modem bridge.

use super::{error, staff};
use crate::app::{Hub, ModemAccess};
use crate::topology::{self, CpeInfo, OltView, Scope};
use acs::store::Index;
use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use tower::ServiceExt as _;

pub(super) fn routes() -> Router<Arc<Hub>> {
    Router::new()
        .route("/network/topology", get(topology))
        .route("/olt", get(olts))
        .route("/olt/{id}", get(olt))
        .route("/modem/{id}/{section}", get(modem))
}

#[derive(Debug, Deserialize)]
struct TopologyQuery {
    olt: Option<String>,
    port: Option<String>,
    token: Option<String>,
}

async fn topology(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(q): Query<TopologyQuery>,
) -> Response {
    if let Err(r) = staff(&hub, &headers, q.token.as_deref(), Some(peer)) {
        return r;
    }
    let views = hub.olt_views();
    let olts: Vec<OltView<'_>> = views
        .iter()
        .map(|(id, up, snap)| OltView {
            id: id.as_str(),
            reachable: *up,
            snapshot: snap.as_deref(),
        })
        .collect();
    // The CPE behind each ONU, looked up before drawing (the drawing itself is pure code).
    let mut cpes: HashMap<String, CpeInfo> = HashMap::new();
    let serials: Vec<String> = olts
        .iter()
        .filter_map(|o| o.snapshot)
        .flat_map(|s| s.onus.iter().filter_map(|o| o.serial.clone()))
        .collect();
    for serial in serials {
        if let Some(cpe) = cpe_info(&hub, &serial).await {
            cpes.insert(serial, cpe);
        }
    }
    let cpe_of = |serial: &str| cpes.get(serial).cloned();
    let scope = Scope {
        olt: q.olt.as_deref(),
        port: q.port.as_deref(),
    };
    Json(topology::elements(&olts, scope, &cpe_of)).into_response()
}

#[derive(Debug, Deserialize)]
struct TokenQuery {
    token: Option<String>,
    port: Option<String>,
}

async fn olts(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(q): Query<TokenQuery>,
) -> Response {
    if let Err(r) = staff(&hub, &headers, q.token.as_deref(), Some(peer)) {
        return r;
    }
    let list: Vec<_> = hub
        .olt_views()
        .into_iter()
        .map(|(id, up, snap)| {
            json!({
                "id": id.as_str(),
                "reachable": up,
                "vendor": snap.as_ref().map(|s| s.vendor.clone()),
                "ports": snap.as_ref().map_or(0, |s| s.ports.len()),
                "onus": snap.as_ref().map_or(0, |s| s.onus.len()),
                "offline": snap.as_ref().map_or(0, |s| s.onus.iter().filter(|o| o.state.is_offline()).count()),
                "polled_at_ms": snap.as_ref().map(|s| s.polled_at_ms),
            })
        })
        .collect();
    Json(json!({ "olts": list })).into_response()
}

/// One OLT's latest poll: its ports and ONUs (`?port=f/s/p` narrows to one port).
async fn olt(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    Query(q): Query<TokenQuery>,
) -> Response {
    if let Err(r) = staff(&hub, &headers, q.token.as_deref(), Some(peer)) {
        return r;
    }
    let Some((oid, up, snap)) = hub
        .olt_views()
        .into_iter()
        .find(|(o, _, _)| o.as_str() == id)
    else {
        return error(StatusCode::NOT_FOUND, "unknown OLT");
    };
    let Some(snap) = snap else {
        return Json(json!({ "id": oid.as_str(), "reachable": up, "snapshot": null }))
            .into_response();
    };
    let mut snap = (*snap).clone();
    if let Some(p) = &q.port {
        snap.onus
            .retain(|o| o.port.to_string() == *p || o.port_name.as_deref() == Some(p));
        snap.ports
            .retain(|i| i.port.to_string() == *p || i.name.as_deref() == Some(p));
    }
    Json(json!({ "id": oid.as_str(), "reachable": up, "snapshot": snap })).into_response()
}

/// `GET /modem/{id}/{section}` (`diagnostics` for everything): a read through the modem bridge,
/// in process or remote, passed through with its status.
async fn modem(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((id, section)): Path<(String, String)>,
    Query(q): Query<TokenQuery>,
) -> Response {
    if let Err(r) = staff(&hub, &headers, q.token.as_deref(), Some(peer)) {
        return r;
    }
    match bridge_get(&hub, &format!("/modem/{id}/{section}")).await {
        Ok((status, body)) => {
            (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        Err(r) => r,
    }
}

/// GETs `path` from the modem bridge; the status and body come back as the bridge sent them.
pub(crate) async fn bridge_get(hub: &Hub, path: &str) -> Result<(StatusCode, Vec<u8>), Response> {
    hub.metrics.bridge_reads.inc();
    let out = match &hub.modem {
        None => {
            return Err(error(
                StatusCode::SERVICE_UNAVAILABLE,
                "no modem bridge configured",
            ));
        }
        Some(ModemAccess::InProcess { router, token, .. }) => {
            let req = Request::get(path)
                .header(header::AUTHORIZATION, format!("Bearer {}", token.expose()))
                .body(Body::empty())
                .map_err(|e| error(StatusCode::BAD_REQUEST, e))?;
            let resp = router
                .clone()
                .oneshot(req)
                .await
                .map_err(|e| error(StatusCode::BAD_GATEWAY, e))?;
            let status = resp.status();
            let body = axum::body::to_bytes(resp.into_body(), 4 << 20)
                .await
                .map_err(|e| error(StatusCode::BAD_GATEWAY, e))?;
            (status, body.to_vec())
        }
        Some(ModemAccess::Remote { url, token, client }) => remote_get(client, url, token, path)
            .await
            .map_err(|e| error(StatusCode::BAD_GATEWAY, format!("modem bridge: {e}")))?,
    };
    if !out.0.is_success() {
        hub.metrics.bridge_failures.inc();
    }
    Ok(out)
}

/// GETs `path` from a remote bridge (`http://` or `https://`, its certificate verified as the
/// client was built to), within the bridge's read timeout and a 4 MiB body. Errors say what
/// failed — a TLS failure plainly — without the URL.
async fn remote_get(
    client: &acs::client_tls::HttpsClient,
    base: &str,
    token: &acs::Secret,
    path: &str,
) -> Result<(StatusCode, Vec<u8>), String> {
    use http_body_util::BodyExt as _;
    let mut bearer = header::HeaderValue::from_str(&format!("Bearer {}", token.expose()))
        .map_err(|_| "the bridge token is not a header value".to_owned())?;
    bearer.set_sensitive(true);
    let req = Request::get(format!("{}{path}", base.trim_end_matches('/')))
        .header(header::AUTHORIZATION, bearer)
        .body(acs::client_tls::HttpsBody::default())
        .map_err(|e| format!("bad request: {e}"))?;
    let exchange = async {
        let resp = client.request(req).await.map_err(|e| {
            acs::client_tls::tls_failure(&e).map_or_else(
                || {
                    if e.is_connect() {
                        "connection failed".to_owned()
                    } else {
                        "request failed".to_owned()
                    }
                },
                |tls| format!("TLS: {tls}"),
            )
        })?;
        let status = resp.status();
        let body = http_body_util::Limited::new(resp.into_body(), 4 << 20)
            .collect()
            .await
            .map_err(|_| "the answer was cut short or larger than 4 MiB".to_owned())?;
        Ok::<_, String>((status, body.to_bytes().to_vec()))
    };
    tokio::time::timeout(REMOTE_BRIDGE_TIMEOUT, exchange)
        .await
        .map_err(|_| "timeout".to_owned())?
}

/// How long a remote bridge may take over one read (the bridge bounds its own reads below it).
const REMOTE_BRIDGE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The CPE an ONU serial names, if the ACS knows one. A failed store read is logged and the ONU
/// is drawn without its CPE.
async fn cpe_info(hub: &Hub, serial: &str) -> Option<CpeInfo> {
    let logged = |e: &dyn std::fmt::Display| {
        tracing::error!(%serial, error = %e, "store read failed; ONU drawn without its CPE");
    };
    let id = hub
        .acs
        .store()
        .scan_index(Index::Serial, serial)
        .await
        .inspect_err(|e| logged(e))
        .ok()?
        .into_iter()
        .next()?;
    let meta = hub
        .acs
        .device(&id)
        .await
        .inspect_err(|e| logged(e))
        .ok()??
        .value;
    Some(CpeInfo {
        online: hub.acs_online(meta.last_inform_ms),
        last_inform: acs::genie::date::iso(meta.last_inform_ms),
        customer: hub.directory.links(id.as_str()).customer,
        device: id.to_string(),
    })
}
