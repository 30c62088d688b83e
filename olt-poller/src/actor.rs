//! The fleet: one actor task per OLT, sockets bounded fleet-wide, events on a broadcast channel.
//!
//! Each actor owns its OLT's polls (one session per poll, closed when the poll ends), its
//! tracker and its history writes. A poll holds one permit of a fleet-wide semaphore, so at most
//! `max_sockets` sockets are open; the whole poll is bounded by a deadline, so a stalled or dead
//! OLT gives its permit back and never delays another OLT beyond the wait for a permit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use tokio::sync::{Semaphore, broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::config::{OltConfig, OpticalThresholds};
use crate::error::OltError;
use crate::events::Tracker;
use crate::history::{OpticalHistory, OpticalSample};
use crate::model::PollerEvent;
use crate::model::{OltId, OltSnapshot};
use crate::poll::poll_once;
use crate::walk::WalkLimits;

/// Fleet-wide settings.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    /// Sockets (concurrent polls) across all OLTs.
    pub max_sockets: usize,
    /// Walk limits for every poll.
    pub limits: WalkLimits,
    /// Optical thresholds for events.
    pub thresholds: OpticalThresholds,
    /// Capacity of the event channel (slow subscribers lose the oldest events).
    pub event_capacity: usize,
    /// A poll is abandoned after this long (default: the OLT's interval).
    pub poll_deadline: Option<Duration>,
}

impl Default for FleetConfig {
    fn default() -> Self {
        Self {
            max_sockets: 64,
            limits: WalkLimits::default(),
            thresholds: OpticalThresholds::default(),
            event_capacity: 4096,
            poll_deadline: None,
        }
    }
}

enum Command {
    PollNow(oneshot::Sender<Result<Arc<OltSnapshot>, String>>),
}

struct Handle {
    tx: mpsc::Sender<Command>,
    task: JoinHandle<()>,
}

type Latest = Arc<Mutex<HashMap<OltId, Arc<OltSnapshot>>>>;

/// Upper bounds (seconds) of the poll duration buckets. A small OLT on a LAN answers a poll in
/// tens of milliseconds; a loaded one (thousands of ONUs, several GETBULK walks of hundreds of
/// requests each, retries after timeouts) takes seconds to tens of seconds; a poll is abandoned
/// at its deadline, the OLT's interval by default (60 s, 300 s in some configurations), so the
/// top buckets show polls that ran into it.
const POLL_BUCKETS: [f64; 12] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// Labels of one OLT's polls: its name and whether the poll gave a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct PollLabels {
    olt: String,
    outcome: &'static str,
}

type PollDurations = Family<PollLabels, Histogram, fn() -> Histogram>;

/// One OLT's series of the fleet's poll durations, taken once when the OLT is added.
struct PollTimes {
    ok: Histogram,
    failed: Histogram,
}

/// Polls many OLTs concurrently.
pub struct OltFleet {
    config: FleetConfig,
    sockets: Arc<Semaphore>,
    events: broadcast::Sender<PollerEvent>,
    history: Option<Arc<dyn OpticalHistory>>,
    latest: Latest,
    actors: HashMap<OltId, Handle>,
    durations: PollDurations,
}

impl std::fmt::Debug for OltFleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OltFleet")
            .field("olts", &self.actors.len())
            .finish_non_exhaustive()
    }
}

impl OltFleet {
    /// A fleet with no OLTs yet; `history` receives one sample per online ONU per poll.
    pub fn new(config: FleetConfig, history: Option<Arc<dyn OpticalHistory>>) -> Self {
        let (events, _) = broadcast::channel(config.event_capacity.max(1));
        Self {
            sockets: Arc::new(Semaphore::new(config.max_sockets.max(1))),
            config,
            events,
            history,
            latest: Arc::default(),
            actors: HashMap::new(),
            durations: Family::new_with_constructor(|| Histogram::new(POLL_BUCKETS)),
        }
    }

    /// Registers the fleet's metrics: `fibreplane_olt_poll_duration_seconds`, a histogram per
    /// OLT and outcome (the live one: later polls show in later scrapes).
    pub fn register_metrics(&self, registry: &mut Registry) {
        registry.register_with_unit(
            "fibreplane_olt_poll_duration",
            "SNMP polls of each OLT by outcome, from the first request to the last answer or the \
             deadline (the wait for a fleet socket excluded)",
            Unit::Seconds,
            self.durations.clone(),
        );
    }

    /// Subscribes to state-change events.
    pub fn subscribe(&self) -> broadcast::Receiver<PollerEvent> {
        self.events.subscribe()
    }

    /// Starts polling an OLT every `interval` (the first poll runs at once).
    pub fn add(&mut self, olt: OltConfig) -> Result<(), OltError> {
        if self.actors.contains_key(&olt.id) {
            return Err(OltError::Config(format!(
                "OLT {} is already polled",
                olt.id
            )));
        }
        let (tx, rx) = mpsc::channel(8);
        let id = olt.id.clone();
        let series = |outcome| {
            self.durations.get_or_create_owned(&PollLabels {
                olt: id.as_str().to_owned(),
                outcome,
            })
        };
        let actor = Actor {
            times: PollTimes {
                ok: series("ok"),
                failed: series("failed"),
            },
            tracker: Tracker::new(olt.id.clone(), self.config.thresholds),
            deadline: self.config.poll_deadline.unwrap_or(olt.interval),
            olt,
            limits: self.config.limits,
            sockets: self.sockets.clone(),
            events: self.events.clone(),
            history: self.history.clone(),
            latest: self.latest.clone(),
        };
        let span = tracing::info_span!("olt", olt = %id);
        let task = tokio::spawn(actor.run(rx).instrument(span));
        self.actors.insert(id, Handle { tx, task });
        Ok(())
    }

    /// Polls an OLT now (outside its schedule) and returns the snapshot.
    pub async fn poll_now(&self, id: &OltId) -> Result<Arc<OltSnapshot>, OltError> {
        let h = self
            .actors
            .get(id)
            .ok_or_else(|| OltError::Config(format!("no OLT {id}")))?;
        let (tx, rx) = oneshot::channel();
        h.tx.send(Command::PollNow(tx))
            .await
            .map_err(|_| OltError::ShuttingDown)?;
        rx.await
            .map_err(|_| OltError::ShuttingDown)?
            .map_err(OltError::Peer)
    }

    /// The latest successful snapshot of an OLT.
    pub fn latest(&self, id: &OltId) -> Option<Arc<OltSnapshot>> {
        self.latest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    /// Stops every actor and waits for them.
    pub async fn shutdown(mut self) {
        for (_, h) in self.actors.drain() {
            drop(h.tx);
            h.task.abort();
            let _ = h.task.await;
        }
    }
}

struct Actor {
    olt: OltConfig,
    limits: WalkLimits,
    deadline: Duration,
    tracker: Tracker,
    sockets: Arc<Semaphore>,
    events: broadcast::Sender<PollerEvent>,
    history: Option<Arc<dyn OpticalHistory>>,
    latest: Latest,
    times: PollTimes,
}

impl Actor {
    async fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        let mut tick = tokio::time::interval(self.olt.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let _ = self.poll().await;
                }
                cmd = rx.recv() => match cmd {
                    Some(Command::PollNow(reply)) => {
                        let r = self.poll().await.map_err(|e| e.to_string());
                        let _ = reply.send(r);
                    }
                    None => break,
                },
            }
        }
    }

    async fn poll(&mut self) -> Result<Arc<OltSnapshot>, OltError> {
        let result = {
            let Ok(_permit) = self.sockets.acquire().await else {
                return Err(OltError::ShuttingDown);
            };
            let started = Instant::now();
            let r = match tokio::time::timeout(self.deadline, poll_once(&self.olt, self.limits))
                .await
            {
                Ok(r) => r,
                Err(_) => Err(OltError::Timeout { attempts: 0 }),
            };
            let times = if r.is_ok() {
                &self.times.ok
            } else {
                &self.times.failed
            };
            times.observe(started.elapsed().as_secs_f64());
            r
        };
        let snap = match result {
            Ok(s) => Arc::new(s),
            Err(e) => {
                tracing::warn!(error = %e, "poll failed");
                for ev in self.tracker.poll_failed(&e) {
                    let _ = self.events.send(ev);
                }
                return Err(e);
            }
        };
        tracing::debug!(
            onus = snap.onus.len(),
            requests = snap.stats.requests,
            "polled"
        );
        for ev in self.tracker.observe(&snap) {
            let _ = self.events.send(ev);
        }
        if let Some(h) = self.history.clone() {
            let samples: Vec<_> = snap
                .onus
                .iter()
                .filter(|o| o.rx_dbm.is_some() || o.olt_rx_dbm.is_some())
                .map(|o| {
                    (
                        o.key,
                        OpticalSample {
                            at_ms: snap.polled_at_ms,
                            rx_dbm: o.rx_dbm,
                            tx_dbm: o.tx_dbm,
                            olt_rx_dbm: o.olt_rx_dbm,
                        },
                    )
                })
                .collect();
            let olt = self.olt.id.clone();
            // Store writes block (fsync); keep them off the runtime's worker threads.
            let r = tokio::task::spawn_blocking(move || h.append(&olt, &samples)).await;
            match r {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "optical history write failed"),
                Err(e) => tracing::warn!(error = %e, "optical history task failed"),
            }
        }
        self.latest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(self.olt.id.clone(), snap.clone());
        Ok(snap)
    }
}
