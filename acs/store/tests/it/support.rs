//! Shared fixtures: a per-test store directory, the synchronous test view of the async store,
//! record builders, and the backend fan-out macro.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use acs_store::{
    DeviceId, DeviceMeta, EngineKind, FaultRecord, Identity, Index, ManualClock, Op, Outcome,
    Param, ParamTree, StoreError, StoreReader, StoreWriter, TaskRecord, Value, Versioned,
};
use tempfile::TempDir;

/// A fresh store location that is deleted when the test ends, and the clock its leases use.
pub(crate) struct Harness {
    dir: TempDir,
    pub(crate) backend: EngineKind,
    pub(crate) clock: Arc<ManualClock>,
}

impl Harness {
    pub(crate) fn new(backend: EngineKind) -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
            backend,
            clock: Arc::new(ManualClock::new(0)),
        }
    }

    /// The store's file (redb) or directory (sled).
    pub(crate) fn path(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    /// Opens the store; the previous handle must have been dropped (both engines lock).
    pub(crate) fn open(&self) -> Store {
        Store::open(self.backend, &self.path(), self.clock.clone()).expect("open store")
    }
}

/// The store exactly as the ACS gets it ([`acs_store::open`]: a `StoreWriter`, its writer
/// thread and group commit), driven synchronously on a private runtime so the conformance
/// bodies read like straight-line code. Each method awaits the async call of the same name.
pub(crate) struct Store {
    writer: StoreWriter,
    reader: StoreReader,
    rt: tokio::runtime::Runtime,
}

impl Store {
    pub(crate) fn open(
        engine: EngineKind,
        path: &Path,
        clock: Arc<ManualClock>,
    ) -> Result<Self, StoreError> {
        let writer = acs_store::open_with_clock(engine, path, clock)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("test runtime");
        Ok(Self {
            reader: writer.reader(),
            writer,
            rt,
        })
    }

    pub(crate) fn writer(&self) -> &StoreWriter {
        &self.writer
    }

    pub(crate) fn get(&self, id: &DeviceId) -> Result<Option<Versioned<DeviceMeta>>, StoreError> {
        self.rt.block_on(self.reader.get(id))
    }
    pub(crate) fn get_tree(&self, id: &DeviceId) -> Result<ParamTree, StoreError> {
        self.rt.block_on(self.reader.get_tree(id))
    }
    pub(crate) fn get_tree_scoped(
        &self,
        id: &DeviceId,
        scope: &acs_store::TreeScope,
    ) -> Result<ParamTree, StoreError> {
        self.rt.block_on(self.reader.get_tree_scoped(id, scope))
    }
    pub(crate) fn apply(&self, ops: Vec<Op>) -> Result<Vec<Outcome>, StoreError> {
        self.rt.block_on(self.writer.apply(ops))
    }
    pub(crate) fn scan_index(&self, index: Index, key: &str) -> Result<Vec<DeviceId>, StoreError> {
        self.rt.block_on(self.reader.scan_index(index, key))
    }
    pub(crate) fn scan_informed(
        &self,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
    ) -> Result<Vec<DeviceId>, StoreError> {
        self.rt.block_on(self.reader.scan_informed(from_ms, to_ms))
    }
    pub(crate) fn scan(
        &self,
        after: Option<&DeviceId>,
        limit: usize,
    ) -> Result<Vec<DeviceId>, StoreError> {
        self.rt.block_on(self.reader.scan(after, limit))
    }
    pub(crate) fn count(&self) -> Result<u64, StoreError> {
        self.rt.block_on(self.reader.count())
    }
    pub(crate) fn task(&self, id: u64) -> Result<Option<TaskRecord>, StoreError> {
        self.rt.block_on(self.reader.task(id))
    }
    pub(crate) fn tasks(&self, device: Option<&DeviceId>) -> Result<Vec<TaskRecord>, StoreError> {
        self.rt.block_on(self.reader.tasks(device))
    }
    pub(crate) fn faults(&self, device: Option<&DeviceId>) -> Result<Vec<FaultRecord>, StoreError> {
        self.rt.block_on(self.reader.faults(device))
    }
    pub(crate) fn docs(&self, collection: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.rt.block_on(self.reader.docs(collection))
    }
    pub(crate) fn doc(&self, collection: &str, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.rt.block_on(self.reader.doc(collection, name))
    }
    pub(crate) fn try_lease(
        &self,
        id: &DeviceId,
        owner: u64,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        self.rt.block_on(self.writer.try_lease(id, owner, ttl_ms))
    }
    pub(crate) fn release(&self, id: &DeviceId, owner: u64) -> Result<(), StoreError> {
        self.rt.block_on(self.writer.release(id, owner))
    }
}

pub(crate) fn id(s: &str) -> DeviceId {
    DeviceId::parse(s).expect("valid id")
}

/// A device of model `202BC1-Device2` with the given serial.
pub(crate) fn device(dev: &str, serial: &str) -> DeviceMeta {
    let identity = Identity {
        manufacturer: "TP-Link".into(),
        oui: "202BC1".into(),
        product_class: "Device2".into(),
        serial_number: serial.into(),
    };
    let mut meta = DeviceMeta::new(id(dev), identity);
    meta.last_inform_ms = 1_700_000_000_000;
    meta.inform_params = vec![("Device.DeviceInfo.UpTime".into(), Value::UnsignedInt(42))];
    meta
}

pub(crate) fn leaf(text: &str, ts: i64) -> Param {
    Param {
        object: false,
        writable: Some(false),
        value: Some(Value::String(text.into())),
        timestamp_ms: ts,
        attributes: None,
    }
}

pub(crate) fn object(ts: i64) -> Param {
    Param {
        object: true,
        writable: Some(false),
        value: None,
        timestamp_ms: ts,
        attributes: None,
    }
}

/// Applies one op that must succeed, returning its outcome.
pub(crate) fn apply1(store: &Store, op: Op) -> Outcome {
    let mut out = store.apply(vec![op]).expect("apply");
    assert_eq!(out.len(), 1);
    out.remove(0)
}

/// The revision of a successful `PutDevice`.
pub(crate) fn put_ok(store: &Store, meta: DeviceMeta, expect: acs_store::Expect) -> u64 {
    match apply1(store, Op::PutDevice { meta, expect }) {
        Outcome::Done {
            revision: Some(r), ..
        } => r,
        other => panic!("expected Done with a revision, got {other:?}"),
    }
}

/// Instantiates each listed `fn(&Harness)` as one `#[test]` per backend.
macro_rules! for_each_backend {
    ($($name:ident),* $(,)?) => {
        mod redb {
            $(#[test]
            fn $name() {
                super::$name(&$crate::support::Harness::new(acs_store::EngineKind::Redb));
            })*
        }
        #[cfg(feature = "sled")]
        mod sled {
            $(#[test]
            fn $name() {
                super::$name(&$crate::support::Harness::new(acs_store::EngineKind::Sled));
            })*
        }
    };
}
pub(crate) use for_each_backend;
