//! Durable ACS state behind a domain-level trait.
//!
//! [`DeviceStore`] is what the ACS codes against: device metadata with compare-and-swap revisions,
//! parameter trees, tasks, faults, secondary indexes and per-device leases. Two embedded engines
//! implement it: redb (default: ACID, one fsync per commit, stable single-file format) and sled
//! 0.34 behind the `sled` feature (unmaintained upstream; kept for migration only).
//!
//! **Architecture invariant:** this crate is the only one that knows a storage engine exists. No
//! engine type appears in its public API; engine errors surface as [`StoreError::Engine`] strings.
//!
//! Layout: `model` (domain types), `store` (the trait and ops), `engine` (domain logic written once
//! over a minimal ordered key-value trait), `keys` and `codec` (the on-disk format), and one small
//! file per engine.

#![warn(missing_docs)]

mod codec;
mod engine;
mod error;
mod keys;
mod kv;
mod lease;
pub mod model;
mod redb_backend;
#[cfg(feature = "sled")]
mod sled_backend;
pub mod store;

use std::path::Path;

pub use error::StoreError;
pub use model::{
    Attributes, DeviceId, DeviceMeta, FaultRecord, Identity, Param, ParamTree, TaskKind,
    TaskRecord, TaskStatus, Value, Versioned, normalize_mac,
};
pub use redb_backend::{RedbStore, open_redb};
#[cfg(feature = "sled")]
pub use sled_backend::{SledStore, open_sled};
pub use store::{DeviceStore, Expect, Index, Op, Outcome};

/// A storage engine choice, e.g. from configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// redb: a single file at the given path.
    Redb,
    /// sled 0.34: a directory at the given path; needs the `sled` feature.
    Sled,
}

/// Opens a store with the chosen engine.
pub fn open(backend: Backend, path: &Path) -> Result<Box<dyn DeviceStore>, StoreError> {
    match backend {
        Backend::Redb => Ok(Box::new(open_redb(path)?)),
        #[cfg(feature = "sled")]
        Backend::Sled => Ok(Box::new(open_sled(path)?)),
        #[cfg(not(feature = "sled"))]
        Backend::Sled => Err(StoreError::BackendUnavailable("sled")),
    }
}

/// Implements [`DeviceStore`] for a public store type by forwarding to its `engine` field, so the
/// engine-generic type stays private.
macro_rules! delegate_device_store {
    ($store:ty) => {
        impl $crate::DeviceStore for $store {
            fn get(
                &self,
                id: &$crate::DeviceId,
            ) -> Result<Option<$crate::Versioned<$crate::DeviceMeta>>, $crate::StoreError> {
                self.engine.get(id)
            }
            fn get_tree(
                &self,
                id: &$crate::DeviceId,
            ) -> Result<$crate::ParamTree, $crate::StoreError> {
                self.engine.get_tree(id)
            }
            fn apply(
                &self,
                ops: Vec<$crate::Op>,
            ) -> Result<Vec<$crate::Outcome>, $crate::StoreError> {
                self.engine.apply(ops)
            }
            fn scan_index(
                &self,
                index: $crate::Index,
                key: &str,
            ) -> Result<Vec<$crate::DeviceId>, $crate::StoreError> {
                self.engine.scan_index(index, key)
            }
            fn scan_informed(
                &self,
                from_ms: Option<i64>,
                to_ms: Option<i64>,
            ) -> Result<Vec<$crate::DeviceId>, $crate::StoreError> {
                self.engine.scan_informed(from_ms, to_ms)
            }
            fn scan(
                &self,
                after: Option<&$crate::DeviceId>,
                limit: usize,
            ) -> Result<Vec<$crate::DeviceId>, $crate::StoreError> {
                self.engine.scan(after, limit)
            }
            fn count(&self) -> Result<u64, $crate::StoreError> {
                self.engine.count()
            }
            fn task(&self, id: u64) -> Result<Option<$crate::TaskRecord>, $crate::StoreError> {
                self.engine.task(id)
            }
            fn tasks(
                &self,
                device: Option<&$crate::DeviceId>,
            ) -> Result<Vec<$crate::TaskRecord>, $crate::StoreError> {
                self.engine.tasks(device)
            }
            fn faults(
                &self,
                device: Option<&$crate::DeviceId>,
            ) -> Result<Vec<$crate::FaultRecord>, $crate::StoreError> {
                self.engine.faults(device)
            }
            fn docs(&self, collection: &str) -> Result<Vec<(String, Vec<u8>)>, $crate::StoreError> {
                self.engine.docs(collection)
            }
            fn doc(
                &self,
                collection: &str,
                name: &str,
            ) -> Result<Option<Vec<u8>>, $crate::StoreError> {
                self.engine.doc(collection, name)
            }
            fn try_lease(
                &self,
                id: &$crate::DeviceId,
                owner: u64,
                now_ms: i64,
                ttl_ms: i64,
            ) -> Result<bool, $crate::StoreError> {
                self.engine.try_lease(id, owner, now_ms, ttl_ms)
            }
            fn release(&self, id: &$crate::DeviceId, owner: u64) -> Result<(), $crate::StoreError> {
                self.engine.release(id, owner)
            }
        }
    };
}
pub(crate) use delegate_device_store;
