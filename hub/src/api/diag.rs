//! A device's consolidated summary (ACS tree, refreshed through a connection request when stale;
//! OLT-side optics from the poller; the modem bridge when the ACS lacks a fact), the TR-069
//! diagnostics technicians run from the page (with progress on SSE), and the speed-test
//! endpoints those diagnostics download from and upload to.

use super::{caller, error, in_scope};
use crate::app::Hub;
use acs::diagnostics::{DiagError, DiagHost, DiagProgress, Diagnostic, TestUrl};
use acs::summary::Staleness;
use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Largest speed-test download served (and upload read), bytes.
pub(crate) const MAX_SPEEDTEST_BYTES: u64 = 1 << 30;
/// How long a summary waits for its refresh before answering with what it has.
const REFRESH_WAIT: Duration = Duration::from_secs(8);

pub(super) fn routes() -> Router<Arc<Hub>> {
    Router::new()
        .route("/devices/{id}/summary", get(summary))
        .route("/devices/{id}/diagnostics/{kind}", post(diagnostic))
        .route("/speedtest/download", get(speedtest_download))
        .route(
            "/speedtest/upload",
            post(speedtest_upload).put(speedtest_upload),
        )
}

#[derive(Debug, Deserialize)]
struct SummaryQuery {
    token: Option<String>,
    /// `auto` (refresh stale sections through a connection request) or `never`.
    refresh: Option<String>,
}

async fn summary(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    Query(q): Query<SummaryQuery>,
) -> Response {
    let who = match caller(&hub, &headers, q.token.as_deref(), Some(peer)) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Err(r) = in_scope(&hub, &who, &id) {
        return r;
    }
    let Ok(dev) = acs::DeviceId::parse(&id) else {
        return error(StatusCode::BAD_REQUEST, "not a device id");
    };
    hub.metrics.summaries.inc();
    let staleness = Staleness::default();
    let mut s = match hub.acs.device_summary(&dev, &staleness).await {
        Ok(Some(s)) => s,
        Ok(None) => return error(StatusCode::NOT_FOUND, "no such device"),
        Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, e),
    };
    let mut refresh = json!({ "asked": false });
    let wanted: Vec<String> = match q.refresh.as_deref() {
        Some("never") => Vec::new(),
        None | Some("auto") => s.refresh.clone(),
        Some(other) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("refresh must be auto or never, not {other:?}"),
            );
        }
    };
    if !wanted.is_empty() {
        refresh = refresh_paths(&hub, &dev, wanted).await;
        if refresh["done"] == true
            && let Ok(Some(again)) = hub.acs.device_summary(&dev, &staleness).await
        {
            s = again;
        }
    }
    let olt = hub
        .onu_by_serial(s.identity.serial_number.as_ref().map_or("", |f| f.value.as_str()))
        .map(|(olt, onu)| {
            json!({
                "olt": olt.as_str(), "port": onu.port.to_string(), "onu_id": onu.key.onu_id,
                "state": onu.state, "rx_dbm": onu.rx_dbm.map(|d| d.0), "tx_dbm": onu.tx_dbm.map(|d| d.0),
                "olt_rx_dbm": onu.olt_rx_dbm.map(|d| d.0),
            })
        });
    // The modem bridge fills what the ACS cannot tell (a section its tree lacks).
    let missing: Vec<_> = s
        .sections
        .iter()
        .filter(|x| {
            matches!(
                x.status,
                acs::summary::Status::Missing | acs::summary::Status::Unsupported
            )
        })
        .map(|x| x.section)
        .collect();
    let bridge = match (&hub.modem, &s.identity.serial_number) {
        (Some(_), Some(serial)) if !missing.is_empty() => {
            match super::network::bridge_get(&hub, &format!("/modem/{}/diagnostics", serial.value))
                .await
            {
                Ok((st, body)) if st.is_success() => serde_json::from_slice::<Value>(&body).ok(),
                _ => None,
            }
        }
        _ => None,
    };
    Json(json!({
        "summary": s,
        "olt": olt,
        "bridge": bridge,
        "refresh": refresh,
    }))
    .into_response()
}

/// Refreshes `paths` through tasks and a connection request, waiting a bounded time.
async fn refresh_paths(hub: &Hub, dev: &acs::DeviceId, paths: Vec<String>) -> Value {
    let mut ids = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for path in paths
        .into_iter()
        .filter(|p| seen.insert(p.clone()))
        .take(16)
    {
        match hub
            .acs
            .enqueue(dev, acs::TaskKind::RefreshObject { path })
            .await
        {
            Ok(t) => ids.push(t.id),
            Err(e) => return json!({ "asked": true, "done": false, "error": e.to_string() }),
        }
    }
    if let Err(e) = hub.acs.connection_request(dev).await {
        // The tasks stay queued: the device's next periodic session runs them.
        return json!({ "asked": true, "done": false, "error": e.to_string(), "queued": ids });
    }
    let deadline = tokio::time::Instant::now() + REFRESH_WAIT;
    for id in &ids {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match hub.acs.wait_task(*id, left).await {
            Ok(acs::TaskOutcome::Done(_)) => {}
            Ok(_) => {
                return json!({ "asked": true, "done": false, "error": "not finished in time", "queued": ids });
            }
            Err(e) => return json!({ "asked": true, "done": false, "error": e.to_string() }),
        }
    }
    json!({ "asked": true, "done": true })
}

/// What a diagnostic request may carry; anything missing takes the configured default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DiagRequest {
    host: Option<String>,
    count: Option<u32>,
    timeout_ms: Option<u32>,
    size: Option<u32>,
    max_hops: Option<u32>,
    url: Option<String>,
    duration_secs: Option<u64>,
    length: Option<u64>,
    /// Overall budget, seconds (default 120, at most 600).
    timeout_secs: Option<u64>,
}

fn build(hub: &Hub, kind: &str, r: &DiagRequest) -> Result<Diagnostic, Response> {
    let bad = |e: DiagError| error(StatusCode::BAD_REQUEST, e);
    let host = || {
        let h = r
            .host
            .clone()
            .or_else(|| hub.diag.ping_host.clone())
            .ok_or_else(|| {
                error(
                    StatusCode::BAD_REQUEST,
                    "host is required (no default configured)",
                )
            })?;
        DiagHost::parse(&h).map_err(bad)
    };
    let url = |path: &str| {
        let u = r
            .url
            .clone()
            .or_else(|| {
                hub.diag
                    .speedtest_url
                    .as_ref()
                    .map(|base| format!("{}{path}", base.trim_end_matches('/')))
            })
            .ok_or_else(|| {
                error(
                    StatusCode::BAD_REQUEST,
                    "url is required (no speed-test server configured)",
                )
            })?;
        TestUrl::parse(&u).map_err(bad)
    };
    Ok(match kind {
        "ping" => Diagnostic::Ping {
            host: host()?,
            count: r.count.unwrap_or(4),
            timeout_ms: r.timeout_ms.unwrap_or(1000),
            size: r.size.unwrap_or(64),
        },
        "traceroute" => Diagnostic::TraceRoute {
            host: host()?,
            max_hops: r.max_hops.unwrap_or(30),
            timeout_ms: r.timeout_ms.unwrap_or(1000),
        },
        "download" => Diagnostic::Download {
            url: url(&format!(
                "/speedtest/download?bytes={}",
                r.length.unwrap_or(10 << 20)
            ))?,
            duration: r.duration_secs.map(Duration::from_secs),
        },
        "upload" => Diagnostic::Upload {
            url: url("/speedtest/upload")?,
            length: r.length.unwrap_or(10 << 20),
        },
        _ => return Err(error(StatusCode::NOT_FOUND, "no such diagnostic")),
    })
}

fn status_of(e: &DiagError) -> StatusCode {
    match e {
        DiagError::UnknownDevice => StatusCode::NOT_FOUND,
        DiagError::InvalidInput(_) => StatusCode::BAD_REQUEST,
        DiagError::UnsupportedDataModel(_) | DiagError::NotSupported(_) => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        DiagError::ConnectionRequest(_) | DiagError::Timeout(_) | DiagError::Lost { .. } => {
            StatusCode::GATEWAY_TIMEOUT
        }
        _ => StatusCode::BAD_GATEWAY,
    }
}

/// `POST /devices/{id}/diagnostics/{ping|traceroute|download|upload}`: runs the test on the
/// CPE and answers with its results; progress goes to the device's event topic, and with
/// `Accept: text/event-stream` the answer itself is the progress stream ending in `result`.
async fn diagnostic(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((id, kind)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let who = match caller(&hub, &headers, None, Some(peer)) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Err(r) = in_scope(&hub, &who, &id) {
        return r;
    }
    let Ok(dev) = acs::DeviceId::parse(&id) else {
        return error(StatusCode::BAD_REQUEST, "not a device id");
    };
    let req: DiagRequest = if body.iter().all(u8::is_ascii_whitespace) {
        DiagRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => return error(StatusCode::BAD_REQUEST, e),
        }
    };
    let diag = match build(&hub, &kind, &req) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let budget = Duration::from_secs(req.timeout_secs.unwrap_or(120).clamp(1, 600));
    hub.metrics.diagnostics.inc();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<DiagProgress>(16);
    let topic = format!("device:{id}");
    let stream = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/event-stream"));
    let run_hub = Arc::clone(&hub);
    let run = tokio::spawn(async move {
        run_hub
            .acs
            .run_diagnostic(&dev, diag, budget, Some(tx))
            .await
    });
    let (out_tx, out_rx) = tokio::sync::mpsc::channel::<Event>(32);
    let bus_hub = Arc::clone(&hub);
    let kind_name = kind.clone();
    let relay = tokio::spawn(async move {
        while let Some(p) = rx.recv().await {
            let data = json!({ "diagnostic": kind_name, "step": p.step(), "detail": p });
            bus_hub
                .bus
                .publish(topic.clone(), "diagnostic_progress", data.clone());
            let _ = out_tx
                .send(Event::default().event("progress").data(data.to_string()))
                .await;
        }
        out_tx
    });
    let finish = move |result: Result<
        Result<acs::diagnostics::DiagResult, DiagError>,
        tokio::task::JoinError,
    >| {
        let (status, body) = match result {
            Ok(Ok(r)) => (StatusCode::OK, json!({ "ok": true, "result": r })),
            Ok(Err(DiagError::Failed(f))) => {
                hub.metrics.diagnostics_failed.inc();
                (StatusCode::OK, json!({ "ok": false, "failure": f }))
            }
            Ok(Err(e)) => {
                hub.metrics.diagnostics_failed.inc();
                (
                    status_of(&e),
                    json!({ "ok": false, "error": e.to_string() }),
                )
            }
            Err(e) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({ "ok": false, "error": e.to_string() }),
            ),
        };
        (status, body)
    };
    if !stream {
        let result = run.await;
        let _ = relay.await;
        let (status, body) = finish(result);
        return (status, Json(body)).into_response();
    }
    tokio::spawn(async move {
        let result = run.await;
        if let Ok(out_tx) = relay.await {
            let (status, body) = finish(result);
            let body = json!({ "status": status.as_u16(), "body": body });
            let _ = out_tx
                .send(Event::default().event("result").data(body.to_string()))
                .await;
        }
    });
    let events = futures_util::stream::unfold(out_rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|e| (Ok::<_, std::convert::Infallible>(e), rx))
    });
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(10)))
        .into_response()
}

#[derive(Debug, Deserialize)]
struct SpeedQuery {
    bytes: Option<u64>,
}

/// `GET /speedtest/download?bytes=N`: N bytes (at most 1 GiB) for TR-143 download tests. Open:
/// CPEs fetch it without credentials, and it changes nothing.
async fn speedtest_download(Query(q): Query<SpeedQuery>) -> Response {
    let n = q.bytes.unwrap_or(10 << 20).min(MAX_SPEEDTEST_BYTES);
    const CHUNK: usize = 64 * 1024;
    let chunk = bytes::Bytes::from(vec![0x5a; CHUNK]);
    let stream = futures_util::stream::unfold(n, move |left| {
        let chunk = chunk.clone();
        async move {
            (left > 0).then(|| {
                let take = left.min(CHUNK as u64) as usize;
                (
                    Ok::<_, std::convert::Infallible>(chunk.slice(..take)),
                    left - take as u64,
                )
            })
        }
    });
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_LENGTH, n.to_string()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

/// `POST|PUT /speedtest/upload`: reads and discards up to 1 GiB for TR-143 upload tests.
async fn speedtest_upload(body: Body) -> Response {
    use futures_util::StreamExt as _;
    let mut stream = body.into_data_stream();
    let mut n: u64 = 0;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(c) => {
                n += c.len() as u64;
                if n > MAX_SPEEDTEST_BYTES {
                    return error(StatusCode::PAYLOAD_TOO_LARGE, "upload larger than 1 GiB");
                }
            }
            Err(e) => return error(StatusCode::BAD_REQUEST, e),
        }
    }
    Json(json!({ "received": n })).into_response()
}
