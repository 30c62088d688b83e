//! Criterion benchmarks of the store's hot write and read paths, on redb:
//!
//! - `register_xx230v`: a full XX230v registration write, i.e. one `apply` of `PutDevice` plus an
//!   `UpdateTree` that replaces `Device.` with all ~6,400 objects and typed leaves, for a fresh
//!   device each iteration (the ACS budget is <= 1 ms of store CPU for this);
//! - `periodic_put_device`: the periodic-Inform write, a `PutDevice` whose indexed fields did not
//!   change (~5,000/s in production);
//! - `get_meta`: reading one device's metadata, done at the start of every session.
//!
//! The store lives on tmpfs (`/dev/shm`) when there is one, so `fsync` is nearly free and the
//! figures are the store's CPU cost rather than the disk's latency.

use std::hint::black_box;
use std::path::Path;

use acs_store::{DeviceId, DeviceMeta, DeviceStore, Expect, Identity, Op, Param, Value, open_redb};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use fibreplane_schemas::DataModel;

fn meta(n: u64) -> DeviceMeta {
    let serial = format!("22B1{n:08}");
    let identity = Identity {
        manufacturer: "TP-Link".into(),
        oui: "202BC1".into(),
        product_class: "Device2".into(),
        serial_number: serial.clone(),
    };
    let id = DeviceId::parse(&format!("202BC1-Device2-{serial}")).expect("valid id");
    let mut meta = DeviceMeta::new(id, identity);
    meta.last_inform_ms = 1_760_000_000_000;
    meta.connection_request_url = "http://10.0.0.1:7547/cr".into();
    meta.software_version = "1.1.9 Build 20240129".into();
    meta.macs = vec![format!(
        "50:91:E3:{:02X}:{:02X}:01",
        n >> 8 & 0xFF,
        n & 0xFF
    )];
    meta.inform_params = vec![
        ("Device.DeviceInfo.UpTime".into(), Value::UnsignedInt(42)),
        (
            "Device.ManagementServer.ParameterKey".into(),
            Value::String(String::new()),
        ),
    ];
    meta
}

/// The registration batch: the device's metadata, then a refresh that removes `Device.` and sets every
/// object and leaf, with one timestamp per GetParameterValues round trip.
fn registration(model: &DataModel, n: u64) -> Vec<Op> {
    let meta = meta(n);
    let set = model
        .params
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let param = Param {
                object: p.object,
                writable: Some(p.writable),
                value: (!p.object).then(|| Value::from_wire(&p.xsd_type, &p.value)),
                timestamp_ms: 1_760_000_000_000 + (i / 500) as i64 * 37,
                attributes: None,
            };
            (p.path.clone(), param)
        })
        .collect();
    vec![
        Op::PutDevice {
            meta: meta.clone(),
            expect: Expect::Any,
        },
        Op::UpdateTree {
            id: meta.id,
            set,
            remove_subtrees: vec!["Device.".into()],
        },
    ]
}

fn scratch_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        tempfile::tempdir_in(shm).expect("tempdir in /dev/shm")
    } else {
        tempfile::tempdir().expect("tempdir")
    }
}

fn benches(c: &mut Criterion) {
    let model = DataModel::xx230v();
    let dir = scratch_dir();
    let store = open_redb(&dir.path().join("bench.redb")).expect("open");
    // Warm the model's dictionary, as a running ACS has it.
    store.apply(registration(&model, 0)).expect("apply");

    let mut next = 1u64;
    c.bench_function("register_xx230v", |b| {
        b.iter_batched(
            || {
                next += 1;
                registration(&model, next)
            },
            |ops| store.apply(ops).expect("apply"),
            BatchSize::LargeInput,
        );
    });

    let mut m = meta(0);
    let mut revision = store.get(&m.id).expect("get").expect("present").revision;
    c.bench_function("periodic_put_device", |b| {
        b.iter_batched(
            || {
                m.last_inform_ms += 300_000;
                let op = Op::PutDevice {
                    meta: m.clone(),
                    expect: Expect::Revision(revision),
                };
                revision += 1;
                vec![op]
            },
            |ops| store.apply(ops).expect("apply"),
            BatchSize::SmallInput,
        );
    });

    c.bench_function("get_meta", |b| {
        b.iter(|| store.get(black_box(&m.id)).expect("get"));
    });
}

criterion_group! {
    name = store;
    config = Criterion::default().sample_size(30);
    targets = benches
}
criterion_main!(store);
