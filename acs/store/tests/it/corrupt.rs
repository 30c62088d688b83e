//! Undecodable bytes on disk surface as `StoreError::Corrupt`, never as panics or wrong data.
//!
//! The test writes raw bytes with the engine's own API, so it knows the private key layout
//! (`keys.rs`): a keyspace byte, then strings escaped and terminated by `00 00`.

use acs_store::{EngineKind, Expect, Op, StoreError};

use crate::support::{Harness, apply1, device, for_each_backend, id, leaf, put_ok};

for_each_backend!(corrupt_records_are_reported);

/// `[space] s1 00 00 s2 00 00 ...` for components without NUL bytes.
fn key(space: u8, parts: &[&str]) -> Vec<u8> {
    let mut k = vec![space];
    for p in parts {
        k.extend_from_slice(p.as_bytes());
        k.extend_from_slice(&[0, 0]);
    }
    k
}

/// Writes raw bytes into a closed store with the engine's API.
fn poke(h: &Harness, entries: &[(Vec<u8>, &[u8])]) {
    match h.backend {
        EngineKind::Redb => {
            let table: ::redb::TableDefinition<'_, &[u8], &[u8]> =
                ::redb::TableDefinition::new("kv");
            let db = ::redb::Database::create(h.path()).unwrap();
            let txn = db.begin_write().unwrap();
            {
                let mut t = txn.open_table(table).unwrap();
                for (k, v) in entries {
                    t.insert(k.as_slice(), *v).unwrap();
                }
            }
            txn.commit().unwrap();
        }
        #[cfg(feature = "sled")]
        EngineKind::Sled => {
            let db = ::sled::open(h.path()).unwrap();
            for (k, v) in entries {
                db.insert(k.as_slice(), *v).unwrap();
            }
            db.flush().unwrap();
        }
        #[cfg(not(feature = "sled"))]
        EngineKind::Sled => unreachable!("sled tests are not compiled without the feature"),
    }
}

fn corrupt_records_are_reported(h: &Harness) {
    {
        let s = h.open();
        put_ok(&s, device("bad", "S1"), Expect::Absent);
        put_ok(&s, device("good", "S2"), Expect::Absent);
        apply1(
            &s,
            Op::UpdateTree {
                id: id("bad"),
                set: vec![("Device.A.B".into(), leaf("x", 1))],
                remove_subtrees: vec![],
            },
        );
    }
    poke(
        h,
        &[
            (key(1, &["bad"]), &[1, 0xFF, 0xFF, 0xFF][..]),
            (key(2, &["bad", "Device.A"]), &[1, 200, 1][..]),
            (key(8, &["bad", "chan"]), &[][..]),
        ],
    );
    let s = h.open();
    let is_corrupt = |r: Result<(), StoreError>| matches!(r, Err(StoreError::Corrupt(_)));
    assert!(is_corrupt(s.get(&id("bad")).map(drop)));
    assert!(is_corrupt(s.get_tree(&id("bad")).map(drop)));
    assert!(is_corrupt(s.faults(None).map(drop)));
    // A write that must read the corrupt record fails as a whole and leaves nothing behind.
    let batch = vec![
        Op::PutDevice {
            meta: device("new", "S3"),
            expect: Expect::Absent,
        },
        Op::PutDevice {
            meta: device("bad", "S1"),
            expect: Expect::Any,
        },
    ];
    assert!(is_corrupt(s.apply(batch).map(drop)));
    assert!(s.get(&id("new")).unwrap().is_none());
    // Everything else keeps working.
    assert_eq!(
        s.get(&id("good"))
            .unwrap()
            .expect("good")
            .value
            .identity
            .serial_number,
        "S2"
    );
    assert_eq!(s.scan(None, 10).unwrap(), [id("bad"), id("good")]);
    // Deleting the corrupt device's tree and faults does not need to decode them.
    apply1(&s, Op::ClearTree { id: id("bad") });
    apply1(
        &s,
        Op::DeleteFault {
            device: id("bad"),
            channel: "chan".into(),
        },
    );
    assert!(s.get_tree(&id("bad")).unwrap().is_empty());
    assert!(s.faults(None).unwrap().is_empty());
}
