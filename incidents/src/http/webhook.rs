//! `POST /webhook/kuma` and `GET /webhook/kuma` (Kuma 2.x's GET variant).
//!
//! Authentication is a shared secret, because Kuma has nothing else: its Additional Headers
//! field sends `Authorization: Bearer <secret>` (or `X-Kuma-Token: <secret>`); a `token` query
//! parameter is accepted for setups that can only change the URL. The secret is compared in
//! constant time and never logged. The request is parsed at once (a few microseconds) and handed
//! to the service's queue, so Kuma gets its 2xx without waiting for correlation; Kuma does not
//! retry, so a refusal is final and is counted.

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use fibreplane_types::Secret;
use http_body_util::BodyExt as _;
use serde_json::json;

use crate::IncidentError;
use crate::kuma::{self, Notification, WebhookRequest};
use crate::service::{IncidentService, WebhookOutcome};

#[derive(Clone)]
struct Hook {
    service: IncidentService,
    secret: std::sync::Arc<Secret>,
}

/// The webhook router: `POST` and `GET /webhook/kuma`, authenticated by `secret`.
///
/// Answers: 202 for a monitor event (correlated asynchronously), 200 for the Test button and
/// other notifications without a heartbeat, 401 for a missing or wrong secret, 400 for a body
/// that is not a Kuma notification, 413 above the service's body limit, 503 when the service's
/// queue is full.
pub fn webhook_router(service: IncidentService, secret: Secret) -> Router {
    Router::new()
        .route("/webhook/kuma", get(receive).post(receive))
        .with_state(Hook {
            service,
            secret: std::sync::Arc::new(secret),
        })
}

/// The secret the request presents, from the first place that has one: a Bearer
/// `Authorization` header, `X-Kuma-Token`, or the `token` query parameter.
fn presented<'a>(
    headers: &'a HeaderMap,
    query: Option<&'a str>,
) -> Option<std::borrow::Cow<'a, str>> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| {
            v.get(..7)
                .is_some_and(|p| p.eq_ignore_ascii_case("bearer "))
        })
        .map(|v| v[7..].trim());
    if let Some(v) = bearer.or_else(|| {
        headers
            .get("x-kuma-token")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    }) {
        return Some(v.into());
    }
    form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v)
}

fn refuse(
    service: &IncidentService,
    outcome: WebhookOutcome,
    status: StatusCode,
    msg: &str,
) -> Response {
    service.count_webhook(outcome);
    (status, axum::Json(json!({ "error": msg }))).into_response()
}

async fn receive(State(h): State<Hook>, headers: HeaderMap, uri: Uri, body: Body) -> Response {
    let query = uri.query();
    // An empty secret (a configuration mistake) authorises nobody rather than everybody: a
    // `Secret` matches nothing when empty.
    let ok = presented(&headers, query).is_some_and(|p| h.secret.matches(p.as_bytes()));
    if !ok {
        let mut r = refuse(
            &h.service,
            WebhookOutcome::Unauthorized,
            StatusCode::UNAUTHORIZED,
            "missing or wrong secret",
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        return r;
    }
    let limits = h.service.kuma_limits();
    // A declared length over the limit is refused before any of the body is read, so a sender
    // that waits for an answer (or never sends the body) gets its 413 at once.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(size) = declared.filter(|n| *n > limits.max_body as u64) {
        let e = IncidentError::TooLarge {
            size: usize::try_from(size).unwrap_or(usize::MAX),
            limit: limits.max_body,
        };
        return refused(&h.service, &e);
    }
    let bytes = match read_bounded(body, limits.max_body).await {
        Ok(b) => b,
        Err(e) => return refused(&h.service, &e),
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let req = WebhookRequest {
        content_type,
        body: &bytes,
        query,
    };
    match kuma::parse(&req, limits) {
        Err(e) => refused(&h.service, &e),
        Ok(Notification::Event(ev)) => {
            tracing::info!(monitor = %ev.monitor_id, status = ?ev.status, resend = ev.resend, "kuma webhook");
            if !h.service.submit_kuma(ev) {
                return refuse(
                    &h.service,
                    WebhookOutcome::Busy,
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                );
            }
            h.service.count_webhook(WebhookOutcome::Event);
            (StatusCode::ACCEPTED, axum::Json(json!({ "ok": true }))).into_response()
        }
        Ok(_) => {
            tracing::info!("kuma webhook without a heartbeat (test or reminder)");
            h.service.count_webhook(WebhookOutcome::Test);
            (StatusCode::OK, axum::Json(json!({ "ok": true }))).into_response()
        }
    }
}

fn refused(service: &IncidentService, e: &IncidentError) -> Response {
    tracing::info!(error = %e, "kuma webhook refused");
    match e {
        IncidentError::TooLarge { .. } => refuse(
            service,
            WebhookOutcome::TooLarge,
            StatusCode::PAYLOAD_TOO_LARGE,
            &e.to_string(),
        ),
        _ => refuse(
            service,
            WebhookOutcome::BadBody,
            StatusCode::BAD_REQUEST,
            &e.to_string(),
        ),
    }
}

/// Reads a body up to `limit` bytes; stops (and refuses) as soon as it is larger, chunked or not.
async fn read_bounded(mut body: Body, limit: usize) -> Result<Vec<u8>, IncidentError> {
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| IncidentError::BadNotification(format!("reading body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > limit {
                return Err(IncidentError::TooLarge {
                    size: out.len() + data.len(),
                    limit,
                });
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out)
}
