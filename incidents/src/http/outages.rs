//! `GET /outages` and `GET /outages/{id}`: open and recently resolved incidents as JSON.
//!
//! This router does no authentication of its own: the hub mounts it behind its staff
//! authentication. Never expose it on its own.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::correlate::{IncidentId, IncidentState};
use crate::service::IncidentService;

/// The outages router (unauthenticated by itself: wrap it in the hub's staff authentication).
///
/// `GET /outages[?state=open|resolved]` → `{"incidents": [...]}`, open ones first (newest
/// first), then recently resolved ones; `GET /outages/{id}` → the incident, 404 when unknown.
pub fn outages_router(service: IncidentService) -> Router {
    Router::new()
        .route("/outages", get(list))
        .route("/outages/{id}", get(one))
        .with_state(service)
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    state: Option<String>,
}

async fn list(State(s): State<IncidentService>, Query(q): Query<ListQuery>) -> Response {
    let state = match q.state.as_deref() {
        None | Some("" | "all") => None,
        Some("open") => Some(IncidentState::Open),
        Some("resolved") => Some(IncidentState::Resolved),
        Some(_) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": "state must be open or resolved"})),
            )
                .into_response();
        }
    };
    Json(json!({ "incidents": s.incidents(state) })).into_response()
}

async fn one(State(s): State<IncidentService>, Path(id): Path<String>) -> Response {
    let incident = id.parse().ok().and_then(|id| s.incident(IncidentId(id)));
    match incident {
        Some(i) => Json(i).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such incident"})),
        )
            .into_response(),
    }
}
