//! Store access as capabilities: a [`StoreReader`] can only read; the one [`StoreWriter`] can
//! also write and lease.
//!
//! Both wrap the same `Arc<dyn Backend>`, which is private, so the only way to reach
//! [`Backend::apply`] is to hold the writer. The writer is not `Clone`: a process has one, owned
//! by whoever is allowed to write (the ACS), and hands readers to everyone else.

use std::path::Path;
use std::sync::Arc;

use crate::backend::Backend;
use crate::clock::{Clock, SystemClock};
use crate::embedded::Embedded;
use crate::model::{
    DeviceId, DeviceMeta, FaultRecord, ParamTree, TaskRecord, TreeScope, Versioned,
};
use crate::store::{Index, Op, Outcome};
use crate::{EngineKind, StoreError, engine_at};

/// Opens an embedded store with the chosen engine, its writer thread and the system clock.
pub fn open(engine: EngineKind, path: &Path) -> Result<StoreWriter, StoreError> {
    open_with_clock(engine, path, Arc::new(SystemClock::new()))
}

/// Opens an embedded store whose leases are timed by `clock` (tests pass a
/// [`crate::ManualClock`]).
pub fn open_with_clock(
    engine: EngineKind,
    path: &Path,
    clock: Arc<dyn Clock>,
) -> Result<StoreWriter, StoreError> {
    let backend = Embedded::start(engine_at(engine, path)?, clock)?;
    Ok(StoreWriter::from_backend(Arc::new(backend)))
}

/// Read access to the store. Cheap to clone (one `Arc`); hand it to anyone who reads.
///
/// It has no write method, and none can be reached through it:
///
/// ```compile_fail
/// async fn write(reader: acs_store::StoreReader) {
///     let _ = reader.apply(Vec::new()).await;
/// }
/// ```
#[derive(Clone)]
pub struct StoreReader {
    backend: Arc<dyn Backend>,
}

impl std::fmt::Debug for StoreReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreReader").finish_non_exhaustive()
    }
}

impl StoreReader {
    /// The store's clock, in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        self.backend.now_ms()
    }

    /// A device's metadata and its revision.
    pub async fn get(&self, id: &DeviceId) -> Result<Option<Versioned<DeviceMeta>>, StoreError> {
        self.backend.get(id).await
    }

    /// A device's parameter tree; empty if it has none.
    pub async fn get_tree(&self, id: &DeviceId) -> Result<ParamTree, StoreError> {
        self.backend.get_tree(id).await
    }

    /// The nodes of a device's tree that `scope` selects: what a reader of a few parameters
    /// needs, without decoding the whole tree.
    pub async fn get_tree_scoped(
        &self,
        id: &DeviceId,
        scope: &TreeScope,
    ) -> Result<ParamTree, StoreError> {
        self.backend.get_tree_scoped(id, scope).await
    }

    /// Devices whose `index` contains `key`, in id order. MAC keys are normalised first.
    pub async fn scan_index(&self, index: Index, key: &str) -> Result<Vec<DeviceId>, StoreError> {
        self.backend.scan_index(index, key).await
    }

    /// Devices whose last Inform may lie between `from_ms` and `to_ms` (inclusive, either open),
    /// in no particular order, with others of the same hours.
    pub async fn scan_informed(
        &self,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
    ) -> Result<Vec<DeviceId>, StoreError> {
        self.backend.scan_informed(from_ms, to_ms).await
    }

    /// Up to `limit` device ids after `after`, in id order (pagination).
    pub async fn scan(
        &self,
        after: Option<&DeviceId>,
        limit: usize,
    ) -> Result<Vec<DeviceId>, StoreError> {
        self.backend.scan(after, limit).await
    }

    /// Number of devices with metadata.
    pub async fn count(&self) -> Result<u64, StoreError> {
        self.backend.count().await
    }

    /// One task.
    pub async fn task(&self, id: u64) -> Result<Option<TaskRecord>, StoreError> {
        self.backend.task(id).await
    }

    /// Tasks in id order, all or one device's.
    pub async fn tasks(&self, device: Option<&DeviceId>) -> Result<Vec<TaskRecord>, StoreError> {
        self.backend.tasks(device).await
    }

    /// Faults in `(device, channel)` order, all or one device's.
    pub async fn faults(&self, device: Option<&DeviceId>) -> Result<Vec<FaultRecord>, StoreError> {
        self.backend.faults(device).await
    }

    /// The configuration documents of a collection as `(name, bytes)` in name order.
    pub async fn docs(&self, collection: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.backend.docs(collection).await
    }

    /// One configuration document.
    pub async fn doc(&self, collection: &str, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.backend.doc(collection, name).await
    }
}

/// Write access to the store: the only value that can reach `apply` and the leases. Not
/// `Clone`; there is one per store.
///
/// ```no_run
/// # async fn demo() -> Result<(), acs_store::StoreError> {
/// use acs_store::{EngineKind, Op};
/// let writer = acs_store::open(EngineKind::Redb, std::path::Path::new("fibreplane.redb"))?;
/// let reader = writer.reader(); // for everyone who only reads
/// writer.apply(vec![Op::DeleteTask(1)]).await?;
/// assert!(reader.task(1).await?.is_none());
/// # Ok(())
/// # }
/// ```
///
/// Dropping it commits the writes already queued, stops the writer and waits for that (it
/// blocks, so drop it where blocking is allowed, as at shutdown). The engine's file is closed
/// once the writer and every [`StoreReader`] taken from it are gone.
pub struct StoreWriter {
    reader: StoreReader,
}

impl std::fmt::Debug for StoreWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreWriter")
            .field("commits", &self.commits())
            .finish_non_exhaustive()
    }
}

impl StoreWriter {
    /// The writer of any [`Backend`], e.g. a network database's. The caller gives up writing
    /// through `backend` by handing it over.
    pub fn from_backend(backend: Arc<dyn Backend>) -> Self {
        Self {
            reader: StoreReader { backend },
        }
    }

    /// A read-only handle to the same store.
    pub fn reader(&self) -> StoreReader {
        self.reader.clone()
    }

    /// Applies every op in one durable transaction, group-committed with other pending writes,
    /// and returns this call's outcomes in order. When it returns, the writes are durable and
    /// every reader sees them. A failed CAS skips only its op ([`Outcome::Conflict`]); an error
    /// fails the whole call. [`StoreError::Closed`] if the writer has stopped.
    pub async fn apply(&self, ops: Vec<Op>) -> Result<Vec<Outcome>, StoreError> {
        self.reader.backend.apply(ops).await
    }

    /// Takes or renews the per-device lease for `owner`, until the store's clock passes
    /// `now + ttl_ms`. True if `owner` holds it now: it was free, expired, or already `owner`'s.
    pub async fn try_lease(
        &self,
        id: &DeviceId,
        owner: u64,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        self.reader.backend.try_lease(id, owner, ttl_ms).await
    }

    /// Releases the lease if `owner` holds it; a release by anyone else is ignored.
    pub async fn release(&self, id: &DeviceId, owner: u64) -> Result<(), StoreError> {
        self.reader.backend.release(id, owner).await
    }

    /// Number of durable commits since the store was opened: fewer than `apply` calls when
    /// group commit folds them together.
    pub fn commits(&self) -> u64 {
        self.reader.backend.commits()
    }
}

impl AsRef<StoreReader> for StoreWriter {
    fn as_ref(&self) -> &StoreReader {
        &self.reader
    }
}

impl Drop for StoreWriter {
    fn drop(&mut self) {
        self.reader.backend.shutdown();
    }
}
