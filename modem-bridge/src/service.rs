//! The service API the hub calls: read-only diagnostics by modem id.
//!
//! * `GET /modem/{id}/diagnostics` and `GET /modem/{id}/{section}` (`device`, `wan`, `lan`,
//!   `wifi`, `hosts`, `resources`, `optics`), optional `?path=auto|native|chromium` (default:
//!   the service's own, [`ApiState::with_default_path`], itself `auto` unless configured).
//! * `Authorization: Bearer <token>`, compared in constant time against each configured token
//!   (two may be valid at once, for rotation). Tokens are never accepted in the query string.
//! * The id is looked up in the allow-list: the API cannot be pointed at a host, URL or OID.
//! * Nothing is written to a modem; credentials and tokens are never logged.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use tracing::info;

use crate::Secret;
use crate::bridge::{Bridge, PathChoice};
use crate::config::{ModemEntry, ModemId, ModemTarget};
use crate::error::BridgeError;
use crate::plan::Section;

/// Shortest bearer token accepted: 32 bytes (256 bits of hex-encoded randomness is 64).
pub const MIN_TOKEN_LEN: usize = 32;

/// The allow-list file: `{"modems": [{"id": …, "address": "IP:port", "password_env": …}]}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowList {
    /// The modems.
    pub modems: Vec<ModemEntry>,
}

impl AllowList {
    /// Parses the JSON file's text.
    pub fn from_json(text: &str) -> Result<Self, BridgeError> {
        serde_json::from_str(text).map_err(|e| BridgeError::Config(format!("allow-list: {e}")))
    }
}

/// The API's shared state.
#[derive(Debug)]
pub struct ApiState {
    bridge: Bridge,
    modems: HashMap<ModemId, ModemTarget>,
    tokens: Vec<Secret>,
    default_path: PathChoice,
}

impl ApiState {
    /// The bridge it serves (for its counters).
    pub fn bridge(&self) -> &Bridge {
        &self.bridge
    }

    /// Resolves every allow-list entry now, so a missing password variable fails at start-up.
    pub fn new(
        bridge: Bridge,
        allow: &AllowList,
        tokens: Vec<Secret>,
    ) -> Result<Self, BridgeError> {
        if tokens.is_empty() || tokens.iter().any(|t| t.expose().len() < MIN_TOKEN_LEN) {
            return Err(BridgeError::Config(format!(
                "API tokens must be at least {MIN_TOKEN_LEN} bytes"
            )));
        }
        let mut modems = HashMap::new();
        for e in &allow.modems {
            if modems.insert(e.id.clone(), e.target()?).is_some() {
                return Err(BridgeError::Config(format!("modem {} listed twice", e.id)));
            }
        }
        Ok(Self {
            bridge,
            modems,
            tokens,
            default_path: PathChoice::Auto,
        })
    }

    /// The path of reads whose request names none (an operator forcing the browser, or the
    /// native client only, for every read).
    pub fn with_default_path(mut self, path: PathChoice) -> Self {
        self.default_path = path;
        self
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(given) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return false;
        };
        // Every token is compared, so timing does not tell which one (or whether one) matched.
        let mut ok = false;
        for t in &self.tokens {
            ok |= t.matches(given.as_bytes());
        }
        ok
    }
}

/// The router.
pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/modem/{id}/diagnostics", get(diagnostics))
        .route("/modem/{id}/{section}", get(section))
        .with_state(state)
}

/// Serves the API on a pre-bound listener until `shutdown` resolves.
pub async fn serve<L>(
    listener: L,
    state: Arc<ApiState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

#[derive(Debug, Deserialize)]
struct PathQuery {
    path: Option<PathChoice>,
}

async fn diagnostics(
    State(s): State<Arc<ApiState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<PathQuery>,
) -> Response {
    read(
        &s,
        &headers,
        &id,
        &Section::ALL,
        q.path.unwrap_or(s.default_path),
    )
    .await
}

async fn section(
    State(s): State<Arc<ApiState>>,
    headers: HeaderMap,
    Path((id, section)): Path<(String, String)>,
    Query(q): Query<PathQuery>,
) -> Response {
    let Some(sec) = Section::parse(&section) else {
        return (StatusCode::NOT_FOUND, "unknown section").into_response();
    };
    read(&s, &headers, &id, &[sec], q.path.unwrap_or(s.default_path)).await
}

async fn read(
    s: &ApiState,
    headers: &HeaderMap,
    id: &str,
    sections: &[Section],
    path: PathChoice,
) -> Response {
    if !s.authorized(headers) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "unauthorized",
        )
            .into_response();
    }
    let Some(target) = ModemId::new(id).ok().and_then(|id| s.modems.get(&id)) else {
        return (StatusCode::NOT_FOUND, "unknown modem").into_response();
    };
    match s.bridge.read(target, sections, path).await {
        Ok(report) => {
            info!(modem = id, path = ?report.path, ms = report.elapsed_ms, "diagnostics read");
            Json(report).into_response()
        }
        Err(e) => {
            info!(modem = id, error = %e, "diagnostics read failed");
            (status_of(&e), e.to_string()).into_response()
        }
    }
}

fn status_of(e: &BridgeError) -> StatusCode {
    match e {
        BridgeError::Busy => StatusCode::CONFLICT,
        BridgeError::LockedOut { .. } => StatusCode::LOCKED,
        BridgeError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
        BridgeError::UnknownModem(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_GATEWAY,
    }
}
