//! The core of declarative provisioning, sans IO: desired state per path (GenieACS's `declare`:
//! how fresh the path's children, value and attributes must be, which value and attributes it
//! must hold, how many instances an object must have) compared with the device's known tree,
//! giving the next batch of RPCs. A session runs batch after batch, folding each answer into the
//! tree, until a batch comes back empty (converged) or the caps are reached.
//!
//! Ordering follows GenieACS: first discover what the declarations' wildcards and alias filters
//! cover (GetParameterNames of parents whose child list is stale), then create or delete
//! instances, then read stale values and attributes, then write values and attributes that
//! differ, and last the actions (Download, Reboot, FactoryReset). Each step waits for the one
//! before it, because its paths depend on it.
//!
//! Three pseudo-parameters are not CPE parameters but the ACS's record of actions, as in
//! GenieACS's device document: `Reboot` and `FactoryReset` (a declared time newer than the
//! recorded one asks for the action) and `Downloads.<n>.{FileType,FileName,TargetFileName,
//! Download}` (a declared `Download` time newer than the recorded one asks for a Download).

pub mod clear;
mod listing;
pub mod path;
pub mod scope;
pub mod script;
pub mod vparam;

use acs_store::ParamTree;
pub use path::{Segment, expand};
use path::{alias_matches, children, instance_number, join, levels, same_value};

/// Names per GetParameterValues / SetParameterValues request (GenieACS's `gpvBatchSize`).
pub const BATCH: usize = 32;
/// Most planning rounds in one session (GenieACS's `maxCommitIterations`).
pub const MAX_ROUNDS: usize = 32;
/// Most RPCs in one session.
pub const MAX_RPCS: usize = 255;
/// The pseudo-parameter recording the last Reboot the ACS sent.
pub const REBOOT: &str = "Reboot";
/// The pseudo-parameter recording the last FactoryReset the ACS sent.
pub const FACTORY_RESET: &str = "FactoryReset";
/// The pseudo-object recording Downloads the ACS sent.
pub const DOWNLOADS: &str = "Downloads";
/// Prefix of a declared value's type that only stands in until the device's type is known (an
/// untyped value in GenieACS takes the parameter's type when it is written).
pub const UNTYPED: char = '~';

/// One declaration about a path pattern (`*` matches any one instance, `[Key:Value,…]` the
/// instances whose keys hold those values).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Declaration {
    /// The path pattern, e.g. `Device.WiFi.SSID.*.SSID`.
    pub path: String,
    /// The paths the pattern covers must have been listed (GetParameterNames) at or after this
    /// time; `None` asks nothing.
    pub path_fresh_ms: Option<i64>,
    /// The value must have been read at or after this time; `None` asks nothing.
    pub value_fresh_ms: Option<i64>,
    /// The attributes must have been read at or after this time; `None` asks nothing.
    pub attributes_fresh_ms: Option<i64>,
    /// The value each covered leaf must hold, with its XSD type. For `Reboot`, `FactoryReset`
    /// and `Downloads.[…].Download` the value is a time (ms since the epoch, or ISO 8601): the
    /// action must have been sent at or after it.
    pub value: Option<(String, String)>,
    /// The notification attribute each covered leaf must have.
    pub notification: Option<u8>,
    /// The access list each covered leaf must have.
    pub access_list: Option<Vec<String>>,
    /// For an object pattern ending in `.*` or an alias filter: how many instances must exist
    /// (min, max). Instances created for an alias filter get its key values.
    pub instances: Option<(usize, usize)>,
}

impl Declaration {
    /// A declaration about `path` that asks nothing yet.
    pub fn new(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            ..Self::default()
        }
    }

    /// Whether it asks for anything that needs its paths known.
    fn asks(&self) -> bool {
        self.value.is_some()
            || self.instances.is_some()
            || self.value_fresh_ms.is_some()
            || self.attributes_fresh_ms.is_some()
            || self.notification.is_some()
            || self.access_list.is_some()
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
    /// Read attributes.
    GetParameterAttributes {
        /// Leaf paths.
        names: Vec<String>,
    },
    /// Write values: (path, value, XSD type).
    SetParameterValues {
        /// The writes.
        values: Vec<(String, String, String)>,
    },
    /// Write attributes: (path, notification to set, access list to set).
    SetParameterAttributes {
        /// The writes.
        attributes: Vec<(String, Option<u8>, Option<Vec<String>>)>,
    },
    /// Create one instance of a multi-instance object, then give its keys these values.
    AddObject {
        /// The object path with its trailing dot.
        path: String,
        /// Alias keys (relative paths) and their values.
        keys: Vec<(String, String)>,
    },
    /// Delete one instance.
    DeleteObject {
        /// The instance path with its trailing dot.
        path: String,
    },
    /// Send a file to the CPE; the ACS records it as `Downloads.<instance>`.
    Download {
        /// The instance number under `Downloads` that records it.
        instance: u64,
        /// TR-069 file type (`1 Firmware Upgrade Image`, …).
        file_type: String,
        /// The file's name on the file server.
        file_name: String,
        /// The name the CPE should give it (often empty).
        target_file_name: String,
    },
    /// Reboot the CPE.
    Reboot,
    /// Reset the CPE to factory defaults.
    FactoryReset,
}

impl Rpc {
    /// One RPC per item of a list RPC (names, values, attributes); others as they are.
    pub fn split_items(&self) -> Vec<Self> {
        match self {
            Self::GetParameterValues { names } => names
                .iter()
                .map(|n| Self::GetParameterValues {
                    names: vec![n.clone()],
                })
                .collect(),
            Self::GetParameterAttributes { names } => names
                .iter()
                .map(|n| Self::GetParameterAttributes {
                    names: vec![n.clone()],
                })
                .collect(),
            Self::SetParameterValues { values } => values
                .iter()
                .map(|v| Self::SetParameterValues {
                    values: vec![v.clone()],
                })
                .collect(),
            Self::SetParameterAttributes { attributes } => attributes
                .iter()
                .map(|a| Self::SetParameterAttributes {
                    attributes: vec![a.clone()],
                })
                .collect(),
            other => vec![other.clone()],
        }
    }

    /// Appends `other`'s items to this RPC when both are the same list RPC; gives `other`
    /// back otherwise.
    pub fn absorb(&mut self, other: Self) -> Result<(), Self> {
        match (self, other) {
            (Self::GetParameterValues { names: a }, Self::GetParameterValues { names: b })
            | (
                Self::GetParameterAttributes { names: a },
                Self::GetParameterAttributes { names: b },
            ) => a.extend(b),
            (Self::SetParameterValues { values: a }, Self::SetParameterValues { values: b }) => {
                a.extend(b);
            }
            (
                Self::SetParameterAttributes { attributes: a },
                Self::SetParameterAttributes { attributes: b },
            ) => a.extend(b),
            (_, other) => return Err(other),
        }
        Ok(())
    }

    /// Whether the RPC only reads (a batch of reads does not change the device).
    pub fn is_read(&self) -> bool {
        matches!(
            self,
            Self::GetParameterNames { .. }
                | Self::GetParameterValues { .. }
                | Self::GetParameterAttributes { .. }
        )
    }
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

/// Whether `d` is (one of) the declarations that made the planner ask for `rpc`, so that a
/// fault is recorded on the channel that declared what failed.
pub fn declares(d: &Declaration, rpc: &Rpc) -> bool {
    let Ok(segs) = path::parse(&d.path) else {
        return false;
    };
    let covers = |n: &str| path::matches(&segs, n, false);
    match rpc {
        Rpc::GetParameterNames { path: p, .. } => path::matches(&segs, p, true),
        Rpc::GetParameterValues { names } | Rpc::GetParameterAttributes { names } => {
            names.iter().any(|n| covers(n))
        }
        Rpc::SetParameterValues { values } => values.iter().any(|v| covers(&v.0)),
        Rpc::SetParameterAttributes { attributes } => attributes.iter().any(|a| covers(&a.0)),
        Rpc::AddObject { path: table, .. } => {
            d.instances.is_some()
                && segs
                    .split_last()
                    .is_some_and(|(_, parent)| path::matches(parent, table, false))
        }
        Rpc::DeleteObject { path: p } => d.instances.is_some() && path::matches(&segs, p, false),
        Rpc::Download { .. } => d.path.starts_with("Downloads."),
        Rpc::Reboot => d.path == REBOOT,
        Rpc::FactoryReset => d.path == FACTORY_RESET,
    }
}

/// Parses a declared action time: milliseconds since the epoch or an ISO 8601 date.
pub fn action_time(text: &str) -> Option<i64> {
    text.trim()
        .parse::<i64>()
        .ok()
        .or_else(|| crate::genie::date::parse(text.trim()))
}

/// Whether a path belongs to the ACS's pseudo-tree of actions rather than to the CPE.
pub fn is_pseudo(path: &str) -> bool {
    path == REBOOT || path == FACTORY_RESET || path == DOWNLOADS || path.starts_with("Downloads.")
}

/// The parent objects whose children must be listed before the declaration's pattern can be
/// expanded (its prefixes up to each wildcard or alias filter, and the parents of literal
/// leaves the tree does not know), with their last listing time (`None`: never).
fn discovery_points(tree: &ParamTree, segs: &[Segment]) -> Vec<(String, Option<i64>)> {
    let lv = levels(tree, segs);
    let mut out = Vec::new();
    // An object whose children were never listed (an instance just added, an imported node
    // without `_timestamp`) has timestamp 0.
    let listed = |p: &str| {
        tree.get(p)
            .filter(|n| n.object && n.timestamp_ms > 0)
            .map(|n| n.timestamp_ms)
    };
    // A known leaf has no children to list (a pattern deeper than the tree goes past it), and
    // neither has a node the tree does not know: the listing of its nearest known ancestor,
    // asked for at the level where the path left the tree, tells whether it exists, as in
    // GenieACS, where a missing path inherits that listing's time (so `Device.X` on a TR-098
    // device is settled by a listing of the root, never by listing `Device.`).
    let may_have_children = |p: &str| p.is_empty() || tree.get(p).is_some_and(|n| n.object);
    for (i, seg) in segs.iter().enumerate() {
        match seg {
            Segment::Any => {
                out.extend(
                    lv[i]
                        .iter()
                        .filter(|base| may_have_children(base))
                        .map(|base| (base.clone(), listed(base))),
                );
            }
            Segment::Alias(pairs) => {
                // Which instances an alias filter selects depends on their key values, so the
                // keys must be known as well as the instances (GenieACS declares
                // `<table>.*.<key>` for each key): an instance whose key the tree lacks is
                // listed down to it.
                for base in lv[i].iter().filter(|base| may_have_children(base)) {
                    out.push((base.clone(), listed(base)));
                    for instance in children(tree, base) {
                        for (key, _) in pairs {
                            if let Some(known) = deepest_known(tree, &instance, key)
                                && may_have_children(&known)
                            {
                                out.push((known.clone(), listed(&known)));
                            }
                        }
                    }
                }
            }
            Segment::Name(n) => {
                // A named node the tree does not know may exist: its parent must be listed.
                for base in lv[i].iter().filter(|base| may_have_children(base)) {
                    if tree.get(&join(base, n)).is_none() {
                        out.push((base.clone(), listed(base)));
                    }
                }
            }
        }
    }
    out
}

/// For a relative `key` below `instance` that the tree does not know, the deepest node on the
/// way to it that it does know (whose listing tells whether the key exists); `None` when the
/// key is known.
fn deepest_known(tree: &ParamTree, instance: &str, key: &str) -> Option<String> {
    let mut known = instance.to_owned();
    for seg in key.split('.') {
        let next = join(&known, seg);
        if tree.get(&next).is_none() {
            return Some(known);
        }
        known = next;
    }
    None
}

/// Step 1b, alias keys: the key values of the instances an alias filter looks at, unknown or
/// read before the declaration's path time (GenieACS reads them as declared `value`s with the
/// declaration's path timestamp, at least 1: known at all).
fn alias_reads(tree: &ParamTree, decls: &[(&Declaration, Vec<Segment>)]) -> Vec<Rpc> {
    let mut gpv: Vec<String> = Vec::new();
    for (d, segs) in decls {
        if !d.asks() && d.path_fresh_ms.is_none() {
            continue;
        }
        let fresh = d.path_fresh_ms.unwrap_or(1).max(1);
        let lv = levels(tree, segs);
        for (i, seg) in segs.iter().enumerate() {
            let Segment::Alias(pairs) = seg else {
                continue;
            };
            for base in &lv[i] {
                for instance in children(tree, base) {
                    for (key, _) in pairs {
                        let p = join(&instance, key);
                        let stale = tree.get(&p).is_some_and(|n| {
                            !n.object && (n.value.is_none() || n.timestamp_ms < fresh)
                        });
                        if stale && !gpv.contains(&p) {
                            gpv.push(p);
                        }
                    }
                }
            }
        }
    }
    gpv.chunks(BATCH)
        .map(|c| Rpc::GetParameterValues { names: c.to_vec() })
        .collect()
}

/// The next batch of RPCs for `decls` given what is known, or an empty batch when the device
/// already matches every declaration.
pub fn next_batch(tree: &ParamTree, decls: &[Declaration]) -> Vec<Rpc> {
    let parsed: Vec<(&Declaration, Vec<Segment>)> = decls
        .iter()
        .filter(|d| !is_pseudo(&d.path))
        .filter_map(|d| Some((d, path::parse(&d.path).ok()?)))
        .collect();
    let steps: [&dyn Fn() -> Vec<Rpc>; 6] = [
        &|| discover(tree, &parsed),
        &|| alias_reads(tree, &parsed),
        &|| instances(tree, &parsed),
        &|| reads(tree, &parsed),
        &|| writes(tree, &parsed),
        &|| actions(tree, decls),
    ];
    steps
        .iter()
        .map(|step| step())
        .find(|batch| !batch.is_empty())
        .unwrap_or_default()
}

/// Step 1, discovery: parents whose child list is older than asked, or unknown.
fn discover(tree: &ParamTree, decls: &[(&Declaration, Vec<Segment>)]) -> Vec<Rpc> {
    let mut gpn: Vec<String> = Vec::new();
    for (d, segs) in decls {
        // A declaration that asks anything needs its paths known; only `path_fresh_ms` asks
        // for them to be listed again.
        let Some(fresh) = d.path_fresh_ms.or(d.asks().then_some(i64::MIN)) else {
            continue;
        };
        for (parent, listed) in discovery_points(tree, segs) {
            if listed.is_none_or(|t| t < fresh) && !gpn.contains(&parent) {
                gpn.push(parent);
            }
        }
        // A leaf a declaration writes (a value or attributes) must have its writability known,
        // which only a listing of its parent tells (GenieACS declares `writable` with every
        // write): a leaf known only from an Inform or a value read is listed first.
        if d.value.is_some() || d.notification.is_some() || d.access_list.is_some() {
            for (p, param) in leaves(tree, segs) {
                let parent = p.rsplit_once('.').map_or("", |(a, _)| a).to_owned();
                if param.writable.is_none() && !gpn.contains(&parent) {
                    gpn.push(parent);
                }
            }
        }
    }
    // Each object is listed one level or whole as GenieACS would list it (`listing.rs`): the
    // root always one level (what is asked of it is which data-model roots exist), a few named
    // paths by a walk, a refreshed subtree whole.
    let patterns: Vec<&[Segment]> = decls.iter().map(|(_, s)| s.as_slice()).collect();
    let listings: Vec<(String, bool)> = gpn
        .into_iter()
        .map(|p| {
            let one = listing::one_level(&p, &patterns);
            (p, one)
        })
        .collect();
    // A whole-subtree listing makes listings below it redundant.
    let whole: Vec<String> = listings
        .iter()
        .filter(|(_, one)| !one)
        .map(|(p, _)| p.clone())
        .collect();
    listings
        .into_iter()
        .filter(|(p, _)| {
            !whole
                .iter()
                .any(|q| q != p && (q.is_empty() || p.starts_with(&format!("{q}."))))
        })
        .map(|(p, next_level)| Rpc::GetParameterNames {
            path: if p.is_empty() { p } else { format!("{p}.") },
            next_level,
        })
        .collect()
}

/// Step 2, instances: add or delete to reach the declared count.
fn instances(tree: &ParamTree, decls: &[(&Declaration, Vec<Segment>)]) -> Vec<Rpc> {
    let mut rpcs = Vec::new();
    for (d, segs) in decls {
        let (Some((min, max)), Some((last, parent))) = (d.instances, segs.split_last()) else {
            continue;
        };
        let keys = match last {
            Segment::Any => Vec::new(),
            Segment::Alias(pairs) => pairs.clone(),
            // One instance by number (GenieACS's deleteObject task): it can only be deleted.
            Segment::Name(n) if max == 0 && n.parse::<u64>().is_ok() => {
                let instance = levels(tree, segs).pop().unwrap_or_default();
                rpcs.extend(
                    instance
                        .into_iter()
                        .filter(|p| tree.get(p).is_some())
                        .map(|p| Rpc::DeleteObject {
                            path: format!("{p}."),
                        }),
                );
                continue;
            }
            Segment::Name(_) => continue,
        };
        for table in levels(tree, parent).pop().unwrap_or_default() {
            if tree.get(&table).is_none() {
                continue;
            }
            let mut have: Vec<String> = children(tree, &table)
                .into_iter()
                .filter(|c| alias_matches(tree, c, &keys))
                .collect();
            if have.len() < min {
                rpcs.extend((have.len()..min).map(|_| Rpc::AddObject {
                    path: format!("{table}."),
                    keys: keys.clone(),
                }));
            } else if have.len() > max {
                // The newest instances go first, as GenieACS deletes from the end.
                have.sort_by_key(|p| std::cmp::Reverse(instance_number(p)));
                rpcs.extend(
                    have.iter()
                        .take(have.len() - max)
                        .map(|p| Rpc::DeleteObject {
                            path: format!("{p}."),
                        }),
                );
            }
        }
    }
    rpcs
}

/// The leaves a declaration covers.
fn leaves<'t>(tree: &'t ParamTree, segs: &[Segment]) -> Vec<(String, &'t acs_store::Param)> {
    levels(tree, segs)
        .pop()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| {
            let node = tree.get(&p)?;
            (!node.object).then_some((p, node))
        })
        .collect()
}

/// Step 3, reads: leaves whose value or attributes are unknown or older than asked, and leaves
/// about to be written whose current state is unknown (a write compares with it).
fn reads(tree: &ParamTree, decls: &[(&Declaration, Vec<Segment>)]) -> Vec<Rpc> {
    let (mut gpv, mut gpa) = (Vec::new(), Vec::new());
    for (d, segs) in decls {
        let value_fresh = d.value_fresh_ms.or(d.value.as_ref().map(|_| i64::MIN));
        let wants_attrs = d.notification.is_some() || d.access_list.is_some();
        let attrs_fresh = d.attributes_fresh_ms.or(wants_attrs.then_some(i64::MIN));
        for (p, param) in leaves(tree, segs) {
            if let Some(fresh) = value_fresh
                && (param.value.is_none() || param.timestamp_ms < fresh)
                && !gpv.contains(&p)
            {
                gpv.push(p.clone());
            }
            if let Some(fresh) = attrs_fresh
                && param
                    .attributes
                    .as_ref()
                    .is_none_or(|a| a.timestamp_ms < fresh)
                && !gpa.contains(&p)
            {
                gpa.push(p);
            }
        }
    }
    let gpv = gpv
        .chunks(BATCH)
        .map(|c| Rpc::GetParameterValues { names: c.to_vec() });
    let gpa = gpa
        .chunks(BATCH)
        .map(|c| Rpc::GetParameterAttributes { names: c.to_vec() });
    gpv.chain(gpa).collect()
}

/// Step 4, writes: writable leaves whose value differs from the declared one, and leaves whose
/// attributes differ.
fn writes(tree: &ParamTree, decls: &[(&Declaration, Vec<Segment>)]) -> Vec<Rpc> {
    let mut spv: Vec<(String, String, String)> = Vec::new();
    let mut spa: Vec<(String, Option<u8>, Option<Vec<String>>)> = Vec::new();
    for (d, segs) in decls {
        for (p, param) in leaves(tree, segs) {
            if let Some((want, ty)) = &d.value
                && param.writable != Some(false)
                && !param.value.as_ref().is_some_and(|v| same_value(v, want))
                && !spv.iter().any(|(q, _, _)| q == &p)
            {
                let (want, ty) = match ty.strip_prefix(UNTYPED) {
                    Some(fallback) => {
                        let ty = param
                            .value
                            .as_ref()
                            .map_or_else(|| fallback.to_owned(), |v| v.xsd_type().to_owned());
                        (untyped_text(want, &ty), ty)
                    }
                    None => (want.clone(), ty.clone()),
                };
                if !param.value.as_ref().is_some_and(|v| same_value(v, &want)) {
                    spv.push((p.clone(), want, ty));
                }
            }
            let Some(have) = &param.attributes else {
                continue;
            };
            let notification = d.notification.filter(|n| *n != have.notification);
            let access = d.access_list.clone().filter(|l| *l != have.access_list);
            if (notification.is_some() || access.is_some()) && !spa.iter().any(|(q, ..)| q == &p) {
                spa.push((p, notification, access));
            }
        }
    }
    let spv = spv
        .chunks(BATCH)
        .map(|c| Rpc::SetParameterValues { values: c.to_vec() });
    let spa = spa.chunks(BATCH).map(|c| Rpc::SetParameterAttributes {
        attributes: c.to_vec(),
    });
    spv.chain(spa).collect()
}

/// An untyped declared value as text of the parameter's type: a number written to a
/// `dateTime` is milliseconds since 1970, as GenieACS converts it (`sanitizeParameterValue`).
fn untyped_text(want: &str, ty: &str) -> String {
    match want.parse::<f64>() {
        Ok(ms) if ty == "dateTime" && ms.is_finite() => crate::genie::date::iso(ms as i64),
        _ => want.to_owned(),
    }
}

/// Step 5, actions: Downloads, then Reboot, then FactoryReset, each when the recorded action
/// is older than the declared time.
fn actions(tree: &ParamTree, decls: &[Declaration]) -> Vec<Rpc> {
    let mut rpcs = Vec::new();
    let mut next_instance = children(tree, DOWNLOADS)
        .iter()
        .map(|p| instance_number(p))
        .max()
        .unwrap_or(0);
    for d in decls {
        let Some(want) = d.value.as_ref().and_then(|(v, _)| action_time(v)) else {
            continue;
        };
        let older = |path: &str| tree.get(path).is_none_or(|n| n.timestamp_ms < want);
        if d.path == REBOOT || d.path == FACTORY_RESET {
            let rpc = if d.path == REBOOT {
                Rpc::Reboot
            } else {
                Rpc::FactoryReset
            };
            if older(&d.path) && !rpcs.contains(&rpc) {
                rpcs.push(rpc);
            }
            continue;
        }
        let Some(Segment::Alias(keys)) = download_filter(&d.path) else {
            continue;
        };
        let key = |k: &str| {
            keys.iter()
                .find(|(n, _)| n == k)
                .map_or_else(String::new, |(_, v)| v.clone())
        };
        let existing = children(tree, DOWNLOADS)
            .into_iter()
            .find(|c| alias_matches(tree, c, &keys));
        let instance = match &existing {
            Some(p) if !older(&join(p, "Download")) => continue,
            Some(p) => instance_number(p),
            None => {
                next_instance += 1;
                next_instance
            }
        };
        rpcs.push(Rpc::Download {
            instance,
            file_type: key("FileType"),
            file_name: key("FileName"),
            target_file_name: key("TargetFileName"),
        });
    }
    // GenieACS's order: transfers first, the reboot and the reset last.
    rpcs.sort_by_key(|r| match r {
        Rpc::Download { .. } => 0,
        Rpc::Reboot => 1,
        _ => 2,
    });
    rpcs
}

/// The alias filter of a `Downloads.[…].Download` declaration.
fn download_filter(pattern: &str) -> Option<Segment> {
    let segs = path::parse(pattern).ok()?;
    match segs.as_slice() {
        [
            Segment::Name(d),
            filter @ Segment::Alias(_),
            Segment::Name(leaf),
        ] if d == DOWNLOADS && leaf == "Download" => Some(filter.clone()),
        _ => None,
    }
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
mod tests;
