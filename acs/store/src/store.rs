//! The domain-level storage trait and the operations it applies.

use crate::StoreError;
use crate::model::{
    DeviceId, DeviceMeta, FaultRecord, Param, ParamTree, TaskRecord, TreeScope, Versioned,
};

/// The synchronous interface of the embedded engines, which their [`crate::Backend`] adapter
/// is built on.
///
/// Synchronous because both embedded engines are. New code uses [`crate::StoreWriter`] and
/// [`crate::StoreReader`] instead, which give this one writer thread (group commit) and take
/// lease time from the store's clock; this trait stays public only until every caller has
/// moved. Writes go through [`DeviceStore::apply`] only, so many device updates can share one
/// durable transaction (one fsync).
pub trait DeviceStore: Send + Sync + 'static {
    /// A device's metadata and its revision.
    fn get(&self, id: &DeviceId) -> Result<Option<Versioned<DeviceMeta>>, StoreError>;
    /// A device's parameter tree; empty if it has none.
    fn get_tree(&self, id: &DeviceId) -> Result<ParamTree, StoreError>;
    /// The nodes of a device's tree that `scope` selects. The default reads the whole tree and
    /// keeps them; the engines read only the chunks that hold them.
    fn get_tree_scoped(&self, id: &DeviceId, scope: &TreeScope) -> Result<ParamTree, StoreError> {
        Ok(self
            .get_tree(id)?
            .iter()
            .filter(|(path, _)| scope.selects(path))
            .map(|(path, p)| (path.to_owned(), p.clone()))
            .collect())
    }
    /// Applies every op in ONE durable transaction (fsync'd before returning). CAS failures do
    /// not abort the batch: that op is skipped and reported as [`Outcome::Conflict`].
    fn apply(&self, ops: Vec<Op>) -> Result<Vec<Outcome>, StoreError>;
    /// Devices whose `index` contains `key`, in id order. MAC keys are normalised first.
    fn scan_index(&self, index: Index, key: &str) -> Result<Vec<DeviceId>, StoreError>;
    /// Devices whose last Inform may lie between `from_ms` and `to_ms` (inclusive, either open),
    /// in no particular order: every device that informed in the range is there, with others
    /// of the same hours (the index files devices by hour).
    fn scan_informed(
        &self,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
    ) -> Result<Vec<DeviceId>, StoreError>;
    /// Up to `limit` device ids after `after`, in id order (pagination).
    fn scan(&self, after: Option<&DeviceId>, limit: usize) -> Result<Vec<DeviceId>, StoreError>;
    /// Number of devices with metadata.
    fn count(&self) -> Result<u64, StoreError>;
    /// One task.
    fn task(&self, id: u64) -> Result<Option<TaskRecord>, StoreError>;
    /// Tasks in id order, all or one device's (the latter reads only that device's key range).
    fn tasks(&self, device: Option<&DeviceId>) -> Result<Vec<TaskRecord>, StoreError>;
    /// Faults in `(device, channel)` order, all or one device's.
    fn faults(&self, device: Option<&DeviceId>) -> Result<Vec<FaultRecord>, StoreError>;
    /// The configuration documents of a collection (presets, provisions, virtual parameters,
    /// file metadata, …), as `(name, bytes)` in name order. The store does not interpret them.
    fn docs(&self, collection: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// One configuration document.
    fn doc(&self, collection: &str, name: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Per-device lease: true if `owner` now holds it (free, expired, or already held by owner).
    /// `now_ms` is the caller's time; the async API passes the store's clock instead.
    fn try_lease(
        &self,
        id: &DeviceId,
        owner: u64,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<bool, StoreError>;
    /// Releases the lease if `owner` holds it; otherwise does nothing.
    fn release(&self, id: &DeviceId, owner: u64) -> Result<(), StoreError>;
}

/// The precondition of a compare-and-swap write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The record must not exist (creation).
    Absent,
    /// The record must exist at exactly this revision.
    Revision(u64),
    /// No precondition.
    Any,
}

/// One write in a batch passed to [`DeviceStore::apply`].
#[derive(Debug, Clone)]
#[expect(
    clippy::large_enum_variant,
    reason = "ops are moved into a Vec once per batch; boxing DeviceMeta would change the agreed \
              API and still cost one allocation per op"
)]
pub enum Op {
    /// Creates or replaces a device's metadata, keeping the serial, MAC, model
    /// (`<OUI>-<ProductClass>`) and tag indexes exact: stale keys are removed.
    PutDevice {
        /// The new metadata; `meta.id` is the key.
        meta: DeviceMeta,
        /// The precondition.
        expect: Expect,
    },
    /// Edits a device's tree: first removes each subtree, then sets each node.
    UpdateTree {
        /// The device.
        id: DeviceId,
        /// Nodes to insert or replace.
        set: Vec<(String, Param)>,
        /// Subtree roots to remove (the root itself and everything below it).
        remove_subtrees: Vec<String>,
    },
    /// Removes a device's whole tree.
    ClearTree {
        /// The device.
        id: DeviceId,
    },
    /// Records that a device informed at `at_ms`, without rewriting its metadata or bumping its
    /// revision: the periodic Inform's only change, kept in a small record beside the metadata
    /// that this replaces. Readers see `last_inform_ms` as the later of the metadata's and this
    /// record's. Ignored for an unknown device.
    NoteInform {
        /// The device.
        id: DeviceId,
        /// When it informed, in milliseconds since the Unix epoch.
        at_ms: i64,
    },
    /// Creates or replaces a configuration document.
    PutDoc {
        /// Its collection, e.g. `presets`.
        collection: String,
        /// Its name (GenieACS's `_id`).
        name: String,
        /// Its content, stored as given.
        body: Vec<u8>,
    },
    /// Removes a configuration document (no error if absent).
    DeleteDoc {
        /// Its collection.
        collection: String,
        /// Its name.
        name: String,
    },
    /// Removes a device with its tree, tasks, faults and index entries.
    DeleteDevice {
        /// The device.
        id: DeviceId,
    },
    /// Creates or replaces a task; id 0 allocates a new id from a persistent counter, which is
    /// monotonic and never reuses an id, even across restarts.
    PutTask(TaskRecord),
    /// Removes a task.
    DeleteTask(u64),
    /// Creates or replaces the fault at `(device, channel)`.
    PutFault(FaultRecord),
    /// Removes a fault.
    DeleteFault {
        /// The device.
        device: DeviceId,
        /// The channel.
        channel: String,
    },
}

/// The result of one [`Op`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Applied.
    Done {
        /// The new revision, for `PutDevice`.
        revision: Option<u64>,
        /// The task id, for `PutTask` and `DeleteTask`.
        task_id: Option<u64>,
    },
    /// The `Expect` precondition failed; nothing was written for this op.
    Conflict {
        /// The current revision, `None` if the record does not exist.
        current: Option<u64>,
    },
}

/// A secondary index over device metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Index {
    /// `identity.serial_number`.
    Serial,
    /// Every entry of `macs`.
    Mac,
    /// `<OUI>-<ProductClass>`.
    Model,
    /// Every tag.
    Tag,
    /// `identity.product_class` alone (GenieACS clients filter on it without the OUI).
    ProductClass,
    /// The hour of the last Inform (the later of the metadata's time and the last
    /// [`Op::NoteInform`]); scanned by range with [`DeviceStore::scan_informed`].
    LastInform,
}

impl Index {
    /// The byte that identifies the index in keys; part of the on-disk format.
    pub(crate) fn tag(self) -> u8 {
        match self {
            Self::Serial => 1,
            Self::Mac => 2,
            Self::Model => 3,
            Self::Tag => 4,
            Self::ProductClass => 5,
            Self::LastInform => 6,
        }
    }
}
