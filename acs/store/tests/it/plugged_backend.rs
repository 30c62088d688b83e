//! A backend plugged in with `StoreWriter::from_backend` (as a network database will be) gets
//! every call through the capabilities, and its `shutdown` when the writer is dropped.

use std::sync::{Arc, Mutex};

use acs_store::{
    Backend, DeviceId, DeviceMeta, FaultRecord, Index, Op, Outcome, ParamTree, StoreFuture,
    StoreWriter, TaskRecord, Versioned,
};

use crate::support::id;

/// Records every call by name and answers with empty results.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<String>>,
}

impl Recorder {
    fn answer<'a, T: Send + 'a>(&self, call: String, value: T) -> StoreFuture<'a, T> {
        self.calls.lock().unwrap().push(call);
        Box::pin(std::future::ready(Ok(value)))
    }
}

impl Backend for Recorder {
    fn now_ms(&self) -> i64 {
        42
    }
    fn get<'a>(&'a self, id: &'a DeviceId) -> StoreFuture<'a, Option<Versioned<DeviceMeta>>> {
        self.answer(format!("get {id}"), None)
    }
    fn get_tree<'a>(&'a self, id: &'a DeviceId) -> StoreFuture<'a, ParamTree> {
        self.answer(format!("get_tree {id}"), ParamTree::default())
    }
    fn get_tree_scoped<'a>(
        &'a self,
        id: &'a DeviceId,
        _: &'a acs_store::TreeScope,
    ) -> StoreFuture<'a, ParamTree> {
        self.answer(format!("get_tree_scoped {id}"), ParamTree::default())
    }
    fn scan_index<'a>(&'a self, _: Index, key: &'a str) -> StoreFuture<'a, Vec<DeviceId>> {
        self.answer(format!("scan_index {key}"), Vec::new())
    }
    fn scan_informed(&self, _: Option<i64>, _: Option<i64>) -> StoreFuture<'_, Vec<DeviceId>> {
        self.answer("scan_informed".into(), Vec::new())
    }
    fn scan<'a>(&'a self, _: Option<&'a DeviceId>, limit: usize) -> StoreFuture<'a, Vec<DeviceId>> {
        self.answer(format!("scan {limit}"), Vec::new())
    }
    fn count(&self) -> StoreFuture<'_, u64> {
        self.answer("count".into(), 7)
    }
    fn task(&self, id: u64) -> StoreFuture<'_, Option<TaskRecord>> {
        self.answer(format!("task {id}"), None)
    }
    fn tasks<'a>(&'a self, _: Option<&'a DeviceId>) -> StoreFuture<'a, Vec<TaskRecord>> {
        self.answer("tasks".into(), Vec::new())
    }
    fn faults<'a>(&'a self, _: Option<&'a DeviceId>) -> StoreFuture<'a, Vec<FaultRecord>> {
        self.answer("faults".into(), Vec::new())
    }
    fn docs<'a>(&'a self, collection: &'a str) -> StoreFuture<'a, Vec<(String, Vec<u8>)>> {
        self.answer(format!("docs {collection}"), Vec::new())
    }
    fn doc<'a>(&'a self, collection: &'a str, name: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        self.answer(format!("doc {collection} {name}"), None)
    }
    fn apply(&self, ops: Vec<Op>) -> StoreFuture<'_, Vec<Outcome>> {
        self.answer(format!("apply {}", ops.len()), Vec::new())
    }
    fn try_lease<'a>(&'a self, id: &'a DeviceId, owner: u64, ttl: i64) -> StoreFuture<'a, bool> {
        self.answer(format!("try_lease {id} {owner} {ttl}"), true)
    }
    fn release<'a>(&'a self, id: &'a DeviceId, owner: u64) -> StoreFuture<'a, ()> {
        self.answer(format!("release {id} {owner}"), ())
    }
    fn commits(&self) -> u64 {
        3
    }
    fn shutdown(&self) {
        self.calls.lock().unwrap().push("shutdown".into());
    }
}

#[test]
fn a_plugged_in_backend_gets_every_call_and_shutdown_on_drop() {
    let backend = Arc::new(Recorder::default());
    let writer = StoreWriter::from_backend(backend.clone());
    let reader = writer.reader();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let d = id("dev");
    rt.block_on(async {
        assert_eq!(writer.apply(vec![Op::DeleteTask(1)]).await.unwrap(), []);
        assert!(writer.try_lease(&d, 9, 500).await.unwrap());
        writer.release(&d, 9).await.unwrap();
        assert!(reader.get(&d).await.unwrap().is_none());
        assert_eq!(reader.count().await.unwrap(), 7);
        reader.doc("presets", "p1").await.unwrap();
    });
    assert_eq!((reader.now_ms(), writer.commits()), (42, 3));
    drop(writer);
    // Readers outlive the writer; only writing stopped.
    assert_eq!(rt.block_on(reader.count()).unwrap(), 7);
    assert_eq!(
        *backend.calls.lock().unwrap(),
        [
            "apply 1",
            "try_lease dev 9 500",
            "release dev 9",
            "get dev",
            "count",
            "doc presets p1",
            "shutdown",
            "count",
        ]
    );
}
