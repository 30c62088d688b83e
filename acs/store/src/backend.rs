//! The async storage trait: what a backend implements, embedded or over the network.

use std::future::Future;
use std::pin::Pin;

use crate::StoreError;
use crate::model::{
    DeviceId, DeviceMeta, FaultRecord, ParamTree, TaskRecord, TreeScope, Versioned,
};
use crate::store::{Index, Op, Outcome};

/// The future every [`Backend`] call returns: boxed so the trait stays object-safe (the ACS holds
/// an `Arc<dyn Backend>` chosen at run time), and `Send` so it can be awaited on any tokio worker.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Durable ACS state, independent of where it lives.
///
/// Calls are async so a network database (PostgreSQL, a later backend) never blocks a tokio
/// worker. The embedded engines answer reads inline and send writes to their one writer thread.
///
/// Nothing outside this crate calls a `Backend` directly: [`crate::StoreWriter`] owns it and
/// hands out [`crate::StoreReader`]s, so only the holder of the writer can reach
/// [`Backend::apply`]. A backend must accept `apply` from that one writer and may assume no other
/// writer exists.
pub trait Backend: Send + Sync + 'static {
    /// The store's clock, in milliseconds since the Unix epoch: the time leases are measured in.
    fn now_ms(&self) -> i64;
    /// A device's metadata and its revision.
    fn get<'a>(&'a self, id: &'a DeviceId) -> StoreFuture<'a, Option<Versioned<DeviceMeta>>>;
    /// A device's parameter tree; empty if it has none.
    fn get_tree<'a>(&'a self, id: &'a DeviceId) -> StoreFuture<'a, ParamTree>;
    /// The nodes of a device's tree that `scope` selects (see [`TreeScope`]).
    fn get_tree_scoped<'a>(
        &'a self,
        id: &'a DeviceId,
        scope: &'a TreeScope,
    ) -> StoreFuture<'a, ParamTree>;
    /// Devices whose `index` contains `key`, in id order. MAC keys are normalised first.
    fn scan_index<'a>(&'a self, index: Index, key: &'a str) -> StoreFuture<'a, Vec<DeviceId>>;
    /// Devices whose last Inform may lie between `from_ms` and `to_ms` (inclusive, either open),
    /// in no particular order: every device that informed in the range is there, with others
    /// of the same hours (the index files devices by hour).
    fn scan_informed(
        &self,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
    ) -> StoreFuture<'_, Vec<DeviceId>>;
    /// Up to `limit` device ids after `after`, in id order (pagination).
    fn scan<'a>(
        &'a self,
        after: Option<&'a DeviceId>,
        limit: usize,
    ) -> StoreFuture<'a, Vec<DeviceId>>;
    /// Number of devices with metadata.
    fn count(&self) -> StoreFuture<'_, u64>;
    /// One task.
    fn task(&self, id: u64) -> StoreFuture<'_, Option<TaskRecord>>;
    /// Tasks in id order, all or one device's.
    fn tasks<'a>(&'a self, device: Option<&'a DeviceId>) -> StoreFuture<'a, Vec<TaskRecord>>;
    /// Faults in `(device, channel)` order, all or one device's.
    fn faults<'a>(&'a self, device: Option<&'a DeviceId>) -> StoreFuture<'a, Vec<FaultRecord>>;
    /// The configuration documents of a collection as `(name, bytes)` in name order.
    fn docs<'a>(&'a self, collection: &'a str) -> StoreFuture<'a, Vec<(String, Vec<u8>)>>;
    /// One configuration document.
    fn doc<'a>(&'a self, collection: &'a str, name: &'a str) -> StoreFuture<'a, Option<Vec<u8>>>;
    /// Applies every op in ONE durable transaction, possibly shared with other callers' ops
    /// (group commit), and returns this call's outcomes in order once they are durable and
    /// visible to every reader. A failed CAS skips only its op ([`Outcome::Conflict`]); an
    /// error fails the whole transaction, and with it every call folded into it.
    fn apply(&self, ops: Vec<Op>) -> StoreFuture<'_, Vec<Outcome>>;
    /// Takes or renews the per-device lease for `owner` until the store's clock passes
    /// `now + ttl_ms`. True if `owner` now holds it: it was free, expired, or already `owner`'s.
    fn try_lease<'a>(&'a self, id: &'a DeviceId, owner: u64, ttl_ms: i64) -> StoreFuture<'a, bool>;
    /// Releases the lease if `owner` holds it; otherwise does nothing.
    fn release<'a>(&'a self, id: &'a DeviceId, owner: u64) -> StoreFuture<'a, ()>;
    /// Number of durable commits `apply` has made since the store was opened. With group commit
    /// it is at most the number of `apply` calls, and far fewer under load.
    fn commits(&self) -> u64;
    /// Stops taking writes: the writes already queued are committed, later `apply`s fail with
    /// [`StoreError::Closed`]. Blocks until done. Called once, when the [`crate::StoreWriter`]
    /// is dropped; reads keep working while any [`crate::StoreReader`] holds the backend.
    fn shutdown(&self);
}
