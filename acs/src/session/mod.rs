//! One CWMP session on the ACS side: the `cwmp` crate's state machine plus the device's record
//! and the queue of jobs it runs. The server feeds it POST bodies; it answers with what to send.

mod provisioning;

use crate::Acs;
use crate::jobs::{Job, Purpose};
use acs_store::{DeviceId, DeviceMeta, Expect, FaultRecord, Op, ParamTree, TaskStatus};
use cwmp::{AcsEvent, AcsSession, Body, Envelope, Fault};
use std::collections::VecDeque;
use std::time::Instant;

/// What the server sends back for one POST.
#[derive(Debug)]
pub(crate) enum Reply {
    /// 200 with this envelope.
    Envelope(Box<Envelope>),
    /// 204: the session is over.
    End,
    /// 400 with a reason: the session is over.
    BadRequest(String),
}

/// A live session.
pub(crate) struct Session {
    pub(crate) device: DeviceId,
    pub(crate) machine: AcsSession,
    meta: DeviceMeta,
    revision: u64,
    jobs: VecDeque<Job>,
    current: Option<Job>,
    tasks_loaded: bool,
    tree: Option<ParamTree>,
    /// The Inform's event codes, for presets (empty when there are none).
    events: Vec<String>,
    provisioning: Provisioning,
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
    /// The session's time (its Inform's), which presets see as "now" for the whole session, as
    /// in GenieACS: an action declared "now" is satisfied once sent, not re-declared later.
    started_ms: i64,
}

/// Where the session stands with its presets.
enum Provisioning {
    /// Not evaluated yet (they run after the queued tasks).
    Pending,
    /// Converging on these declarations, for these channels.
    Active {
        decls: Vec<crate::provision::Declaration>,
        /// The channel of each declaration (the preset's that made it).
        owners: Vec<String>,
        /// The ParameterKey of each channel whose preset names one.
        keys: Vec<(String, String)>,
        budget: crate::provision::Budget,
        channels: Vec<String>,
        /// Only reading what preconditions name, before evaluating them.
        prefetch: bool,
    },
    /// Converged, failed, or nothing to do.
    Done,
}

impl Session {
    pub(crate) fn new(
        device: DeviceId,
        machine: AcsSession,
        meta: DeviceMeta,
        revision: u64,
        first_jobs: Vec<Job>,
        events: Vec<String>,
    ) -> Self {
        Self {
            device,
            machine,
            revision,
            jobs: first_jobs.into(),
            current: None,
            tasks_loaded: false,
            tree: None,
            events,
            provisioning: Provisioning::Pending,
            cycles: 0,
            changed: false,
            last_channel: String::from("default"),
            written: Vec::new(),
            converged: Vec::new(),
            prefetched: false,
            started_ms: meta.last_inform_ms,
            meta,
        }
    }

    /// Handles one POST of this session (`None` for an empty POST).
    pub(crate) async fn handle(&mut self, acs: &Acs, now: Instant, msg: Option<Envelope>) -> Reply {
        match self.machine.receive(now, msg) {
            AcsEvent::CpeRequest(body) => {
                let answer = self.cpe_request(acs, body).await;
                Reply::Envelope(Box::new(self.machine.respond(now, answer)))
            }
            AcsEvent::CpeIdle => self.next(acs, now).await,
            AcsEvent::Response(body) => {
                self.answered(acs, Ok(body)).await;
                self.next(acs, now).await
            }
            AcsEvent::Fault(fault) => {
                self.answered(acs, Err(fault)).await;
                self.next(acs, now).await
            }
            AcsEvent::Inform(_) => {
                self.machine.finish();
                Reply::BadRequest("Inform inside a session".into())
            }
            AcsEvent::Violation(e) => {
                acs.metrics.violations.inc();
                tracing::warn!(device = %self.device, error = %e, "CWMP protocol violation");
                self.machine.finish();
                Reply::BadRequest(e.to_string())
            }
        }
    }

    /// Answers a request the CPE sent (TransferComplete, GetRPCMethods, …).
    async fn cpe_request(&mut self, acs: &Acs, body: Body) -> Body {
        match body {
            Body::TransferComplete(tc) => {
                acs.transfer_complete(&self.device, &tc).await;
                Body::TransferCompleteResponse
            }
            Body::AutonomousTransferComplete(atc) => {
                tracing::info!(device = %self.device, url = %atc.transfer_url, code = atc.fault.code, "autonomous transfer complete");
                Body::AutonomousTransferCompleteResponse
            }
            Body::RequestDownload { file_type, .. } => {
                tracing::info!(device = %self.device, %file_type, "CPE requested a download");
                Body::RequestDownloadResponse
            }
            Body::GetRpcMethods => Body::GetRpcMethodsResponse {
                methods: [
                    "Inform",
                    "GetRPCMethods",
                    "TransferComplete",
                    "AutonomousTransferComplete",
                    "RequestDownload",
                ]
                .map(String::from)
                .to_vec(),
            },
            other => Body::Fault(Fault::new(
                8000,
                format!("method {} not supported", other.name()),
            )),
        }
    }

    /// Sends the next RPC, or ends the session.
    async fn next(&mut self, acs: &Acs, now: Instant) -> Reply {
        loop {
            if let Some(job) = &self.current {
                let body = job.request();
                return match self.machine.send_request(now, body, false) {
                    Ok(env) => Reply::Envelope(Box::new(env)),
                    Err(e) => {
                        self.machine.finish();
                        Reply::BadRequest(e.to_string())
                    }
                };
            }
            if let Some(job) = self.jobs.pop_front() {
                self.current = Some(job);
                continue;
            }
            let generation = if self.tasks_loaded {
                None
            } else {
                acs.may_have_tasks(&self.device)
            };
            if let Some(generation) = generation {
                self.tasks_loaded = true;
                let now_ms = acs.clock_ms();
                let queued: Vec<_> = acs
                    .store
                    .tasks(Some(&self.device))
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|t| t.status == TaskStatus::Pending)
                    .collect();
                if queued.is_empty() {
                    acs.no_tasks(&self.device, generation);
                }
                let pending: Vec<_> = queued
                    .into_iter()
                    .filter(|t| t.not_before_ms <= now_ms)
                    .collect();
                self.jobs.extend(Job::from_tasks(&pending, self.root()));
                if !self.jobs.is_empty() {
                    continue;
                }
            }
            if self.provision_step(acs).await {
                continue;
            }
            self.publish_converged(acs);
            self.machine.finish();
            return Reply::End;
        }
    }

    fn root(&self) -> &str {
        if self.meta.root.is_empty() {
            "Device"
        } else {
            &self.meta.root
        }
    }

    /// Folds the CPE's answer to the current job's RPC into the store, durably.
    async fn answered(&mut self, acs: &Acs, answer: Result<Body, Fault>) {
        let Some(mut job) = self.current.take() else {
            return;
        };
        let now_ms = acs.clock_ms();
        let task_ids = job.task_ids().to_vec();
        // Waiters are told only when the job is over (done or faulted), not between its RPCs.
        let mut over = true;
        let answer = answer.and_then(|body| {
            // Only a plain GetParameterValues needs the cached tree (for `writable`); a refresh
            // learns it from its own GetParameterNames, so a registration never reads the tree.
            if job.needs_tree() && self.tree.is_none() {
                self.tree = acs.store.get_tree(&self.device).ok();
            }
            job.apply(body, now_ms, &mut self.meta, self.tree.as_ref())
        });
        let mut ops = Vec::new();
        match answer {
            Ok(mut applied) => {
                if let (Some(channel), Some((paths, status))) =
                    (job.purpose.channel(), applied.written.take())
                {
                    self.written
                        .extend(paths.into_iter().map(|p| (channel.to_owned(), p, status)));
                }
                if !applied.set.is_empty() || !applied.remove.is_empty() {
                    if let Some(tree) = &mut self.tree {
                        for prefix in &applied.remove {
                            tree.remove_subtree(prefix);
                        }
                        for (path, p) in &applied.set {
                            tree.insert(path.clone(), p.clone());
                        }
                    }
                    ops.push(Op::UpdateTree {
                        id: self.device.clone(),
                        set: std::mem::take(&mut applied.set),
                        remove_subtrees: std::mem::take(&mut applied.remove),
                    });
                }
                if applied.meta_changed {
                    ops.push(Op::PutDevice {
                        meta: self.meta.clone(),
                        expect: Expect::Revision(self.revision),
                    });
                }
                if applied.done {
                    let applied = &applied;
                    for id in &task_ids {
                        if let Some(op) = acs.finish_task_op(*id, applied, now_ms) {
                            ops.push(op);
                        }
                        ops.push(Op::DeleteFault {
                            device: self.device.clone(),
                            channel: format!("task_{id}"),
                        });
                    }
                } else {
                    over = false;
                    self.current = Some(job);
                }
            }
            Err(fault) => {
                if let Purpose::CrCredentials { .. } = job.purpose {
                    tracing::warn!(device = %self.device, code = fault.code, "could not set connection-request credentials");
                }
                let recovered = fault.code == 9005 && self.recover_9005(&job, &mut ops);
                if let Some(channel) = job.purpose.channel().filter(|_| !recovered) {
                    let channel = channel.to_owned();
                    // The CPE refused what a preset declared: stop provisioning this session
                    // and keep the fault on the preset's channel.
                    self.provisioning = Provisioning::Done;
                    self.converged.retain(|c| *c != channel);
                    acs.publish(crate::DeviceEvent::ChannelFaulted {
                        device: self.device.clone(),
                        channel: channel.clone(),
                        code: format!("cwmp.{}", fault.code),
                        message: fault.string.clone(),
                    });
                    ops.push(Op::PutFault(FaultRecord {
                        retries: previous_retries(acs, &self.device, &channel),
                        device: self.device.clone(),
                        channel: channel.clone(),
                        task_id: None,
                        code: format!("cwmp.{}", fault.code),
                        message: fault.string.clone(),
                        detail: fault
                            .set_parameter_values_faults
                            .iter()
                            .map(|f| format!("{}: {} {}", f.name, f.code, f.string))
                            .collect::<Vec<_>>()
                            .join("; "),
                        timestamp_ms: now_ms,
                    }));
                    // Jobs of the same batch are dropped with it.
                    self.jobs.retain(|j| j.purpose.channel().is_none());
                }
                for id in &task_ids {
                    ops.extend(acs.fault_task_ops(&self.device, *id, &fault, now_ms));
                }
            }
        }
        let meta_at = ops.iter().position(|o| matches!(o, Op::PutDevice { .. }));
        match acs.writer.apply(ops).await {
            Ok(outcomes) => {
                match meta_at.and_then(|i| outcomes.get(i)) {
                    Some(acs_store::Outcome::Done {
                        revision: Some(r), ..
                    }) => self.revision = *r,
                    Some(acs_store::Outcome::Conflict { .. }) => self.rewrite_meta(acs).await,
                    _ => {}
                }
                for id in task_ids.iter().filter(|_| over) {
                    acs.notify_task(*id);
                }
            }
            Err(e) => {
                tracing::error!(device = %self.device, error = %e, "could not store session results")
            }
        }
    }

    /// GenieACS's recovery from fault 9005 (invalid parameter name) on a provisioning read: the
    /// device does not have a path the tree said it had. A read of several names is split in
    /// halves that are tried again; a single name is dropped from the tree. No fault is kept.
    fn recover_9005(&mut self, job: &Job, ops: &mut Vec<Op>) -> bool {
        let Some(names) = job.gpv_names().filter(|_| job.purpose.channel().is_some()) else {
            return false;
        };
        match names {
            [] => return false,
            [one] => {
                if let Some(tree) = &mut self.tree {
                    tree.remove_subtree(one);
                }
                ops.push(Op::UpdateTree {
                    id: self.device.clone(),
                    set: Vec::new(),
                    remove_subtrees: vec![one.clone()],
                });
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

    /// Writes the session's device record again after a compare-and-swap conflict. While a
    /// session runs, the other writer of its device's record is the NBI, which owns the tags
    /// (last-inform times are written beside the record, see `bookkeeping.rs`); merging means
    /// keeping the current tags and the later of the two inform times. A device deleted meanwhile
    /// stays deleted.
    async fn rewrite_meta(&mut self, acs: &Acs) {
        for _ in 0..3 {
            let Ok(Some(current)) = acs.store.get(&self.device) else {
                return;
            };
            self.meta.last_inform_ms = self.meta.last_inform_ms.max(current.value.last_inform_ms);
            self.meta.tags = current.value.tags;
            let op = Op::PutDevice {
                meta: self.meta.clone(),
                expect: Expect::Revision(current.revision),
            };
            match acs.writer.apply(vec![op]).await.as_deref() {
                Ok(
                    [
                        acs_store::Outcome::Done {
                            revision: Some(r), ..
                        },
                    ],
                ) => {
                    self.revision = *r;
                    return;
                }
                Ok(_) => continue,
                Err(e) => {
                    tracing::error!(device = %self.device, error = %e, "could not store the device record");
                    return;
                }
            }
        }
        tracing::error!(device = %self.device, "device record kept changing; session changes to it not stored");
    }
}

/// The retry count a new fault on `channel` gets: one more than the fault it replaces.
fn previous_retries(acs: &Acs, device: &DeviceId, channel: &str) -> u32 {
    acs.store
        .faults(Some(device))
        .unwrap_or_default()
        .iter()
        .find(|f| f.channel == channel)
        .map_or(0, |f| f.retries.saturating_add(1))
}

/// Builds the fault record and task update for a CPE fault on a task: retried with exponential
/// back-off, then faulted for good after the configured number of attempts.
pub(crate) fn fault_record(
    device: &DeviceId,
    task_id: u64,
    fault: &Fault,
    attempts: u32,
    now_ms: i64,
) -> FaultRecord {
    let detail = fault
        .set_parameter_values_faults
        .iter()
        .map(|f| format!("{}: {} {}", f.name, f.code, f.string))
        .collect::<Vec<_>>()
        .join("; ");
    FaultRecord {
        device: device.clone(),
        channel: format!("task_{task_id}"),
        task_id: Some(task_id),
        code: format!("cwmp.{}", fault.code),
        message: fault.string.clone(),
        detail,
        retries: attempts.saturating_sub(1),
        timestamp_ms: now_ms,
    }
}
