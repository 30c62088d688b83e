//! Why the embedded engines answer reads inline: the cost of one device-metadata `get` on redb
//! three ways.
//!
//! - `get/engine`: the synchronous engine call, the floor;
//! - `get/reader_inline`: `StoreReader::get` as the ACS calls it (a boxed, already-resolved
//!   future), awaited on a tokio runtime;
//! - `get/spawn_blocking`: the same engine call moved to tokio's blocking pool and awaited, i.e.
//!   what a thread hop per read would cost.
//!
//! The store lives on tmpfs (`/dev/shm`) when there is one, as in `tree_write`.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use acs_store::{DeviceId, DeviceMeta, DeviceStore, EngineKind, Expect, Identity, Op, Value};
use criterion::{Criterion, criterion_group, criterion_main};

fn meta(id: &DeviceId) -> DeviceMeta {
    let identity = Identity {
        manufacturer: "TP-Link".into(),
        oui: "202BC1".into(),
        product_class: "Device2".into(),
        serial_number: "22B100000001".into(),
    };
    let mut meta = DeviceMeta::new(id.clone(), identity);
    meta.last_inform_ms = 1_760_000_000_000;
    meta.connection_request_url = "http://10.0.0.1:7547/cr".into();
    meta.software_version = "1.1.9 Build 20240129".into();
    meta.macs = vec!["50:91:E3:00:01:01".into()];
    meta.inform_params = vec![("Device.DeviceInfo.UpTime".into(), Value::UnsignedInt(42))];
    meta
}

fn put(id: &DeviceId) -> Vec<Op> {
    vec![Op::PutDevice {
        meta: meta(id),
        expect: Expect::Absent,
    }]
}

fn bench(c: &mut Criterion) {
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .expect("tempdir");
    let id = DeviceId::parse("202BC1-Device2-22B100000001").expect("valid id");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");

    // The synchronous engine, shared with the blocking pool as an Arc.
    let engine: Arc<dyn DeviceStore> = Arc::from(
        acs_store::open_engine(EngineKind::Redb, &dir.path().join("engine.redb")).expect("open"),
    );
    engine.apply(put(&id)).expect("seed");
    // The async store, as the ACS opens it.
    let writer = acs_store::open(EngineKind::Redb, &dir.path().join("store.redb")).expect("open");
    rt.block_on(writer.apply(put(&id))).expect("seed");
    let reader = writer.reader();

    let mut group = c.benchmark_group("get");
    group.bench_function("engine", |b| {
        b.iter(|| black_box(engine.get(black_box(&id)).expect("get")));
    });
    group.bench_function("reader_inline", |b| {
        b.iter(|| black_box(rt.block_on(reader.get(black_box(&id))).expect("get")));
    });
    group.bench_function("spawn_blocking", |b| {
        b.iter(|| {
            let (engine, id) = (engine.clone(), id.clone());
            let got = rt.block_on(async move {
                tokio::task::spawn_blocking(move || engine.get(&id))
                    .await
                    .expect("join")
            });
            black_box(got.expect("get"))
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
