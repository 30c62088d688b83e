//! Device metadata: CRUD, compare-and-swap, indexes, pagination, persistence.

use acs_store::{EngineKind, Expect, Index, Op, Outcome, StoreError, normalize_mac};

use crate::support::{Harness, Store, apply1, device, for_each_backend, id, put_ok};

for_each_backend!(
    crud,
    cas,
    note_inform_keeps_the_revision,
    documents_are_kept_per_collection,
    batch_continues_after_conflict,
    indexes_stay_exact,
    scan_pages_in_id_order,
    reopen_keeps_everything,
    second_open_is_refused
);

fn crud(h: &Harness) {
    let s = h.open();
    let s = &s;
    let d = id("202BC1-Device2-SN1");
    assert!(s.get(&d).unwrap().is_none());
    assert_eq!(s.count().unwrap(), 0);

    let mut meta = device("202BC1-Device2-SN1", "SN1");
    assert_eq!(put_ok(s, meta.clone(), Expect::Absent), 1);
    let got = s.get(&d).unwrap().expect("present");
    assert_eq!((got.revision, &got.value), (1, &meta));
    assert_eq!(s.count().unwrap(), 1);

    meta.last_inform_ms += 300_000;
    meta.cpe_password = Some("secret".into());
    assert_eq!(put_ok(s, meta.clone(), Expect::Any), 2);
    assert_eq!(s.get(&d).unwrap().expect("present").value, meta);
    assert_eq!(s.count().unwrap(), 1, "an update is not a new device");

    apply1(s, Op::DeleteDevice { id: d.clone() });
    assert!(s.get(&d).unwrap().is_none());
    assert_eq!(s.count().unwrap(), 0);
    // Deleting what is not there is a no-op, and re-creation starts again at revision 1.
    apply1(s, Op::DeleteDevice { id: d.clone() });
    assert_eq!(s.count().unwrap(), 0);
    assert_eq!(put_ok(s, meta, Expect::Absent), 1);
}

fn cas(h: &Harness) {
    let s = h.open();
    let s = &s;
    let meta = device("dev-cas", "S");
    let conflict = |expect, current| {
        let got = apply1(
            s,
            Op::PutDevice {
                meta: meta.clone(),
                expect,
            },
        );
        assert_eq!(got, Outcome::Conflict { current }, "{expect:?}");
    };
    conflict(Expect::Revision(1), None);
    assert_eq!(put_ok(s, meta.clone(), Expect::Absent), 1);
    conflict(Expect::Absent, Some(1));
    assert_eq!(put_ok(s, meta.clone(), Expect::Revision(1)), 2);
    conflict(Expect::Revision(1), Some(2));
    conflict(Expect::Revision(3), Some(2));
    assert_eq!(s.get(&id("dev-cas")).unwrap().expect("present").revision, 2);
}

fn note_inform_keeps_the_revision(h: &Harness) {
    let d = id("dev-noted");
    let meta = device("dev-noted", "SN");
    let t0 = meta.last_inform_ms;
    let note = |s: &Store, at_ms| {
        apply1(
            s,
            Op::NoteInform {
                id: d.clone(),
                at_ms,
            },
        );
    };
    {
        let s = h.open();
        let s = &s;
        // Unknown devices are not created by a noted time.
        note(s, t0 + 1);
        assert!(s.get(&d).unwrap().is_none());
        assert_eq!(s.count().unwrap(), 0);

        assert_eq!(put_ok(s, meta.clone(), Expect::Absent), 1);
        note(s, t0 + 5_000);
        let got = s.get(&d).unwrap().expect("present");
        assert_eq!((got.revision, got.value.last_inform_ms), (1, t0 + 5_000));
        // The noted time replaces the previous one, the metadata's still counts, and a session's
        // CAS on revision 1 still succeeds.
        note(s, t0 + 2_000);
        assert_eq!(
            s.get(&d).unwrap().expect("present").value.last_inform_ms,
            t0 + 2_000
        );
        note(s, t0 - 2_000);
        assert_eq!(
            s.get(&d).unwrap().expect("present").value.last_inform_ms,
            t0
        );
        note(s, t0 + 5_000);
        let mut changed = meta.clone();
        changed.tags.insert("t".into());
        assert_eq!(put_ok(s, changed, Expect::Revision(1)), 2);
        assert_eq!(
            s.get(&d).unwrap().expect("present").value.last_inform_ms,
            t0 + 5_000
        );
    }
    {
        // Durable across a reopen; gone with the device.
        let s = h.open();
        let s = &s;
        assert_eq!(
            s.get(&d).unwrap().expect("present").value.last_inform_ms,
            t0 + 5_000
        );
        apply1(s, Op::DeleteDevice { id: d.clone() });
        assert_eq!(put_ok(s, meta, Expect::Absent), 1);
        assert_eq!(
            s.get(&d).unwrap().expect("present").value.last_inform_ms,
            t0
        );
    }
}

fn documents_are_kept_per_collection(h: &Harness) {
    let put = |c: &str, n: &str, b: &str| Op::PutDoc {
        collection: c.into(),
        name: n.into(),
        body: b.as_bytes().to_vec(),
    };
    {
        let s = h.open();
        let s = &s;
        s.apply(vec![
            put("presets", "inform", "{\"weight\":0}"),
            put("presets", "bootstrap", "{}"),
            put("provisions", "inform", "declare();"),
            put("presets", "inform", "{\"weight\":1}"),
        ])
        .unwrap();
        let names: Vec<String> = s
            .docs("presets")
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["bootstrap", "inform"]);
        assert_eq!(
            s.doc("presets", "inform").unwrap().as_deref(),
            Some(&b"{\"weight\":1}"[..])
        );
        assert_eq!(s.docs("provisions").unwrap().len(), 1);
        // A collection name that is a prefix of another does not see its documents.
        assert!(s.docs("preset").unwrap().is_empty());
        apply1(
            s,
            Op::DeleteDoc {
                collection: "presets".into(),
                name: "bootstrap".into(),
            },
        );
        apply1(
            s,
            Op::DeleteDoc {
                collection: "presets".into(),
                name: "absent".into(),
            },
        );
    }
    let s = h.open();
    assert_eq!(
        s.docs("presets").unwrap().len(),
        1,
        "durable across a reopen"
    );
    assert_eq!(s.doc("presets", "bootstrap").unwrap(), None);
}

fn batch_continues_after_conflict(h: &Harness) {
    let s = h.open();
    let s = &s;
    put_ok(s, device("a", "SA"), Expect::Absent);
    let mut changed = device("a", "SA-2");
    changed.tags.insert("x".into());
    let out = s
        .apply(vec![
            Op::PutDevice {
                meta: changed.clone(),
                expect: Expect::Revision(7),
            },
            Op::PutDevice {
                meta: device("b", "SB"),
                expect: Expect::Absent,
            },
            Op::PutDevice {
                meta: changed,
                expect: Expect::Revision(1),
            },
        ])
        .unwrap();
    assert_eq!(
        out,
        [
            Outcome::Conflict { current: Some(1) },
            Outcome::Done {
                revision: Some(1),
                task_id: None
            },
            Outcome::Done {
                revision: Some(2),
                task_id: None
            },
        ]
    );
    assert_eq!(s.scan_index(Index::Serial, "SA-2").unwrap(), [id("a")]);
    assert_eq!(s.count().unwrap(), 2);
}

fn indexes_stay_exact(h: &Harness) {
    let s = h.open();
    let s = &s;
    let mut a = device("dev-a", "SER-A");
    a.macs = vec![
        normalize_mac("aa:bb:cc:00:00:01").unwrap(),
        normalize_mac("aabbcc000002").unwrap(),
    ];
    a.tags = ["lab", "fibre"].map(String::from).into();
    let mut b = device("dev-b", "SER-B");
    b.tags = ["lab".to_owned()].into();
    put_ok(s, a.clone(), Expect::Absent);
    put_ok(s, b, Expect::Absent);

    let find = |index, key: &str| s.scan_index(index, key).unwrap();
    assert_eq!(find(Index::Serial, "SER-A"), [id("dev-a")]);
    assert_eq!(find(Index::Mac, "AA:BB:CC:00:00:02"), [id("dev-a")]);
    assert_eq!(
        find(Index::Mac, "aabb.cc00.0001"),
        [id("dev-a")],
        "lookups normalise MACs"
    );
    assert_eq!(find(Index::Tag, "lab"), [id("dev-a"), id("dev-b")]);
    assert_eq!(
        find(Index::Model, "202BC1-Device2"),
        [id("dev-a"), id("dev-b")]
    );

    // Change every indexed field: each old key must disappear, not just gain a sibling.
    a.identity.serial_number = "SER-A2".into();
    a.identity.product_class = "Device3".into();
    a.macs = vec!["AA:BB:CC:00:00:02".into(), "AA:BB:CC:00:00:03".into()];
    a.tags = ["fibre".to_owned(), "vip".to_owned()].into();
    put_ok(s, a, Expect::Revision(1));
    assert!(find(Index::Serial, "SER-A").is_empty());
    assert_eq!(find(Index::Serial, "SER-A2"), [id("dev-a")]);
    assert!(find(Index::Mac, "AA:BB:CC:00:00:01").is_empty());
    assert_eq!(find(Index::Mac, "AA:BB:CC:00:00:02"), [id("dev-a")]);
    assert_eq!(find(Index::Mac, "AA:BB:CC:00:00:03"), [id("dev-a")]);
    assert_eq!(find(Index::Tag, "lab"), [id("dev-b")]);
    assert_eq!(find(Index::Tag, "vip"), [id("dev-a")]);
    assert_eq!(find(Index::Model, "202BC1-Device2"), [id("dev-b")]);
    assert_eq!(find(Index::Model, "202BC1-Device3"), [id("dev-a")]);
    assert_eq!(find(Index::ProductClass, "Device2"), [id("dev-b")]);
    assert_eq!(find(Index::ProductClass, "Device3"), [id("dev-a")]);

    apply1(s, Op::DeleteDevice { id: id("dev-a") });
    for (index, key) in [
        (Index::Serial, "SER-A2"),
        (Index::Mac, "AA:BB:CC:00:00:03"),
        (Index::Tag, "vip"),
        (Index::ProductClass, "Device3"),
    ] {
        assert!(
            find(index, key).is_empty(),
            "{index:?} {key} survived deletion"
        );
    }
    assert!(find(Index::Tag, "no-such-tag").is_empty());
}

fn scan_pages_in_id_order(h: &Harness) {
    let s = h.open();
    let s = &s;
    // Insert out of order, including ids that are prefixes of each other.
    let ids = ["d-7", "d-1", "d", "d-10", "d-1a", "A", "z_z", "d%20x"];
    s.apply(
        ids.iter()
            .map(|d| Op::PutDevice {
                meta: device(d, d),
                expect: Expect::Absent,
            })
            .collect(),
    )
    .unwrap();
    let mut want: Vec<_> = ids.iter().map(|d| id(d)).collect();
    want.sort();
    let mut got = Vec::new();
    let mut after = None;
    loop {
        let page = s.scan(after.as_ref(), 3).unwrap();
        assert!(page.len() <= 3);
        let Some(last) = page.last().cloned() else {
            break;
        };
        got.extend(page);
        after = Some(last);
    }
    assert_eq!(got, want);
    assert_eq!(s.scan(None, 0).unwrap(), []);
    assert_eq!(s.count().unwrap(), ids.len() as u64);
}

fn reopen_keeps_everything(h: &Harness) {
    let mut meta = device("persist", "P1");
    meta.macs = vec!["00:11:22:33:44:55".into()];
    meta.tags = ["t".to_owned()].into();
    {
        let s = h.open();
        put_ok(&s, meta.clone(), Expect::Absent);
        put_ok(&s, meta.clone(), Expect::Revision(1));
    }
    let s = h.open();
    let got = s.get(&id("persist")).unwrap().expect("persisted");
    assert_eq!((got.revision, got.value), (2, meta));
    assert_eq!(
        s.scan_index(Index::Mac, "001122334455").unwrap(),
        [id("persist")]
    );
    assert_eq!(s.count().unwrap(), 1);
}

fn second_open_is_refused(h: &Harness) {
    let first = h.open();
    // Both engines are single-process; a second handle must fail cleanly, not corrupt the first.
    let err = acs_store::open(h.backend, &h.path()).expect_err("second open must fail");
    assert!(matches!(err, StoreError::Engine(_)), "{err}");
    put_ok(&first, device("still-works", "S"), Expect::Absent);
}

#[test]
fn sled_backend_is_feature_gated() {
    let dir = tempfile::tempdir().unwrap();
    let opened = acs_store::open(EngineKind::Sled, &dir.path().join("s"));
    if cfg!(feature = "sled") {
        assert!(opened.is_ok());
    } else {
        assert!(matches!(
            opened,
            Err(StoreError::BackendUnavailable("sled"))
        ));
    }
}
