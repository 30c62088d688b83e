//! Partial updates of trees large enough to span many chunks (the other tree tests fit in one).
//!
//! A full XX230v tree is stored, then edited by subtree refreshes, single-leaf updates, new
//! instances (fresh ids beyond every chunk), removals spanning chunk boundaries, a reopen (the
//! dictionary reloads from disk) and a model change; after each step the stored tree must equal
//! the same edits applied to an in-memory `ParamTree`.

use acs_store::{Expect, Op, Param, ParamTree, Value};
use fibreplane_schemas::DataModel;

use crate::support::{Harness, Store, device, for_each_backend, id, put_ok};

for_each_backend!(partial_updates_of_a_large_tree);

fn full_tree(ts: i64) -> Vec<(String, Param)> {
    DataModel::xx230v()
        .params
        .iter()
        .map(|p| {
            let param = Param {
                object: p.object,
                writable: Some(p.writable),
                value: (!p.object).then(|| Value::from_wire(&p.xsd_type, &p.value)),
                timestamp_ms: ts,
                attributes: None,
            };
            (p.path.clone(), param)
        })
        .collect()
}

fn text(s: &str, ts: i64) -> Param {
    Param {
        object: false,
        writable: None,
        value: Some(Value::String(s.to_owned())),
        timestamp_ms: ts,
        attributes: None,
    }
}

/// Applies an update to the store and to the expected tree, then compares them.
fn step(s: &Store, want: &mut ParamTree, set: Vec<(String, Param)>, remove: &[&str], what: &str) {
    for prefix in remove {
        want.remove_subtree(prefix);
    }
    for (path, p) in &set {
        want.insert(path.clone(), p.clone());
    }
    s.apply(vec![Op::UpdateTree {
        id: id("big"),
        set,
        remove_subtrees: remove.iter().map(|p| (*p).to_owned()).collect(),
    }])
    .unwrap();
    let got = s.get_tree(&id("big")).unwrap();
    assert_eq!(got.len(), want.len(), "{what}: node count");
    assert!(got == *want, "{what}: trees differ");
    // Scoped reads skip chunks and select by id; they must see exactly what a full read sees.
    for scope in scopes() {
        let selected: ParamTree = want
            .iter()
            .filter(|(p, _)| scope.selects(p))
            .map(|(p, v)| (p.to_owned(), v.clone()))
            .collect();
        let got = s.get_tree_scoped(&id("big"), &scope).unwrap();
        assert!(
            got == selected,
            "{what}: scoped read of {:?} differs",
            scope.key()
        );
    }
}

/// Scopes of the kinds sessions use: a few leaves, instances by wildcard, a subtree, nothing
/// that exists.
fn scopes() -> Vec<acs_store::TreeScope> {
    let mut out = Vec::new();
    for patterns in [
        &[
            ("Device.DeviceInfo.UpTime", false),
            ("Device.DeviceInfo.SerialNumber", false),
        ][..],
        &[
            ("Device.WiFi.SSID.*.SSID", false),
            ("Device.IP.Interface.*", true),
        ][..],
        &[("Device.Hosts", true), ("VirtualParameters", true)][..],
        &[("Device.Nothing.Here", false)][..],
    ] {
        let mut s = acs_store::TreeScope::new();
        for (p, sub) in patterns {
            s.add_dotted(p, *sub);
        }
        out.push(s);
    }
    out
}

fn partial_updates_of_a_large_tree(h: &Harness) {
    let mut want = ParamTree::new();
    {
        let s = h.open();
        let s = &s;
        put_ok(s, device("big", "S"), Expect::Absent);
        step(s, &mut want, full_tree(1), &["Device."], "registration");
        assert!(want.len() > 6_000);
        let uptime = vec![(
            "Device.DeviceInfo.UpTime".to_owned(),
            Param {
                object: false,
                writable: Some(false),
                value: Some(Value::UnsignedInt(99)),
                timestamp_ms: 2,
                attributes: None,
            },
        )];
        step(s, &mut want, uptime, &[], "one leaf");
        // A subtree refresh: remove it, then set only part of it back, plus new instances.
        let wifi: Vec<(String, Param)> = full_tree(3)
            .into_iter()
            .filter(|(p, _)| p.starts_with("Device.WiFi.") && p.len() % 3 != 0)
            .chain((1..40).map(|i| (format!("Device.WiFi.X_New.{i}.Name"), text("n", 3))))
            .collect();
        step(s, &mut want, wifi, &["Device.WiFi."], "wifi refresh");
        // Removals that span chunk boundaries, and a leaf at either end of the id space.
        let ends = vec![
            ("Device".to_owned(), text("root", 4)),
            ("Device.Zzz.Last".to_owned(), text("z", 4)),
        ];
        step(
            s,
            &mut want,
            ends,
            &[
                "Device.X_TP_Services",
                "Device.IP.Interface.1",
                "Device.Bridging.",
            ],
            "removals",
        );
    }
    // Reopened: the dictionary comes back from disk, and new paths get fresh ids.
    {
        let s = h.open();
        let s = &s;
        assert!(s.get_tree(&id("big")).unwrap() == want, "after reopen");
        let more = vec![
            ("Device.WiFi.X_New.1.Name".to_owned(), text("again", 5)),
            ("Device.Brand.New".to_owned(), text("b", 5)),
        ];
        step(s, &mut want, more, &["Device.DHCPv4"], "after reopen");
        // Another product class: the next update re-encodes the whole tree with its ids.
        let mut meta = device("big", "S");
        meta.identity.product_class = "Other".into();
        put_ok(s, meta, Expect::Revision(1));
        let moved = vec![("Device.DeviceInfo.UpTime".to_owned(), text("x", 6))];
        step(s, &mut want, moved, &["Device.Hosts"], "model change");
        // A tree whose only chunk starts at a high id, then a path with a lower id.
        let high = vec![("Device.WiFi.X_New.5.Name".to_owned(), text("h", 7))];
        step(s, &mut want, high, &["Device"], "one node left");
        let low = vec![("Device.Bridging".to_owned(), text("l", 7))];
        step(s, &mut want, low, &[], "below the first chunk");
        step(s, &mut want, full_tree(8), &["Device."], "full refresh");
        step(s, &mut want, Vec::new(), &["Device"], "remove all");
        assert!(want.is_empty());
    }
}
