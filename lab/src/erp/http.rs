//! erp-sim's HTTP layer (axum): Frappe's `/api/resource` routes (also under `/api/v1`), token
//! authentication compared in constant time, Frappe-shaped errors, and the lab control routes
//! (`POST /lab/down`, `POST /lab/up`, `GET /lab/stats`, token required).

use super::ErpSim;
use super::query::{self, Doc};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::{Value as Json, json};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

/// The erp-sim application.
pub fn router(sim: Arc<ErpSim>) -> Router {
    let api = Router::new()
        .route("/resource/{doctype}", get(list).post(create))
        .route("/resource/{doctype}/{name}", get(read).put(update));
    Router::new()
        .nest("/api", api.clone())
        .nest("/api/v1", api)
        .route("/lab/down", post(down))
        .route("/lab/up", post(up))
        .route("/lab/stats", get(stats))
        .with_state(sim)
}

/// Serves erp-sim on a pre-bound listener until `shutdown` completes: a `TcpListener` for HTTP,
/// a [`crate::tls::TlsListener`] for HTTPS.
pub async fn serve<L>(
    listener: L,
    sim: Arc<ErpSim>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    axum::serve(listener, router(sim))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Frappe's error body: `exc_type`, `exception` and `_server_messages` (a JSON list of JSON
/// strings).
fn frappe_error(status: StatusCode, exc_type: &str, message: &str) -> Response {
    let msg =
        json!({"message": message, "title": "Message", "indicator": "red", "raise_exception": 1});
    let server_messages = json!([msg.to_string()]).to_string();
    let body = json!({
        "exc_type": exc_type,
        "exception": format!("frappe.exceptions.{exc_type}: {message}"),
        "_server_messages": server_messages,
    });
    (status, axum::Json(body)).into_response()
}

fn not_found(doctype: &str, name: &str) -> Response {
    frappe_error(
        StatusCode::NOT_FOUND,
        "DoesNotExistError",
        &format!("{doctype} {name} not found"),
    )
}

/// `Authorization: token key:secret` (or Basic with key and secret). No header is a guest,
/// whom Frappe refuses with `PermissionError`; a wrong key or secret is `AuthenticationError`.
/// `Some(refusal)` when the call must not go on.
fn check(sim: &ErpSim, headers: &HeaderMap) -> Option<Response> {
    sim.count_request();
    if sim.is_down() {
        return Some(
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "503 Service Temporarily Unavailable\n",
            )
                .into_response(),
        );
    }
    authorize(sim, headers)
}

fn authorize(sim: &ErpSim, headers: &HeaderMap) -> Option<Response> {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Some(frappe_error(
            StatusCode::FORBIDDEN,
            "PermissionError",
            "Not permitted",
        ));
    };
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value, ""));
    let presented = if scheme.eq_ignore_ascii_case("token") {
        rest.trim().as_bytes().to_vec()
    } else if scheme.eq_ignore_ascii_case("basic") {
        base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let expected = format!("{}:{}", sim.api_key, sim.api_secret);
    if sim.api_secret.is_empty() || !fibreplane_types::ct_eq(&presented, expected.as_bytes()) {
        return Some(frappe_error(
            StatusCode::UNAUTHORIZED,
            "AuthenticationError",
            "Invalid API key or secret",
        ));
    }
    None
}

fn data(v: Json) -> Response {
    axum::Json(json!({ "data": v })).into_response()
}

fn validation(message: String) -> Response {
    frappe_error(StatusCode::EXPECTATION_FAILED, "ValidationError", &message)
}

async fn list(
    State(sim): State<Arc<ErpSim>>,
    Path(doctype): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = check(&sim, &headers) {
        return r;
    }
    let param = |k: &str| params.get(k).map(String::as_str).unwrap_or("");
    let parsed = (|| {
        let filters = query::parse_filters(param("filters"))?;
        let fields = query::parse_fields(param("fields"))?;
        let order = query::parse_order(param("order_by"))?;
        let number = |k: &str, alt: &str, default: usize| -> Result<usize, String> {
            let v = if param(k).is_empty() {
                param(alt)
            } else {
                param(k)
            };
            if v.is_empty() {
                return Ok(default);
            }
            v.parse().map_err(|_| format!("{k} must be a number"))
        };
        let start = number("limit_start", "start", 0)?;
        let len = number("limit_page_length", "limit", 20)?;
        Ok::<_, String>((filters, fields, order, start, len))
    })();
    let (filters, fields, order, start, len) = match parsed {
        Ok(p) => p,
        Err(e) => return validation(e),
    };
    if !sim.has_doctype(&doctype) {
        return frappe_error(
            StatusCode::NOT_FOUND,
            "DoesNotExistError",
            &format!("DocType {doctype} not found"),
        );
    }
    let rows = sim.with_docs(&doctype, |docs| {
        let mut hits: Vec<&Doc> = docs
            .iter()
            .copied()
            .filter(|d| filters.iter().all(|f| f.matches(d)))
            .collect();
        query::sort(&mut hits, &order);
        let take = if len == 0 { usize::MAX } else { len };
        hits.into_iter()
            .skip(start)
            .take(take)
            .map(|d| query::project(d, fields.as_deref()))
            .collect::<Vec<Json>>()
    });
    data(Json::Array(rows.unwrap_or_default()))
}

async fn read(
    State(sim): State<Arc<ErpSim>>,
    Path((doctype, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = check(&sim, &headers) {
        return r;
    }
    match sim.get(&doctype, &name) {
        Some(doc) => data(Json::Object(doc)),
        None => not_found(&doctype, &name),
    }
}

fn body_object(body: &Bytes) -> Result<Doc, String> {
    // Frappe accepts the fields as the JSON body, or wrapped in a `data` form field.
    match serde_json::from_slice::<Json>(body) {
        Ok(Json::Object(mut m)) => match m.remove("data") {
            Some(Json::String(s)) => match serde_json::from_str(&s) {
                Ok(Json::Object(inner)) => Ok(inner),
                _ => Err("data must be a JSON object".into()),
            },
            Some(Json::Object(inner)) => Ok(inner),
            Some(other) => {
                m.insert("data".into(), other);
                Ok(m)
            }
            None => Ok(m),
        },
        _ => Err("the body must be a JSON object".into()),
    }
}

async fn update(
    State(sim): State<Arc<ErpSim>>,
    Path((doctype, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = check(&sim, &headers) {
        return r;
    }
    let changes = match body_object(&body) {
        Ok(c) => c,
        Err(e) => return validation(e),
    };
    match sim.update(&doctype, &name, &changes) {
        Some(doc) => data(Json::Object(doc)),
        None => not_found(&doctype, &name),
    }
}

async fn create(
    State(sim): State<Arc<ErpSim>>,
    Path(doctype): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = check(&sim, &headers) {
        return r;
    }
    let fields = match body_object(&body) {
        Ok(c) => c,
        Err(e) => return validation(e),
    };
    let Some(name) = fields.get("name").and_then(Json::as_str).map(str::to_owned) else {
        return validation("name is required".into());
    };
    if sim.get(&doctype, &name).is_some() {
        return frappe_error(
            StatusCode::CONFLICT,
            "DuplicateEntryError",
            &format!("{doctype} {name} already exists"),
        );
    }
    data(Json::Object(sim.insert(&doctype, fields)))
}

/// The control routes bypass the fault mode (so a test can bring the site back) but not the
/// token, and are not counted as API requests.
fn control(sim: &ErpSim, headers: &HeaderMap) -> Option<Response> {
    authorize(sim, headers)
}

async fn down(State(sim): State<Arc<ErpSim>>, headers: HeaderMap) -> Response {
    if let Some(r) = control(&sim, &headers) {
        return r;
    }
    sim.set_down(true);
    axum::Json(json!({"message": "down"})).into_response()
}

async fn up(State(sim): State<Arc<ErpSim>>, headers: HeaderMap) -> Response {
    if let Some(r) = control(&sim, &headers) {
        return r;
    }
    sim.set_down(false);
    axum::Json(json!({"message": "up"})).into_response()
}

async fn stats(State(sim): State<Arc<ErpSim>>, headers: HeaderMap) -> Response {
    if let Some(r) = control(&sim, &headers) {
        return r;
    }
    axum::Json(json!({"message": {"requests": sim.requests(), "writes": sim.writes(), "down": sim.is_down()}}))
        .into_response()
}
