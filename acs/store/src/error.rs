//! The crate's single error type.
//!
//! Engine errors (redb, sled) are flattened to strings on purpose: the storage engine is an
//! implementation detail of this crate, and letting its error types into the public API would make
//! every caller depend on the engine we happen to use.

use thiserror::Error;

/// Everything that can go wrong in the store.
///
/// `Clone` because one failed group commit is reported to every caller folded into it; variants
/// therefore carry text, not the engine's error values.
#[derive(Debug, Clone, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A device id was empty, too long, or used characters outside `[A-Za-z0-9_%-]`.
    #[error("invalid device id {0:?}: must be 1-256 bytes of [A-Za-z0-9_%-]")]
    InvalidDeviceId(String),
    /// A record on disk could not be decoded; the key or a description says which one.
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// The storage engine failed (I/O, lock held by another process, transaction error).
    #[error("storage engine error: {0}")]
    Engine(String),
    /// The requested backend was not compiled in.
    #[error("backend {0} is not available: rebuild fibreplane-store with the `{0}` feature")]
    BackendUnavailable(&'static str),
    /// A record could not be encoded (only possible for absurd inputs such as >4 GiB strings).
    #[error("cannot encode record: {0}")]
    Encode(String),
    /// The store's writer has stopped (its [`crate::StoreWriter`] was dropped, or the writer
    /// thread died): the write was not applied.
    #[error("the store writer has stopped")]
    Closed,
}

impl StoreError {
    /// Wraps any engine error as a string so the engine's types stay private to this crate.
    pub(crate) fn engine(err: impl std::fmt::Display) -> Self {
        Self::Engine(err.to_string())
    }
}
