//! The Fibreplane ACS: a TR-069 auto-configuration server.
//!
//! CPEs POST CWMP envelopes to the server ([`server`]); each session is driven by the `cwmp`
//! crate's ACS state machine and runs the device's queued tasks ([`Acs::enqueue`]). Device
//! records, trees, tasks and faults live in the `acs-store` crate's [`DeviceStore`], written
//! through one group-committing writer thread. Connection requests ([`cr`]) wake devices up.
#![warn(missing_docs)]

mod bookkeeping;
pub mod config;
mod cpe_auth;
pub mod cr;
pub mod datamodel;
pub mod diagnostics;
pub mod genie;
mod inform;
mod jobs;
pub mod metrics;
mod overload;
pub mod presets;
pub mod provision;
mod registry;
pub mod server;
mod session;
pub mod summary;
mod writer;

pub use acs_store::{self as store, DeviceId, DeviceStore, TaskKind, TaskRecord, TaskStatus};
pub use config::{AcsConfig, CpeAuthMode, Secret, StoreBackend, TlsFiles};
pub use cpe_auth::derive_password;
pub use cr::CrError;
pub use inform::{indexed_mac_path, note_fact};
pub use metrics::Metrics;

use acs_store::{FaultRecord, Op, Outcome};
use jobs::Applied;
use registry::Registry;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{broadcast, oneshot};
use writer::Writer;

/// Errors of the ACS's API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AcsError {
    /// The store failed or refused a write.
    #[error("store: {0}")]
    Store(String),
    /// No device with this id.
    #[error("no such device")]
    NoSuchDevice,
    /// No task with this id.
    #[error("no such task")]
    NoSuchTask,
    /// The configuration cannot work.
    #[error("configuration: {0}")]
    Config(String),
    /// A file or socket failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

impl From<acs_store::StoreError> for AcsError {
    fn from(e: acs_store::StoreError) -> Self {
        Self::Store(e.to_string())
    }
}

/// The devices with pending tasks in the store, read once at start-up.
fn pending_devices(store: &dyn DeviceStore) -> Result<HashMap<DeviceId, u64>, AcsError> {
    Ok(store
        .tasks(None)?
        .into_iter()
        .filter(|t| t.status == TaskStatus::Pending)
        .map(|t| (t.device, 1))
        .collect())
}

/// Something that happened to a device, published for the NBI, the hub and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceEvent {
    /// A session started with these event codes.
    Informed {
        /// The device.
        device: DeviceId,
        /// Event codes of the Inform (`1 BOOT`, `6 CONNECTION REQUEST`, …).
        events: Vec<String>,
    },
    /// A session ended.
    SessionEnded {
        /// The device.
        device: DeviceId,
    },
    /// The presets of a channel converged in a session: the device now holds every value they
    /// declare (what was written was accepted by the CPE; nothing was left to do otherwise).
    ChannelConverged {
        /// The device.
        device: DeviceId,
        /// The preset channel.
        channel: String,
        /// The parameters written on this channel in this session (none when it already
        /// matched), each with the status of its SetParameterValuesResponse (0 applied,
        /// 1 applied at the next reboot).
        written: Vec<(String, u32)>,
        /// The device's ParameterKey after the session (the key of the last accepted write:
        /// a preset's `parameterKey` when it wrote).
        parameter_key: String,
    },
    /// A channel's presets faulted in a session; the fault is recorded on the channel and
    /// retried after GenieACS's back-off.
    ChannelFaulted {
        /// The device.
        device: DeviceId,
        /// The preset channel.
        channel: String,
        /// The fault code (`cwmp.9007`, `preset`, `too_many_rpcs`, …).
        code: String,
        /// What the fault says.
        message: String,
    },
}

/// How a task ended, as seen by a caller waiting for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskOutcome {
    /// Done; the record carries the result.
    Done(TaskRecord),
    /// The CPE faulted it (it may still be retried later).
    Faulted(TaskRecord, FaultRecord),
    /// Still pending when the wait ended.
    Pending(TaskRecord),
}

/// The ACS: shared by the server, the NBI and the hub.
pub struct Acs {
    pub(crate) config: AcsConfig,
    pub(crate) store: Arc<dyn DeviceStore>,
    pub(crate) writer: Writer,
    pub(crate) auth: cpe_auth::CpeAuth,
    pub(crate) sessions: Registry,
    pub(crate) inform_log: bookkeeping::InformLog,
    /// Presets, parsed and sorted, loaded on first use and dropped when one is written.
    presets: Mutex<Option<Arc<presets::PresetSet>>>,
    /// Devices that may have pending tasks. Most sessions are periodic Informs of devices with
    /// nothing queued; this set spares them a store read. A device is added before any of its
    /// tasks is written and removed only when a session finds none pending and no task was
    /// queued since it looked (the value counts queueings, so a race cannot lose a task).
    with_tasks: Mutex<HashMap<DeviceId, u64>>,
    /// Counters for every queue, limit and error class.
    pub metrics: Metrics,
    events: broadcast::Sender<DeviceEvent>,
    waiters: Mutex<HashMap<u64, Vec<oneshot::Sender<()>>>>,
    /// One lock per device with a diagnostic running: `8 DIAGNOSTICS COMPLETE` does not say
    /// which test ended, so a device runs one diagnostic at a time.
    diag_locks: Mutex<HashMap<DeviceId, Arc<tokio::sync::Mutex<()>>>>,
    /// Sizes the Retry-After of 503s to the backlog.
    pub(crate) backpressure: overload::Backpressure,
    epoch: (Instant, SystemTime),
}

impl Acs {
    /// Opens the configured store under `config.data_dir` and builds the ACS.
    pub fn open(config: AcsConfig) -> Result<Arc<Self>, AcsError> {
        std::fs::create_dir_all(&config.data_dir)?;
        let store: Arc<dyn DeviceStore> = match config.backend {
            StoreBackend::Redb => Arc::new(acs_store::open_redb(
                &config.data_dir.join("fibreplane.redb"),
            )?),
            StoreBackend::Sled => Arc::from(acs_store::open_engine(
                acs_store::EngineKind::Sled,
                &config.data_dir.join("sled"),
            )?),
        };
        Self::with_store(config, store)
    }

    /// Builds the ACS over an already opened store.
    pub fn with_store(
        config: AcsConfig,
        store: Arc<dyn DeviceStore>,
    ) -> Result<Arc<Self>, AcsError> {
        if config.cpe_auth == CpeAuthMode::Digest && config.cpe_secret.is_empty() {
            return Err(AcsError::Config(
                "digest CPE authentication needs a CPE secret (FIBREPLANE_CPE_SECRET)".into(),
            ));
        }
        let (events, _) = broadcast::channel(4096);
        Ok(Arc::new(Self {
            auth: cpe_auth::CpeAuth::new(&config),
            sessions: Registry::default(),
            inform_log: bookkeeping::InformLog::default(),
            presets: Mutex::new(None),
            with_tasks: Mutex::new(pending_devices(store.as_ref())?),
            writer: Writer::start(store.clone())?,
            store,
            config,
            metrics: Metrics::default(),
            events,
            waiters: Mutex::new(HashMap::new()),
            diag_locks: Mutex::new(HashMap::new()),
            backpressure: overload::Backpressure::default(),
            epoch: (Instant::now(), SystemTime::now()),
        }))
    }

    /// The configuration in force.
    pub fn config(&self) -> &AcsConfig {
        &self.config
    }

    /// The device store (for reads; writes go through the ACS).
    pub fn store(&self) -> &Arc<dyn DeviceStore> {
        &self.store
    }

    /// A device's record, with its last-inform time as fresh as the ACS knows it (periodic
    /// Informs are written behind, at most a second late; see `bookkeeping.rs`).
    pub fn device(
        &self,
        id: &DeviceId,
    ) -> Result<Option<store::Versioned<store::DeviceMeta>>, AcsError> {
        let mut found = self.store.get(id)?;
        if let (Some(v), Some(t)) = (&mut found, self.inform_log.get(id)) {
            v.value.last_inform_ms = v.value.last_inform_ms.max(t);
        }
        Ok(found)
    }

    /// The consolidated summary of a device from its stored tree (identity, WAN, LAN, Wi-Fi,
    /// hosts, optics, voice), each section judged against `staleness` now; `None` for an
    /// unknown device. Its `refresh` lists the objects to refresh (`TaskKind::RefreshObject`
    /// and a connection request) to make stale or missing sections fresh.
    pub fn device_summary(
        &self,
        id: &DeviceId,
        staleness: &summary::Staleness,
    ) -> Result<Option<summary::DeviceSummary>, AcsError> {
        let Some(meta) = self.device(id)? else {
            return Ok(None);
        };
        let tree = self.store.get_tree(id)?;
        Ok(Some(summary::summarize(
            &tree,
            Some(&meta.value),
            self.clock_ms(),
            staleness,
        )))
    }

    /// Devices that may have last informed between `from_ms` and `to_ms` (inclusive, either
    /// open), in id order: the store's last-inform index (by the hour) and the times still
    /// written behind. Every device whose [`Acs::device`] time lies in the range is there.
    pub fn informed_between(
        &self,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
    ) -> Result<Vec<DeviceId>, AcsError> {
        // Pending times first: a flush that takes them after this read has written them to
        // the store by the time of the store read below, or `Acs::device` shows the older time.
        let mut ids = self.inform_log.devices();
        ids.extend(self.store.scan_informed(from_ms, to_ms)?);
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    /// Writes every pending last-inform time now (also done every second while serving, and at
    /// shutdown).
    pub async fn flush_bookkeeping(&self) {
        bookkeeping::flush(self).await;
    }

    /// Subscribes to device events.
    pub fn subscribe(&self) -> broadcast::Receiver<DeviceEvent> {
        self.events.subscribe()
    }

    /// The ACS's clock: milliseconds since the Unix epoch, never running backwards.
    pub fn now_ms(&self) -> i64 {
        self.clock_ms()
    }

    /// Deletes the records of tasks completed more than `done_task_retention` ago; returns how
    /// many. Run every minute while serving, so the task table holds only live work.
    pub async fn purge_done_tasks(&self) -> Result<usize, AcsError> {
        let cutoff = self.clock_ms() - self.config.done_task_retention.as_millis() as i64;
        let ops: Vec<Op> = self
            .store
            .tasks(None)?
            .into_iter()
            .filter(
                |t| matches!(t.status, TaskStatus::Done { finished_ms } if finished_ms <= cutoff),
            )
            .map(|t| Op::DeleteTask(t.id))
            .collect();
        let n = ops.len();
        self.writer.apply(ops).await?;
        Ok(n)
    }

    /// The presets, from the store's `presets` collection, filed by the devices they can apply
    /// to; documents that are not JSON are logged and skipped.
    pub fn presets(&self) -> Arc<presets::PresetSet> {
        let mut cached = self.presets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = cached.as_ref() {
            return p.clone();
        }
        let docs = self.store.docs(presets::COLLECTION).unwrap_or_else(|e| {
            tracing::error!(error = %e, "could not read presets");
            Vec::new()
        });
        let objects: HashMap<String, serde_json::Value> = self
            .store
            .docs(presets::OBJECTS)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(name, bytes)| Some((name, serde_json::from_slice(&bytes).ok()?)))
            .collect();
        let object = |name: &str| objects.get(name).cloned();
        let parsed = docs
            .iter()
            .filter_map(|(name, bytes)| match serde_json::from_slice(bytes) {
                Ok(doc) => Some(presets::parse(name, &doc, &object)),
                Err(e) => {
                    tracing::warn!(preset = %name, error = %e, "preset is not JSON; skipped");
                    None
                }
            })
            .collect();
        let p = Arc::new(presets::PresetSet::new(parsed));
        *cached = Some(p.clone());
        p
    }

    /// Whether the device is in a CWMP session right now (the NBI refuses to delete what a
    /// session is using, as GenieACS does with its session lock).
    pub fn in_session(&self, device: &DeviceId) -> bool {
        self.sessions.has_device(device)
    }

    /// Applies store operations through the ACS's single writer (group commit), durably. Other
    /// components (the NBI, importers) write this way so that every write shares one queue.
    pub async fn write(&self, ops: Vec<Op>) -> Result<Vec<Outcome>, AcsError> {
        let touched: Vec<DeviceId> = ops
            .iter()
            .filter_map(|op| match op {
                Op::PutTask(t) => Some(t.device.clone()),
                _ => None,
            })
            .collect();
        let presets_changed = ops.iter().any(|op| {
            matches!(op, Op::PutDoc { collection, .. } | Op::DeleteDoc { collection, .. }
                if collection == presets::COLLECTION || collection == presets::OBJECTS)
        });
        let out = self.writer.apply(ops).await?;
        if presets_changed {
            *self.presets.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
        // A task written here must be found by the device's next session.
        for device in &touched {
            self.note_tasks(device);
        }
        Ok(out)
    }

    /// Number of live CWMP sessions.
    pub fn live_sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Milliseconds since the Unix epoch, from a monotonic base so a wall-clock step cannot make
    /// time run backwards inside the ACS.
    pub(crate) fn clock_ms(&self) -> i64 {
        let wall = self.epoch.1 + self.epoch.0.elapsed();
        wall.duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }

    pub(crate) fn has_subscribers(&self) -> bool {
        self.events.receiver_count() > 0
    }

    pub(crate) fn publish(&self, event: DeviceEvent) {
        let _ = self.events.send(event);
    }

    /// Queues a task for a device, durably: when this returns the task survives a crash. It runs
    /// at the device's next session (use [`Acs::connection_request`] to make that now).
    pub async fn enqueue(&self, device: &DeviceId, kind: TaskKind) -> Result<TaskRecord, AcsError> {
        if self.store.get(device)?.is_none() {
            return Err(AcsError::NoSuchDevice);
        }
        let now = self.clock_ms();
        let mut task = TaskRecord {
            id: 0,
            device: device.clone(),
            kind,
            created_ms: now,
            status: TaskStatus::Pending,
            attempts: 0,
            not_before_ms: 0,
            expiry_ms: None,
        };
        self.note_tasks(device);
        let out = self.writer.apply(vec![Op::PutTask(task.clone())]).await?;
        // Marked again once durable: a session that read the first mark but looked at the store
        // before the write landed would otherwise clear the mark and miss the task.
        self.note_tasks(device);
        match out.first() {
            Some(Outcome::Done {
                task_id: Some(id), ..
            }) => task.id = *id,
            _ => return Err(AcsError::Store("task id not assigned".into())),
        }
        Ok(task)
    }

    /// Waits until the task is done or has a fault recorded, or `timeout` passes. A faulted
    /// task may still be retried later; its fault record goes away when it succeeds.
    pub async fn wait_task(&self, id: u64, timeout: Duration) -> Result<TaskOutcome, AcsError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let (tx, rx) = oneshot::channel();
            // Register before reading so a completion between the read and the wait is not lost.
            self.waiters
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(id)
                .or_default()
                .push(tx);
            let task = self.store.task(id)?.ok_or(AcsError::NoSuchTask)?;
            if let TaskStatus::Done { .. } = task.status {
                return Ok(TaskOutcome::Done(task));
            }
            let channel = format!("task_{id}");
            let fault = self
                .store
                .faults(Some(&task.device))?
                .into_iter()
                .find(|f| f.channel == channel);
            if let Some(f) = fault {
                return Ok(TaskOutcome::Faulted(task, f));
            }
            if tokio::time::timeout_at(deadline, rx).await.is_err() {
                return Ok(TaskOutcome::Pending(task));
            }
        }
    }

    /// `Some(generation)` if the device may have pending tasks; `None` means it has none.
    pub(crate) fn may_have_tasks(&self, device: &DeviceId) -> Option<u64> {
        self.with_tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(device)
            .copied()
    }

    pub(crate) fn note_tasks(&self, device: &DeviceId) {
        *self
            .with_tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(device.clone())
            .or_default() += 1;
    }

    /// Forgets the device's mark if nothing was queued since `generation` was read.
    pub(crate) fn no_tasks(&self, device: &DeviceId, generation: u64) {
        let mut map = self.with_tasks.lock().unwrap_or_else(|e| e.into_inner());
        if map.get(device) == Some(&generation) {
            map.remove(device);
        }
    }

    pub(crate) fn notify_task(&self, id: u64) {
        let waiters = self
            .waiters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        for w in waiters.into_iter().flatten() {
            let _ = w.send(());
        }
    }

    /// The store op that marks a task done.
    pub(crate) fn finish_task_op(&self, id: u64, applied: &Applied, now_ms: i64) -> Option<Op> {
        let mut task = self.store.task(id).ok()??;
        if applied.awaiting_transfer {
            // The CPE accepted the Download and will report with TransferComplete; until then
            // the task must not be sent again.
            task.not_before_ms = i64::MAX;
        } else {
            task.status = TaskStatus::Done {
                finished_ms: now_ms,
            };
            self.metrics.tasks_done.inc();
        }
        Some(Op::PutTask(task))
    }

    /// The store ops that record a CPE fault on a task and schedule its retry.
    pub(crate) fn fault_task_ops(
        &self,
        device: &DeviceId,
        id: u64,
        fault: &cwmp::Fault,
        now_ms: i64,
    ) -> Vec<Op> {
        self.metrics.task_faults.inc();
        let Ok(Some(mut task)) = self.store.task(id) else {
            return Vec::new();
        };
        task.attempts += 1;
        let record = session::fault_record(device, id, fault, task.attempts, now_ms);
        if task.attempts >= self.config.task_max_attempts {
            task.status = TaskStatus::Faulted {
                code: record.code.clone(),
                message: record.message.clone(),
                at_ms: now_ms,
            };
        } else {
            let base = self.config.task_retry_base.as_millis() as i64;
            task.not_before_ms = now_ms + base.saturating_mul(1 << (task.attempts - 1).min(16));
        }
        vec![Op::PutTask(task), Op::PutFault(record)]
    }

    /// Completes the Download task a TransferComplete reports on, or records a declared
    /// Download's outcome under `Downloads.<n>` as GenieACS does.
    pub(crate) async fn transfer_complete(&self, device: &DeviceId, tc: &cwmp::TransferComplete) {
        if let Some(n) = tc
            .command_key
            .strip_prefix("download_")
            .and_then(|s| s.parse::<u64>().ok())
        {
            self.declared_transfer_complete(device, n, tc).await;
            return;
        }
        let Some(id) = tc
            .command_key
            .strip_prefix("task_")
            .and_then(|s| s.parse::<u64>().ok())
        else {
            return;
        };
        let now_ms = self.clock_ms();
        let ops = if tc.fault.code == 0 {
            let applied = Applied {
                done: true,
                ..Applied::default()
            };
            let mut ops: Vec<Op> = self
                .finish_task_op(id, &applied, now_ms)
                .into_iter()
                .collect();
            ops.push(Op::DeleteFault {
                device: device.clone(),
                channel: format!("task_{id}"),
            });
            ops
        } else {
            let fault = cwmp::Fault::new(tc.fault.code, tc.fault.string.clone());
            let mut ops = self.fault_task_ops(device, id, &fault, now_ms);
            // A failed transfer is retried like any faulted task, so it must be sendable again.
            for op in &mut ops {
                if let Op::PutTask(t) = op
                    && t.not_before_ms == i64::MAX
                {
                    t.not_before_ms = now_ms;
                }
            }
            ops
        };
        if let Err(e) = self.writer.apply(ops).await {
            tracing::error!(%device, error = %e, "could not record TransferComplete");
        }
        self.notify_task(id);
    }

    /// Records the outcome of a Download that presets declared, as `Downloads.<n>.Last*`,
    /// `StartTime` and `CompleteTime` (a failed transfer is logged and counted; the declaration
    /// is satisfied by the attempt, as in GenieACS).
    async fn declared_transfer_complete(
        &self,
        device: &DeviceId,
        n: u64,
        tc: &cwmp::TransferComplete,
    ) {
        let now_ms = self.clock_ms();
        if tc.fault.code != 0 {
            self.metrics.task_faults.inc();
            tracing::warn!(%device, instance = n, code = tc.fault.code, "declared download failed");
            return;
        }
        let base = format!("{}.{n}", provision::DOWNLOADS);
        let tree = self.store.get_tree(device).unwrap_or_default();
        let text = |leaf: &str| {
            tree.get(&format!("{base}.{leaf}"))
                .and_then(|p| p.value.as_ref())
                .map_or_else(String::new, |v| v.text().into_owned())
        };
        let leaf = |v: store::Value| store::Param::leaf(Some(v), Some(false), now_ms);
        let date = |s: &str| store::Value::DateTime(s.to_owned());
        let set = vec![
            (
                format!("{base}.LastFileType"),
                leaf(store::Value::String(text("FileType"))),
            ),
            (
                format!("{base}.LastFileName"),
                leaf(store::Value::String(text("FileName"))),
            ),
            (
                format!("{base}.LastTargetFileName"),
                leaf(store::Value::String(text("TargetFileName"))),
            ),
            (
                format!("{base}.LastDownload"),
                leaf(date(&genie::date::iso(now_ms))),
            ),
            (format!("{base}.StartTime"), leaf(date(&tc.start_time))),
            (
                format!("{base}.CompleteTime"),
                leaf(date(&tc.complete_time)),
            ),
        ];
        let op = Op::UpdateTree {
            id: device.clone(),
            set,
            remove_subtrees: Vec::new(),
        };
        if let Err(e) = self.writer.apply(vec![op]).await {
            tracing::error!(%device, error = %e, "could not record a declared download");
        }
    }

    /// Sends a connection request to the device so it opens a session now.
    pub async fn connection_request(&self, device: &DeviceId) -> Result<(), CrError> {
        let meta = self
            .store
            .get(device)
            .map_err(|e| CrError::Other(e.to_string()))?
            .ok_or(CrError::UnknownDevice)?;
        let m = meta.value;
        self.metrics.connection_requests.inc();
        let res = cr::send(
            &m.connection_request_url,
            &m.cr_username,
            &m.cr_password,
            self.config.cr_timeout,
        )
        .await;
        if let Err(e) = &res {
            self.metrics.connection_request_failures.inc();
            tracing::info!(%device, error = %e, "connection request failed");
        }
        res
    }
}
