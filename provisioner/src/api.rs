//! The provisioning API (axum), for the hub to compose: `GET /provisioning/{device}` (state,
//! last outcome, audit), `GET /provisioning/quarantine`, `POST /provisioning/{device}/retry`.
//! Every route needs the bearer token, compared in constant time: the answers name customers'
//! equipment, and retry changes state.

use crate::driver::Provisioner;
use acs::Secret;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use std::sync::Arc;

#[derive(Clone)]
struct Api {
    prov: Arc<Provisioner>,
    token: Arc<Secret>,
}

/// The API's routes; `token` must be presented as `Authorization: Bearer <token>`.
pub fn router(prov: Arc<Provisioner>, token: Secret) -> Router {
    Router::new()
        .route("/provisioning/quarantine", get(quarantine))
        .route("/provisioning/{device}", get(device))
        .route("/provisioning/{device}/retry", post(retry))
        .with_state(Api {
            prov,
            token: Arc::new(token),
        })
}

fn authorized(api: &Api, headers: &HeaderMap) -> bool {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        });
    match presented {
        // An empty token (a configuration mistake) matches nobody.
        Some(p) => api.token.matches(p.as_bytes()),
        None => false,
    }
}

fn refuse() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        axum::Json(json!({"error": "a bearer token is required"})),
    )
        .into_response()
}

async fn device(
    State(api): State<Api>,
    Path(device): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&api, &headers) {
        return refuse();
    }
    match api.prov.state(&device) {
        Some(s) => axum::Json(s).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": "the provisioner has not seen this device"})),
        )
            .into_response(),
    }
}

async fn quarantine(State(api): State<Api>, headers: HeaderMap) -> Response {
    if !authorized(&api, &headers) {
        return refuse();
    }
    axum::Json(api.prov.quarantine()).into_response()
}

async fn retry(State(api): State<Api>, Path(device): Path<String>, headers: HeaderMap) -> Response {
    if !authorized(&api, &headers) {
        return refuse();
    }
    if api.prov.retry(&device).await {
        let state = api.prov.state(&device);
        (
            StatusCode::ACCEPTED,
            axum::Json(json!({"device": device, "state": state})),
        )
            .into_response()
    } else {
        (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": "the provisioner has not seen this device"})),
        )
            .into_response()
    }
}
