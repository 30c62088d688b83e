//! Errors of the lab CPE agent.

use std::time::Duration;

use thiserror::Error;

/// Why a CPE session (or a fleet call) failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SimError {
    /// The ACS URL is not a plain `http://host:port/path` URL.
    #[error("unsupported URL {0:?}")]
    BadUrl(String),
    /// TCP connect failed.
    #[error("connect: {0}")]
    Connect(#[from] std::io::Error),
    /// HTTP-level failure (connection closed, malformed response).
    #[error("http: {0}")]
    Http(#[from] hyper::Error),
    /// The ACS did not answer within the session timeout.
    #[error("timed out")]
    Timeout,
    /// The ACS refused our credentials (or we had none).
    #[error("unauthorized")]
    Unauthorized,
    /// The ACS sent something the session state machine refused.
    #[error("session: {0}")]
    Session(#[from] cwmp::SessionError),
    /// The ACS sent an envelope we could not parse.
    #[error("parse: {0}")]
    Parse(#[from] cwmp::ParseError),
    /// The ACS asked us to come back later (503 or fault 8005).
    #[error("retry requested (after {after:?})")]
    Retry {
        /// The Retry-After delay, if given.
        after: Option<Duration>,
    },
    /// The ACS answer was larger than we accept.
    #[error("response too large")]
    TooLarge,
    /// No CPE with that index.
    #[error("no CPE {0}")]
    NoSuchCpe(usize),
    /// The fleet is shutting down.
    #[error("shutting down")]
    ShuttingDown,
    /// The CPE dropped the connection itself (a discovery quirk).
    #[error("the CPE dropped the connection")]
    Dropped,
}
