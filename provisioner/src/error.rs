//! The provisioner's errors. Messages never carry secret values: records are named by their
//! `EQP-#####` name and devices by their id.

/// What can go wrong in the provisioner.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProvisionError {
    /// A Service Equipment record cannot be used (bad name, nothing to match on).
    #[error("bad record: {0}")]
    BadRecord(String),
    /// ERPNext answered with something that is not Frappe's JSON, or too much of it.
    #[error("bad ERPNext response: {0}")]
    BadResponse(String),
    /// ERPNext refused our credentials (401) or our permissions (403).
    #[error("ERPNext refused access ({status}): {exc_type}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// Frappe's `exc_type` (`AuthenticationError`, `PermissionError`).
        exc_type: String,
    },
    /// The record does not exist (404).
    #[error("ERPNext has no {0}")]
    NotFound(String),
    /// ERPNext is unreachable or failing (connection error, timeout, 5xx); retried.
    #[error("ERPNext unavailable: {0}")]
    Unavailable(String),
    /// ERPNext's TLS certificate was refused (no trusted CA signed it, or it names another
    /// host), or the configured CA file is unusable: `provisioner.erp_ca_file` is the remedy.
    #[error("ERPNext over TLS: {0} (is its CA in provisioner.erp_ca_file or --erp-ca-file?)")]
    Tls(String),
    /// The provisioner's own configuration cannot work (an unusable CA file).
    #[error("configuration: {0}")]
    Config(String),
    /// The device's data model lacks what the settings need.
    #[error("data model: {0}")]
    DataModel(String),
    /// The ACS refused a write or a task.
    #[error("ACS: {0}")]
    Acs(#[from] acs::AcsError),
    /// Our own stored state could not be read.
    #[error("stored state: {0}")]
    State(String),
}

impl ProvisionError {
    /// Whether retrying later may help (ERPNext down or overloaded).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}
