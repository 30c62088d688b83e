//! Incidents and their lifecycle events, as the hub publishes them (SSE, MQTT, `/outages`).
//!
//! The JSON shapes are stable: fields are only ever added. An event is
//! `{"event":"opened"|"updated"|"resolved","incident":{…}}`; the incident is whole in each
//! event, so a consumer never has to merge. A reopened incident (the same ONUs down again within
//! the flap window) arrives as `updated` with `state: "open"` and `reopens` incremented.

use std::fmt;

use fibreplane_types::olt::{DownCause, OltId, OnuKey, PonPort};
use serde::{Serialize, Serializer};

use crate::Timestamp;
use crate::directory::{CustomerId, Subscriber};
use crate::kuma::MonitorId;

/// An incident's id: the opening time in Unix milliseconds, bumped to stay unique, so ids do
/// not repeat after a restart (incidents live in memory only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct IncidentId(pub u64);

impl fmt::Display for IncidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What kind of outage, ordered from the least to the most serious for the fibre family (an
/// incident of one port only ever escalates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    /// One ONU down (LOSi or dying gasp): a customer matter, not an outage.
    SingleOnu,
    /// A subset of a port lost signal together: a distribution fibre or splitter branch.
    SplitterBranch,
    /// Most of a port lost signal together: the feeder fibre or the PON optic.
    FibreCut,
    /// Dying gasps across ports or OLTs: mains power.
    PowerOutage,
    /// The OLT does not answer SNMP and/or Kuma's monitors of it are down: site power or uplink.
    OltUnreachable,
}

impl IncidentKind {
    /// The snake_case name used in JSON and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SingleOnu => "single_onu",
            Self::SplitterBranch => "splitter_branch",
            Self::FibreCut => "fibre_cut",
            Self::PowerOutage => "power_outage",
            Self::OltUnreachable => "olt_unreachable",
        }
    }

    /// Every kind, for metrics.
    pub const ALL: [Self; 5] = [
        Self::SingleOnu,
        Self::SplitterBranch,
        Self::FibreCut,
        Self::PowerOutage,
        Self::OltUnreachable,
    ];
}

/// Open or resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentState {
    /// Ongoing.
    Open,
    /// Over (it may still reopen within the flap window).
    Resolved,
}

fn port_str<S: Serializer>(p: &PonPort, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(p)
}

/// One PON port an incident touches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentPort {
    /// The OLT.
    pub olt: OltId,
    /// `frame/slot/port`.
    #[serde(serialize_with = "port_str")]
    pub port: PonPort,
    /// The OLT's name for it (`GPON 0/1/3`), when known.
    pub name: Option<String>,
    /// ONUs on the port that count (admin-down ONUs excluded), from the latest snapshot.
    pub onus_total: Option<u32>,
    /// ONUs of this incident on the port.
    pub onus_affected: u32,
}

/// One ONU an incident affects, with the subscriber behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AffectedOnu {
    /// The OLT.
    pub olt: OltId,
    /// The PON port, `frame/slot/port`.
    #[serde(serialize_with = "port_str")]
    pub port: PonPort,
    /// The ONU id on the port.
    pub onu_id: u32,
    /// The port's ifIndex (with `onu_id`, the poller's key).
    pub if_index: u32,
    /// The ONU's serial.
    pub serial: Option<String>,
    /// Why it went down.
    pub cause: DownCause,
    /// When it went down, by the OLT's clock (absent when the OLT does not say).
    pub down_at: Option<Timestamp>,
    /// Whether it is back online.
    pub online: bool,
    /// Who is behind it (from the directory).
    #[serde(flatten)]
    pub subscriber: Subscriber,
}

impl AffectedOnu {
    /// The poller's key of this ONU.
    pub fn key(&self) -> OnuKey {
        OnuKey {
            if_index: self.if_index,
            onu_id: self.onu_id,
        }
    }
}

/// A Kuma monitor that reported this incident's element down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KumaEvidence {
    /// The monitor.
    pub monitor_id: MonitorId,
    /// Its name.
    pub name: Option<String>,
    /// When Kuma saw it down.
    pub down_at: Timestamp,
}

/// Why an `olt_unreachable` incident exists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// Since when the poller cannot reach the OLT (absent: it can).
    pub snmp_down_since: Option<Timestamp>,
    /// Kuma monitors of the OLT that are down.
    pub kuma: Vec<KumaEvidence>,
}

/// An outage (or a single-ONU matter) as the correlator sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    /// Its id.
    pub id: IncidentId,
    /// Its kind (a fibre incident may escalate: single → branch → cut).
    pub kind: IncidentKind,
    /// Open or resolved.
    pub state: IncidentState,
    /// The OLT, when the incident touches exactly one.
    pub olt: Option<OltId>,
    /// Every OLT it touches.
    pub olts: Vec<OltId>,
    /// The PON ports it touches.
    pub ports: Vec<IncidentPort>,
    /// The cause shared by its ONUs (`los`, `dying_gasp`), when they share one.
    pub cause: Option<DownCause>,
    /// The ONUs.
    pub onus: Vec<AffectedOnu>,
    /// Customers affected (deduplicated, from the directory).
    pub customers: Vec<CustomerId>,
    /// ONUs still down.
    pub onus_offline: u32,
    /// Evidence from SNMP reachability and Kuma.
    pub evidence: Evidence,
    /// When it began by the OLT's clock (the earliest ONU down time or the first evidence).
    pub started_at: Option<Timestamp>,
    /// When the correlator opened it.
    pub opened_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// When it resolved (absent while open).
    pub resolved_at: Option<Timestamp>,
    /// How many times it reopened after resolving.
    pub reopens: u32,
}

/// A lifecycle event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum IncidentEvent {
    /// A new incident.
    Opened {
        /// It.
        incident: Incident,
    },
    /// An incident changed: ONUs joined, kind escalated, evidence changed, or it reopened.
    Updated {
        /// It, whole.
        incident: Incident,
    },
    /// An incident is over.
    Resolved {
        /// It, whole.
        incident: Incident,
    },
}

impl IncidentEvent {
    /// The incident the event is about.
    pub fn incident(&self) -> &Incident {
        match self {
            Self::Opened { incident }
            | Self::Updated { incident }
            | Self::Resolved { incident } => incident,
        }
    }

    /// `opened`, `updated` or `resolved` (the SSE event name and MQTT topic leaf).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Opened { .. } => "opened",
            Self::Updated { .. } => "updated",
            Self::Resolved { .. } => "resolved",
        }
    }
}
