//! One CWMP session on the ACS side, as a state machine that never does IO.
//!
//! The session takes [`Now`] and an [`Input`] (a POST of the CPE, the result of a store read or
//! write it asked for) and leaves [`Effect`]s to be polled out: read this, apply these ops,
//! publish this event, wake these task waiters, answer the CPE with this. It holds the `cwmp`
//! crate's protocol state machine, the device's record and the queue of jobs it runs; its
//! provisioning half is in `provisioning.rs`. `driver.rs` is the only async code: it performs
//! the effects against the ACS and feeds their results back.
//!
//! Two rules keep the logic simple and the store consistent. At most one read or write is in
//! flight, and the session's writes of one turn are collected in an outbox that is made durable
//! before the turn's reply goes out and before any read, so every read sees the session's own
//! writes and nothing is acknowledged to the CPE before it is stored. And a step that needs data
//! it does not have asks for it before changing anything, so it simply runs again once the data
//! is there.

mod cpe_requests;
mod driver;
mod effect;
mod provisioning;
mod scripting;
mod task_provisions;
#[cfg(test)]
mod tests;

pub(crate) use driver::{drive, expire};
pub(crate) use effect::{Counted, Effect, Input, Now, Read, ReadOutput, Reply};

use crate::DeviceEvent;
use crate::jobs::{Job, Purpose};
use crate::presets::PresetSet;
use crate::tasks::{self, RetryPolicy};
use crate::transfer::{self, Target};
use acs_store::{
    DeviceId, DeviceMeta, Expect, FaultRecord, Op, Outcome, ParamTree, StoreError, TaskRecord,
    TaskStatus, Versioned,
};
use cwmp::{AcsEvent, AcsSession, Body, Envelope, Fault};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

/// How often a session retries its device record after compare-and-swap conflicts before it
/// gives up on the record (the rest of what it learnt is stored either way).
const META_ATTEMPTS: u32 = 3;

/// What a session needs to know of the ACS's configuration.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    /// How faulted tasks are retried.
    pub(crate) retry: RetryPolicy,
    /// The file server's base URL, for Downloads that presets declare.
    pub(crate) file_server_url: String,
    /// How long a transfer may stay unreported before its task faults `timeout`
    /// (GenieACS's `cwmp.downloadTimeout`).
    pub(crate) download_timeout_ms: i64,
}

/// How long a session's device lease lasts: its idle timeout (the CPE's own, if it announced
/// one), renewed at every POST; a session silent for longer is over anyway.
pub(crate) fn lease_ttl_ms(machine: &AcsSession) -> i64 {
    i64::try_from(machine.session_timeout().as_millis()).unwrap_or(i64::MAX)
}

/// A read the current step is waiting for.
#[derive(Debug)]
pub(crate) struct Need(Read);

/// Where the session is in handling the CPE's current POST.
#[derive(Debug)]
enum Stage {
    /// Waiting for the CPE's next POST.
    Idle,
    /// Folding the CPE's answer to the current job's RPC into the store.
    Answer(Result<Body, Fault>),
    /// Answering a request the CPE sent.
    CpeRequest(Body),
    /// Choosing the next RPC, or the end.
    Next,
    /// This reply goes out once the outbox is durable.
    Reply(Reply),
}

/// What is in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Waiting {
    Read(Read),
    Write,
}

/// The session's writes not yet durable, and what to do once they are.
#[derive(Debug, Default)]
struct Outbox {
    ops: Vec<Op>,
    /// The device record changed: one `PutDevice` at the current revision goes with the ops.
    meta_dirty: bool,
    notify: Vec<u64>,
    events: Vec<DeviceEvent>,
}

impl Outbox {
    fn is_empty(&self) -> bool {
        self.ops.is_empty() && !self.meta_dirty && self.notify.is_empty() && self.events.is_empty()
    }
}

/// What happens when the write in flight is durable.
#[derive(Debug, Default)]
struct InFlight {
    /// Where the `PutDevice` is among the ops.
    meta_at: Option<usize>,
    notify: Vec<u64>,
    events: Vec<DeviceEvent>,
}

/// A live session.
pub(crate) struct Session {
    pub(crate) device: DeviceId,
    pub(crate) machine: AcsSession,
    /// The owner id of the device's lease, renewed at every POST.
    pub(crate) lease: u64,
    /// When its Inform arrived, for the session-latency histogram.
    pub(crate) started: Instant,
    meta: DeviceMeta,
    revision: u64,
    policy: Arc<Policy>,
    /// The presets, when this Inform may run some (it has events and there are presets).
    presets: Option<Arc<PresetSet>>,
    jobs: VecDeque<Job>,
    current: Option<Job>,
    tasks_loaded: bool,
    /// Whether the task queue's mark was checked while handling the current POST.
    marks_checked: bool,
    /// What reads brought, kept for the session (the tree and faults are kept up to date with
    /// the session's own writes).
    tree: Option<ParamTree>,
    /// Set when `tree` holds only what this scope selects (provisioning read no more); a step
    /// that needs more reads the whole tree then (`whole_tree`, `tree_serves`).
    tree_scope: Option<acs_store::TreeScope>,
    faults: Option<Vec<FaultRecord>>,
    /// Task records read for the step that asked; taken by it.
    fresh_tasks: Option<Vec<TaskRecord>>,
    queued: Option<(Option<u64>, Vec<TaskRecord>)>,
    stored_meta: Option<Option<Box<Versioned<DeviceMeta>>>>,
    files: HashMap<String, u64>,
    /// The file server's documents, read to serve a RequestDownload.
    file_docs: Option<Vec<(String, Vec<u8>)>>,
    /// Why the next answer to a CPE request carries HoldRequests (see `cpe_requests.rs`).
    hold_reason: Option<&'static str>,
    /// The Inform's event codes, for presets (empty when there are none).
    events: Vec<String>,
    provisioning: provisioning::Provisioning,
    /// Preset cycles run so far, and whether the current one changed the device.
    cycles: u32,
    changed: bool,
    /// The channel a `preset_loop` fault is recorded on.
    last_channel: String,
    /// What provisioning wrote in this session: (channel, path, SPV status).
    written: Vec<(String, String, u32)>,
    /// Channels that converged in this session and have not faulted since; announced when the
    /// session's provisioning is over.
    converged: Vec<String>,
    /// Whether what the presets' preconditions read has been fetched in this session.
    prefetched: bool,
    /// Channels to run again alone in this session (GenieACS's `retryNow`).
    retry: provisioning::RetryNow,
    /// The session's time (its Inform's), which presets see as "now" for the whole session, as
    /// in GenieACS: an action declared "now" is satisfied once sent, not re-declared later.
    started_ms: i64,
    stage: Stage,
    waiting: Option<Waiting>,
    outbox: Outbox,
    in_flight: InFlight,
    /// A compare-and-swap of the device record failed: merge with the stored one and retry.
    meta_conflict: bool,
    meta_attempts: u32,
    /// The tags as last read from or written to the store: what the session's own tag changes
    /// (from presets) are measured against when a conflict makes it merge.
    stored_tags: std::collections::BTreeSet<String>,
    effects: VecDeque<Effect>,
    /// An adopting session: it runs its first job (the credential change) and nothing else, no
    /// task and no preset, so no secret reaches a CPE that has not authenticated.
    adopting: bool,
    /// Due tasks from the first that runs on the provisioning engine on, in order
    /// (`task_provisions.rs`), and the engine-run one running.
    script_tasks: VecDeque<TaskRecord>,
    task_run: Option<task_provisions::TaskRun>,
}

impl Session {
    /// A session whose Inform has been accepted (the InformResponse is the caller's to send).
    /// `first_jobs` run before the queued tasks; `events` are the Inform's codes for presets.
    #[expect(
        clippy::too_many_arguments,
        reason = "each is one fact of the accepted Inform"
    )]
    pub(crate) fn new(
        device: DeviceId,
        machine: AcsSession,
        meta: DeviceMeta,
        revision: u64,
        first_jobs: Vec<Job>,
        events: Vec<String>,
        presets: Option<Arc<PresetSet>>,
        policy: Arc<Policy>,
        lease: u64,
        now: Instant,
    ) -> Self {
        Self {
            device,
            started: now,
            machine,
            lease,
            revision,
            policy,
            presets,
            jobs: first_jobs.into(),
            current: None,
            tasks_loaded: false,
            marks_checked: false,
            tree: None,
            tree_scope: None,
            faults: None,
            fresh_tasks: None,
            queued: None,
            stored_meta: None,
            files: HashMap::new(),
            file_docs: None,
            hold_reason: None,
            events,
            provisioning: provisioning::Provisioning::Pending,
            cycles: 0,
            changed: false,
            last_channel: String::from("default"),
            written: Vec::new(),
            converged: Vec::new(),
            prefetched: false,
            retry: provisioning::RetryNow::default(),
            started_ms: meta.last_inform_ms,
            stored_tags: meta.tags.clone(),
            meta,
            stage: Stage::Idle,
            waiting: None,
            outbox: Outbox::default(),
            in_flight: InFlight::default(),
            meta_conflict: false,
            meta_attempts: 0,
            effects: VecDeque::new(),
            adopting: false,
            script_tasks: VecDeque::new(),
            task_run: None,
        }
    }

    /// Makes this an adopting session: it sets the CPE's ACS credentials and does nothing else
    /// (the registration's other first jobs, the queued tasks and the presets wait for a
    /// session the CPE authenticated).
    pub(crate) fn credentials_only(
        &mut self,
        username: &str,
        password: &str,
        record: crate::credentials::RecordWrite,
    ) {
        let job = Job::cpe_credentials(self.root(), username, password, record);
        self.jobs = VecDeque::from([job]);
        self.presets = None;
        self.adopting = true;
    }

    /// Whether this is an adopting session.
    pub(crate) fn is_adopting(&self) -> bool {
        self.adopting
    }

    /// Handles one input; then poll [`Session::poll_effect`] until it is empty.
    pub(crate) fn handle(&mut self, now: Now, input: Input) {
        match input {
            Input::Message(msg) => self.on_message(now, msg),
            Input::Read(result) => self.on_read(result),
            Input::Applied(result) => self.on_applied(result),
        }
        self.advance(now);
    }

    /// The next thing to do, in order.
    pub(crate) fn poll_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// When the session expires if the CPE stays silent; `None` once it is over.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        (!self.machine.is_finished()).then(|| self.machine.deadline())
    }

    /// Ends a session whose CPE has left it (it came back with a fresh Inform on a new
    /// connection): nothing more is sent or written, and the job whose RPC went unanswered, if
    /// any, is returned for its tasks to be settled.
    pub(crate) fn abandon(&mut self) -> Option<Job> {
        self.machine.finish();
        self.stage = Stage::Idle;
        self.waiting = None;
        self.outbox = Outbox::default();
        self.effects.clear();
        self.current.take()
    }

    /// Ends the session if its deadline has passed; returns whether it did. Its device's
    /// `SessionEnded` is then among the effects.
    pub(crate) fn handle_timeout(&mut self, now: Instant) -> bool {
        if self.machine.is_finished() || !self.machine.is_expired(now) {
            return false;
        }
        self.machine.finish();
        self.effects.push_back(Effect::Count(Counted::Expired));
        self.effects
            .push_back(Effect::Publish(DeviceEvent::SessionEnded {
                device: self.device.clone(),
            }));
        true
    }

    fn on_message(&mut self, now: Now, msg: Option<Envelope>) {
        if self.waiting.is_some() || !matches!(self.stage, Stage::Idle) {
            // The previous POST's handling was cut off (its connection dropped mid-write): what
            // the session knows may be behind the store, so it ends here.
            self.machine.finish();
            self.stage = Stage::Reply(Reply::BadRequest("session interrupted".into()));
            self.waiting = None;
            self.outbox = Outbox::default();
            return;
        }
        self.marks_checked = false;
        self.stage = match self.machine.receive(now.at, msg) {
            AcsEvent::CpeRequest(body) => Stage::CpeRequest(body),
            AcsEvent::CpeIdle => Stage::Next,
            AcsEvent::Response(body) => Stage::Answer(Ok(body)),
            AcsEvent::Fault(fault) => Stage::Answer(Err(fault)),
            AcsEvent::Inform(_) => {
                self.machine.finish();
                Stage::Reply(Reply::BadRequest("Inform inside a session".into()))
            }
            AcsEvent::Violation(e) => {
                self.effects.push_back(Effect::Count(Counted::Violation));
                tracing::warn!(device = %self.device, error = %e, "CWMP protocol violation");
                self.machine.finish();
                Stage::Reply(Reply::BadRequest(e.to_string()))
            }
        };
    }

    fn on_read(&mut self, result: Result<ReadOutput, StoreError>) {
        if !matches!(self.waiting, Some(Waiting::Read(_))) {
            return;
        }
        let scope = match self.waiting.take() {
            Some(Waiting::Read(Read::ScopedTree(scope))) => Some(scope),
            _ => None,
        };
        match result {
            Ok(ReadOutput::Tree(tree)) => {
                self.tree = Some(tree);
                self.tree_scope = scope;
            }
            Ok(ReadOutput::Faults(faults)) => self.faults = Some(faults),
            Ok(ReadOutput::Tasks(tasks)) => self.fresh_tasks = Some(tasks),
            Ok(ReadOutput::QueuedTasks { generation, tasks }) => {
                self.queued = Some((generation, tasks));
            }
            Ok(ReadOutput::Meta(meta)) => self.stored_meta = Some(meta),
            Ok(ReadOutput::File(name, doc)) => {
                let size = doc
                    .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                    .and_then(|d| d.get("length")?.as_u64())
                    .unwrap_or(0);
                self.files.insert(name, size);
            }
            Ok(ReadOutput::Extension(ext)) => self.provisioning.ext_result(&ext.0, ext.1),
            Ok(ReadOutput::Files(docs)) => self.file_docs = Some(docs),
            Err(e) => self.fail(&e, "store read failed"),
        }
    }

    fn on_applied(&mut self, result: Result<Vec<Outcome>, StoreError>) {
        if self.waiting != Some(Waiting::Write) {
            return;
        }
        self.waiting = None;
        let done = std::mem::take(&mut self.in_flight);
        let outcomes = match result {
            Ok(o) => o,
            Err(e) => return self.fail(&e, "could not store session results"),
        };
        match done.meta_at.and_then(|i| outcomes.get(i)) {
            Some(Outcome::Done {
                revision: Some(r), ..
            }) => {
                self.revision = *r;
                self.meta_attempts = 0;
                self.stored_tags.clone_from(&self.meta.tags);
            }
            Some(Outcome::Conflict { .. }) => self.meta_conflict = true,
            _ => {}
        }
        if !done.notify.is_empty() {
            self.effects.push_back(Effect::NotifyTasks(done.notify));
        }
        for e in done.events {
            self.effects.push_back(Effect::Publish(e));
        }
    }

    /// A store failure ends the session with a 503: what the CPE sent in this turn is not
    /// stored, so tasks stay queued and presets are evaluated again at its next session.
    fn fail(&mut self, e: &StoreError, what: &str) {
        tracing::error!(device = %self.device, error = %e, "{what}; ending the session");
        self.machine.finish();
        self.outbox = Outbox::default();
        self.stage = Stage::Reply(Reply::Unavailable);
    }

    /// Runs the session's logic until it waits for the store or for the CPE.
    fn advance(&mut self, now: Now) {
        loop {
            if self.waiting.is_some() {
                return;
            }
            let step = if self.meta_conflict && !self.failed() {
                self.resolve_meta_conflict()
            } else {
                match self.stage {
                    Stage::Idle => return,
                    Stage::Answer(_) => self.step_answer(now),
                    Stage::CpeRequest(_) => self.step_cpe_request(now),
                    Stage::Next => self.step_next(now),
                    Stage::Reply(_) => {
                        if !self.outbox.is_empty() && !self.failed() {
                            self.flush();
                            continue;
                        }
                        if let Stage::Reply(reply) = std::mem::replace(&mut self.stage, Stage::Idle)
                        {
                            self.effects.push_back(Effect::Reply(reply));
                        }
                        return;
                    }
                }
            };
            if let Err(Need(read)) = step {
                if self.outbox.is_empty() {
                    self.waiting = Some(Waiting::Read(read.clone()));
                    self.effects.push_back(Effect::Read(read));
                } else {
                    self.flush();
                }
            }
        }
    }

    fn failed(&self) -> bool {
        matches!(self.stage, Stage::Reply(Reply::Unavailable))
    }

    /// Makes the outbox durable: its ops (and the device record) go out as one write; its
    /// events and task notifications follow once that is done.
    fn flush(&mut self) {
        let mut outbox = std::mem::take(&mut self.outbox);
        if outbox.meta_dirty {
            self.in_flight.meta_at = Some(outbox.ops.len());
            outbox.ops.push(Op::PutDevice {
                meta: self.meta.clone(),
                expect: Expect::Revision(self.revision),
            });
        }
        if outbox.ops.is_empty() {
            if !outbox.notify.is_empty() {
                self.effects.push_back(Effect::NotifyTasks(outbox.notify));
            }
            self.effects
                .extend(outbox.events.into_iter().map(Effect::Publish));
            return;
        }
        self.in_flight.notify = outbox.notify;
        self.in_flight.events = outbox.events;
        self.waiting = Some(Waiting::Write);
        self.effects.push_back(Effect::Apply(outbox.ops));
    }

    /// After a compare-and-swap conflict on the device record: while a session runs, the other
    /// writer of its record is the NBI, which edits the tags (last-inform times are written
    /// beside the record, see `bookkeeping.rs`). Merging keeps the stored tags with the
    /// session's own tag changes (its presets' `add_tag`/`delete_tag`) made on top, and the later
    /// inform time. A device deleted meanwhile stays deleted.
    fn resolve_meta_conflict(&mut self) -> Result<(), Need> {
        let Some(stored) = self.stored_meta.take() else {
            return Err(Need(Read::Meta));
        };
        self.meta_conflict = false;
        self.meta_attempts += 1;
        let Some(current) = stored.map(|b| *b) else {
            return Ok(());
        };
        if self.meta_attempts > META_ATTEMPTS {
            tracing::error!(device = %self.device, "device record kept changing; session changes to it not stored");
            return Ok(());
        }
        self.meta.last_inform_ms = self.meta.last_inform_ms.max(current.value.last_inform_ms);
        let mut tags = current.value.tags.clone();
        for added in self.meta.tags.difference(&self.stored_tags) {
            tags.insert(added.clone());
        }
        for removed in self.stored_tags.difference(&self.meta.tags) {
            tags.remove(removed);
        }
        self.stored_tags = current.value.tags;
        self.meta.tags = tags;
        self.revision = current.revision;
        self.outbox.meta_dirty = true;
        Ok(())
    }

    /// Answers a request the CPE sent (TransferComplete, GetRPCMethods, …).
    fn step_cpe_request(&mut self, now: Now) -> Result<(), Need> {
        if let Stage::CpeRequest(Body::TransferComplete(tc)) = &self.stage {
            match transfer::target(&tc.command_key) {
                Target::Declared(n) => {
                    if tc.fault.code != 0 {
                        tracing::warn!(device = %self.device, instance = n, code = tc.fault.code, "declared download failed");
                        self.effects.push_back(Effect::Count(Counted::TaskFault));
                    } else {
                        let tree = self.whole_tree()?;
                        if let Some(op) = transfer::declared_ops(&self.device, n, tc, tree, now.ms)
                        {
                            self.apply_to_tree(&op);
                            self.outbox.ops.push(op);
                        }
                    }
                }
                Target::Task(id) => {
                    let fresh = self.fresh_tasks.take().ok_or(Need(Read::Tasks))?;
                    let task = fresh.into_iter().find(|t| t.id == id);
                    if let Some((ops, ok)) = transfer::task_ops(task, tc, now.ms, self.policy.retry)
                    {
                        let counted = if ok {
                            Counted::TaskDone
                        } else {
                            Counted::TaskFault
                        };
                        self.effects.push_back(Effect::Count(counted));
                        self.push_fault_ops(ops);
                    }
                    self.outbox.notify.push(id);
                }
                Target::Unknown => {}
            }
        }
        self.record_cpe_request(now.ms)?;
        let Stage::CpeRequest(body) = std::mem::replace(&mut self.stage, Stage::Idle) else {
            return Ok(());
        };
        let answer = self.cpe_answer(body);
        let mut env = self.machine.respond(now.at, answer);
        if let Some(reason) = self.hold_reason.take() {
            tracing::debug!(device = %self.device, reason, "holding the CPE's requests");
            env.header.hold_requests = Some(true);
        }
        self.stage = Stage::Reply(Reply::Envelope(Box::new(env)));
        Ok(())
    }

    /// The answer to a request of the CPE (its effects, for a TransferComplete, are already in
    /// the outbox).
    fn cpe_answer(&self, body: Body) -> Body {
        match body {
            Body::TransferComplete(_) => Body::TransferCompleteResponse,
            Body::AutonomousTransferComplete(_) => Body::AutonomousTransferCompleteResponse,
            Body::RequestDownload { .. } => Body::RequestDownloadResponse,
            other => cpe_requests::answer(&other).unwrap_or_else(|| {
                Body::Fault(Fault::new(
                    8000,
                    format!("method {} not supported", other.name()),
                ))
            }),
        }
    }

    /// Sends the next RPC, or ends the session.
    fn step_next(&mut self, now: Now) -> Result<(), Need> {
        loop {
            if let Some(job) = &self.current {
                let body = job.request();
                let reply = match self.machine.send_request(now.at, body, false) {
                    Ok(env) => Reply::Envelope(Box::new(env)),
                    Err(e) => {
                        self.machine.finish();
                        Reply::BadRequest(e.to_string())
                    }
                };
                self.stage = Stage::Reply(reply);
                return Ok(());
            }
            if let Some(mut job) = self.jobs.pop_front() {
                // What must be durable before the job's first RPC (a discovery's attempt record)
                // goes with the write made before that RPC's reply.
                self.push_fault_ops(job.take_start_ops());
                self.current = Some(job);
                continue;
            }
            if self.adopting {
                self.machine.finish();
                self.stage = Stage::Reply(Reply::End);
                return Ok(());
            }
            if !self.tasks_loaded && !self.marks_checked {
                let (generation, tasks) = self.queued.take().ok_or(Need(Read::QueuedTasks))?;
                self.marks_checked = true;
                if let Some(generation) = generation {
                    self.tasks_loaded = true;
                    let queued: Vec<TaskRecord> = tasks
                        .into_iter()
                        .filter(|t| t.status == TaskStatus::Pending)
                        .collect();
                    let queued = self.sweep_tasks(queued, now.ms);
                    if queued.is_empty() {
                        self.effects.push_back(Effect::NoTasks(generation));
                    }
                    let mut due: Vec<TaskRecord> = queued
                        .into_iter()
                        .filter(|t| t.not_before_ms <= now.ms)
                        .collect();
                    // Tasks run in order: from the first that needs the provisioning engine on,
                    // they wait for it (`task_provisions.rs`).
                    let engine = due
                        .iter()
                        .position(|t| task_provisions::needs_engine(&t.kind))
                        .unwrap_or(due.len());
                    self.script_tasks.extend(due.split_off(engine));
                    self.jobs.extend(Job::from_tasks(&due, self.root()));
                    if !self.jobs.is_empty() {
                        continue;
                    }
                }
            }
            if self.task_provision_step(now)? {
                continue;
            }
            if self.provision_step(now)? {
                continue;
            }
            self.publish_converged();
            self.machine.finish();
            self.stage = Stage::Reply(Reply::End);
            return Ok(());
        }
    }

    fn root(&self) -> &str {
        if self.meta.root.is_empty() {
            "Device"
        } else {
            &self.meta.root
        }
    }

    /// What folding the current answer needs to have read first.
    fn answer_needs(&self) -> Option<Read> {
        let (Some(job), Stage::Answer(answer)) = (&self.current, &self.stage) else {
            return None;
        };
        match answer {
            // Only a plain GetParameterValues needs the cached tree (for `writable`); a refresh
            // learns it from its own GetParameterNames, so a registration never reads the tree.
            Ok(_) if job.needs_tree() && !self.tree_serves(job) => return Some(Read::Tree),
            // A fault on a preset's RPC is recorded with one more retry than the last one, unless
            // it is a 9005 on a read, which is recovered from without a fault.
            Err(fault)
                if self.faults.is_none()
                    && job.purpose.channel().is_some()
                    && !(fault.code == 9005 && job.gpv_names().is_some_and(|n| !n.is_empty())) =>
            {
                return Some(Read::Faults);
            }
            _ => {}
        }
        if !job.task_ids().is_empty() && self.fresh_tasks.is_none() {
            return Some(Read::Tasks);
        }
        None
    }

    /// Folds the CPE's answer to the current job's RPC into the outbox.
    fn step_answer(&mut self, now: Now) -> Result<(), Need> {
        if let Some(read) = self.answer_needs() {
            return Err(Need(read));
        }
        let Stage::Answer(answer) = std::mem::replace(&mut self.stage, Stage::Next) else {
            return Ok(());
        };
        let Some(mut job) = self.current.take() else {
            return Ok(());
        };
        let fresh = self.fresh_tasks.take().unwrap_or_default();
        let task = |id: u64| fresh.iter().find(|t| t.id == id).cloned();
        let task_ids = job.task_ids().to_vec();
        let answer = match answer {
            Err(fault) => job.discovery_fault(&fault, now.ms).ok_or(fault),
            Ok(body) => job.apply(body, now.ms, &mut self.meta, self.tree.as_ref()),
        };
        match answer {
            Ok(mut applied) => {
                if let (Some(channel), Some((paths, status))) =
                    (job.purpose.channel(), applied.written.take())
                {
                    self.written
                        .extend(paths.into_iter().map(|p| (channel.to_owned(), p, status)));
                }
                if !applied.set.is_empty() || !applied.remove.is_empty() {
                    let op = Op::UpdateTree {
                        id: self.device.clone(),
                        set: std::mem::take(&mut applied.set),
                        remove_subtrees: std::mem::take(&mut applied.remove),
                    };
                    self.apply_to_tree(&op);
                    self.outbox.ops.push(op);
                }
                self.outbox.meta_dirty |= applied.meta_changed;
                if applied.fell_back {
                    self.effects
                        .push_back(Effect::Count(Counted::DiscoveryFallback));
                }
                self.push_fault_ops(std::mem::take(&mut applied.ops));
                if !applied.done {
                    // More RPCs to go; waiters hear only when the job is over.
                    self.current = Some(job);
                    return Ok(());
                }
                for id in &task_ids {
                    if let Some(t) = task(*id) {
                        if !applied.awaiting_transfer {
                            self.effects.push_back(Effect::Count(Counted::TaskDone));
                        }
                        let op = tasks::finish_op(t, applied.awaiting_transfer, now.ms);
                        self.outbox.ops.push(op);
                    }
                    self.push_fault_ops(vec![Op::DeleteFault {
                        device: self.device.clone(),
                        channel: tasks::channel(*id),
                    }]);
                }
            }
            Err(fault) => {
                if let Purpose::CrCredentials { .. } = job.purpose {
                    tracing::warn!(device = %self.device, code = fault.code, "could not set connection-request credentials");
                }
                let recovered = fault.code == 9005 && self.recover_9005(&job);
                if let Some(channel) = job.purpose.channel().filter(|_| !recovered) {
                    // The CPE refused what a preset declared: stop provisioning this session
                    // and keep the fault on the preset's channel.
                    let channel = channel.to_owned();
                    self.provisioning = provisioning::Provisioning::Done;
                    let mut record = FaultRecord {
                        retries: 0,
                        device: self.device.clone(),
                        channel: channel.clone(),
                        task_id: None,
                        code: format!("cwmp.{}", fault.code),
                        message: fault.string.clone(),
                        detail: tasks::fault_detail(&fault),
                        timestamp_ms: now.ms,
                    };
                    record.retries = self.next_retries(&channel);
                    self.channel_fault(record);
                    // Jobs of the same batch are dropped with it.
                    self.jobs.retain(|j| j.purpose.channel().is_none());
                }
                for id in &task_ids {
                    if let Some(t) = task(*id) {
                        self.effects.push_back(Effect::Count(Counted::TaskFault));
                        let ops = tasks::fault_ops(t, &fault, now.ms, self.policy.retry);
                        self.push_fault_ops(ops.into());
                    }
                }
            }
        }
        self.outbox.notify.extend(task_ids);
        Ok(())
    }

    /// GenieACS's recovery from fault 9005 (invalid parameter name) on a provisioning read: the
    /// device does not have a path the tree said it had. A read of several names is split in
    /// halves that are tried again; a single name is dropped from the tree. No fault is kept.
    fn recover_9005(&mut self, job: &Job) -> bool {
        let Some(names) = job.gpv_names().filter(|_| job.purpose.channel().is_some()) else {
            return false;
        };
        match names {
            [] => return false,
            [one] => {
                let op = Op::UpdateTree {
                    id: self.device.clone(),
                    set: Vec::new(),
                    remove_subtrees: vec![one.clone()],
                };
                self.apply_to_tree(&op);
                self.outbox.ops.push(op);
            }
            many => {
                let (a, b) = many.split_at(many.len() / 2);
                self.jobs.push_front(job.with_gpv_names(b.to_vec()));
                self.jobs.push_front(job.with_gpv_names(a.to_vec()));
            }
        }
        tracing::debug!(device = %self.device, names = names.len(), "9005 on a provisioning read; recovering");
        true
    }

    /// The device's whole tree, read first (again, if only a scope of it was read).
    fn whole_tree(&self) -> Result<&ParamTree, Need> {
        match (&self.tree, &self.tree_scope) {
            (Some(tree), None) => Ok(tree),
            _ => Err(Need(Read::Tree)),
        }
    }

    /// Whether the tree read so far holds what folding `job`'s answer reads: the whole tree
    /// does; a scoped one only if it covers every path the job reads (a listing or a read of
    /// parameters outside it would lose their stored values and writability).
    fn tree_serves(&self, job: &Job) -> bool {
        match (&self.tree, &self.tree_scope) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(_), Some(scope)) => job.tree_reads().is_some_and(|paths| {
                paths
                    .iter()
                    .all(|p| crate::provision::scope::covers(scope, p))
            }),
        }
    }

    /// Keeps the session's copy of the tree in step with a tree write it makes.
    fn apply_to_tree(&mut self, op: &Op) {
        if let (
            Some(tree),
            Op::UpdateTree {
                set,
                remove_subtrees,
                ..
            },
        ) = (&mut self.tree, op)
        {
            for prefix in remove_subtrees {
                tree.remove_subtree(prefix);
            }
            for (path, p) in set {
                tree.insert(path.clone(), p.clone());
            }
        }
    }

    /// Queues fault writes, keeping the session's copy of the faults in step.
    fn push_fault_ops(&mut self, ops: Vec<Op>) {
        for op in ops {
            if let Some(faults) = &mut self.faults {
                match &op {
                    Op::PutFault(f) => {
                        faults.retain(|x| x.channel != f.channel);
                        faults.push(f.clone());
                    }
                    Op::DeleteFault { channel, .. } => faults.retain(|x| x.channel != *channel),
                    _ => {}
                }
            }
            self.outbox.ops.push(op);
        }
    }

    /// The retry count a new fault on `channel` gets: one more than the fault it replaces.
    /// The caller has made sure the faults were read.
    fn next_retries(&self, channel: &str) -> u32 {
        self.faults
            .iter()
            .flatten()
            .find(|f| f.channel == channel)
            .map_or(0, |f| f.retries.saturating_add(1))
    }

    /// Records a fault on a preset channel and announces it once it is durable.
    fn channel_fault(&mut self, record: FaultRecord) {
        if self.take_task_fault(&record) {
            return;
        }
        self.retry.note_fault(&record);
        self.converged.retain(|c| *c != record.channel);
        self.outbox.events.push(DeviceEvent::ChannelFaulted {
            device: self.device.clone(),
            channel: record.channel.clone(),
            code: record.code.clone(),
            message: record.message.clone(),
        });
        self.push_fault_ops(vec![Op::PutFault(record)]);
    }
}
