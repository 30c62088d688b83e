//! The [`Backend`] of the embedded engines (redb, sled): one adapter over their synchronous
//! [`DeviceStore`] code.
//!
//! Reads run inline, on the caller's task. Both engines read memory-mapped or cached B-tree
//! pages, so a `get` costs a microsecond or two of CPU and never waits on the network; moving it
//! to another thread (`spawn_blocking`) would cost far more than the read itself. The
//! `read_path` bench measures it (2-core machine shared with other builds, redb on tmpfs): one
//! device's metadata takes 1.65 µs from the engine, 1.79 µs through `StoreReader::get` inline,
//! and 29.8 µs through `spawn_blocking`, i.e. a hop per read would make reads ~17 times dearer.
//!
//! Writes go to the group-commit thread ([`GroupCommit`]), the only code that calls the engine's
//! `apply`. Leases stay in memory (see `lease.rs`: both engines are single-process), timed by
//! the store's [`Clock`].

use std::future::ready;
use std::sync::Arc;

use crate::StoreError;
use crate::backend::{Backend, StoreFuture};
use crate::clock::Clock;
use crate::group_commit::GroupCommit;
use crate::model::{
    DeviceId, DeviceMeta, FaultRecord, ParamTree, TaskRecord, TreeScope, Versioned,
};
use crate::store::{DeviceStore, Index, Op, Outcome};

/// An embedded engine, its writer thread and the clock its leases are measured by.
pub(crate) struct Embedded {
    store: Arc<dyn DeviceStore>,
    writer: GroupCommit,
    clock: Arc<dyn Clock>,
}

impl Embedded {
    /// Wraps an opened engine and starts its writer thread.
    pub(crate) fn start(
        store: Box<dyn DeviceStore>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StoreError> {
        let store: Arc<dyn DeviceStore> = Arc::from(store);
        let engine = store.clone();
        Ok(Self {
            writer: GroupCommit::start(Box::new(move |ops| engine.apply(ops)))?,
            store,
            clock,
        })
    }
}

/// A future that is already resolved: the inline answer of a read.
fn done<'a, T: Send + 'a>(result: Result<T, StoreError>) -> StoreFuture<'a, T> {
    Box::pin(ready(result))
}

impl Backend for Embedded {
    fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    fn get<'a>(&'a self, id: &'a DeviceId) -> StoreFuture<'a, Option<Versioned<DeviceMeta>>> {
        done(self.store.get(id))
    }

    fn get_tree<'a>(&'a self, id: &'a DeviceId) -> StoreFuture<'a, ParamTree> {
        done(self.store.get_tree(id))
    }

    fn get_tree_scoped<'a>(
        &'a self,
        id: &'a DeviceId,
        scope: &'a TreeScope,
    ) -> StoreFuture<'a, ParamTree> {
        done(self.store.get_tree_scoped(id, scope))
    }

    fn scan_index<'a>(&'a self, index: Index, key: &'a str) -> StoreFuture<'a, Vec<DeviceId>> {
        done(self.store.scan_index(index, key))
    }

    fn scan_informed(
        &self,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
    ) -> StoreFuture<'_, Vec<DeviceId>> {
        done(self.store.scan_informed(from_ms, to_ms))
    }

    fn scan<'a>(
        &'a self,
        after: Option<&'a DeviceId>,
        limit: usize,
    ) -> StoreFuture<'a, Vec<DeviceId>> {
        done(self.store.scan(after, limit))
    }

    fn count(&self) -> StoreFuture<'_, u64> {
        done(self.store.count())
    }

    fn task(&self, id: u64) -> StoreFuture<'_, Option<TaskRecord>> {
        done(self.store.task(id))
    }

    fn tasks<'a>(&'a self, device: Option<&'a DeviceId>) -> StoreFuture<'a, Vec<TaskRecord>> {
        done(self.store.tasks(device))
    }

    fn faults<'a>(&'a self, device: Option<&'a DeviceId>) -> StoreFuture<'a, Vec<FaultRecord>> {
        done(self.store.faults(device))
    }

    fn docs<'a>(&'a self, collection: &'a str) -> StoreFuture<'a, Vec<(String, Vec<u8>)>> {
        done(self.store.docs(collection))
    }

    fn doc<'a>(&'a self, collection: &'a str, name: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        done(self.store.doc(collection, name))
    }

    fn apply(&self, ops: Vec<Op>) -> StoreFuture<'_, Vec<Outcome>> {
        Box::pin(self.writer.apply(ops))
    }

    fn try_lease<'a>(&'a self, id: &'a DeviceId, owner: u64, ttl_ms: i64) -> StoreFuture<'a, bool> {
        done(self.store.try_lease(id, owner, self.clock.now_ms(), ttl_ms))
    }

    fn release<'a>(&'a self, id: &'a DeviceId, owner: u64) -> StoreFuture<'a, ()> {
        done(self.store.release(id, owner))
    }

    fn commits(&self) -> u64 {
        self.writer.commits()
    }

    fn shutdown(&self) {
        self.writer.shutdown();
    }
}
