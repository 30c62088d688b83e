//! The thin tokio driver around the engine: it subscribes to the ACS's device events, polls
//! ERPNext for records modified since the watermark, carries out the engine's actions (presets,
//! connection requests, read-back tasks) and writes outcomes back through the durable outbox.
//!
//! Every engine call happens under one mutex and is followed by draining the engine's dirty
//! records into an ordered channel; one persister task writes them through `Acs::write`, so the
//! durable state is written in the order it changed.

mod actions;
mod loops;
mod metrics;
mod persist;

use persist::{dirty_ops, persist_loop};

use crate::engine::{Cause, Engine, EngineConfig, Facts};
use crate::erp::{ErpClient, ErpConfig};
use crate::error::ProvisionError;
use crate::model::{Equipment, Mac, Serial};
use crate::state::{self, DeviceState, SyncMark, WriteBack};
use acs::store::Op;
use acs::{Acs, DeviceEvent, DeviceId};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore, broadcast, mpsc};

/// How the provisioner runs.
#[derive(Debug, Clone)]
pub struct ProvisionerConfig {
    /// ERPNext.
    pub erp: ErpConfig,
    /// The engine's tunables.
    pub engine: EngineConfig,
    /// How often ERPNext is polled for modified records.
    pub poll_interval: Duration,
    /// How often the whole listing is read (records deleted in ERPNext show only there).
    pub full_sync_interval: Duration,
    /// How long a read-back waits for its task.
    pub readback_timeout: Duration,
    /// Connection requests and store reads in flight at once.
    pub concurrency: usize,
}

impl Default for ProvisionerConfig {
    fn default() -> Self {
        Self {
            erp: ErpConfig::default(),
            engine: EngineConfig::default(),
            poll_interval: Duration::from_secs(30),
            full_sync_interval: Duration::from_secs(3600),
            readback_timeout: Duration::from_secs(60),
            concurrency: 64,
        }
    }
}

/// What one poll of ERPNext did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Rows read.
    pub rows: usize,
    /// Rows that could not identify a device (logged, skipped).
    pub rejected: usize,
    /// Records whose settings or identity changed.
    pub changed: usize,
    /// Devices decided on again.
    pub devices: usize,
    /// Whether it was a full listing.
    pub full: bool,
}

/// The running provisioner.
pub struct Provisioner {
    pub(crate) acs: Arc<Acs>,
    pub(crate) erp: ErpClient,
    engine: Mutex<Engine>,
    config: ProvisionerConfig,
    persist_tx: mpsc::UnboundedSender<Vec<Op>>,
    persist_rx: Mutex<Option<mpsc::UnboundedReceiver<Vec<Op>>>>,
    events: Mutex<Option<broadcast::Receiver<DeviceEvent>>>,
    sync_now: Notify,
    writeback_now: Notify,
    pub(crate) permits: Semaphore,
    /// Preset writes being gathered into one store write, and whether a caller is gathering.
    preset_queue: Mutex<Vec<actions::PresetWrite>>,
    preset_leader: std::sync::atomic::AtomicBool,
    /// Action batches still running (see [`Provisioner::idle`]).
    pub(crate) in_flight: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for Provisioner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provisioner").finish_non_exhaustive()
    }
}

/// Milliseconds since the epoch, from the ACS's clock (one clock for both).
fn now(acs: &Acs) -> i64 {
    acs.now_ms()
}

impl Provisioner {
    /// Loads the durable state from the ACS store and subscribes to the ACS's events (so none
    /// is missed between now and [`Self::run`]).
    pub async fn new(
        acs: Arc<Acs>,
        config: ProvisionerConfig,
    ) -> Result<Arc<Self>, ProvisionError> {
        let events = acs.subscribe();
        let store = acs.store().clone();
        let parse_all = async |c: &str| -> Result<Vec<Vec<u8>>, ProvisionError> {
            let docs = store
                .docs(c)
                .await
                .map_err(|e| ProvisionError::State(format!("{c}: {e}")))?;
            Ok(docs.into_iter().map(|(_, b)| b).collect())
        };
        let devices: Vec<DeviceState> = parse_all(state::DEVICES)
            .await?
            .iter()
            .filter_map(|b| serde_json::from_slice(b).ok())
            .collect();
        let outbox: Vec<WriteBack> = parse_all(state::OUTBOX)
            .await?
            .iter()
            .filter_map(|b| serde_json::from_slice(b).ok())
            .collect();
        let records: Vec<Equipment> = parse_all(state::RECORDS)
            .await?
            .iter()
            .filter_map(|b| crate::erp::wire::parse_doc(b, &config.erp.limits).ok())
            .filter_map(|row| Equipment::from_row(&row).ok())
            .collect();
        let mark: SyncMark = store
            .doc(state::SYNC, state::SYNC_DOC)
            .await
            .map_err(|e| ProvisionError::State(e.to_string()))?
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let mut engine = Engine::new(config.engine.clone());
        engine.restore(devices, outbox, records, mark);
        let (persist_tx, persist_rx) = mpsc::unbounded_channel();
        Ok(Arc::new(Self {
            erp: ErpClient::new(config.erp.clone())?,
            acs,
            engine: Mutex::new(engine),
            permits: Semaphore::new(config.concurrency.max(1)),
            config,
            persist_tx,
            persist_rx: Mutex::new(Some(persist_rx)),
            events: Mutex::new(Some(events)),
            sync_now: Notify::new(),
            writeback_now: Notify::new(),
            in_flight: std::sync::atomic::AtomicUsize::new(0),
            preset_queue: Mutex::new(Vec::new()),
            preset_leader: std::sync::atomic::AtomicBool::new(false),
        }))
    }

    fn lock(&self) -> MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the engine, queues its dirty records for the persister (in order, under the
    /// lock), and returns its result.
    pub(crate) fn with_engine<T>(&self, f: impl FnOnce(&mut Engine, i64) -> T) -> T {
        let mut engine = self.lock();
        let out = f(&mut engine, now(&self.acs));
        let ops = dirty_ops(engine.take_dirty());
        if !ops.is_empty() {
            let _ = self.persist_tx.send(ops);
        }
        out
    }

    pub(crate) fn readback_timeout(&self) -> Duration {
        self.config.readback_timeout
    }

    /// Asks the poller to poll ERPNext now.
    pub fn request_sync(&self) {
        self.sync_now.notify_one();
    }

    /// Waits until no action started by the engine is still running (for one-shot use such as
    /// `fibreplane provision sync`).
    pub async fn idle(&self) {
        while self.in_flight.load(std::sync::atomic::Ordering::Acquire) > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Writes every queued durable record now. For one-shot use, when [`Self::run`] (whose
    /// persister does this continuously) is not running.
    pub async fn flush(&self) -> Result<(), ProvisionError> {
        let mut ops = Vec::new();
        if let Some(rx) = self
            .persist_rx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            while let Ok(more) = rx.try_recv() {
                ops.extend(more);
            }
        }
        if !ops.is_empty() {
            self.acs.write(ops).await?;
        }
        Ok(())
    }

    /// Writes the outcomes due now to ERPNext once (for one-shot use).
    pub async fn write_back_once(&self) {
        let due = self.lock().due_writebacks(now(&self.acs));
        for w in due {
            let at = crate::erp::wire::datetime(w.at_ms);
            let result = self
                .erp
                .write_outcome(w.equipment.as_str(), &w.status, &at)
                .await;
            self.with_engine(|e, now| e.written_back(&w, &result, now));
        }
    }

    /// A device's provisioning state.
    pub fn state(&self, device: &str) -> Option<DeviceState> {
        self.lock().device(device).cloned()
    }

    /// The customer, service location and equipment of the record a device is bound to.
    pub fn links(&self, device: &str) -> Option<(String, String, String)> {
        let e = self.lock();
        let r = e.record_of(device)?;
        Some((r.customer.clone(), r.location.clone(), r.name.to_string()))
    }

    /// The devices bound to a customer's records.
    pub fn devices_of_customer(&self, customer: &str) -> Vec<String> {
        self.lock().devices_where(|r| r.customer == customer)
    }

    /// The devices bound to records at a service location.
    pub fn devices_at(&self, location: &str) -> Vec<String> {
        self.lock().devices_where(|r| r.location == location)
    }

    /// Every quarantined device.
    pub fn quarantine(&self) -> Vec<DeviceState> {
        self.lock().quarantined().into_iter().cloned().collect()
    }

    /// Devices per phase, records mirrored and outcomes waiting for ERPNext.
    pub fn summary(&self) -> serde_json::Value {
        let e = self.lock();
        serde_json::json!({
            "devices": e.counts(),
            "records": e.records(),
            "outbox": e.outbox_len(),
            "erp_ok": e.erp_ok(),
            "watermark": e.mark().watermark,
            "erp_requests": self.erp.requests(),
            "erp_failures": self.erp.failures(),
        })
    }

    /// HTTP requests sent to ERPNext so far.
    pub fn erp_requests(&self) -> u64 {
        self.erp.requests()
    }

    /// Outcomes not yet written to ERPNext.
    pub fn outbox_len(&self) -> usize {
        self.lock().outbox_len()
    }

    /// An operator asks to try a device again: it is matched and installed anew, and woken at
    /// once. False if the provisioner has never seen it.
    pub async fn retry(self: &Arc<Self>, device: &str) -> bool {
        if !self.with_engine(|e, now| e.retry(device, now)) {
            return false;
        }
        self.decide(device, Cause::Retry).await;
        true
    }

    /// Runs every loop until `shutdown` completes: events, ERPNext polls, write-backs, timers
    /// and the persister.
    pub async fn run(self: Arc<Self>, shutdown: impl Future<Output = ()> + Send + 'static) {
        let Some(mut events) = self
            .events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        else {
            return;
        };
        let Some(persist_rx) = self
            .persist_rx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        else {
            return;
        };
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let persister = tokio::spawn(persist_loop(self.acs.clone(), persist_rx, stop_rx.clone()));
        let poller = tokio::spawn(self.clone().poll_loop(stop_rx.clone()));
        let writer = tokio::spawn(self.clone().writeback_loop(stop_rx.clone()));
        let timer = tokio::spawn(self.clone().timer_loop(stop_rx.clone()));
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    Ok(ev) => self.on_event(ev),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "provisioner lagged behind ACS events; reconciling");
                        tokio::spawn(self.clone().reconcile());
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                () = &mut shutdown => break,
            }
        }
        let _ = stop_tx.send(true);
        for t in [poller, writer, timer, persister] {
            let _ = t.await;
        }
    }

    fn on_event(self: &Arc<Self>, ev: DeviceEvent) {
        match ev {
            DeviceEvent::Informed { device, events } => {
                self.with_engine(|e, _| e.informed(device.as_str(), &events));
            }
            DeviceEvent::SessionEnded { device } => {
                let wants = self.with_engine(|e, now| e.wants_facts(device.as_str(), now));
                if wants {
                    let me = self.clone();
                    tokio::spawn(async move { me.decide(device.as_str(), Cause::Session).await });
                } else {
                    let actions =
                        self.with_engine(|e, now| e.session_ended(device.as_str(), None, now));
                    self.execute(actions);
                }
            }
            DeviceEvent::ChannelConverged {
                device,
                channel,
                written,
                parameter_key,
            } => {
                let actions = self.with_engine(|e, now| {
                    e.converged(device.as_str(), &channel, &written, &parameter_key, now)
                });
                self.execute(actions);
            }
            DeviceEvent::ChannelFaulted {
                device,
                channel,
                code,
                message,
            } => {
                let actions = self.with_engine(|e, now| {
                    e.faulted(device.as_str(), &channel, &code, &message, now)
                });
                self.execute(actions);
            }
            _ => {}
        }
    }

    /// Loads a device's facts and tree and lets the engine decide on it.
    pub(crate) async fn decide(self: &Arc<Self>, device: &str, cause: Cause) {
        let _permit = self.permits.acquire().await;
        let Some((facts, tree)) = self.facts(device).await else {
            return;
        };
        let actions = self.with_engine(|e, now| match cause {
            Cause::Session => e.session_ended(device, Some((&facts, &tree)), now),
            other => e.evaluate(device, &facts, &tree, other, now),
        });
        self.execute(actions);
    }

    /// The device's facts (serial, MACs, root) and known tree, from the ACS store.
    async fn facts(&self, device: &str) -> Option<(Facts, acs::store::ParamTree)> {
        let id = DeviceId::parse(device).ok()?;
        // A store failure is logged, not taken for an unknown device; the device is decided
        // again at its next session or the next reconciliation.
        let logged = |e: &dyn std::fmt::Display| {
            tracing::error!(device = %id, error = %e, "could not read the device for provisioning");
        };
        let meta = self
            .acs
            .device(&id)
            .await
            .inspect_err(|e| logged(e))
            .ok()??
            .value;
        let tree = self
            .acs
            .store()
            .get_tree(&id)
            .await
            .inspect_err(|e| logged(e))
            .ok()?;
        let facts = Facts {
            serial: Serial::normalize(&meta.identity.serial_number),
            macs: meta.macs.iter().filter_map(|m| Mac::normalize(m)).collect(),
            root: meta.root.clone(),
        };
        Some((facts, tree))
    }
}
