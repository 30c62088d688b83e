//! The thin tokio driver around the correlator: poller events from the fleet's broadcast
//! channel, Kuma events from the webhook, per-port totals from the hub; incident events out on a
//! broadcast channel; open and recent incidents kept for the `/outages` API.
//!
//! Time: the driver maps tokio's clock onto wall-clock time once at start (`wall at start +
//! tokio time elapsed`), so the correlator sees Unix times for its JSON while the driver's
//! timers follow tokio (pausable in tests). Incidents are in memory only: after a restart the
//! poller's next polls and Kuma's resends rebuild what is still true.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use fibreplane_types::olt::{OltSnapshot, PollerEvent};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::correlate::{
    Correlator, CorrelatorConfig, CorrelatorStats, Incident, IncidentEvent, IncidentId,
    IncidentKind, IncidentState, PortTotals,
};
use crate::directory::Directory;
use crate::kuma::{KumaEvent, KumaLimits};
use crate::metrics::{IncidentMetrics, KindCounts, Refusals};
use crate::{IncidentError, Timestamp};

/// The service's settings.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// The correlator's thresholds and timers.
    pub correlator: CorrelatorConfig,
    /// Webhook body limits.
    pub kuma_limits: KumaLimits,
    /// Resolved incidents kept for `/outages` (the oldest go first).
    pub recent: usize,
    /// Capacity of the incident event channel (slow subscribers lose the oldest events).
    pub event_capacity: usize,
    /// Kuma events and totals waiting for the driver; a full queue answers 503 to Kuma.
    pub input_queue: usize,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            correlator: CorrelatorConfig::default(),
            kuma_limits: KumaLimits::default(),
            recent: 500,
            event_capacity: 1024,
            input_queue: 1024,
        }
    }
}

enum Input {
    Kuma(Box<KumaEvent>),
    Totals(PortTotals),
}

#[derive(Debug, Default)]
struct Store {
    open: BTreeMap<IncidentId, Incident>,
    recent: VecDeque<Incident>,
    opened: HashMap<IncidentKind, u64>,
    resolved: HashMap<IncidentKind, u64>,
    stats: CorrelatorStats,
}

impl Store {
    fn apply(&mut self, ev: &IncidentEvent, keep: usize) {
        let inc = ev.incident();
        self.recent.retain(|r| r.id != inc.id);
        match (ev, inc.state) {
            (IncidentEvent::Opened { .. }, _) => {
                *self.opened.entry(inc.kind).or_default() += 1;
                self.open.insert(inc.id, inc.clone());
            }
            (_, IncidentState::Open) => {
                self.open.insert(inc.id, inc.clone());
            }
            (_, IncidentState::Resolved) => {
                if matches!(ev, IncidentEvent::Resolved { .. }) {
                    *self.resolved.entry(inc.kind).or_default() += 1;
                }
                self.open.remove(&inc.id);
                self.recent.push_front(inc.clone());
                self.recent.truncate(keep);
            }
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    webhook_events: AtomicU64,
    webhook_tests: AtomicU64,
    unauthorized: AtomicU64,
    bad_body: AtomicU64,
    too_large: AtomicU64,
    busy: AtomicU64,
    poller_lagged: AtomicU64,
    published: AtomicU64,
}

/// What a webhook request came to, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WebhookOutcome {
    Event,
    Test,
    Unauthorized,
    BadBody,
    TooLarge,
    Busy,
}

struct Inner {
    config: ServiceConfig,
    store: Mutex<Store>,
    events: broadcast::Sender<IncidentEvent>,
    input: mpsc::Sender<Input>,
    counters: Counters,
    shutdown: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

/// The incident service: a handle (cheap to clone) on the driver task.
#[derive(Clone)]
pub struct IncidentService(Arc<Inner>);

impl std::fmt::Debug for IncidentService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IncidentService").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl IncidentService {
    /// Starts the driver on the current tokio runtime. `poller` is a subscription to
    /// `OltFleet::subscribe` (or `None`, for Kuma-only use); `directory` names the subscribers.
    pub fn spawn(
        config: ServiceConfig,
        directory: Arc<dyn Directory>,
        poller: Option<broadcast::Receiver<PollerEvent>>,
    ) -> Result<Self, IncidentError> {
        config.correlator.validate()?;
        let (events, _) = broadcast::channel(config.event_capacity.max(1));
        let (input, input_rx) = mpsc::channel(config.input_queue.max(1));
        let (shutdown, shutdown_rx) = watch::channel(false);
        let clock = Clock::start();
        let correlator = Correlator::new(config.correlator.clone(), directory, clock.now());
        let inner = Arc::new(Inner {
            config,
            store: Mutex::default(),
            events,
            input,
            counters: Counters::default(),
            shutdown,
            task: Mutex::new(None),
        });
        let driver = Driver {
            inner: inner.clone(),
            correlator,
            clock,
        };
        let task = tokio::spawn(driver.run(poller, input_rx, shutdown_rx));
        *lock(&inner.task) = Some(task);
        Ok(Self(inner))
    }

    /// Subscribes to incident lifecycle events (what the hub sends on SSE and MQTT).
    pub fn subscribe(&self) -> broadcast::Receiver<IncidentEvent> {
        self.0.events.subscribe()
    }

    /// Hands a Kuma event to the driver; `false` when its queue is full.
    pub fn submit_kuma(&self, ev: KumaEvent) -> bool {
        self.0.input.try_send(Input::Kuma(Box::new(ev))).is_ok()
    }

    /// Replaces an OLT's per-port totals (call it with each new `OltFleet::latest` snapshot).
    pub fn set_port_totals(&self, totals: PortTotals) {
        // Totals are small and rare; wait for room rather than lose them.
        let tx = self.0.input.clone();
        tokio::spawn(async move {
            let _ = tx.send(Input::Totals(totals)).await;
        });
    }

    /// [`Self::set_port_totals`] from a snapshot.
    pub fn observe_snapshot(&self, snap: &OltSnapshot) {
        self.set_port_totals(PortTotals::from_snapshot(snap));
    }

    /// Open incidents (newest first), then recently resolved ones (most recently resolved
    /// first), optionally only those in `state`.
    pub fn incidents(&self, state: Option<IncidentState>) -> Vec<Incident> {
        let s = lock(&self.0.store);
        let open = s.open.values().rev();
        let all: Vec<&Incident> = open.chain(s.recent.iter()).collect();
        all.into_iter()
            .filter(|i| state.is_none_or(|st| i.state == st))
            .cloned()
            .collect()
    }

    /// One incident, open or recent.
    pub fn incident(&self, id: IncidentId) -> Option<Incident> {
        let s = lock(&self.0.store);
        s.open
            .get(&id)
            .or_else(|| s.recent.iter().find(|i| i.id == id))
            .cloned()
    }

    /// Webhook body limits.
    pub fn kuma_limits(&self) -> KumaLimits {
        self.0.config.kuma_limits
    }

    pub(crate) fn count_webhook(&self, outcome: WebhookOutcome) {
        let c = &self.0.counters;
        let counter = match outcome {
            WebhookOutcome::Event => &c.webhook_events,
            WebhookOutcome::Test => &c.webhook_tests,
            WebhookOutcome::Unauthorized => &c.unauthorized,
            WebhookOutcome::BadBody => &c.bad_body,
            WebhookOutcome::TooLarge => &c.too_large,
            WebhookOutcome::Busy => &c.busy,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A snapshot of the counters.
    pub fn metrics(&self) -> IncidentMetrics {
        let c = &self.0.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let s = lock(&self.0.store);
        let incidents = IncidentKind::ALL
            .iter()
            .map(|&kind| KindCounts {
                kind,
                open: s.open.values().filter(|i| i.kind == kind).count() as u64,
                opened_total: s.opened.get(&kind).copied().unwrap_or(0),
                resolved_total: s.resolved.get(&kind).copied().unwrap_or(0),
            })
            .collect();
        IncidentMetrics {
            correlator: s.stats,
            webhook_events: get(&c.webhook_events),
            webhook_tests: get(&c.webhook_tests),
            webhook_refused: Refusals {
                unauthorized: get(&c.unauthorized),
                bad_body: get(&c.bad_body),
                too_large: get(&c.too_large),
                busy: get(&c.busy),
            },
            poller_lagged: get(&c.poller_lagged),
            events_published: get(&c.published),
            incidents,
        }
    }

    /// Stops the driver and waits for it.
    pub async fn shutdown(&self) {
        let _ = self.0.shutdown.send(true);
        let task = lock(&self.0.task).take();
        if let Some(t) = task {
            let _ = t.await;
        }
    }
}

/// Tokio time mapped onto Unix time at start.
struct Clock {
    wall_ms: i64,
    start: Instant,
}

impl Clock {
    fn start() -> Self {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            wall_ms: i64::try_from(wall.as_millis()).unwrap_or(0),
            start: Instant::now(),
        }
    }

    fn now(&self) -> Timestamp {
        let elapsed = i64::try_from(self.start.elapsed().as_millis()).unwrap_or(i64::MAX);
        Timestamp::from_unix_ms(self.wall_ms.saturating_add(elapsed))
    }

    fn instant(&self, t: Timestamp) -> Instant {
        let ms = u64::try_from(t.unix_ms().saturating_sub(self.wall_ms)).unwrap_or(0);
        self.start + std::time::Duration::from_millis(ms)
    }
}

struct Driver {
    inner: Arc<Inner>,
    correlator: Correlator,
    clock: Clock,
}

/// Most inputs folded in before the correlator evaluates: a poll's burst is handled as one.
const BATCH: usize = 4096;

impl Driver {
    async fn run(
        mut self,
        mut poller: Option<broadcast::Receiver<PollerEvent>>,
        mut input: mpsc::Receiver<Input>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        loop {
            let deadline = self
                .correlator
                .poll_timeout()
                .map(|t| self.clock.instant(t));
            tokio::select! {
                r = recv_poller(&mut poller) => match r {
                    Some(Ok(ev)) => {
                        self.poller(&ev);
                        self.drain_poller(&mut poller);
                    }
                    Some(Err(lost)) => self.lagged(lost),
                    None => poller = None,
                },
                i = input.recv() => match i {
                    Some(i) => {
                        self.input(i);
                        for _ in 0..BATCH {
                            let Ok(i) = input.try_recv() else { break };
                            self.input(i);
                        }
                    }
                    None => return,
                },
                () = sleep_until(deadline) => {}
                _ = shutdown.changed() => return,
            }
            let now = self.clock.now();
            if self.correlator.poll_timeout().is_some_and(|t| t <= now) {
                self.correlator.handle_timeout(now);
            }
            self.publish();
        }
    }

    fn poller(&mut self, ev: &PollerEvent) {
        let now = self.clock.now();
        self.correlator.handle_poller(now, ev);
    }

    fn drain_poller(&mut self, poller: &mut Option<broadcast::Receiver<PollerEvent>>) {
        let Some(rx) = poller else { return };
        for _ in 0..BATCH {
            match rx.try_recv() {
                Ok(ev) => self.poller(&ev),
                Err(broadcast::error::TryRecvError::Lagged(n)) => self.lagged(n),
                Err(_) => break,
            }
        }
    }

    fn lagged(&self, n: u64) {
        tracing::warn!(lost = n, "incident service fell behind the poller's events");
        self.inner
            .counters
            .poller_lagged
            .fetch_add(n, Ordering::Relaxed);
    }

    fn input(&mut self, i: Input) {
        let now = self.clock.now();
        match i {
            Input::Kuma(ev) => self.correlator.handle_kuma(now, &ev),
            Input::Totals(t) => self.correlator.set_port_totals(now, t),
        }
    }

    fn publish(&mut self) {
        let keep = self.inner.config.recent;
        let mut store = lock(&self.inner.store);
        store.stats = self.correlator.stats();
        while let Some(ev) = self.correlator.poll_event() {
            let inc = ev.incident();
            tracing::info!(
                event = ev.name(),
                id = %inc.id,
                kind = inc.kind.as_str(),
                olt = inc.olt.as_ref().map(|o| o.as_str()),
                onus = inc.onus.len(),
                "incident"
            );
            store.apply(&ev, keep);
            self.inner
                .counters
                .published
                .fetch_add(1, Ordering::Relaxed);
            let _ = self.inner.events.send(ev);
        }
    }
}

/// The next poller event, or how many were lost to lag; `None` once the channel is closed.
async fn recv_poller(
    rx: &mut Option<broadcast::Receiver<PollerEvent>>,
) -> Option<Result<PollerEvent, u64>> {
    let Some(r) = rx else {
        return std::future::pending().await;
    };
    match r.recv().await {
        Ok(ev) => Some(Ok(ev)),
        Err(broadcast::error::RecvError::Lagged(n)) => Some(Err(n)),
        Err(broadcast::error::RecvError::Closed) => None,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
