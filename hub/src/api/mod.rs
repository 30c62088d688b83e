//! The hub API (axum): routes for the ops network page, technicians' diagnostic page, Uptime
//! Kuma and Prometheus. Handlers are thin: they authenticate, call the component, shape JSON.
//!
//! Every route but `/healthz`, `/openapi.json`, the static `/j/diagnostic` page and the Kuma
//! webhook (which checks its own shared secret) needs credentials; technicians reach only the
//! diagnostics and summaries of their job's devices.

// Handlers return these errors as their response straight away; boxing them would only add an
// allocation to every refused request.
#![allow(clippy::result_large_err)]

mod devices;
mod diag;
mod network;
mod ops;

use crate::app::Hub;
use crate::auth::{AuthError, Caller, Presented};
use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;

/// The whole API.
pub fn router(hub: Arc<Hub>) -> Router {
    let mut r = Router::new()
        .merge(devices::routes())
        .merge(diag::routes())
        .merge(network::routes())
        .merge(ops::routes())
        .with_state(Arc::clone(&hub));
    if let (Some(p), Some(token)) = (&hub.provisioner, hub.auth.staff_tokens.first()) {
        // The provisioner's API checks the staff token itself.
        r = r.merge(provisioner::api::router(Arc::clone(p), token.clone()));
    }
    if let Some(service) = &hub.incidents {
        // The webhook checks Kuma's own secret; the outage views are staff routes.
        if let Some(secret) = &hub.kuma_secret {
            r = r.merge(incidents::http::webhook_router(
                service.clone(),
                secret.clone(),
            ));
        }
        let outages = incidents::http::outages_router(service.clone()).layer(
            axum::middleware::from_fn_with_state(Arc::clone(&hub), staff_layer),
        );
        r = r.merge(outages);
    }
    r
}

/// Middleware for routers of other crates that have no authentication of their own.
async fn staff_layer(
    axum::extract::State(hub): axum::extract::State<Arc<Hub>>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let token = req
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("token=")))
        .map(str::to_owned);
    if let Err(r) = staff(&hub, req.headers(), token.as_deref(), Some(peer)) {
        return r;
    }
    next.run(req).await
}

/// Serves the API on a pre-bound listener until `shutdown`.
pub async fn serve(
    hub: Arc<Hub>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(hub).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// A JSON error body.
pub(crate) fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "error": message.to_string() })),
    )
        .into_response()
}

fn refused(hub: &Hub, e: AuthError) -> Response {
    hub.metrics.refused.inc();
    let status = match e {
        AuthError::Forbidden => StatusCode::FORBIDDEN,
        _ => StatusCode::UNAUTHORIZED,
    };
    let mut r = error(status, e);
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer realm=\"fibreplane\""),
        );
    }
    r
}

/// Authenticates a request; `query_token` is the `token` query parameter (GET only: browsers'
/// EventSource cannot send headers).
pub(crate) fn caller(
    hub: &Hub,
    headers: &HeaderMap,
    query_token: Option<&str>,
    peer: Option<SocketAddr>,
) -> Result<Caller, Response> {
    hub.metrics.requests.inc();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or(query_token);
    let forwarded_user = headers
        .get(hub.auth.forward_user_header.as_str())
        .and_then(|v| v.to_str().ok());
    let presented = Presented {
        bearer,
        forwarded_user,
        peer: peer.map(|a| a.ip()),
    };
    hub.auth
        .authenticate(&presented, hub.acs.now_ms() / 1000)
        .map_err(|e| refused(hub, e))
}

/// Authenticates a staff-only request.
pub(crate) fn staff(
    hub: &Hub,
    headers: &HeaderMap,
    query_token: Option<&str>,
    peer: Option<SocketAddr>,
) -> Result<Caller, Response> {
    let c = caller(hub, headers, query_token, peer)?;
    c.require_staff().map_err(|e| refused(hub, e))?;
    Ok(c)
}

/// Checks that `caller` may touch the device (staff, or a technician of its location).
pub(crate) fn in_scope(hub: &Hub, caller: &Caller, device: &str) -> Result<(), Response> {
    let links = hub.directory.links(device);
    caller
        .may_touch(links.location.as_deref())
        .map_err(|e| refused(hub, e))
}
