//! Durable ACS state behind a domain-level, async, capability-split API.
//!
//! **Access.** [`open`] returns the one [`StoreWriter`]: the only value that can write
//! ([`StoreWriter::apply`]) and take per-device leases. It hands out [`StoreReader`]s (cheap
//! clones, read methods only) to everyone else, so no code holding a reader can reach a write.
//! Both are thin wrappers over a [`Backend`], the async trait a storage implementation provides:
//! reads, `apply` (durable, group-committed), leases and the store's clock. Its futures are boxed
//! ([`StoreFuture`]) so the trait is object-safe, and async so a network database (a later
//! backend) never blocks a tokio worker; [`StoreWriter::from_backend`] plugs one in.
//!
//! **Embedded engines.** redb (default: ACID, one fsync per commit, stable single-file format)
//! and sled 0.34 behind the `sled` feature (unmaintained upstream; kept for migration only)
//! implement [`Backend`] through one private adapter: reads run inline on the caller's task (a
//! B-tree read of a few microseconds costs less than a thread hop), and every write goes to a
//! dedicated `store-writer` thread that folds the writes arriving within 0.5 ms (up to 20,000
//! ops) into one transaction and one fsync, then answers each caller with its own outcomes once
//! they are durable. Leases live in memory (both engines are single-process).
//!
//! **Time.** Leases are measured by the store's own [`Clock`], never a caller's `now`:
//! [`SystemClock`] (wall time advanced by a monotonic clock) by default, a [`ManualClock`] in
//! tests ([`open_with_clock`]); a network database will use its server's clock.
//!
//! **Engines.** The synchronous `DeviceStore` trait and the engine types (`open_engine`,
//! `RedbStore`, `SledStore`) are what the async adapter is built on. They are public only with
//! the `engine` feature, for this crate's own tests and benches (raw engine costs, compaction):
//! nothing in the control plane can open an engine and write around the one writer.
//!
//! **Architecture invariant:** this crate is the only one that knows a storage engine exists. No
//! engine type appears in its public API; engine errors surface as [`StoreError::Engine`] strings.
//!
//! Layout: `model` (domain types), `store` (the synchronous trait and ops), `backend` (the async
//! trait), `access` (reader and writer), `embedded` and `group_commit` (the engines' adapter and
//! writer thread), `clock`, `engine` (domain logic written once over a minimal ordered key-value
//! trait), `keys` and `codec` (the on-disk format), and one small file per engine.

#![warn(missing_docs)]
// Without the `engine` feature the synchronous engine API is crate-private, though its items
// keep their `pub` for the feature's sake.
#![cfg_attr(not(feature = "engine"), allow(unreachable_pub))]

mod access;
mod backend;
mod clock;
mod codec;
mod embedded;
mod engine;
mod error;
mod group_commit;
mod keys;
mod kv;
mod lease;
pub mod model;
mod redb_backend;
#[cfg(feature = "sled")]
mod sled_backend;
mod store;

use std::path::Path;

pub use access::{StoreReader, StoreWriter, open, open_with_clock};
pub use backend::{Backend, StoreFuture};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::StoreError;
pub use model::{
    Attributes, DeviceId, DeviceMeta, DuOp, FaultRecord, Identity, Param, ParamTree, ProvisionArg,
    ScopeSegment, TaskKind, TaskRecord, TaskStatus, TransferWindow, TreeScope, Value, Versioned,
    normalize_mac, scope_segments,
};
#[cfg(not(feature = "engine"))]
use redb_backend::open_redb;
#[cfg(feature = "engine")]
pub use redb_backend::{RedbStore, open_redb};
#[cfg(all(feature = "sled", not(feature = "engine")))]
use sled_backend::open_sled;
#[cfg(all(feature = "sled", feature = "engine"))]
pub use sled_backend::{SledStore, open_sled};
#[cfg(feature = "engine")]
pub use store::DeviceStore;
#[cfg(not(feature = "engine"))]
use store::DeviceStore;
pub use store::{Expect, Index, Op, Outcome};

/// An embedded storage engine, e.g. chosen in configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    /// redb: a single file at the given path.
    Redb,
    /// sled 0.34: a directory at the given path; needs the `sled` feature.
    Sled,
}

/// Opens the synchronous engine alone, without a writer thread: what [`open`] builds on, and,
/// with the `engine` feature, what the store's own benches and offline tools use. Nothing
/// stops two callers writing through it at once, so no component of the control plane gets it.
#[cfg(feature = "engine")]
pub fn open_engine(engine: EngineKind, path: &Path) -> Result<Box<dyn DeviceStore>, StoreError> {
    engine_at(engine, path)
}

/// The engine [`open`] wraps.
pub(crate) fn engine_at(
    engine: EngineKind,
    path: &Path,
) -> Result<Box<dyn DeviceStore>, StoreError> {
    match engine {
        EngineKind::Redb => Ok(Box::new(open_redb(path)?)),
        #[cfg(feature = "sled")]
        EngineKind::Sled => Ok(Box::new(open_sled(path)?)),
        #[cfg(not(feature = "sled"))]
        EngineKind::Sled => Err(StoreError::BackendUnavailable("sled")),
    }
}

/// Implements [`DeviceStore`] for a public store type by forwarding to its `engine` field, so the
/// engine-generic type stays private.
macro_rules! delegate_device_store {
    ($store:ty) => {
        impl $crate::store::DeviceStore for $store {
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
            fn get_tree_scoped(
                &self,
                id: &$crate::DeviceId,
                scope: &$crate::TreeScope,
            ) -> Result<$crate::ParamTree, $crate::StoreError> {
                self.engine.get_tree_scoped(id, scope)
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
