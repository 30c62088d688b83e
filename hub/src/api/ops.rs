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
use std::net::SocketAddr;
use std::sync::Arc;
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
    match hub.acs.store().count().await {
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
    match crate::metrics::render(&hub).await {
        Ok(text) => ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
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
