//! The device summary of a fully discovered XX230v (~6,400 parameters): reading its tree from
//! the store, and extracting the summary from it — the two halves of `GET /devices/{id}/summary`.

use acs::store::{DeviceMeta, EngineKind, Expect, Identity, Op, Param, ParamTree, Value};
use acs::summary::{Staleness, summarize};
use criterion::{Criterion, criterion_group, criterion_main};

fn xx230v_tree() -> ParamTree {
    let model = fibreplane_schemas::DataModel::from_csv(fibreplane_schemas::XX230V_CSV).unwrap();
    model
        .params
        .into_iter()
        .map(|p| {
            let param = if p.object {
                Param::object(Some(p.writable), 1)
            } else {
                Param::leaf(
                    Some(Value::from_wire(&p.xsd_type, &p.value)),
                    Some(p.writable),
                    1,
                )
            };
            (p.path, param)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let tree = xx230v_tree();
    let dir = tempfile::tempdir().unwrap();
    // The store as the ACS uses it: reads through a reader (they resolve at once, so `block_on`
    // adds no wait to the figure), the tree written once through the writer.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let writer = acs::store::open(EngineKind::Redb, &dir.path().join("s.redb")).unwrap();
    let store = writer.reader();
    let id = acs::DeviceId::parse("1C61B4-Device2-BENCH0001").unwrap();
    let mut meta = DeviceMeta::new(id.clone(), Identity::default());
    meta.identity.oui = "1C61B4".into();
    meta.identity.product_class = "Device2".into();
    rt.block_on(writer.apply(vec![
            Op::PutDevice {
                meta,
                expect: Expect::Absent,
            },
            Op::UpdateTree {
                id: id.clone(),
                set: tree
                    .iter()
                    .map(|(p, v)| (p.to_owned(), v.clone()))
                    .collect(),
                remove_subtrees: Vec::new(),
            },
        ]))
    .unwrap();
    c.bench_function("summary/get_tree (XX230v, 6.4k params)", |b| {
        b.iter(|| rt.block_on(store.get_tree(&id)).unwrap())
    });
    c.bench_function("summary/summarize (XX230v)", |b| {
        b.iter(|| summarize(&tree, None, 2, &Staleness::default()))
    });
    let s = summarize(&tree, None, 2, &Staleness::default());
    c.bench_function("summary/to_json", |b| {
        b.iter(|| serde_json::to_vec(&s).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
