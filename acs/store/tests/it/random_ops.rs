//! Random op sequences against a plain in-memory model of the `DeviceStore` contract.

use std::collections::{BTreeMap, BTreeSet};

use acs_store::{
    DeviceMeta, Expect, FaultRecord, Index, Op, Outcome, Param, ParamTree, TaskKind, TaskRecord,
    Value,
};
use proptest::prelude::*;

use crate::conformance_tasks::task;
use crate::support::{Harness, Store, device, id};

const DEVICES: [&str; 3] = ["d", "d-1", "e"];
const SERIALS: [&str; 2] = ["S1", "S2"];
const TAGS: [&str; 2] = ["a", "b"];
const PATHS: [&str; 6] = [
    "Device.A",
    "Device.A.X",
    "Device.A.Y.1",
    "Device.B.Z",
    "Device.AB.Q",
    "Device",
];

/// The contract, written as obviously as possible.
#[derive(Default)]
struct Model {
    devices: BTreeMap<String, (u64, DeviceMeta)>,
    trees: BTreeMap<String, ParamTree>,
    tasks: BTreeMap<u64, TaskRecord>,
    highest_task: u64,
    faults: BTreeMap<(String, String), FaultRecord>,
    informed: BTreeMap<String, i64>,
}

impl Model {
    fn apply(&mut self, op: Op) -> Outcome {
        let done = Outcome::Done {
            revision: None,
            task_id: None,
        };
        match op {
            Op::PutDevice { meta, expect } => {
                let key = meta.id.to_string();
                let current = self.devices.get(&key).map(|(r, _)| *r);
                let ok = match expect {
                    Expect::Absent => current.is_none(),
                    Expect::Revision(r) => current == Some(r),
                    Expect::Any => true,
                };
                if !ok {
                    return Outcome::Conflict { current };
                }
                let rev = current.unwrap_or(0) + 1;
                self.devices.insert(key, (rev, meta));
                Outcome::Done {
                    revision: Some(rev),
                    task_id: None,
                }
            }
            Op::UpdateTree {
                id,
                set,
                remove_subtrees,
            } => {
                let tree = self.trees.entry(id.to_string()).or_default();
                for prefix in remove_subtrees {
                    tree.remove_subtree(&prefix);
                }
                for (path, param) in set {
                    tree.insert(path, param);
                }
                done
            }
            Op::ClearTree { id } => {
                self.trees.remove(id.as_str());
                done
            }
            Op::PutDoc { .. } | Op::DeleteDoc { .. } => done,
            Op::NoteInform { id, at_ms } => {
                if self.devices.contains_key(id.as_str()) {
                    self.informed.insert(id.to_string(), at_ms);
                }
                done
            }
            Op::DeleteDevice { id } => {
                self.devices.remove(id.as_str());
                self.informed.remove(id.as_str());
                self.trees.remove(id.as_str());
                self.tasks.retain(|_, t| t.device != id);
                self.faults.retain(|(d, _), _| d != id.as_str());
                done
            }
            Op::PutTask(mut t) => {
                if t.id == 0 {
                    t.id = self.highest_task + 1;
                }
                self.highest_task = self.highest_task.max(t.id);
                let tid = t.id;
                self.tasks.insert(tid, t);
                Outcome::Done {
                    revision: None,
                    task_id: Some(tid),
                }
            }
            Op::DeleteTask(tid) => {
                self.tasks.remove(&tid);
                Outcome::Done {
                    revision: None,
                    task_id: Some(tid),
                }
            }
            Op::PutFault(f) => {
                self.faults
                    .insert((f.device.to_string(), f.channel.clone()), f);
                done
            }
            Op::DeleteFault { device, channel } => {
                self.faults.remove(&(device.to_string(), channel));
                done
            }
        }
    }

    /// The last-inform index holds each device once, under the hour of its effective time, so
    /// a range scan returns every device informed in the range and only devices of its hours.
    fn check_inform_index(&self, s: &Store) {
        const HOUR: i64 = 3_600_000;
        let effective = |d: &str, m: &DeviceMeta| {
            self.informed
                .get(d)
                .map_or(m.last_inform_ms, |&t| t.max(m.last_inform_ms))
        };
        let mut all = s.scan_informed(None, None).unwrap();
        all.sort();
        let mut want: Vec<_> = self.devices.values().map(|(_, m)| m.id.clone()).collect();
        want.sort();
        assert_eq!(all, want, "every device once");
        let base = 1_700_000_000_000 - 3 * HOUR;
        for (from, to) in [(0, 1), (1, 3), (2, 2), (3, 6)] {
            let (from_ms, to_ms) = (base + from * HOUR, base + to * HOUR);
            let got = s.scan_informed(Some(from_ms), Some(to_ms)).unwrap();
            for (d, (_, m)) in &self.devices {
                let t = effective(d, m);
                if (from_ms..=to_ms).contains(&t) {
                    assert!(got.contains(&m.id), "{d} at {t} in [{from_ms}, {to_ms}]");
                }
                if got.contains(&m.id) {
                    assert!(
                        t.div_euclid(HOUR) >= from_ms.div_euclid(HOUR)
                            && t.div_euclid(HOUR) <= to_ms.div_euclid(HOUR),
                        "{d} at {t} is outside the hours of [{from_ms}, {to_ms}]"
                    );
                }
            }
        }
    }

    fn check(&self, s: &Store) {
        for d in DEVICES {
            let got = s.get(&id(d)).unwrap().map(|v| (v.revision, v.value));
            let want = self.devices.get(d).map(|(r, m)| {
                let mut m = m.clone();
                if let Some(&t) = self.informed.get(d) {
                    m.last_inform_ms = m.last_inform_ms.max(t);
                }
                (*r, m)
            });
            assert_eq!(got, want, "meta {d}");
            assert_eq!(
                s.get_tree(&id(d)).unwrap(),
                self.trees.get(d).cloned().unwrap_or_default(),
                "tree {d}"
            );
            // A scoped read is the whole tree's selected nodes, whatever the edits were.
            let mut scope = acs_store::TreeScope::new();
            scope.add_dotted("Device.A.Y.*", false);
            scope.add_dotted("Device.B", true);
            let want: ParamTree = self
                .trees
                .get(d)
                .into_iter()
                .flat_map(ParamTree::iter)
                .filter(|(p, _)| scope.selects(p))
                .map(|(p, v)| (p.to_owned(), v.clone()))
                .collect();
            assert_eq!(
                s.get_tree_scoped(&id(d), &scope).unwrap(),
                want,
                "scoped tree {d}"
            );
            let want: Vec<_> = self
                .tasks
                .values()
                .filter(|t| t.device.as_str() == d)
                .cloned()
                .collect();
            assert_eq!(s.tasks(Some(&id(d))).unwrap(), want, "tasks {d}");
            let want: Vec<_> = self
                .faults
                .iter()
                .filter(|((fd, _), _)| fd == d)
                .map(|(_, f)| f.clone())
                .collect();
            assert_eq!(s.faults(Some(&id(d))).unwrap(), want, "faults {d}");
        }
        assert_eq!(
            s.tasks(None).unwrap(),
            self.tasks.values().cloned().collect::<Vec<_>>()
        );
        assert_eq!(s.count().unwrap(), self.devices.len() as u64);
        self.check_inform_index(s);
        let lookups = SERIALS
            .map(|k| (Index::Serial, k))
            .into_iter()
            .chain(TAGS.map(|k| (Index::Tag, k)));
        for (index, key) in lookups {
            let want: Vec<_> = self
                .devices
                .values()
                .filter(|(_, m)| match index {
                    Index::Serial => m.identity.serial_number == key,
                    _ => m.tags.contains(key),
                })
                .map(|(_, m)| m.id.clone())
                .collect();
            assert_eq!(s.scan_index(index, key).unwrap(), want, "{index:?} {key}");
        }
    }
}

fn op() -> impl Strategy<Value = Op> {
    let dev = prop::sample::select(&DEVICES[..]);
    let expect = prop_oneof![
        Just(Expect::Absent),
        Just(Expect::Any),
        (0u64..4).prop_map(Expect::Revision)
    ];
    let put = (
        dev.clone(),
        prop::sample::select(&SERIALS[..]),
        prop::sample::subsequence(&TAGS[..], 0..=2),
        expect,
        -2i64..3,
    )
        .prop_map(|(d, serial, tags, expect, half_hours)| {
            let mut meta: DeviceMeta = device(d, serial);
            meta.tags = tags.into_iter().map(String::from).collect::<BTreeSet<_>>();
            meta.last_inform_ms = 1_700_000_000_000 + half_hours * 1_800_000;
            Op::PutDevice { meta, expect }
        });
    let param = (any::<bool>(), any::<i32>(), 0i64..3).prop_map(|(object, v, ts)| Param {
        object,
        writable: Some(!object),
        value: (!object).then(|| Value::Int(v.into())),
        timestamp_ms: ts,
        attributes: None,
    });
    let path = prop::sample::select(&PATHS[..]).prop_map(String::from);
    let update = (
        dev.clone(),
        prop::collection::vec((path.clone(), param), 0..4),
        prop::collection::vec(path, 0..2),
    )
        .prop_map(|(d, set, remove_subtrees)| Op::UpdateTree {
            id: id(d),
            set,
            remove_subtrees,
        });
    let put_task = (dev.clone(), 0u64..5).prop_map(|(d, tid)| {
        let mut t = task(&id(d), TaskKind::Reboot);
        t.id = tid;
        Op::PutTask(t)
    });
    let fault = (
        dev.clone(),
        prop::sample::select(&["x", "y"][..]),
        any::<bool>(),
    )
        .prop_map(|(d, ch, put)| {
            if put {
                Op::PutFault(FaultRecord {
                    device: id(d),
                    channel: ch.into(),
                    task_id: None,
                    code: "c".into(),
                    message: String::new(),
                    detail: String::new(),
                    retries: 0,
                    timestamp_ms: 0,
                })
            } else {
                Op::DeleteFault {
                    device: id(d),
                    channel: ch.into(),
                }
            }
        });
    prop_oneof![
        3 => put,
        3 => update,
        1 => dev.clone().prop_map(|d| Op::ClearTree { id: id(d) }),
        1 => dev.clone().prop_map(|d| Op::DeleteDevice { id: id(d) }),
        2 => (dev, -2i64..3).prop_map(|(d, s)| Op::NoteInform {
            id: id(d),
            at_ms: 1_700_000_000_000 + s * 1_800_000,
        }),
        2 => put_task,
        1 => (1u64..6).prop_map(Op::DeleteTask),
        2 => fault,
    ]
}

fn run(backend: acs_store::EngineKind, batches: Vec<Vec<Op>>) {
    let h = Harness::new(backend);
    let mut model = Model::default();
    {
        let s = h.open();
        for batch in batches {
            let got = s.apply(batch.clone()).unwrap();
            let want: Vec<_> = batch.into_iter().map(|op| model.apply(op)).collect();
            assert_eq!(got, want);
            model.check(&s);
        }
    }
    model.check(&h.open());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn redb_matches_model(batches in prop::collection::vec(prop::collection::vec(op(), 1..5), 1..8)) {
        run(acs_store::EngineKind::Redb, batches);
    }

    #[test]
    #[cfg(feature = "sled")]
    fn sled_matches_model(batches in prop::collection::vec(prop::collection::vec(op(), 1..5), 1..8)) {
        run(acs_store::EngineKind::Sled, batches);
    }
}
