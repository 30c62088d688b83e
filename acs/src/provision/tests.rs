//! Planner tests: a simulated CPE applies each batch, and the planner must converge.

use super::*;
use acs_store::{Attributes, Param, Value};

fn obj(ts: i64) -> Param {
    Param {
        object: true,
        writable: Some(false),
        value: None,
        timestamp_ms: ts,
        attributes: None,
    }
}

fn leaf(v: Option<&str>, writable: bool, ts: i64) -> Param {
    Param {
        object: false,
        writable: Some(writable),
        value: v.map(|s| Value::String(s.into())),
        timestamp_ms: ts,
        attributes: None,
    }
}

/// A small TR-181 tree: two SSIDs, one known value.
fn tree() -> ParamTree {
    let mut t = ParamTree::new();
    t.insert("Device", obj(10));
    t.insert("Device.WiFi", obj(10));
    t.insert("Device.WiFi.SSID", obj(10));
    t.insert("Device.WiFi.SSID.1", obj(10));
    t.insert("Device.WiFi.SSID.1.SSID", leaf(Some("old"), true, 10));
    t.insert("Device.WiFi.SSID.2", obj(10));
    t.insert("Device.WiFi.SSID.2.SSID", leaf(None, true, 0));
    t.insert("Device.DeviceInfo", obj(10));
    t.insert("Device.DeviceInfo.SerialNumber", leaf(Some("S"), false, 10));
    t
}

/// Plays the CPE: applies a batch to the tree as a real device's answers would.
fn apply(t: &mut ParamTree, batch: &[Rpc], device_ssid2: &str, now: i64) {
    for rpc in batch {
        match rpc {
            Rpc::GetParameterNames { path, .. } => {
                let p = path.trim_end_matches('.');
                let mut node = t.get(p).cloned().unwrap_or(obj(0));
                node.timestamp_ms = now;
                t.insert(p, node);
            }
            Rpc::GetParameterValues { names } => {
                for n in names {
                    let v = if n.ends_with("2.SSID") {
                        device_ssid2
                    } else {
                        "old"
                    };
                    t.insert(n.as_str(), leaf(Some(v), true, now));
                }
            }
            Rpc::SetParameterValues { values } => {
                for (p, v, _) in values {
                    t.insert(p.as_str(), leaf(Some(v), true, now));
                }
            }
            Rpc::AddObject { path, keys } => {
                let table = path.trim_end_matches('.');
                let n = children(t, table)
                    .iter()
                    .map(|p| instance_number(p))
                    .max()
                    .unwrap_or(0)
                    + 1;
                t.insert(format!("{table}.{n}"), obj(now));
                t.insert(format!("{table}.{n}.SSID"), leaf(Some(""), true, now));
                for (k, v) in keys {
                    t.insert(format!("{table}.{n}.{k}"), leaf(Some(v), true, now));
                }
            }
            Rpc::DeleteObject { path } => {
                t.remove_subtree(path.trim_end_matches('.'));
            }
            Rpc::GetParameterAttributes { names } => {
                for n in names {
                    let mut p = t.get(n).cloned().unwrap();
                    p.attributes = Some(Box::new(Attributes {
                        notification: 0,
                        access_list: Vec::new(),
                        timestamp_ms: now,
                    }));
                    t.insert(n.as_str(), p);
                }
            }
            Rpc::SetParameterAttributes { attributes } => {
                for (n, notification, access) in attributes {
                    let mut p = t.get(n).cloned().unwrap();
                    let a = p.attributes.get_or_insert_with(Default::default);
                    if let Some(x) = notification {
                        a.notification = *x;
                    }
                    if let Some(l) = access {
                        a.access_list.clone_from(l);
                    }
                    a.timestamp_ms = now;
                    t.insert(n.as_str(), p);
                }
            }
            Rpc::Download {
                instance,
                file_type,
                file_name,
                target_file_name,
            } => {
                let base = format!("Downloads.{instance}");
                t.insert(base.clone(), obj(now));
                for (k, v) in [
                    ("FileType", file_type),
                    ("FileName", file_name),
                    ("TargetFileName", target_file_name),
                ] {
                    t.insert(format!("{base}.{k}"), leaf(Some(v), false, now));
                }
                t.insert(format!("{base}.Download"), leaf(Some("x"), false, now));
            }
            Rpc::Reboot => {
                t.insert(REBOOT, leaf(Some("x"), false, now));
            }
            Rpc::FactoryReset => {
                t.insert(FACTORY_RESET, leaf(Some("x"), false, now));
            }
        }
    }
}

fn converge(t: &mut ParamTree, decls: &[Declaration]) -> Vec<Vec<Rpc>> {
    let mut budget = Budget::default();
    let mut rounds = Vec::new();
    loop {
        let batch = next_batch(t, decls);
        if batch.is_empty() {
            return rounds;
        }
        budget.charge(&batch).expect("within the caps");
        apply(t, &batch, "unknown-before", 100 + rounds.len() as i64);
        rounds.push(batch);
    }
}

#[test]
fn a_wildcard_value_declaration_reads_then_writes_only_what_differs() {
    let mut t = tree();
    let mut d = Declaration::new("Device.WiFi.SSID.*.SSID");
    d.value = Some(("Gigafibre-42".into(), "string".into()));
    let rounds = converge(&mut t, &[d.clone()]);
    assert_eq!(
        rounds,
        vec![
            vec![Rpc::GetParameterValues {
                names: vec!["Device.WiFi.SSID.2.SSID".into()]
            }],
            vec![Rpc::SetParameterValues {
                values: vec![
                    (
                        "Device.WiFi.SSID.1.SSID".into(),
                        "Gigafibre-42".into(),
                        "string".into()
                    ),
                    (
                        "Device.WiFi.SSID.2.SSID".into(),
                        "Gigafibre-42".into(),
                        "string".into()
                    ),
                ]
            }],
        ]
    );
    assert!(
        next_batch(&t, &[d]).is_empty(),
        "converged: a second run asks nothing"
    );
}

#[test]
fn stale_paths_are_listed_before_anything_else() {
    let mut t = tree();
    let mut d = Declaration::new("Device.WiFi.SSID.*.SSID");
    d.path_fresh_ms = Some(50);
    d.value_fresh_ms = Some(50);
    let first = next_batch(&t, &[d.clone()]);
    assert_eq!(
        first,
        vec![Rpc::GetParameterNames {
            path: "Device.WiFi.SSID.".into(),
            next_level: true
        }]
    );
    let rounds = converge(&mut t, &[d]);
    assert!(matches!(
        rounds.last().unwrap()[0],
        Rpc::GetParameterValues { .. }
    ));
}

#[test]
fn instance_counts_add_and_delete_from_the_end() {
    let mut t = tree();
    let mut more = Declaration::new("Device.WiFi.SSID.*");
    more.instances = Some((4, 4));
    assert_eq!(
        next_batch(&t, &[more.clone()]),
        vec![
            Rpc::AddObject {
                path: "Device.WiFi.SSID.".into(),
                keys: Vec::new()
            },
            Rpc::AddObject {
                path: "Device.WiFi.SSID.".into(),
                keys: Vec::new()
            },
        ]
    );
    converge(&mut t, &[more]);
    assert_eq!(children(&t, "Device.WiFi.SSID").len(), 4);
    let mut fewer = Declaration::new("Device.WiFi.SSID.*");
    fewer.instances = Some((0, 1));
    let batch = next_batch(&t, &[fewer.clone()]);
    assert_eq!(
        batch[0],
        Rpc::DeleteObject {
            path: "Device.WiFi.SSID.4.".into()
        }
    );
    converge(&mut t, &[fewer]);
    assert_eq!(
        expand(&t, "Device.WiFi.SSID.*"),
        vec!["Device.WiFi.SSID.1".to_owned()]
    );
}

#[test]
fn read_only_leaves_are_never_written_and_batches_are_capped() {
    let t = tree();
    let mut d = Declaration::new("Device.DeviceInfo.SerialNumber");
    d.value = Some(("X".into(), "string".into()));
    assert!(next_batch(&t, &[d]).is_empty());
    let mut big = ParamTree::new();
    big.insert("Device", obj(1));
    for i in 0..70 {
        big.insert(format!("Device.P{i}"), leaf(None, true, 0));
    }
    let mut all = Declaration::new("Device.*");
    all.value_fresh_ms = Some(1);
    let batch = next_batch(&big, &[all]);
    assert_eq!(batch.len(), 3, "70 names in batches of {BATCH}");
    let mut b = Budget::default();
    for _ in 0..MAX_ROUNDS {
        b.charge(&[]).unwrap();
    }
    assert_eq!(b.charge(&[]), Err(PlanError::TooManyRounds));
}

proptest::proptest! {
    #[test]
    fn any_wifi_table_converges_quickly_and_stays_converged(
        leaves in proptest::collection::vec((proptest::option::of("[a-c]{0,2}"), proptest::bool::ANY), 0..8),
        count in proptest::option::of((0usize..4, 4usize..7)),
    ) {
        let mut t = ParamTree::new();
        t.insert("Device", obj(10));
        t.insert("Device.WiFi", obj(10));
        t.insert("Device.WiFi.SSID", obj(10));
        for (i, (v, w)) in leaves.iter().enumerate() {
            t.insert(format!("Device.WiFi.SSID.{}", i + 1), obj(10));
            let ts = if v.is_some() { 10 } else { 0 };
            t.insert(format!("Device.WiFi.SSID.{}.SSID", i + 1), leaf(v.as_deref(), *w, ts));
        }
        let mut value = Declaration::new("Device.WiFi.SSID.*.SSID");
        value.value = Some(("Z".into(), "string".into()));
        let mut decls = vec![value.clone()];
        if let Some(range) = count {
            let mut inst = Declaration::new("Device.WiFi.SSID.*");
            inst.instances = Some(range);
            decls.push(inst);
        }
        let rounds = converge(&mut t, &decls);
        proptest::prop_assert!(rounds.len() <= 4, "{rounds:?}");
        proptest::prop_assert!(next_batch(&t, &decls).is_empty());
        for p in expand(&t, "Device.WiFi.SSID.*.SSID") {
            let param = t.get(&p).unwrap();
            if param.writable != Some(false) {
                proptest::prop_assert_eq!(param.value.as_ref().map(|v| v.text().into_owned()), Some("Z".to_owned()));
            }
        }
        if let Some((min, max)) = count {
            let n = children(&t, "Device.WiFi.SSID").len();
            proptest::prop_assert!(n >= min && n <= max);
        }
    }
}

#[test]
fn an_alias_filter_creates_its_instance_with_the_key_values_once() {
    let mut t = tree();
    let mut guest = Declaration::new("Device.WiFi.SSID.[SSID:Guest]");
    guest.instances = Some((1, 1));
    let mut enable = Declaration::new("Device.WiFi.SSID.[SSID:Guest].SSID");
    enable.value_fresh_ms = Some(1);
    let decls = [guest.clone(), enable];
    // SSID.2's key value is unknown: the table is listed (and read) before anything else.
    let rounds = converge(&mut t, &decls);
    assert!(
        rounds.iter().flatten().any(|r| matches!(r, Rpc::AddObject { keys, .. } if keys == &[("SSID".to_owned(), "Guest".to_owned())])),
        "{rounds:?}"
    );
    assert_eq!(expand(&t, "Device.WiFi.SSID.[SSID:Guest]").len(), 1);
    assert!(next_batch(&t, &decls).is_empty());
    // Declaring none deletes the matching instance only.
    let mut none = guest;
    none.instances = Some((0, 0));
    let batch = next_batch(&t, std::slice::from_ref(&none));
    assert_eq!(batch.len(), 1);
    assert!(matches!(&batch[0], Rpc::DeleteObject { path } if path == "Device.WiFi.SSID.3."));
    converge(&mut t, &[none]);
    assert!(t.get("Device.WiFi.SSID.1").is_some() && t.get("Device.WiFi.SSID.2").is_some());
}

#[test]
fn attributes_are_read_then_only_differences_written() {
    let mut t = tree();
    let mut d = Declaration::new("Device.WiFi.SSID.*.SSID");
    d.notification = Some(2);
    let rounds = converge(&mut t, std::slice::from_ref(&d));
    assert!(matches!(&rounds[0][0], Rpc::GetParameterAttributes { names } if names.len() == 2));
    assert!(
        matches!(&rounds[1][0], Rpc::SetParameterAttributes { attributes }
        if attributes.iter().all(|(_, n, a)| *n == Some(2) && a.is_none()))
    );
    let a = t
        .get("Device.WiFi.SSID.1.SSID")
        .unwrap()
        .attributes
        .clone()
        .unwrap();
    assert_eq!(a.notification, 2);
    assert!(next_batch(&t, &[d]).is_empty());
    let mut fresh = Declaration::new("Device.WiFi.SSID.1.SSID");
    fresh.attributes_fresh_ms = Some(a.timestamp_ms + 1);
    assert_eq!(
        next_batch(&t, &[fresh]),
        vec![Rpc::GetParameterAttributes {
            names: vec!["Device.WiFi.SSID.1.SSID".into()]
        }]
    );
}

#[test]
fn actions_run_last_and_once_per_declared_time() {
    let mut t = tree();
    let mut reboot = Declaration::new(REBOOT);
    reboot.value = Some(("50".into(), "dateTime".into()));
    let mut dl =
        Declaration::new("Downloads.[FileType:1 Firmware Upgrade Image,FileName:fw.bin].Download");
    dl.value = Some(("1970-01-01T00:00:00.050Z".into(), "dateTime".into()));
    let mut ssid = Declaration::new("Device.WiFi.SSID.1.SSID");
    ssid.value = Some(("new".into(), "string".into()));
    let decls = [reboot.clone(), dl.clone(), ssid];
    let rounds = converge(&mut t, &decls);
    assert!(
        matches!(rounds[0][0], Rpc::SetParameterValues { .. }),
        "{rounds:?}"
    );
    assert_eq!(
        rounds[1],
        vec![
            Rpc::Download {
                instance: 1,
                file_type: "1 Firmware Upgrade Image".into(),
                file_name: "fw.bin".into(),
                target_file_name: String::new()
            },
            Rpc::Reboot
        ]
    );
    assert!(
        next_batch(&t, &decls).is_empty(),
        "done until a later time is declared"
    );
    let mut later = reboot;
    later.value = Some(("100000".into(), "dateTime".into()));
    let mut dl_later = dl;
    dl_later.value = Some(("100000".into(), "dateTime".into()));
    let batch = next_batch(&t, &[later, dl_later]);
    assert!(
        matches!(
            batch.as_slice(),
            [Rpc::Download { instance: 1, .. }, Rpc::Reboot]
        ),
        "the same Downloads instance is reused: {batch:?}"
    );
}

#[test]
fn listing_a_parent_makes_listing_its_children_redundant() {
    let t = ParamTree::new();
    let mut a = Declaration::new("Device.WiFi.SSID.*.SSID");
    a.value_fresh_ms = Some(1);
    let mut b = Declaration::new("Device.WiFi.Radio.*.Channel");
    b.value_fresh_ms = Some(1);
    let batch = next_batch(&t, &[a, b]);
    assert_eq!(
        batch,
        vec![Rpc::GetParameterNames {
            path: String::new(),
            next_level: true
        }]
    );
}

#[test]
fn a_top_level_name_the_device_lacks_is_settled_by_one_listing_of_the_root() {
    // A TR-181 device and a script that also declares the TR-098 path.
    let mut t = tree();
    let mut d = Declaration::new("InternetGatewayDevice.ManagementServer.URL");
    d.path_fresh_ms = Some(1);
    d.value_fresh_ms = Some(1);
    let first = next_batch(&t, &[d.clone()]);
    assert_eq!(
        first,
        vec![Rpc::GetParameterNames {
            path: String::new(),
            next_level: true
        }]
    );
    // The root's node records the listing; nothing below the missing name is listed.
    t.insert("", obj(100));
    assert!(next_batch(&t, &[d]).is_empty());
}

#[test]
fn an_alias_filters_keys_are_read_before_instances_are_counted() {
    let mut t = tree();
    // Instance 2's SSID value is unknown: it may be the one the filter looks for.
    let mut d = Declaration::new("Device.WiFi.SSID.[SSID:guest]");
    d.path_fresh_ms = Some(1);
    d.instances = Some((1, 1));
    assert_eq!(
        next_batch(&t, &[d.clone()]),
        vec![Rpc::GetParameterValues {
            names: vec!["Device.WiFi.SSID.2.SSID".into()]
        }]
    );
    t.insert("Device.WiFi.SSID.2.SSID", leaf(Some("guest"), true, 20));
    assert!(next_batch(&t, &[d]).is_empty(), "found, not created");
}

#[test]
fn a_write_to_a_leaf_of_unknown_writability_lists_its_parent_first() {
    let mut t = tree();
    let mut p = leaf(Some("old"), true, 10);
    p.writable = None;
    t.insert("Device.WiFi.SSID.1.SSID", p);
    let mut d = Declaration::new("Device.WiFi.SSID.1.SSID");
    d.value = Some(("new".into(), "string".into()));
    assert_eq!(
        next_batch(&t, &[d]),
        vec![Rpc::GetParameterNames {
            path: "Device.WiFi.SSID.1.".into(),
            next_level: true
        }]
    );
}

#[test]
fn an_untyped_number_written_to_a_datetime_is_milliseconds() {
    let mut t = tree();
    t.insert(
        "Device.ManagementServer.PeriodicInformTime",
        Param {
            object: false,
            writable: Some(true),
            value: Some(Value::DateTime("0001-01-01T00:00:00Z".into())),
            timestamp_ms: 10,
            attributes: None,
        },
    );
    let mut d = Declaration::new("Device.ManagementServer.PeriodicInformTime");
    d.value = Some(("65154513".into(), format!("{UNTYPED}int")));
    assert_eq!(
        next_batch(&t, &[d]),
        vec![Rpc::SetParameterValues {
            values: vec![(
                "Device.ManagementServer.PeriodicInformTime".into(),
                "1970-01-01T18:05:54.513Z".into(),
                "dateTime".into()
            )]
        }]
    );
}
