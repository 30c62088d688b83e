//! Operational routes: health, Prometheus metrics, the live event stream, technician tokens,
//! the OpenAPI document and the technicians' page.

use super::{caller, error, staff};
use crate::app::Hub;
use crate::auth::{Caller, TechClaims};
use crate::events::{TopicFilter, sse_stream};
use axum::Json;
use axum::Router;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

pub(super) fn routes() -> Router<Arc<Hub>> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/events", get(events))
        .route("/tech/tokens", post(tech_token))
        .route("/openapi.json", get(openapi))
        .route("/j/diagnostic", get(page))
}

async fn healthz(State(hub): State<Arc<Hub>>) -> Response {
    // Healthy when the store answers; the components' own states are in /metrics.
    match hub.acs.store().count() {
        Ok(n) => Json(serde_json::json!({ "status": "ok", "devices": n })).into_response(),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e),
    }
}

#[derive(Debug, Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

async fn metrics(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(q): Query<TokenQuery>,
) -> Response {
    if let Err(r) = staff(&hub, &headers, q.token.as_deref(), Some(peer)) {
        return r;
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        render_metrics(&hub),
    )
        .into_response()
}

/// Every component's counters and gauges in the Prometheus text format.
pub(crate) fn render_metrics(hub: &Hub) -> String {
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, f64)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, v) in samples {
            let _ = writeln!(out, "{name}{labels} {v}");
        }
    };
    for (name, v) in hub.acs.metrics.snapshot() {
        // The ACS names its counters in full (`fibreplane_acs_…_total`).
        metric(
            name,
            "counter",
            "ACS counter.",
            &[(String::new(), v as f64)],
        );
    }
    metric(
        "fibreplane_acs_live_sessions",
        "gauge",
        "CWMP sessions in progress.",
        &[(String::new(), hub.acs.live_sessions() as f64)],
    );
    metric(
        "fibreplane_acs_devices",
        "gauge",
        "Devices in the store.",
        &[(String::new(), hub.acs.store().count().unwrap_or(0) as f64)],
    );
    let m = &hub.metrics;
    for (name, help, v) in [
        ("hub_requests_total", "Hub API requests.", &m.requests),
        (
            "hub_refused_total",
            "Hub API requests refused (401/403).",
            &m.refused,
        ),
        ("hub_diagnostics_total", "Diagnostics run.", &m.diagnostics),
        (
            "hub_diagnostics_failed_total",
            "Diagnostics that failed.",
            &m.diagnostics_failed,
        ),
        (
            "hub_summaries_total",
            "Device summaries served.",
            &m.summaries,
        ),
        (
            "bridge_reads_total",
            "Reads through the modem bridge.",
            &m.bridge_reads,
        ),
        (
            "bridge_failures_total",
            "Modem bridge reads that failed.",
            &m.bridge_failures,
        ),
    ] {
        metric(
            &format!("fibreplane_{name}"),
            "counter",
            help,
            &[(String::new(), v.load(Ordering::Relaxed) as f64)],
        );
    }
    let e = &hub.bus.stats;
    let bridge = match &hub.modem {
        Some(crate::app::ModemAccess::InProcess { state, .. }) => Some(state.bridge()),
        _ => None,
    };
    let web_sessions = bridge.map(|b| {
        let s = b.session_stats();
        [
            (
                "bridge_sessions_left_open_total",
                "Modem reads that ended with the modem's one web session still open (browser lost, budget spent).",
                &s.left_open,
            ),
            (
                "bridge_sessions_taken_over_total",
                "Logins that took over a web session an earlier read of the bridge had left open.",
                &s.taken_over,
            ),
        ]
    });
    for (name, help, v) in [
        (
            "events_published_total",
            "Events published on the hub bus.",
            &e.published,
        ),
        (
            "events_lagged_total",
            "Events slow subscribers missed.",
            &e.lagged,
        ),
        (
            "mqtt_sent_total",
            "Events sent to the MQTT broker.",
            &e.mqtt_sent,
        ),
        (
            "mqtt_dropped_total",
            "Events not sent to MQTT (broker away or queue full).",
            &e.mqtt_dropped,
        ),
        (
            "mqtt_connects_total",
            "Connections to the MQTT broker.",
            &e.mqtt_connects,
        ),
        (
            "mqtt_disconnects_total",
            "Connections to the MQTT broker lost.",
            &e.mqtt_disconnects,
        ),
    ]
    .into_iter()
    .chain(web_sessions.into_iter().flatten())
    {
        metric(
            &format!("fibreplane_{name}"),
            "counter",
            help,
            &[(String::new(), v.load(Ordering::Relaxed) as f64)],
        );
    }
    metric(
        "fibreplane_mqtt_connected",
        "gauge",
        "Whether the hub is connected to the MQTT broker (0 also when none is configured).",
        &[(
            String::new(),
            e.mqtt_connected.load(Ordering::Relaxed) as f64,
        )],
    );
    if let Some(pool) = bridge.and_then(|b| b.chromium()) {
        metric(
            "fibreplane_bridge_browser_launches_total",
            "counter",
            "Chromium launches of the in-process modem bridge (a relaunch follows a lost browser).",
            &[(String::new(), pool.launches() as f64)],
        );
    }
    let views = hub.olt_views();
    let per_olt =
        |f: &dyn Fn(bool, Option<&olt_poller::OltSnapshot>) -> f64| -> Vec<(String, f64)> {
            views
                .iter()
                .map(|(id, up, s)| (format!("{{olt=\"{}\"}}", id.as_str()), f(*up, s.as_deref())))
                .collect()
        };
    metric(
        "fibreplane_olt_reachable",
        "gauge",
        "Whether the OLT answered its last poll.",
        &per_olt(&|up, _| f64::from(u8::from(up))),
    );
    metric(
        "fibreplane_olt_onus",
        "gauge",
        "ONUs in the last poll.",
        &per_olt(&|_, s| s.map_or(0.0, |s| s.onus.len() as f64)),
    );
    metric(
        "fibreplane_olt_onus_offline",
        "gauge",
        "Offline ONUs in the last poll.",
        &per_olt(&|_, s| {
            s.map_or(0.0, |s| {
                s.onus.iter().filter(|o| o.state.is_offline()).count() as f64
            })
        }),
    );
    metric(
        "fibreplane_olt_poll_requests",
        "gauge",
        "SNMP requests of the last poll.",
        &per_olt(&|_, s| s.map_or(0.0, |s| s.stats.requests as f64)),
    );
    metric(
        "fibreplane_olt_poll_timeouts",
        "gauge",
        "SNMP timeouts of the last poll.",
        &per_olt(&|_, s| s.map_or(0.0, |s| s.stats.timeouts as f64)),
    );
    metric(
        "fibreplane_olt_last_poll_timestamp_seconds",
        "gauge",
        "When the last poll finished.",
        &per_olt(&|_, s| s.map_or(0.0, |s| s.polled_at_ms as f64 / 1000.0)),
    );
    if let Some(i) = &hub.incidents {
        out.push_str(&i.metrics().to_prometheus());
    }
    if let Some(p) = &hub.provisioner {
        let s = p.summary();
        let phases: Vec<(String, f64)> = s["devices"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (format!("{{phase=\"{k}\"}}"), v.as_f64().unwrap_or(0.0)))
                    .collect()
            })
            .unwrap_or_default();
        let one = |v: &serde_json::Value| vec![(String::new(), v.as_f64().unwrap_or(0.0))];
        let _ = writeln!(
            out,
            "# HELP fibreplane_provisioning_devices Devices per provisioning phase.\n# TYPE fibreplane_provisioning_devices gauge"
        );
        for (labels, v) in phases {
            let _ = writeln!(out, "fibreplane_provisioning_devices{labels} {v}");
        }
        for (name, help, kind, v) in [
            (
                "fibreplane_provisioning_records",
                "ERPNext records mirrored.",
                "gauge",
                one(&s["records"]),
            ),
            (
                "fibreplane_provisioning_outbox",
                "Outcomes waiting for ERPNext to accept them.",
                "gauge",
                one(&s["outbox"]),
            ),
            (
                "fibreplane_provisioning_erp_up",
                "Whether the last ERPNext request succeeded.",
                "gauge",
                vec![(String::new(), f64::from(u8::from(s["erp_ok"] == true)))],
            ),
            (
                "fibreplane_provisioning_erp_requests_total",
                "Requests sent to ERPNext.",
                "counter",
                one(&s["erp_requests"]),
            ),
            (
                "fibreplane_provisioning_erp_failures_total",
                "Requests to ERPNext that failed (each retry counts).",
                "counter",
                one(&s["erp_failures"]),
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, x) in v {
                let _ = writeln!(out, "{name}{labels} {x}");
            }
        }
    }
    out
}

#[derive(Debug, Deserialize)]
struct EventsQuery {
    topics: Option<String>,
    token: Option<String>,
}

/// `GET /events?topics=network,outages,device:<id>` as Server-Sent Events. Staff see every
/// topic; a technician only the `device:<id>` topics of the job's devices.
async fn events(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(q): Query<EventsQuery>,
) -> Response {
    let who = match caller(&hub, &headers, q.token.as_deref(), Some(peer)) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let filter = TopicFilter::parse(q.topics.as_deref());
    if let Caller::Technician(_) = &who {
        let devices: Vec<&str> = filter.devices().collect();
        let only_devices = !devices.is_empty()
            && q.topics
                .as_deref()
                .is_some_and(|t| t.split(',').all(|x| x.trim().starts_with("device:")));
        if !only_devices {
            return error(
                StatusCode::FORBIDDEN,
                "technicians subscribe to their devices' topics only",
            );
        }
        for d in devices {
            if let Err(r) = super::in_scope(&hub, &who, d) {
                return r;
            }
        }
    }
    let stream = sse_stream(hub.bus.clone(), filter);
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

#[derive(Debug, Deserialize)]
struct TechTokenRequest {
    technician: String,
    job: String,
    location: String,
    /// Lifetime in seconds (at most 24 h; default 24 h).
    ttl_secs: Option<i64>,
}

/// `POST /tech/tokens` (staff): a technician token for one job's service location.
async fn tech_token(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: axum::body::Bytes,
) -> Response {
    if let Err(r) = staff(&hub, &headers, None, Some(peer)) {
        return r;
    }
    let Some(key) = hub.auth.tech_key.as_ref() else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "technician tokens are not configured",
        );
    };
    let req: TechTokenRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let now = hub.acs.now_ms() / 1000;
    let ttl = req.ttl_secs.unwrap_or(crate::auth::TECH_TOKEN_MAX_SECS);
    if !(1..=crate::auth::TECH_TOKEN_MAX_SECS).contains(&ttl) || req.location.trim().is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "ttl_secs must be 1..=86400 and location set",
        );
    }
    let claims = TechClaims {
        sub: req.technician,
        job: req.job,
        loc: req.location,
        iat: now,
        exp: now + ttl,
    };
    match crate::auth::issue_tech(key.expose().as_bytes(), &claims) {
        Ok(t) => Json(serde_json::json!({ "token": t, "expires": claims.exp })).into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, e),
    }
}

async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
        .into_response()
}

/// The technicians' on-site page: static, it calls the API with the token it is given.
async fn page() -> Html<&'static str> {
    Html(include_str!("../../assets/diagnostic.html"))
}
