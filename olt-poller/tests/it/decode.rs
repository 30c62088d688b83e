//! Goldens for value decoding (per vendor profile, per column) and property tests of the
//! decoder and the walker on arbitrary input.

use olt_poller::decode::{Cell, date_and_time, decode_cell, serial};
use olt_poller::walk::{TableWalk, WalkLimits};
use olt_poller::{Dbm, Oid, Profile, Role, SnmpValue, VarBind};
use proptest::prelude::*;

fn cell(p: &Profile, role: Role, v: SnmpValue) -> Cell {
    decode_cell(&p.columns[&role], &v)
}

/// (profile, column, raw, expected). Sources: HUAWEI-XPON-MIB (0.01 dBm; OLT Rx
/// (v − 10000)/100; 2147483647 = no value), the ZTE C320/C300 Zabbix templates (×0.002 − 30;
/// 65535 = no value; OLT Rx ×0.001, −80000 = no value).
#[test]
fn golden_levels() {
    let (h, z) = (Profile::huawei(), Profile::zte());
    let dbm = |v| Cell::Dbm(Dbm(v));
    let cases = [
        (&h, Role::Rx, -1628, dbm(-16.28)),
        (&h, Role::Rx, -2755, dbm(-27.55)),
        (&h, Role::Tx, 211, dbm(2.11)),
        (&h, Role::OltRx, 7700, dbm(-23.0)),
        (&h, Role::OltRx, 8015, dbm(-19.85)),
        (&h, Role::Rx, 2_147_483_647, Cell::Absent),
        (&h, Role::OltRx, 2_147_483_647, Cell::Absent),
        (&z, Role::Rx, 6000, dbm(-18.0)),
        (&z, Role::Rx, 5875, dbm(-18.25)),
        (&z, Role::Tx, 16250, dbm(2.5)),
        (&z, Role::Rx, 65535, Cell::Absent),
        (&z, Role::OltRx, -23456, dbm(-23.456)),
        (&z, Role::OltRx, -80000, Cell::Absent),
        (&h, Role::State, 2, Cell::Int(2)),
        (&h, Role::DownCause, -1, Cell::Int(-1)),
    ];
    for (p, role, raw, want) in cases {
        assert_eq!(
            cell(p, role, SnmpValue::Integer(raw)),
            want,
            "{} {role:?} {raw}",
            p.name
        );
    }
    // Unsigned and counter types decode like integers; strings in a level column do not.
    assert_eq!(cell(&z, Role::Rx, SnmpValue::Unsigned32(6000)), dbm(-18.0));
    assert_eq!(
        cell(&h, Role::Rx, SnmpValue::Octets(b"-16.28".to_vec())),
        Cell::Absent
    );
    assert_eq!(cell(&h, Role::Rx, SnmpValue::NoSuchInstance), Cell::Absent);
}

#[test]
fn golden_strings_serials_and_times() {
    let h = Profile::huawei();
    assert_eq!(
        cell(
            &h,
            Role::Serial,
            SnmpValue::Octets(vec![0x54, 0x50, 0x4c, 0x47, 0x01, 0x00, 0x00, 0x2a])
        ),
        Cell::Text("TPLG0100002A".into())
    );
    assert_eq!(
        cell(
            &h,
            Role::Description,
            SnmpValue::Octets(b"cust\x07 42 \n".to_vec())
        ),
        Cell::Text("cust 42".into())
    );
    assert_eq!(
        cell(
            &h,
            Role::LastDownTime,
            SnmpValue::Octets(vec![0x07, 0xea, 0x0b, 0x14, 0x03, 0x0e, 0x00, 0x00])
        ),
        Cell::Time(olt_poller::OltTime("2026-11-20T03:14:00".into()))
    );
    assert_eq!(
        cell(&h, Role::DyingGaspTime, SnmpValue::Octets(vec![0; 8])),
        Cell::Absent
    );
    assert_eq!(serial(b"FPSIM00000042").as_deref(), Some("FPSIM00000042"));
    assert_eq!(
        date_and_time(&[0x07, 0xea, 11, 20, 3, 14, 0, 0, b'+', 15, 0]),
        None
    );
}

fn arb_value() -> impl Strategy<Value = SnmpValue> {
    prop_oneof![
        any::<i64>().prop_map(SnmpValue::Integer),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(SnmpValue::Octets),
        any::<u32>().prop_map(SnmpValue::Unsigned32),
        any::<u64>().prop_map(SnmpValue::Counter64),
        Just(SnmpValue::EndOfMibView),
        Just(SnmpValue::NoSuchObject),
        Just(SnmpValue::Null),
    ]
}

fn arb_oid() -> impl Strategy<Value = Oid> {
    proptest::collection::vec(prop_oneof![0u32..4, any::<u32>()], 1..12)
        .prop_map(|p| Oid::new([vec![1, 1], p].concat()).unwrap())
}

proptest! {
    #[test]
    fn decoding_any_value_in_any_column_never_panics(v in arb_value()) {
        for p in [Profile::huawei(), Profile::zte()] {
            for spec in p.columns.values() {
                let c = decode_cell(spec, &v);
                if let Cell::Dbm(d) = c {
                    prop_assert!(d.0.is_finite());
                }
            }
        }
    }

    /// Arbitrary responses: whatever the agent sends, every kept row lies under its column and
    /// rows strictly increase, at most max_rows per column, and max-repetitions stays ≥ 1.
    #[test]
    fn the_walker_terminates_on_any_responses(
        responses in proptest::collection::vec(
            (prop_oneof![Just(0u32), Just(1u32), 0u32..20],
             proptest::collection::vec((arb_oid(), arb_value()), 0..20)),
            1..40)
    ) {
        let limits = WalkLimits { max_rows: 50, ..WalkLimits::default() };
        let roots: Vec<Oid> = vec!["1.1".parse().unwrap(), "1.2".parse().unwrap()];
        let mut w = TableWalk::new(roots.clone(), limits);
        for (status, vbs) in responses {
            let Some(req) = w.next_request() else { break };
            prop_assert!(req.max_repetitions >= 1);
            let vbs = vbs.into_iter().map(|(oid, value)| VarBind { oid, value }).collect();
            if w.on_response(&req, status, 0, vbs).is_err() {
                break;
            }
        }
        for (root, rows) in roots.iter().zip(w.into_rows()) {
            prop_assert!(rows.len() <= 50);
            prop_assert!(rows.iter().all(|r| r.oid.is_under(root)));
            prop_assert!(rows.windows(2).all(|p| p[0].oid < p[1].oid));
        }
    }
}
