//! The device summary of a fully discovered XX230v (~6,400 parameters): reading its tree from
//! the store, and extracting the summary from it — the two halves of `GET /devices/{id}/summary`.

use acs::summary::{Staleness, summarize};
use criterion::{Criterion, criterion_group, criterion_main};
use fibreplane_benches::stored::{StoredDevice, xx230v_tree};

fn bench(c: &mut Criterion) {
    let tree = xx230v_tree().unwrap();
    // The store as the ACS uses it: reads through a reader, the tree written once through the
    // writer.
    let d = StoredDevice::new(&tree).unwrap();
    let (rt, store, id) = (&d.rt, &d.store, &d.meta.id);
    c.bench_function("summary/get_tree (XX230v, 6.4k params)", |b| {
        b.iter(|| rt.block_on(store.get_tree(id)).unwrap())
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
