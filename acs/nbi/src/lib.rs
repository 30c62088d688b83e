//! GenieACS-compatible northbound REST API (NBI) of the Fibreplane ACS.
//!
//! Same routes, status codes, reason phrases, document shapes, query language and body framing as
//! GenieACS 1.2's NBI (port 7557), so existing clients keep working unmodified; unlike GenieACS it
//! authenticates every request ([`auth`]), answers bad input with a 400 instead of hanging, and
//! plans queries on the store's indexes ([`query::Plan`]).
//!
//! The pure parts (documents, query language, listing, task bodies) are separate modules tested
//! without a server; [`routes`] is the thin HTTP layer.

#![warn(missing_docs)]

pub mod auth;
pub mod files;
pub mod import;
pub mod listing;
pub mod ping;
mod routes;
pub mod script_check;
pub mod task_body;
pub mod task_rpcs;
pub mod uploads;

use axum::serve::ListenerExt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

pub use acs::genie::{date, doc, query};
pub use auth::{Access, Token};
pub use routes::ROUTES;

/// What the NBI needs besides the ACS.
#[derive(Debug, Clone)]
pub struct NbiConfig {
    /// Who may call it.
    pub access: Access,
    /// Base URL of the file server that `download` tasks point CPEs at (`http://host:7567`), if
    /// one runs.
    pub fs_base_url: Option<String>,
    /// Where uploaded files are kept; without it, `PUT /files/<name>` answers 503.
    pub files: Option<files::FileStore>,
}

/// Why the NBI could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NbiError {
    /// Anonymous access was asked for on an address other machines can reach.
    #[error("anonymous NBI access is only allowed on a loopback address, not {0}")]
    AnonymousNotLoopback(SocketAddr),
    /// No token configured.
    #[error("the NBI needs a token (FIBREPLANE_NBI_TOKEN or a token file)")]
    NoToken,
    /// The listener failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves the file server (GenieACS's port 7567) on a pre-bound listener until `shutdown`.
pub async fn serve_files(
    acs: Arc<acs::Acs>,
    files: files::FileStore,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), NbiError> {
    axum::serve(listener.tap_io(no_delay), files::router(acs, files))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// The NBI's routes as an axum router.
pub fn router(acs: Arc<acs::Acs>, config: NbiConfig) -> axum::Router {
    routes::router(acs, config)
}

/// Serves the NBI on a pre-bound listener until `shutdown` resolves. Refuses a configuration that
/// would expose it without credentials to other machines.
pub async fn serve(
    acs: Arc<acs::Acs>,
    config: NbiConfig,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), NbiError> {
    let addr = listener.local_addr()?;
    match &config.access {
        Access::Anonymous if !addr.ip().is_loopback() => {
            return Err(NbiError::AnonymousNotLoopback(addr));
        }
        Access::Token(t) if t.is_empty() => return Err(NbiError::NoToken),
        _ => {}
    }
    axum::serve(listener.tap_io(no_delay), router(acs, config))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// Responses go out in several writes (headers, then one chunk per document): without
/// `TCP_NODELAY`, Nagle's algorithm holds the later ones until the client's delayed ACK, about
/// 40 ms per request.
fn no_delay(tcp: &mut tokio::net::TcpStream) {
    let _ = tcp.set_nodelay(true);
}
