//! The Fibreplane ACS: a TR-069 auto-configuration server.
//!
//! CPEs POST CWMP envelopes to the server ([`server`]); each session is driven by the `cwmp`
//! crate's ACS state machine and runs the device's queued tasks ([`Acs::enqueue`]). Device
//! records, trees, tasks and faults live in the `fibreplane-store` crate: the ACS holds its one
//! `StoreWriter` (group commit, device leases) and hands everyone else a [`StoreReader`]
//! ([`Acs::store`]), so every write goes through [`Acs::write`] or a session. Connection
//! requests ([`cr`]) wake devices up.
#![warn(missing_docs)]

mod bookkeeping;
pub mod client_tls;
pub mod config;
mod cpe_auth;
pub mod cr;
pub mod credentials;
pub mod datamodel;
pub mod diagnostics;
pub mod discovery;
pub mod genie;
mod inform;
mod jobs;
pub mod metrics;
mod overload;
pub mod presets;
pub mod provision;
mod reframe;
mod register;
mod registry;
mod rpcs;
pub mod server;
mod session;
pub mod summary;
mod task_sweep;
mod tasks;
mod transfer;

pub use acs_store::{self as store, DeviceId, StoreReader, TaskKind, TaskRecord, TaskStatus};
pub use config::{AcsConfig, CpeAuthMode, CrTls, Secret, StoreBackend, TlsFiles};
pub use cpe_auth::derive_password;
pub use cr::CrError;
pub use inform::{indexed_mac_path, note_fact};
pub use metrics::Metrics;

use acs_store::{FaultRecord, Op, Outcome, StoreError, StoreWriter};
use registry::Registry;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tasks::TaskQueue;
use tokio::sync::broadcast;

/// The store collection of file metadata documents (the NBI's `files`).
pub(crate) const FILES: &str = "files";

/// Errors of the ACS's API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AcsError {
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A record kept changing under a compare-and-swap write, or the store answered a write
    /// without what it must report (a new task's id).
    #[error("store conflict: {0}")]
    Conflict(&'static str),
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
    /// An alert: an adopting device's session without verified credentials was refused (it
    /// came from an address the adoption is not bound to, or after the adoption window).
    CredentialsRefused {
        /// The device the Inform named.
        device: DeviceId,
        /// The session's source address.
        address: String,
        /// `unknown_address` or `adoption_expired`.
        reason: String,
    },
    /// An adopting session set the device's derived credentials; a connection request to its
    /// known URL follows.
    Rekeyed {
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
    /// Reads: handed to every component ([`Acs::store`]).
    pub(crate) store: StoreReader,
    /// The one capability that writes (group-committed) and takes device leases: private to
    /// the ACS, which every other component writes through ([`Acs::write`]).
    pub(crate) writer: StoreWriter,
    pub(crate) auth: cpe_auth::CpeAuth,
    pub(crate) sessions: Registry,
    pub(crate) inform_log: bookkeeping::InformLog,
    /// Presets, parsed and sorted, loaded on first use and dropped when one is written.
    presets: Mutex<Option<Arc<presets::PresetSet>>>,
    /// The extension children scripts' `ext()` calls run in (when `ext_dir` is set).
    pub(crate) extensions: Option<Arc<script::ext::ExtensionHost>>,
    /// The task queue's marks and waiters.
    pub(crate) tasks: TaskQueue,
    /// What sessions need of the configuration.
    pub(crate) session_policy: Arc<session::Policy>,
    /// Counters for every queue, limit and error class.
    pub metrics: Metrics,
    events: broadcast::Sender<DeviceEvent>,
    /// One lock per device with a diagnostic running: `8 DIAGNOSTICS COMPLETE` does not say
    /// which test ended, so a device runs one diagnostic at a time.
    diag_locks: Mutex<HashMap<DeviceId, Arc<tokio::sync::Mutex<()>>>>,
    /// Sizes the Retry-After of 503s to the backlog.
    pub(crate) backpressure: overload::Backpressure,
    epoch: (Instant, SystemTime),
    /// Connection requests, with the TLS settings of `config.cr_tls`.
    pub(crate) cr: cr::CrClient,
    /// GenieACS's `cwmp.auth` and `cwmp.connectionRequestAuth`, imported
    /// (`credentials/expr.rs` evaluates them).
    pub(crate) genie_auth: genie::auth::AuthSettings,
    /// GenieACS's timing settings whose expressions read the device.
    pub(crate) genie_per_device: genie::config::PerDevice,
}

impl Acs {
    /// Opens the configured store under `config.data_dir` and builds the ACS.
    pub async fn open(config: AcsConfig) -> Result<Arc<Self>, AcsError> {
        std::fs::create_dir_all(&config.data_dir)?;
        let writer = match config.backend {
            StoreBackend::Redb => acs_store::open(
                acs_store::EngineKind::Redb,
                &config.data_dir.join("fibreplane.redb"),
            )?,
            StoreBackend::Sled => {
                acs_store::open(acs_store::EngineKind::Sled, &config.data_dir.join("sled"))?
            }
        };
        Self::with_store(config, writer).await
    }

    /// How long the NBI waits for a session to start after a connection request when the
    /// caller names no wait (`cwmp.deviceOnlineThreshold` in GenieACS).
    pub fn device_online_threshold(&self) -> std::time::Duration {
        self.config.device_online_threshold
    }

    /// Builds the ACS over an already opened store; it takes the store's only writer.
    pub async fn with_store(
        mut config: AcsConfig,
        writer: StoreWriter,
    ) -> Result<Arc<Self>, AcsError> {
        // Settings imported from GenieACS's `config` collection take their place.
        let imported = writer.reader().docs(genie::config::COLLECTION).await?;
        let report = genie::config::apply(&mut config, &imported);
        for (key, value) in &report.applied {
            tracing::info!(key, value, "GenieACS setting applied");
        }
        for (key, why) in &report.ignored {
            tracing::warn!(key, why, "GenieACS setting not applied");
        }
        for (key, why) in &report.refusing {
            tracing::error!(
                key,
                why,
                "GenieACS setting cannot be evaluated: what it decides is refused"
            );
        }
        if report.auth.cpe.is_set() && config.cpe_auth == CpeAuthMode::None {
            tracing::warn!(
                "cwmp.auth is imported but CPE authentication is off (cpe_auth = none): it is not evaluated"
            );
        }
        if config.cpe_auth == CpeAuthMode::Digest && config.cpe_secret.is_empty() {
            return Err(AcsError::Config(
                "digest CPE authentication needs a CPE secret (FIBREPLANE_CPE_SECRET)".into(),
            ));
        }
        let (events, _) = broadcast::channel(4096);
        let session_policy = Arc::new(session::Policy {
            retry: tasks::RetryPolicy {
                max_attempts: config.task_max_attempts,
                base_ms: i64::try_from(config.task_retry_base.as_millis()).unwrap_or(i64::MAX),
            },
            file_server_url: config
                .file_server_url
                .clone()
                .unwrap_or_else(|| "http://127.0.0.1:7567".into()),
            download_timeout_ms: i64::try_from(config.download_timeout.as_millis())
                .unwrap_or(i64::MAX),
        });
        let store = writer.reader();
        let cr = cr::CrClient::new(&config.cr_tls)?;
        let acs = Arc::new(Self {
            auth: cpe_auth::CpeAuth::new(&config),
            sessions: Registry::default(),
            inform_log: bookkeeping::InformLog::default(),
            presets: Mutex::new(None),
            extensions: config.ext_dir.as_ref().map(|dir| {
                Arc::new(script::ext::ExtensionHost::new(
                    script::ext::ExtConfig::new(dir),
                ))
            }),
            tasks: TaskQueue::with_pending(&store.tasks(None).await?),
            session_policy,
            writer,
            store,
            config,
            metrics: Metrics::default(),
            events,
            diag_locks: Mutex::new(HashMap::new()),
            backpressure: overload::Backpressure::default(),
            epoch: (Instant::now(), SystemTime::now()),
            cr,
            genie_auth: report.auth,
            genie_per_device: report.per_device,
        });
        acs.count_adoptions().await?;
        Ok(acs)
    }

    /// The configuration in force.
    pub fn config(&self) -> &AcsConfig {
        &self.config
    }

    /// The device store, for reads: a [`StoreReader`] cannot write. Every write goes through
    /// [`Acs::write`] (or the ACS's own sessions), so the ACS keeps its caches and task marks
    /// true and the one group-committing writer sees every write.
    pub fn store(&self) -> &StoreReader {
        &self.store
    }

    /// A device's record, with its last-inform time as fresh as the ACS knows it (periodic
    /// Informs are written behind, at most a second late; see `bookkeeping.rs`).
    pub async fn device(
        &self,
        id: &DeviceId,
    ) -> Result<Option<store::Versioned<store::DeviceMeta>>, AcsError> {
        let mut found = self.store.get(id).await?;
        if let (Some(v), Some(t)) = (&mut found, self.inform_log.get(id)) {
            v.value.last_inform_ms = v.value.last_inform_ms.max(t);
        }
        Ok(found)
    }

    /// The consolidated summary of a device from its stored tree (identity, WAN, LAN, Wi-Fi,
    /// hosts, optics, voice), each section judged against `staleness` now; `None` for an
    /// unknown device. Its `refresh` lists the objects to refresh (`TaskKind::RefreshObject`
    /// and a connection request) to make stale or missing sections fresh.
    pub async fn device_summary(
        &self,
        id: &DeviceId,
        staleness: &summary::Staleness,
    ) -> Result<Option<summary::DeviceSummary>, AcsError> {
        let Some(meta) = self.device(id).await? else {
            return Ok(None);
        };
        let tree = self.store.get_tree(id).await?;
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
    pub async fn informed_between(
        &self,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
    ) -> Result<Vec<DeviceId>, AcsError> {
        // Pending times first: a flush that takes them after this read has written them to
        // the store by the time of the store read below, or `Acs::device` shows the older time.
        let mut ids = self.inform_log.devices();
        ids.extend(self.store.scan_informed(from_ms, to_ms).await?);
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

    /// The presets, from the store's `presets` collection, filed by the devices they can apply
    /// to; documents that are not JSON are logged and skipped. A store that cannot be read is an
    /// error, never an empty set: sessions would otherwise run as if there were no presets.
    pub async fn presets(&self) -> Result<Arc<presets::PresetSet>, AcsError> {
        if let Some(p) = self
            .presets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            return Ok(p.clone());
        }
        let docs = self.store.docs(presets::COLLECTION).await?;
        let objects: HashMap<String, serde_json::Value> = self
            .store
            .docs(presets::OBJECTS)
            .await?
            .into_iter()
            .filter_map(|(name, bytes)| match serde_json::from_slice(&bytes) {
                Ok(v) => Some((name, v)),
                Err(e) => {
                    tracing::warn!(object = %name, error = %e, "preset object is not JSON; skipped");
                    None
                }
            })
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
        let scripts = provision::script::Scripts {
            provisions: presets::scripts(&self.store.docs(presets::PROVISIONS).await?),
            virtual_parameters: presets::scripts(
                &self.store.docs(presets::VIRTUAL_PARAMETERS).await?,
            ),
            learned: Arc::default(),
        };
        let p = Arc::new(presets::PresetSet::new(parsed).with_scripts(scripts));
        *self.presets.lock().unwrap_or_else(|e| e.into_inner()) = Some(p.clone());
        Ok(p)
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
                if [presets::COLLECTION, presets::OBJECTS, presets::PROVISIONS,
                    presets::VIRTUAL_PARAMETERS].contains(&collection.as_str()))
        });
        let out = self.writer.apply(ops).await?;
        if presets_changed {
            *self.presets.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
        // A task written here must be found by the device's next session.
        for device in &touched {
            self.tasks.mark(device);
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

    /// Sends a connection request to the device so it opens a session now.
    pub async fn connection_request(&self, device: &DeviceId) -> Result<(), CrError> {
        let meta = self
            .store
            .get(device)
            .await
            .map_err(|e| CrError::Other(e.to_string()))?
            .ok_or(CrError::UnknownDevice)?;
        let m = meta.value;
        self.metrics.connection_requests.inc();
        // GenieACS's `cwmp.connectionRequestAuth` may give several pairs: each is tried in turn
        // while the CPE refuses the one before.
        let mut res = Err(CrError::AuthFailed);
        let (pairs, timeout) = self.cr_settings(&m).await?;
        for (username, password) in pairs {
            res = self
                .cr
                .send(&m.connection_request_url, &username, &password, timeout)
                .await;
            if !matches!(res, Err(CrError::AuthFailed)) {
                break;
            }
        }
        if let Err(e) = &res {
            self.metrics.connection_request_failures.inc();
            tracing::info!(%device, error = %e, "connection request failed");
        }
        res
    }
}
