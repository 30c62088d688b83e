//! The core of declarative provisioning, sans IO: desired state per path (GenieACS's `declare`:
//! how fresh the path's children and value must be, which value it must hold, how many
//! instances an object must have) compared with the device's known tree, giving the next batch
//! of RPCs. A session runs batch after batch, folding each answer into the tree, until a batch
//! comes back empty (converged) or the caps are reached.
//!
//! Ordering follows GenieACS: first discover what the declarations' wildcards cover
//! (GetParameterNames of parents whose child list is stale), then create or delete instances,
//! then read stale values (GetParameterValues), then write values that differ
//! (SetParameterValues). Each step waits for the one before it, because its paths depend on it.
//!
//! Status: this planner is tested on its own; wiring it into sessions with presets is the next
//! step of the NBI/provisioning issue.

use acs_store::{ParamTree, Value};

/// Names per GetParameterValues / SetParameterValues request (GenieACS's `gpvBatchSize`).
pub const BATCH: usize = 32;
/// Most planning rounds in one session (GenieACS's `maxCommitIterations`).
pub const MAX_ROUNDS: usize = 32;
/// Most RPCs in one session.
pub const MAX_RPCS: usize = 255;

/// One declaration about a path pattern (`*` matches any one segment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    /// The path pattern, e.g. `Device.WiFi.SSID.*.SSID`.
    pub path: String,
    /// The paths the pattern covers must have been listed (GetParameterNames) at or after this
    /// time; `None` asks nothing.
    pub path_fresh_ms: Option<i64>,
    /// The value must have been read at or after this time; `None` asks nothing.
    pub value_fresh_ms: Option<i64>,
    /// The value each covered leaf must hold, with its XSD type.
    pub value: Option<(String, String)>,
    /// For an object pattern ending in `.*`: how many instances must exist (min, max).
    pub instances: Option<(usize, usize)>,
}

impl Declaration {
    /// A declaration about `path` that asks nothing yet.
    pub fn new(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            path_fresh_ms: None,
            value_fresh_ms: None,
            value: None,
            instances: None,
        }
    }
}

/// An RPC the planner asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rpc {
    /// List an object's children (`next_level` true: one level only).
    GetParameterNames {
        /// The object path with its trailing dot.
        path: String,
        /// One level only.
        next_level: bool,
    },
    /// Read values.
    GetParameterValues {
        /// Leaf paths.
        names: Vec<String>,
    },
    /// Write values: (path, value, XSD type).
    SetParameterValues {
        /// The writes.
        values: Vec<(String, String, String)>,
    },
    /// Create one instance of a multi-instance object.
    AddObject {
        /// The object path with its trailing dot.
        path: String,
    },
    /// Delete one instance.
    DeleteObject {
        /// The instance path with its trailing dot.
        path: String,
    },
}

/// Why planning stopped without converging.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// More rounds than [`MAX_ROUNDS`] (GenieACS's fault `too_many_commits`).
    #[error("too_many_commits: declarations did not converge in {MAX_ROUNDS} rounds")]
    TooManyRounds,
    /// More RPCs than [`MAX_RPCS`] (GenieACS's fault `too_many_rpcs`).
    #[error("too_many_rpcs: more than {MAX_RPCS} RPCs in one session")]
    TooManyRpcs,
}

/// The concrete paths a pattern covers in the known tree (objects and leaves alike).
pub fn expand(tree: &ParamTree, pattern: &str) -> Vec<String> {
    let segs: Vec<&str> = pattern.trim_end_matches('.').split('.').collect();
    let mut found = vec![String::new()];
    for (i, seg) in segs.iter().enumerate() {
        let mut next = Vec::new();
        for base in &found {
            if *seg == "*" {
                next.extend(children(tree, base));
            } else {
                let p = join(base, seg);
                if tree.get(&p).is_some() || i + 1 < segs.len() {
                    next.push(p);
                }
            }
        }
        found = next;
    }
    found.retain(|p| tree.get(p).is_some());
    found
}

fn join(base: &str, seg: &str) -> String {
    if base.is_empty() {
        seg.to_owned()
    } else {
        format!("{base}.{seg}")
    }
}

/// The direct children of an object in the known tree.
fn children(tree: &ParamTree, object: &str) -> Vec<String> {
    let depth = object.split('.').count() + 1;
    tree.iter_prefix(object)
        .map(|(p, _)| p)
        .filter(|p| p.split('.').count() == depth)
        .map(str::to_owned)
        .collect()
}

/// The parent objects whose children must be listed before `pattern` can be expanded (its
/// prefixes up to each wildcard), with their last listing time (`None`: never).
fn discovery_points(tree: &ParamTree, pattern: &str) -> Vec<(String, Option<i64>)> {
    let segs: Vec<&str> = pattern.trim_end_matches('.').split('.').collect();
    let mut out = Vec::new();
    let mut bases = vec![String::new()];
    for seg in &segs {
        let mut next = Vec::new();
        for base in &bases {
            if *seg == "*" {
                let listed = tree.get(base).filter(|p| p.object).map(|p| p.timestamp_ms);
                out.push((base.clone(), listed));
                next.extend(children(tree, base));
            } else {
                next.push(join(base, seg));
            }
        }
        bases = next;
    }
    // The covered paths themselves must be listed too (a declared leaf the device never
    // reported may exist).
    for base in bases {
        let parent = base.rsplit_once('.').map_or("", |(p, _)| p).to_owned();
        if tree.get(&base).is_none() {
            let listed = tree
                .get(&parent)
                .filter(|p| p.object)
                .map(|p| p.timestamp_ms);
            out.push((parent, listed));
        }
    }
    out
}

/// The next batch of RPCs for `decls` given what is known, or an empty batch when the device
/// already matches every declaration.
pub fn next_batch(tree: &ParamTree, decls: &[Declaration]) -> Vec<Rpc> {
    // 1. Discovery: parents whose child list is older than asked, or unknown.
    let mut gpn: Vec<String> = Vec::new();
    for d in decls {
        // A declaration that asks anything needs its paths known; only `path_fresh_ms` asks
        // for them to be listed again.
        let asks = d.value.is_some() || d.instances.is_some() || d.value_fresh_ms.is_some();
        let Some(fresh) = d.path_fresh_ms.or(asks.then_some(i64::MIN)) else {
            continue;
        };
        for (parent, listed) in discovery_points(tree, &d.path) {
            if listed.is_none_or(|t| t < fresh) && !gpn.contains(&parent) {
                gpn.push(parent);
            }
        }
    }
    if !gpn.is_empty() {
        return gpn
            .into_iter()
            .map(|p| Rpc::GetParameterNames {
                path: if p.is_empty() { p } else { format!("{p}.") },
                next_level: true,
            })
            .collect();
    }
    // 2. Instances: add or delete to reach the declared count.
    let mut objects = Vec::new();
    for d in decls {
        let Some((min, max)) = d.instances else {
            continue;
        };
        let Some(parent) = d.path.trim_end_matches('.').strip_suffix(".*") else {
            continue;
        };
        for table in expand(tree, parent) {
            let have = children(tree, &table);
            if have.len() < min {
                objects.extend((have.len()..min).map(|_| Rpc::AddObject {
                    path: format!("{table}."),
                }));
            } else if have.len() > max {
                // The newest instances go first, as GenieACS deletes from the end.
                let mut extra: Vec<&String> = have.iter().collect();
                extra.sort_by_key(|p| instance_number(p));
                objects.extend(extra.iter().rev().take(have.len() - max).map(|p| {
                    Rpc::DeleteObject {
                        path: format!("{p}."),
                    }
                }));
            }
        }
    }
    if !objects.is_empty() {
        return objects;
    }
    // 3. Reads: leaves whose value is unknown or older than asked, and leaves about to be
    // written whose value is unknown (a write compares with the current value).
    let mut gpv = Vec::new();
    for d in decls {
        let fresh = d.value_fresh_ms.or(d.value.as_ref().map(|_| i64::MIN));
        let Some(fresh) = fresh else { continue };
        for p in expand(tree, &d.path) {
            let Some(param) = tree.get(&p) else { continue };
            if param.object {
                continue;
            }
            let stale = param.value.is_none() || param.timestamp_ms < fresh;
            if stale && !gpv.contains(&p) {
                gpv.push(p);
            }
        }
    }
    if !gpv.is_empty() {
        return gpv
            .chunks(BATCH)
            .map(|c| Rpc::GetParameterValues { names: c.to_vec() })
            .collect();
    }
    // 4. Writes: writable leaves whose value differs from the declared one.
    let mut spv = Vec::new();
    for d in decls {
        let Some((want, ty)) = &d.value else { continue };
        for p in expand(tree, &d.path) {
            let Some(param) = tree.get(&p) else { continue };
            if param.object || param.writable == Some(false) {
                continue;
            }
            let same = param.value.as_ref().is_some_and(|v| same_value(v, want));
            if !same
                && !spv
                    .iter()
                    .any(|(q, _, _): &(String, String, String)| q == &p)
            {
                spv.push((p, want.clone(), ty.clone()));
            }
        }
    }
    spv.chunks(BATCH)
        .map(|c| Rpc::SetParameterValues { values: c.to_vec() })
        .collect()
}

/// Whether a stored value equals a declared text (booleans compare as GenieACS's `true`/`1`).
fn same_value(v: &Value, want: &str) -> bool {
    match v {
        Value::Boolean(b) => matches!((b, want), (true, "true" | "1") | (false, "false" | "0")),
        other => other.text() == want,
    }
}

fn instance_number(path: &str) -> u64 {
    path.rsplit('.')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Counts rounds and RPCs of one session against the caps.
#[derive(Debug, Default)]
pub struct Budget {
    rounds: usize,
    rpcs: usize,
}

impl Budget {
    /// Charges one round of `batch`; an error means the session must stop with that fault.
    pub fn charge(&mut self, batch: &[Rpc]) -> Result<(), PlanError> {
        self.rounds += 1;
        self.rpcs += batch.len();
        if self.rounds > MAX_ROUNDS {
            Err(PlanError::TooManyRounds)
        } else if self.rpcs > MAX_RPCS {
            Err(PlanError::TooManyRpcs)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use acs_store::Param;

    fn obj(ts: i64) -> Param {
        Param {
            object: true,
            writable: Some(false),
            value: None,
            timestamp_ms: ts,
        }
    }

    fn leaf(v: Option<&str>, writable: bool, ts: i64) -> Param {
        Param {
            object: false,
            writable: Some(writable),
            value: v.map(|s| Value::String(s.into())),
            timestamp_ms: ts,
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
                Rpc::AddObject { path } => {
                    let table = path.trim_end_matches('.');
                    let n = children(t, table).len() + 1;
                    t.insert(format!("{table}.{n}"), obj(now));
                    t.insert(format!("{table}.{n}.SSID"), leaf(Some(""), true, now));
                }
                Rpc::DeleteObject { path } => {
                    t.remove_subtree(path.trim_end_matches('.'));
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
                    path: "Device.WiFi.SSID.".into()
                },
                Rpc::AddObject {
                    path: "Device.WiFi.SSID.".into()
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
}
