//! The outage correlator, sans-IO: poller events, Kuma events and per-port totals in, incident
//! lifecycle events out. It never reads a clock; every input carries `now`, and the driver
//! calls [`Correlator::handle_timeout`] at [`Correlator::poll_timeout`] (quinn's shape).
//!
//! How it decides (see `olt-snmp.md` §8 in the notes that seeded this crate):
//! - Each offline ONU is put in a class by its down cause: the LOS family (and causes the OLT
//!   did not give) may be fibre; dying gasps are power; admin and reset causes are excluded from
//!   every count; authentication failures are single-ONU matters.
//! - Fibre ONUs of one PON port whose OLT down times fall within `cluster_window` form a
//!   cluster: at least `fibre_cut_ratio` of the port is a fibre cut, at least `branch_min_onus`
//!   a splitter branch, one ONU a single-ONU matter (after `single_onu_delay`, unless a cluster
//!   or a power outage takes it first). ONUs seen by later polls join the open incident and may
//!   escalate it.
//! - Dying gasps on any ports and OLTs within `power_window` are a power outage when there are
//!   at least `power_min_onus` of them on `power_min_ports` ports.
//! - SNMP unreachability and Kuma DOWNs of monitors mapped to an OLT make one `olt_unreachable`
//!   incident per OLT; while it lasts, that OLT's ONU events are counted and held back, and
//!   those still down once SNMP and Kuma agree the OLT is back are classified as usual.
//! - Hysteresis: an incident resolves when `restore_ratio` of its ONUs are back (all evidence
//!   gone for an OLT), after `quiet_time` and no sooner than `min_open` after opening. The same
//!   ONUs going down again within `flap_window` reopen it, and it cannot resolve twice in one
//!   window.

mod cluster;
mod config;
mod incident;
mod lifecycle;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use fibreplane_types::olt::{
    DownCause, EventKind, OltId, OltSnapshot, OnuKey, OnuState, PollerEvent, PonPort,
};
use serde::Serialize;

pub use config::CorrelatorConfig;
pub use incident::{
    AffectedOnu, Evidence, Incident, IncidentEvent, IncidentId, IncidentKind, IncidentPort,
    IncidentState, KumaEvidence,
};

use crate::Timestamp;
use crate::directory::Directory;
use crate::kuma::{KumaEvent, KumaStatus, MonitorId, PortRef};

/// How many ONUs each PON port of one OLT has, from its latest snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortTotals {
    /// The OLT.
    pub olt: OltId,
    /// Its ports.
    pub ports: Vec<PortTotal>,
}

/// One port's total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortTotal {
    /// The port.
    pub port: PonPort,
    /// The OLT's name for it.
    pub name: Option<String>,
    /// ONUs on it, not counting those down for admin or reset causes (they cannot lose signal).
    pub onus: u32,
}

impl PortTotals {
    /// Counts a snapshot's ONUs per port.
    pub fn from_snapshot(snap: &OltSnapshot) -> Self {
        let mut by_port: BTreeMap<PonPort, PortTotal> = BTreeMap::new();
        for p in &snap.ports {
            by_port.entry(p.port).or_insert_with(|| PortTotal {
                port: p.port,
                name: p.name.clone(),
                onus: 0,
            });
        }
        for onu in &snap.onus {
            let t = by_port.entry(onu.port).or_insert_with(|| PortTotal {
                port: onu.port,
                name: onu.port_name.clone(),
                onus: 0,
            });
            if let OnuState::Offline { cause } = onu.state
                && class(cause) == Class::Excluded
            {
                continue;
            }
            t.onus += 1;
        }
        Self {
            olt: snap.olt.clone(),
            ports: by_port.into_values().collect(),
        }
    }
}

/// Counters of what the correlator was given and what it did with it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CorrelatorStats {
    /// Poller events handled.
    pub poller_events: u64,
    /// Kuma events handled.
    pub kuma_events: u64,
    /// Kuma events for monitors mapped to no OLT.
    pub kuma_unmapped: u64,
    /// Offline ONUs with an admin or reset cause (never counted).
    pub excluded: u64,
    /// ONU events held back because their OLT was unreachable (classified once it answers).
    pub suppressed: u64,
    /// Events that carry nothing for correlation (optical levels, events without an ONU key).
    pub ignored: u64,
}

/// How a down cause counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Possibly the fibre (LOS family, and causes the OLT did not give: NetSense counts every
    /// ONU that went down without a dying gasp as a potential fibre fault).
    Fibre,
    /// Mains power at the customer's.
    Power,
    /// A matter of one ONU whatever its neighbours do (authentication, registration).
    Individual,
    /// Admin or reset: excluded from every count.
    Excluded,
}

fn class(cause: DownCause) -> Class {
    match cause {
        DownCause::Los | DownCause::Other | DownCause::Unknown => Class::Fibre,
        DownCause::DyingGasp => Class::Power,
        DownCause::Admin | DownCause::Reset => Class::Excluded,
        _ => Class::Individual,
    }
}

#[derive(Debug, Clone)]
struct Down {
    cause: DownCause,
    class: Class,
    olt_at: Option<Timestamp>,
    seen: Timestamp,
}

impl Down {
    /// The time to cluster on: the OLT's, else when we saw it.
    fn at(&self) -> Timestamp {
        self.olt_at.unwrap_or(self.seen)
    }
}

/// What the correlator remembers of one ONU: only ONUs that are down or in an incident.
#[derive(Debug, Clone)]
struct OnuTrack {
    port: PonPort,
    serial: Option<String>,
    down: Option<Down>,
    incident: Option<IncidentId>,
    /// The resolved incident it belonged to, which a new cluster containing it may reopen.
    prior: Option<IncidentId>,
    /// Left down when its incident resolved: a customer matter now, not pending again until it
    /// changes state.
    orphan: bool,
}

impl OnuTrack {
    /// Whether it counts as back for its incident.
    fn is_back(&self) -> bool {
        self.down
            .as_ref()
            .is_none_or(|d| d.class == Class::Excluded)
    }
}

#[derive(Debug, Clone)]
struct KumaDown {
    name: Option<String>,
    since: Timestamp,
    port: Option<PortRef>,
}

#[derive(Debug, Default)]
struct OltState {
    totals: HashMap<PonPort, PortTotal>,
    onus: HashMap<OnuKey, OnuTrack>,
    pending: BTreeSet<OnuKey>,
    settle_at: Option<Timestamp>,
    snmp_down: Option<Timestamp>,
    kuma_down: BTreeMap<MonitorId, KumaDown>,
    /// The OLT's latest `olt_unreachable` incident, while it is held.
    olt_incident: Option<IncidentId>,
}

impl OltState {
    /// Whether SNMP or Kuma says the OLT itself is unreachable.
    fn unreachable(&self) -> bool {
        self.snmp_down.is_some() || self.kuma_down.values().any(|k| k.port.is_none())
    }

    /// A port reference resolved against the ports this OLT is known to have.
    fn resolve_port(&self, r: &PortRef) -> Option<PonPort> {
        match r {
            PortRef::Position(p) => Some(*p),
            PortRef::Name(n) => self
                .totals
                .values()
                .find(|t| t.name.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(n)))
                .map(|t| t.port),
        }
    }
}

/// Which family an incident belongs to, for joining ONUs to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Fibre,
    Power,
    Individual,
    Olt,
}

/// What to publish for an incident at the end of an evaluation (the strongest wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Emit {
    Nothing,
    Updated,
    Resolved,
    Opened,
}

type OnuRef = (OltId, OnuKey);

#[derive(Debug)]
struct Tracked {
    incident: Incident,
    family: Family,
    index: HashMap<OnuRef, usize>,
    /// The earliest and latest ONU down times (OLT clock).
    span: Option<(Timestamp, Timestamp)>,
    clear_since: Option<Timestamp>,
    last_resolved: Option<Timestamp>,
    /// Members left down when it resolved: customer matters now, never blocking it again.
    orphans: std::collections::HashSet<OnuRef>,
    emit: Emit,
}

/// The correlator. See the module docs for the rules.
pub struct Correlator {
    config: CorrelatorConfig,
    directory: Arc<dyn Directory>,
    olts: BTreeMap<OltId, OltState>,
    incidents: BTreeMap<IncidentId, Tracked>,
    next_id: u64,
    out: VecDeque<IncidentEvent>,
    wake: Option<Timestamp>,
    stats: CorrelatorStats,
}

impl std::fmt::Debug for Correlator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Correlator")
            .field("olts", &self.olts.len())
            .field("incidents", &self.incidents.len())
            .finish_non_exhaustive()
    }
}

impl Correlator {
    /// A correlator with nothing known yet; `now` seeds incident ids.
    pub fn new(config: CorrelatorConfig, directory: Arc<dyn Directory>, now: Timestamp) -> Self {
        Self {
            config,
            directory,
            olts: BTreeMap::new(),
            incidents: BTreeMap::new(),
            next_id: u64::try_from(now.unix_ms()).unwrap_or(0),
            out: VecDeque::new(),
            wake: None,
            stats: CorrelatorStats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &CorrelatorConfig {
        &self.config
    }

    /// Counters.
    pub fn stats(&self) -> CorrelatorStats {
        self.stats
    }

    fn wake_at(&mut self, t: Timestamp) {
        self.wake = Some(self.wake.map_or(t, |w| w.min(t)));
    }

    /// When [`Self::handle_timeout`] should run next (`None`: only after the next input).
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.wake
    }

    /// The next lifecycle event to publish.
    pub fn poll_event(&mut self) -> Option<IncidentEvent> {
        self.out.pop_front()
    }

    /// Incidents held: every open one, and resolved ones until their flap window ends.
    pub fn incidents(&self) -> impl Iterator<Item = &Incident> {
        self.incidents.values().map(|t| &t.incident)
    }

    /// Replaces an OLT's per-port totals (from its latest snapshot).
    pub fn set_port_totals(&mut self, now: Timestamp, totals: PortTotals) {
        let olt = self.olts.entry(totals.olt).or_default();
        olt.totals = totals.ports.into_iter().map(|t| (t.port, t)).collect();
        self.wake_at(now);
    }

    /// Folds in one poller event.
    pub fn handle_poller(&mut self, now: Timestamp, ev: &PollerEvent) {
        self.stats.poller_events += 1;
        let olt = self.olts.entry(ev.olt.clone()).or_default();
        match &ev.kind {
            EventKind::OltUnreachable { .. } => {
                olt.snmp_down.get_or_insert(now);
            }
            EventKind::OltReachable => olt.snmp_down = None,
            EventKind::OnuOffline { cause, at } => {
                let (Some(key), Some(port)) = (ev.onu, ev.port) else {
                    self.stats.ignored += 1;
                    return;
                };
                let down = Down {
                    cause: *cause,
                    class: class(*cause),
                    olt_at: at.as_ref().and_then(Timestamp::parse_olt),
                    seen: now,
                };
                self.onu_down(now, &ev.olt, key, port, ev.serial.clone(), down);
            }
            EventKind::OnuOnline => {
                let Some(key) = ev.onu else {
                    self.stats.ignored += 1;
                    return;
                };
                self.onu_up(&ev.olt, key);
            }
            _ => {
                self.stats.ignored += 1;
                return;
            }
        }
        self.wake_at(now);
    }

    fn onu_down(
        &mut self,
        now: Timestamp,
        olt_id: &OltId,
        key: OnuKey,
        port: PonPort,
        serial: Option<String>,
        down: Down,
    ) {
        let olt = self.olts.entry(olt_id.clone()).or_default();
        let suppressed = olt.unreachable();
        let track = olt.onus.entry(key).or_insert_with(|| OnuTrack {
            port,
            serial: None,
            down: None,
            incident: None,
            prior: None,
            orphan: false,
        });
        track.port = port;
        if serial.is_some() {
            track.serial = serial;
        }
        let class = down.class;
        let (cause, at) = (down.cause, down.olt_at);
        track.down = Some(down);
        track.orphan = false;
        let incident = track.incident;
        olt.pending.remove(&key);
        if class == Class::Excluded {
            self.stats.excluded += 1;
        } else if suppressed {
            self.stats.suppressed += 1;
        }
        if let Some(id) = incident {
            self.member_down(olt_id, key, id, cause, at);
            return;
        }
        // While the OLT is unreachable its ONUs are held, not classified: what is still down
        // once it answers again (and Kuma agrees) is real and is correlated then.
        if class != Class::Excluded {
            let olt = self.olts.entry(olt_id.clone()).or_default();
            olt.pending.insert(key);
            let settle = now.plus(self.config.settle);
            olt.settle_at = Some(olt.settle_at.map_or(settle, |s| s.max(settle)));
        }
    }

    /// A member of an incident went down again: an open incident just stops clearing; a
    /// resolved one lets the ONU go, remembering it, so a new cluster with it reopens the
    /// incident.
    fn member_down(
        &mut self,
        olt_id: &OltId,
        key: OnuKey,
        id: IncidentId,
        cause: DownCause,
        at: Option<Timestamp>,
    ) {
        let Some(t) = self.incidents.get_mut(&id) else {
            return;
        };
        if let Some(&i) = t.index.get(&(olt_id.clone(), key)) {
            let m = &mut t.incident.onus[i];
            m.online = false;
            m.cause = cause;
            m.down_at = at.or(m.down_at);
        }
        if t.incident.state == IncidentState::Open {
            t.clear_since = None;
            return;
        }
        let olt = self.olts.entry(olt_id.clone()).or_default();
        if let Some(track) = olt.onus.get_mut(&key) {
            track.incident = None;
            track.prior = Some(id);
            if track
                .down
                .as_ref()
                .is_some_and(|d| d.class != Class::Excluded)
            {
                olt.pending.insert(key);
                let settle = track
                    .down
                    .as_ref()
                    .map_or(Timestamp::from_unix_ms(0), |d| d.seen);
                let settle = settle.plus(self.config.settle);
                olt.settle_at = Some(olt.settle_at.map_or(settle, |s| s.max(settle)));
            }
        }
    }

    fn onu_up(&mut self, olt_id: &OltId, key: OnuKey) {
        let Some(olt) = self.olts.get_mut(olt_id) else {
            return;
        };
        olt.pending.remove(&key);
        let Some(track) = olt.onus.get_mut(&key) else {
            return;
        };
        track.down = None;
        track.orphan = false;
        let Some(id) = track.incident else {
            // Not in any incident: nothing to remember (a pending ONU that came back in time
            // never becomes one).
            olt.onus.remove(&key);
            return;
        };
        if let Some(t) = self.incidents.get_mut(&id)
            && let Some(&i) = t.index.get(&(olt_id.clone(), key))
        {
            t.incident.onus[i].online = true;
        }
    }

    /// Folds in one Kuma event. Events of monitors mapped to no OLT are counted and dropped; a
    /// resend (`important: false`) of a known DOWN changes nothing, and one of an unknown DOWN
    /// (after a restart) records it.
    pub fn handle_kuma(&mut self, now: Timestamp, ev: &KumaEvent) {
        self.stats.kuma_events += 1;
        let Some(target) = self.config.monitors.target(ev) else {
            self.stats.kuma_unmapped += 1;
            return;
        };
        let olt = self.olts.entry(target.olt).or_default();
        match ev.status {
            KumaStatus::Down => {
                olt.kuma_down
                    .entry(ev.monitor_id)
                    .or_insert_with(|| KumaDown {
                        name: ev.name.clone(),
                        since: ev.at.unwrap_or(now),
                        port: target.port,
                    });
            }
            KumaStatus::Up => {
                olt.kuma_down.remove(&ev.monitor_id);
            }
            KumaStatus::Pending | KumaStatus::Maintenance => return,
        }
        self.wake_at(now);
    }

    /// Re-evaluates everything that is due: OLT reachability, pending ONUs, escalation,
    /// resolution, expiry. Cheap when nothing is due.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        self.wake = None;
        self.olt_level(now);
        self.classify_pending(now);
        self.lifecycle(now);
        self.flush();
    }

    fn flush(&mut self) {
        for t in self.incidents.values_mut() {
            let emit = std::mem::replace(&mut t.emit, Emit::Nothing);
            let incident = t.incident.clone();
            match emit {
                Emit::Nothing => {}
                Emit::Opened => self.out.push_back(IncidentEvent::Opened { incident }),
                Emit::Updated => self.out.push_back(IncidentEvent::Updated { incident }),
                Emit::Resolved => self.out.push_back(IncidentEvent::Resolved { incident }),
            }
        }
    }
}
