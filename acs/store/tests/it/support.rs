//! Shared fixtures: a per-test store directory, record builders, and the backend fan-out macro.

use std::path::PathBuf;

use acs_store::{Backend, DeviceId, DeviceMeta, DeviceStore, Identity, Op, Outcome, Param, Value};
use tempfile::TempDir;

/// A fresh store location that is deleted when the test ends.
pub(crate) struct Harness {
    dir: TempDir,
    pub(crate) backend: Backend,
}

impl Harness {
    pub(crate) fn new(backend: Backend) -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
            backend,
        }
    }

    /// The store's file (redb) or directory (sled).
    pub(crate) fn path(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    /// Opens the store; the previous handle must have been dropped (both engines lock).
    pub(crate) fn open(&self) -> Box<dyn DeviceStore> {
        acs_store::open(self.backend, &self.path()).expect("open store")
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
pub(crate) fn apply1(store: &dyn DeviceStore, op: Op) -> Outcome {
    let mut out = store.apply(vec![op]).expect("apply");
    assert_eq!(out.len(), 1);
    out.remove(0)
}

/// The revision of a successful `PutDevice`.
pub(crate) fn put_ok(store: &dyn DeviceStore, meta: DeviceMeta, expect: acs_store::Expect) -> u64 {
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
                super::$name(&$crate::support::Harness::new(acs_store::Backend::Redb));
            })*
        }
        #[cfg(feature = "sled")]
        mod sled {
            $(#[test]
            fn $name() {
                super::$name(&$crate::support::Harness::new(acs_store::Backend::Sled));
            })*
        }
    };
}
pub(crate) use for_each_backend;
