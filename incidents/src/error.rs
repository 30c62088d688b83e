//! The crate's one error type.

use thiserror::Error;

/// What can go wrong in this crate. Every variant is about input from a peer (a webhook body) or
/// from configuration; the correlator itself cannot fail.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum IncidentError {
    /// A webhook body is larger than the limit (HTTP 413).
    #[error("body of {size} bytes is larger than the {limit}-byte limit")]
    TooLarge {
        /// The body's size (or the size reached when reading stopped).
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A webhook body nests JSON deeper than the limit (HTTP 400).
    #[error("JSON nested deeper than {limit} levels")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// A webhook body is not JSON of Uptime Kuma's shape (HTTP 400).
    #[error("not a Kuma notification: {0}")]
    Json(#[from] serde_json::Error),
    /// A webhook body is JSON of the right syntax but with an impossible value (HTTP 400).
    #[error("bad Kuma notification: {0}")]
    BadNotification(String),
    /// A multipart/form-data body is malformed or lacks its `data` field (HTTP 400).
    #[error("bad multipart body: {0}")]
    Multipart(String),
    /// A request carried nothing to parse: no body and no `heartbeat`/`monitor`/`msg` query
    /// parameters (HTTP 400).
    #[error("empty notification")]
    Empty,
    /// A timestamp in a notification is not in Kuma's format (HTTP 400).
    #[error("bad time {0:?}: expected YYYY-MM-DD HH:mm:ss[.SSS] (UTC)")]
    BadTime(String),
    /// The configuration is inconsistent.
    #[error("configuration: {0}")]
    Config(String),
}

impl IncidentError {
    /// Whether the error is the peer's (a bad request) rather than ours.
    pub fn is_peer(&self) -> bool {
        !matches!(self, Self::Config(_))
    }
}
