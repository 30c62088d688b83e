//! Parameter trees: section merges, subtree removal, clearing, typed values, model changes.

use acs_store::{Expect, Op, Param, ParamTree, Value};

use crate::support::{Harness, apply1, device, for_each_backend, id, leaf, object, put_ok};

for_each_backend!(
    updates_merge_into_sections,
    remove_subtree_respects_boundaries,
    removes_apply_before_sets,
    clear_tree_and_isolation,
    typed_values_round_trip,
    model_change_keeps_tree_readable
);

fn set(id_: &str, set: Vec<(&str, Param)>, remove: &[&str]) -> Op {
    Op::UpdateTree {
        id: id(id_),
        set: set.into_iter().map(|(p, v)| (p.to_owned(), v)).collect(),
        remove_subtrees: remove.iter().map(|p| (*p).to_owned()).collect(),
    }
}

fn paths(tree: &ParamTree) -> Vec<&str> {
    tree.iter().map(|(p, _)| p).collect()
}

fn updates_merge_into_sections(h: &Harness) {
    let s = h.open();
    let s = &s;
    put_ok(s, device("t", "S"), Expect::Absent);
    assert!(s.get_tree(&id("t")).unwrap().is_empty());
    apply1(
        s,
        set(
            "t",
            vec![
                ("Device", object(1)),
                ("Device.WiFi.", object(2)),
                ("Device.WiFi.SSID.1.SSID", leaf("home", 2)),
                ("Device.DeviceInfo.SerialNumber", leaf("S", 3)),
            ],
            &[],
        ),
    );
    // A second update touching one section must leave the others as they were.
    apply1(
        s,
        set(
            "t",
            vec![("Device.WiFi.SSID.2.SSID", leaf("guest", 4))],
            &[],
        ),
    );
    let tree = s.get_tree(&id("t")).unwrap();
    assert_eq!(
        paths(&tree),
        [
            "Device",
            "Device.DeviceInfo.SerialNumber",
            "Device.WiFi",
            "Device.WiFi.SSID.1.SSID",
            "Device.WiFi.SSID.2.SSID"
        ]
    );
    assert_eq!(tree.get("Device.WiFi.SSID.1.SSID"), Some(&leaf("home", 2)));
    assert_eq!(tree.get("Device.WiFi."), Some(&object(2)));
    // Overwrite in place.
    apply1(
        s,
        set(
            "t",
            vec![("Device.WiFi.SSID.1.SSID", leaf("home2", 5))],
            &[],
        ),
    );
    assert_eq!(
        s.get_tree(&id("t")).unwrap().get("Device.WiFi.SSID.1.SSID"),
        Some(&leaf("home2", 5))
    );
}

fn remove_subtree_respects_boundaries(h: &Harness) {
    let s = h.open();
    let s = &s;
    let all = [
        "Device",
        "Device.WiFi",
        "Device.WiFi.SSID",
        "Device.WiFi.SSID.1",
        "Device.WiFi.SSID.1.SSID",
        "Device.WiFi.SSID.10.SSID",
        "Device.WiFi.SSID.2.SSID",
        "Device.WiFiX",
        "Device.WiFiX.A",
        "Device.IP.Interface.1.Enable",
    ];
    apply1(
        s,
        set("r", all.iter().map(|p| (*p, leaf(p, 1))).collect(), &[]),
    );

    // Inside one section: instance 1 goes, instances 10 and 2 stay.
    apply1(s, set("r", vec![], &["Device.WiFi.SSID.1."]));
    let tree = s.get_tree(&id("r")).unwrap();
    assert!(
        tree.get("Device.WiFi.SSID.1").is_none() && tree.get("Device.WiFi.SSID.1.SSID").is_none()
    );
    assert!(tree.get("Device.WiFi.SSID.10.SSID").is_some());

    // A whole section plus the object node that lives in its parent section.
    apply1(s, set("r", vec![], &["Device.WiFi"]));
    let tree = s.get_tree(&id("r")).unwrap();
    assert_eq!(
        paths(&tree),
        [
            "Device",
            "Device.IP.Interface.1.Enable",
            "Device.WiFiX",
            "Device.WiFiX.A"
        ]
    );

    // Removing a path that does not exist changes nothing; removing the root removes all.
    apply1(s, set("r", vec![], &["Device.Nope.X"]));
    assert_eq!(s.get_tree(&id("r")).unwrap().len(), 4);
    apply1(s, set("r", vec![], &["Device"]));
    assert!(s.get_tree(&id("r")).unwrap().is_empty());
}

fn removes_apply_before_sets(h: &Harness) {
    let s = h.open();
    let s = &s;
    apply1(
        s,
        set(
            "o",
            vec![
                ("Device.IP.Interface.1.Enable", leaf("old", 1)),
                ("Device.IP.Interface.2.Enable", leaf("old", 1)),
            ],
            &[],
        ),
    );
    // A refresh: the subtree is replaced by what the CPE reported now.
    apply1(
        s,
        set(
            "o",
            vec![("Device.IP.Interface.3.Enable", leaf("new", 2))],
            &["Device.IP.Interface"],
        ),
    );
    let tree = s.get_tree(&id("o")).unwrap();
    assert_eq!(paths(&tree), ["Device.IP.Interface.3.Enable"]);
    assert_eq!(
        tree.get("Device.IP.Interface.3.Enable"),
        Some(&leaf("new", 2))
    );
}

fn clear_tree_and_isolation(h: &Harness) {
    let s = h.open();
    let s = &s;
    // Ids where one is a prefix of the other must not share section ranges.
    s.apply(vec![
        set("dev", vec![("Device.A.B", leaf("1", 1))], &[]),
        set("dev-2", vec![("Device.A.B", leaf("2", 1))], &[]),
    ])
    .unwrap();
    apply1(s, Op::ClearTree { id: id("dev") });
    assert!(s.get_tree(&id("dev")).unwrap().is_empty());
    assert_eq!(
        s.get_tree(&id("dev-2")).unwrap().get("Device.A.B"),
        Some(&leaf("2", 1))
    );
    // Clearing an empty tree is fine.
    apply1(s, Op::ClearTree { id: id("dev") });
}

fn typed_values_round_trip(h: &Harness) {
    let s = h.open();
    let s = &s;
    let wire = [
        ("int", "-42"),
        ("int", " 42"),
        ("unsignedInt", "4294967295"),
        ("long", "-9223372036854775808"),
        ("unsignedLong", "18446744073709551615"),
        ("boolean", "true"),
        ("boolean", "0"),
        ("dateTime", "0001-01-01T00:00:00Z"),
        ("base64", "AAEC"),
        ("hexBinary", "00ff"),
        ("string", "h\u{e9}llo\0"),
        ("decimal", "1.50"),
    ];
    let mut want = ParamTree::new();
    for (i, (ty, text)) in wire.iter().enumerate() {
        let p = Param {
            object: false,
            writable: [None, Some(true), Some(false)][i % 3],
            value: Some(Value::from_wire(ty, text)),
            timestamp_ms: [i64::MIN, -1, 0, 1_700_000_000_123, i64::MAX][i % 5],
            attributes: None,
        };
        want.insert(format!("Device.X.P{i}"), p);
    }
    apply1(
        s,
        Op::UpdateTree {
            id: id("v"),
            set: want
                .iter()
                .map(|(k, v)| (k.to_owned(), v.clone()))
                .collect(),
            remove_subtrees: vec![],
        },
    );
    let got = s.get_tree(&id("v")).unwrap();
    assert_eq!(got, want);
    for (i, (ty, text)) in wire.iter().enumerate() {
        let v = got
            .get(&format!("Device.X.P{i}"))
            .and_then(|p| p.value.as_ref())
            .unwrap();
        assert_eq!((v.xsd_type(), v.text().as_ref()), (*ty, *text));
    }
}

fn model_change_keeps_tree_readable(h: &Harness) {
    let s = h.open();
    let s = &s;
    put_ok(s, device("m", "S"), Expect::Absent);
    apply1(
        s,
        set(
            "m",
            vec![("Device.A.X", leaf("a", 1)), ("Device.B.Y", leaf("b", 1))],
            &[],
        ),
    );
    // The device now reports another product class: its dictionary changes, yet sections written
    // with the old dictionary must still decode, and touched sections re-encode correctly.
    let mut meta = device("m", "S");
    meta.identity.product_class = "Other".into();
    put_ok(s, meta, Expect::Revision(1));
    apply1(s, set("m", vec![("Device.A.Z", leaf("z", 2))], &[]));
    let tree = s.get_tree(&id("m")).unwrap();
    assert_eq!(paths(&tree), ["Device.A.X", "Device.A.Z", "Device.B.Y"]);
    drop(tree);
    let h2 = s.get_tree(&id("m")).unwrap();
    assert_eq!(h2.get("Device.B.Y"), Some(&leaf("b", 1)));
}
