//! The crate's one error type.

use thiserror::Error;

/// Why a poll, a profile or a store operation failed.
///
/// Peer input (a malformed or hostile response) becomes [`OltError::Peer`] or
/// [`OltError::Timeout`], never a panic. Messages never contain communities or v3 passwords.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum OltError {
    /// An OID string or a peer's OID could not be represented (empty, too long, > u32).
    #[error("bad OID: {0}")]
    BadOid(String),
    /// A vendor profile file is malformed or inconsistent.
    #[error("profile {name}: {reason}")]
    Profile {
        /// The profile's name or path.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The OLT's sysObjectID matches no known vendor profile.
    #[error("unknown OLT vendor: sysObjectID {sys_object_id} matches no profile ({known})")]
    UnknownVendor {
        /// The sysObjectID the OLT reported (or "none").
        sys_object_id: String,
        /// The profiles that were tried.
        known: String,
    },
    /// The configuration is invalid.
    #[error("config: {0}")]
    Config(String),
    /// The OLT did not answer within the timeout after every retry.
    #[error("timed out after {attempts} attempts")]
    Timeout {
        /// Requests sent before giving up.
        attempts: u32,
    },
    /// The OLT answered with something we cannot use (garbage, wrong types, a loop in a walk).
    #[error("peer: {0}")]
    Peer(String),
    /// The OLT answered with an SNMP error status (other than tooBig, which the walker absorbs).
    #[error("SNMP error status {status} at varbind {index}")]
    ErrorStatus {
        /// The error-status field.
        status: u32,
        /// The error-index field.
        index: u32,
    },
    /// SNMPv3 authentication or privacy failed (wrong credentials or engine).
    #[error("SNMPv3 security: {0}")]
    Security(String),
    /// A walk returned more rows than the configured limit.
    #[error("walk exceeded {0} rows")]
    TooManyRows(usize),
    /// Local socket error.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// The optical-history store failed.
    #[error("store: {0}")]
    Store(String),
    /// The poller is shutting down.
    #[error("shutting down")]
    ShuttingDown,
}

impl From<fibreplane_types::olt::InvalidOltId> for OltError {
    /// A bad OLT name is a configuration error (names come from the configuration).
    fn from(e: fibreplane_types::olt::InvalidOltId) -> Self {
        Self::Config(e.to_string())
    }
}
