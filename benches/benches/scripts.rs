//! The script half of a scripted periodic session (issue 16's `acs-load --scripts` row), in
//! isolation: reading what the scripts need of a fully discovered XX230v (~6,400 parameters)
//! from the store, whole and scoped, and one pass of the bench's provision and virtual
//! parameter over it until they settle (two steps, three engine runs).

use std::collections::HashMap;
use std::sync::Arc;

use acs::provision::script::{Pass, Scripts, Settled, TreeView};
use acs::store::TreeScope;
use criterion::{Criterion, criterion_group, criterion_main};
use fibreplane_benches::stored::{StoredDevice, xx230v_tree};

/// The same provision and virtual parameter as `acs-load --scripts`.
const PROVISION: &str = r#"
const hourly = Date.now(3600000);
declare("Device.ManagementServer.PeriodicInformEnable", {value: hourly}, {value: true});
declare("Device.DeviceInfo.SoftwareVersion", {value: hourly});
declare("VirtualParameters.Firmware", {value: Date.now()});
"#;
const VIRTUAL: &str = r#"
const v = declare("Device.DeviceInfo.SoftwareVersion", {value: Date.now(3600000)});
return {writable: false, value: ["fw-" + v.value[0], "xsd:string"]};
"#;

fn bench(c: &mut Criterion) {
    let tree = xx230v_tree().unwrap();
    let d = StoredDevice::new(&tree).unwrap();
    let (rt, store, meta) = (&d.rt, &d.store, &d.meta);
    let id = &meta.id;
    let mut scope = TreeScope::new();
    for p in [
        "Device.ManagementServer.PeriodicInformEnable",
        "Device.DeviceInfo.SoftwareVersion",
        "VirtualParameters",
    ] {
        scope.add_dotted(p, true);
    }
    scope.add_dotted("Device", false);
    c.bench_function("scripts/get_tree whole (XX230v, 6.4k params)", |b| {
        b.iter(|| rt.block_on(store.get_tree(id)).unwrap())
    });
    c.bench_function("scripts/get_tree_scoped (the bench scripts' scope)", |b| {
        b.iter(|| rt.block_on(store.get_tree_scoped(id, &scope)).unwrap())
    });
    let scoped = rt.block_on(store.get_tree_scoped(id, &scope)).unwrap();
    let script =
        |name: &str, source: &str| (name.to_owned(), Arc::new(script::Script::new(name, source)));
    let scripts = Arc::new(Scripts {
        provisions: HashMap::from([script("bench", PROVISION)]),
        virtual_parameters: HashMap::from([script("Firmware", VIRTUAL)]),
        learned: Arc::default(),
    });
    let mut now = 1_800_000_000_000_i64;
    c.bench_function("scripts/pass (provision + virtual parameter)", |b| {
        b.iter(|| {
            now += 1;
            let mut pass = Pass::new(
                scripts.clone(),
                vec![("bench".into(), "bench".into(), Vec::new())],
            );
            // As a session runs it: step, and while the scripts have not settled (the virtual
            // parameter commits once: it reads what it declared), the next revision.
            let mut view = TreeView::new(scoped.clone(), meta);
            let mut runs = 0;
            loop {
                let (v, out) = pass.step(view, meta, now);
                assert!(out.faults.is_empty(), "{:?}", out.faults);
                view = v;
                runs += 1;
                if pass.advance() == Ok(Settled::Done) {
                    break;
                }
            }
            assert_eq!(runs, 2);
            view
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
