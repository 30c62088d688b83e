//! Whole-tree discovery that every CPE survives.
//!
//! A new or bootstrapped device's tree is learnt at once: by default with one GetParameterNames
//! of the root and one GetParameterValues of the root as a partial path ([`Mode::Fast`]: two
//! RPCs for ~6,400 parameters). GenieACS never sends that partial-path read, and some CPE agents
//! cannot answer it: they fault, time out, return a truncated list, drop the connection, or
//! restart and come back with a new Inform. Then discovery falls back to what GenieACS does —
//! explicit leaf names read in batches ([`Mode::Leaves`]), and when even the root's full name
//! list is too much, a GetParameterNames walk ([`Mode::Walk`]: the root one level down, then
//! each top-level object whole, and any object whose listing fails one level at a time).
//!
//! What works is remembered per OUI, ProductClass and SoftwareVersion (a [`Profile`] in the
//! store's `discovery` documents), so the next device of that model starts with the mode that
//! works. A device's attempt is recorded before its first RPC goes out (an [`Attempt`] in
//! `discovery_attempts`), so an attempt that never finished — the CPE went silent, dropped the
//! connection or came back with a new Inform — is known at its next session and counted as a
//! failure of that mode. After [`MAX_ATTEMPTS`] failures the device gets a `discovery` fault
//! (in `/faults`) and is not discovered again until that fault is deleted; its sessions go on.
//!
//! [`Walker`] does no IO: it yields the next RPC and folds each answer or fault.

use acs_store::{DeviceId, DeviceMeta, FaultRecord, Op, Param};
use cwmp::{Body, Fault, ParameterValue};
use serde::{Deserialize, Serialize};
use std::collections::{HashSet, VecDeque};

/// Documents holding the mode that works per model (`OUI-ProductClass-SoftwareVersion`).
pub const PROFILES: &str = "discovery";
/// Documents holding each device's unfinished attempt, by device id.
pub const ATTEMPTS: &str = "discovery_attempts";
/// The fault channel of a device whose discovery gave up.
pub const CHANNEL: &str = "discovery";
/// Failed attempts after which a device's discovery stops with a fault.
pub const MAX_ATTEMPTS: u32 = 3;
/// Names per GetParameterValues in the fallback modes (GenieACS's `cwmp.gpvBatchSize`).
pub const BATCH: usize = 32;

/// How the tree is discovered, from the fastest to the most careful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// GetParameterNames of the root, then GetParameterValues of the root as a partial path.
    Fast,
    /// GetParameterNames of the root, then the leaves by name in batches.
    Leaves,
    /// A GetParameterNames walk, then the leaves by name in batches.
    Walk,
}

impl Mode {
    /// The next, more careful mode.
    pub fn next(self) -> Self {
        match self {
            Self::Fast => Self::Leaves,
            Self::Leaves | Self::Walk => Self::Walk,
        }
    }

    /// Its name in documents and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Self::Fast => "fast",
            Self::Leaves => "leaves",
            Self::Walk => "walk",
        }
    }
}

/// What is known to work for one model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The mode its devices start with.
    pub mode: Mode,
    /// Failed attempts seen on its devices, all modes together.
    pub failures: u32,
    /// When it last changed (ms since the Unix epoch).
    pub updated_ms: i64,
}

/// A device's attempt in progress: written before the first RPC, removed when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Attempt {
    mode: Mode,
    failed: u32,
}

/// The key of a device's model profile.
pub fn profile_key(meta: &DeviceMeta) -> String {
    format!(
        "{}-{}-{}",
        meta.identity.oui, meta.identity.product_class, meta.software_version
    )
}

/// What registration does about discovery, decided from the store's documents.
#[derive(Debug)]
pub(crate) enum Decision {
    /// Discover with this walker; its start ops (the attempt record, any profile change) are
    /// made durable with the session's write before its first RPC.
    Discover(Box<Walker>),
    /// Too many failed attempts: record the fault (these ops) and do not discover.
    GiveUp(Vec<Op>),
    /// A `discovery` fault stands: the device is not discovered until it is deleted.
    Skip,
}

/// Decides a device's discovery: an attempt left unfinished counts as a failure of its mode.
pub(crate) fn decide(
    device: &DeviceId,
    meta: &DeviceMeta,
    root: &str,
    faulted: bool,
    profile: Option<Profile>,
    unfinished: Option<Attempt>,
    now_ms: i64,
) -> Decision {
    if faulted {
        return Decision::Skip;
    }
    let key = profile_key(meta);
    let mut ops = Vec::new();
    let mut profile = profile;
    let (mode, failed) = match unfinished {
        Some(a) => {
            let failed = a.failed + 1;
            let lost = format!("a {} discovery was never finished", a.mode.name());
            tracing::warn!(%device, mode = a.mode.name(), failed, "discovery attempt lost");
            note_failure(&mut profile, &key, a.mode.next(), now_ms, &mut ops);
            if failed >= MAX_ATTEMPTS {
                ops.extend(give_up(device, &lost, now_ms));
                return Decision::GiveUp(ops);
            }
            (a.mode.next(), failed)
        }
        None => (profile.as_ref().map_or(Mode::Fast, |p| p.mode), 0),
    };
    ops.push(attempt_op(device, Attempt { mode, failed }));
    let mut walker = Walker::new(device, root, key, mode, failed, profile);
    walker.start_ops = ops;
    Decision::Discover(Box::new(walker))
}

/// Records a failed attempt in the model's profile: its devices start with `next` or a more
/// careful mode.
fn note_failure(
    profile: &mut Option<Profile>,
    key: &str,
    next: Mode,
    now_ms: i64,
    ops: &mut Vec<Op>,
) {
    let p = profile.get_or_insert(Profile {
        mode: next,
        failures: 0,
        updated_ms: now_ms,
    });
    p.failures += 1;
    p.mode = p.mode.max(next);
    p.updated_ms = now_ms;
    ops.push(profile_op(key, p));
}

fn profile_op(key: &str, p: &Profile) -> Op {
    Op::PutDoc {
        collection: PROFILES.to_owned(),
        name: key.to_owned(),
        body: serde_json::to_vec(p).unwrap_or_default(),
    }
}

fn attempt_op(device: &DeviceId, a: Attempt) -> Op {
    Op::PutDoc {
        collection: ATTEMPTS.to_owned(),
        name: device.as_str().to_owned(),
        body: serde_json::to_vec(&a).unwrap_or_default(),
    }
}

fn end_attempt_op(device: &DeviceId) -> Op {
    Op::DeleteDoc {
        collection: ATTEMPTS.to_owned(),
        name: device.as_str().to_owned(),
    }
}

/// The ops that stop a device's discovery: its fault, and no attempt left open.
fn give_up(device: &DeviceId, why: &str, now_ms: i64) -> Vec<Op> {
    vec![
        Op::PutFault(FaultRecord {
            device: device.clone(),
            channel: CHANNEL.to_owned(),
            task_id: None,
            code: "discovery_failed".to_owned(),
            message: format!(
                "the device's parameter tree could not be discovered in {MAX_ATTEMPTS} attempts \
                 (last: {why}); delete this fault to try again"
            ),
            detail: String::new(),
            retries: MAX_ATTEMPTS,
            timestamp_ms: now_ms,
        }),
        end_attempt_op(device),
    ]
}

/// Reads a profile document.
pub fn parse_profile(body: &[u8]) -> Option<Profile> {
    serde_json::from_slice(body).ok()
}

/// Reads an attempt document.
pub(crate) fn parse_attempt(body: &[u8]) -> Option<Attempt> {
    serde_json::from_slice(body).ok()
}

/// The RPC a walker is waiting on.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// GetParameterNames of an object (with its trailing dot), whole or one level.
    Names { path: String, next_level: bool },
    /// GetParameterValues of the root as a partial path.
    Subtree,
    /// GetParameterValues of these leaves.
    Batch(Vec<String>),
}

/// What a walker's answer did.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    /// The walk is over (discovered, or given up for this session).
    pub(crate) done: bool,
    /// Tree writes, when it is over: the root replaced by what was found.
    pub(crate) set: Vec<(String, Param)>,
    pub(crate) remove: Vec<String>,
    /// Documents and faults to write.
    pub(crate) ops: Vec<Op>,
    /// Whether values read changed the device's facts.
    pub(crate) meta_changed: bool,
    /// A fallback was taken.
    pub(crate) fell_back: bool,
}

/// One device's discovery in a session.
#[derive(Debug, Clone)]
pub(crate) struct Walker {
    device: DeviceId,
    root: String,
    key: String,
    mode: Mode,
    failed: u32,
    profile: Option<Profile>,
    step: Step,
    /// Objects still to list in a walk, and whether one level only.
    to_list: VecDeque<(String, bool)>,
    objects: Vec<(String, Param)>,
    /// Leaves found, with `writable`, in the CPE's order.
    leaves: Vec<(String, bool)>,
    /// Leaves not read yet (fallback modes), from the end.
    unread: Vec<String>,
    got: Vec<(String, Param)>,
    /// Writes due before the first RPC.
    start_ops: Vec<Op>,
    /// Where the next value read is expected in `leaves` (CPEs answer in listing order).
    cursor: usize,
    /// Names listed so far, in a walk (whose listings may overlap).
    seen: HashSet<String>,
    truncated: bool,
}

impl Walker {
    fn new(
        device: &DeviceId,
        root: &str,
        key: String,
        mode: Mode,
        failed: u32,
        profile: Option<Profile>,
    ) -> Self {
        let mut w = Self {
            device: device.clone(),
            root: root.to_owned(),
            key,
            mode,
            failed,
            profile,
            step: Step::Subtree,
            to_list: VecDeque::new(),
            objects: Vec::new(),
            leaves: Vec::new(),
            unread: Vec::new(),
            got: Vec::new(),
            start_ops: Vec::new(),
            cursor: 0,
            seen: HashSet::new(),
            truncated: false,
        };
        w.start(mode);
        w
    }

    /// (Re)starts from the listing the mode begins with.
    fn start(&mut self, mode: Mode) {
        self.mode = mode;
        self.objects.clear();
        self.leaves.clear();
        self.got.clear();
        self.to_list.clear();
        self.seen.clear();
        let root = format!("{}.", self.root);
        self.step = Step::Names {
            path: root,
            next_level: mode == Mode::Walk,
        };
    }

    /// The writes due before the first RPC (once).
    pub(crate) fn take_start_ops(&mut self) -> Vec<Op> {
        std::mem::take(&mut self.start_ops)
    }

    /// The RPC to send.
    pub(crate) fn request(&self) -> Body {
        match &self.step {
            Step::Names { path, next_level } => Body::GetParameterNames {
                path: path.clone(),
                next_level: *next_level,
            },
            Step::Subtree => Body::GetParameterValues {
                names: vec![format!("{}.", self.root)],
            },
            Step::Batch(names) => Body::GetParameterValues {
                names: names.clone(),
            },
        }
    }

    /// Folds the CPE's answer into the walk, and the facts it carries into `meta`; `Err` for an
    /// answer of the wrong kind.
    pub(crate) fn answer(
        &mut self,
        body: Body,
        now_ms: i64,
        meta: &mut DeviceMeta,
    ) -> Result<Progress, Fault> {
        match (&self.step, body) {
            (Step::Names { next_level, .. }, Body::GetParameterNamesResponse { parameters }) => {
                let one_level = *next_level;
                for p in parameters {
                    self.found(p.name, p.writable, now_ms, one_level);
                }
                Ok(self.after_listing(now_ms))
            }
            (Step::Subtree, Body::GetParameterValuesResponse { parameters }) => {
                // Counting is enough for the usual complete answer; names are compared only
                // when some are missing.
                let missing: Vec<String> = if parameters.len() < self.leaves.len() {
                    let names: HashSet<&str> = parameters.iter().map(|p| p.name.as_str()).collect();
                    self.leaves
                        .iter()
                        .filter(|(n, _)| !names.contains(n.as_str()))
                        .map(|(n, _)| n.clone())
                        .collect()
                } else {
                    Vec::new()
                };
                let meta_changed = self.keep(parameters, now_ms, meta);
                let mut p = if missing.is_empty() {
                    self.finish(now_ms)
                } else {
                    // A truncated list: the rest by name; this model reads by name from now on.
                    tracing::warn!(device = %self.device, missing = missing.len(), "partial-path read came back truncated; reading the rest by name");
                    self.truncated = true;
                    self.unread = missing.into_iter().rev().collect();
                    let mut p = self.next_batch(now_ms);
                    p.fell_back = true;
                    p
                };
                p.meta_changed = meta_changed;
                Ok(p)
            }
            (Step::Batch(_), Body::GetParameterValuesResponse { parameters }) => {
                let meta_changed = self.keep(parameters, now_ms, meta);
                let mut p = self.next_batch(now_ms);
                p.meta_changed = meta_changed;
                Ok(p)
            }
            (_, other) => Err(Fault::new(
                8002,
                format!("unexpected answer to discovery: {}", other.name()),
            )),
        }
    }

    /// Folds a CPE fault: a fallback, a 9005 recovery, or the end of this session's attempt.
    pub(crate) fn fault(&mut self, fault: &Fault, now_ms: i64) -> Progress {
        match self.step.clone() {
            // A batch naming a parameter the CPE does not have: halve it, drop a single name.
            Step::Batch(names) if fault.code == 9005 => {
                if names.len() > 1 {
                    let (a, b) = names.split_at(names.len() / 2);
                    self.unread.extend(b.iter().rev().cloned());
                    self.step = Step::Batch(a.to_vec());
                } else {
                    self.leaves.retain(|(n, _)| !names.contains(n));
                    return self.next_batch(now_ms);
                }
                Progress::default()
            }
            // One object of a walk cannot be listed whole: list it one level at a time.
            Step::Names {
                path,
                next_level: false,
            } if self.mode == Mode::Walk => {
                self.to_list.push_front((path, true));
                self.after_listing(now_ms)
            }
            step => {
                let why = format!("{} answered fault {}", describe(&step), fault.code);
                // A whole listing that fails would fail again in the next mode: walk instead.
                let next = match step {
                    Step::Names { .. } => Mode::Walk,
                    _ => self.mode.next(),
                };
                self.failure(&why, now_ms, next, matches!(step, Step::Subtree))
            }
        }
    }

    /// A failed attempt: the next mode in this session while attempts remain.
    fn failure(&mut self, why: &str, now_ms: i64, next: Mode, leaves_known: bool) -> Progress {
        tracing::warn!(device = %self.device, mode = self.mode.name(), why, "discovery attempt failed");
        let mut p = Progress {
            fell_back: true,
            ..Progress::default()
        };
        self.failed += 1;
        note_failure(&mut self.profile, &self.key, next, now_ms, &mut p.ops);
        if self.failed >= MAX_ATTEMPTS {
            p.ops.extend(give_up(&self.device, why, now_ms));
            p.done = true;
            return p;
        }
        if next == self.mode {
            // Nothing more careful to try in this session; the next one tries again.
            p.ops.push(attempt_op(&self.device, self.attempt()));
            p.done = true;
            return p;
        }
        if next == Mode::Leaves && leaves_known {
            // The names are known: only the values are read differently.
            self.mode = next;
            self.got.clear();
            self.cursor = 0;
            self.unread = self.leaves.iter().rev().map(|(n, _)| n.clone()).collect();
            p.ops.push(attempt_op(&self.device, self.attempt()));
            let more = self.next_batch(now_ms);
            p.done = more.done;
            p.set = more.set;
            p.remove = more.remove;
            p.ops.extend(more.ops);
            return p;
        }
        self.start(next);
        p.ops.push(attempt_op(&self.device, self.attempt()));
        p
    }

    fn attempt(&self) -> Attempt {
        Attempt {
            mode: self.mode,
            failed: self.failed,
        }
    }

    /// Records one name from a listing; in a one-level listing, a child object is listed next.
    fn found(&mut self, mut name: String, writable: bool, now_ms: i64, one_level: bool) {
        if self.mode == Mode::Walk && !self.seen.insert(name.clone()) {
            return;
        }
        if name.ends_with('.') {
            name.pop();
            if one_level && name != self.root {
                self.to_list.push_back((format!("{name}."), false));
            }
            self.objects
                .push((name, Param::object(Some(writable), now_ms)));
        } else {
            self.leaves.push((name, writable));
        }
    }

    /// After a listing: the next object to list, or the values.
    fn after_listing(&mut self, now_ms: i64) -> Progress {
        if let Some((path, next_level)) = self.to_list.pop_front() {
            self.step = Step::Names { path, next_level };
            return Progress::default();
        }
        self.cursor = 0;
        if self.mode == Mode::Fast && !self.leaves.is_empty() {
            self.step = Step::Subtree;
            return Progress::default();
        }
        self.unread = self.leaves.iter().rev().map(|(n, _)| n.clone()).collect();
        self.next_batch(now_ms)
    }

    /// The next batch of names, or the end.
    fn next_batch(&mut self, now_ms: i64) -> Progress {
        let take = self.unread.len().min(BATCH);
        if take == 0 {
            return self.finish(now_ms);
        }
        let batch: Vec<String> = self.unread.split_off(self.unread.len() - take);
        self.step = Step::Batch(batch.into_iter().rev().collect());
        Progress::default()
    }

    /// Keeps values read with `writable` from the listing; notes the device's facts in `meta`.
    fn keep(
        &mut self,
        parameters: Vec<ParameterValue>,
        now_ms: i64,
        meta: &mut DeviceMeta,
    ) -> bool {
        let mut changed = false;
        self.got.reserve(parameters.len());
        for p in parameters {
            let writable = self.writable(&p.name);
            changed |= crate::inform::note_fact(meta, &p.name, &p.value);
            self.got.push(crate::jobs::owned_leaf(p, writable, now_ms));
        }
        changed
    }

    /// A listed leaf's `writable`: found with one comparison when the CPE answers in listing
    /// order, by a search otherwise.
    fn writable(&mut self, name: &str) -> Option<bool> {
        if let Some((n, w)) = self.leaves.get(self.cursor)
            && n == name
        {
            self.cursor += 1;
            return Some(*w);
        }
        let i = self.leaves.iter().position(|(n, _)| n == name)?;
        self.cursor = i + 1;
        Some(self.leaves[i].1)
    }

    /// The walk succeeded: the tree is replaced by what was found, the model remembers.
    fn finish(&mut self, now_ms: i64) -> Progress {
        let mut p = Progress {
            done: true,
            remove: vec![self.root.clone()],
            ..Progress::default()
        };
        p.set = std::mem::take(&mut self.objects);
        if !p.set.iter().any(|(n, _)| *n == self.root) {
            // Not every CPE lists the root itself; the tree always has it.
            p.set
                .insert(0, (self.root.clone(), Param::object(Some(false), now_ms)));
        }
        p.set.append(&mut self.got);
        let works = if self.truncated {
            self.mode.max(Mode::Leaves)
        } else {
            self.mode
        };
        match &mut self.profile {
            Some(prof) if prof.mode == works => {}
            prof => {
                let failures = prof.as_ref().map_or(0, |x| x.failures);
                let new = Profile {
                    mode: works,
                    failures,
                    updated_ms: now_ms,
                };
                p.ops.push(profile_op(&self.key, &new));
                *prof = Some(new);
            }
        }
        p.ops.push(end_attempt_op(&self.device));
        p
    }
}

fn describe(step: &Step) -> String {
    match step {
        Step::Names { path, next_level } => {
            format!("GetParameterNames {path} (NextLevel {next_level})")
        }
        Step::Subtree => "GetParameterValues of the root".to_owned(),
        Step::Batch(n) => format!("GetParameterValues of {} names", n.len()),
    }
}

#[cfg(test)]
mod tests;
