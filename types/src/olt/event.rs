//! The events the poller diffs from successive snapshots of one OLT and publishes on its
//! channel; the outage correlator and the hub's event bus consume them.

use serde::Serialize;

use super::{Dbm, DownCause, OltId, OltTime, OnuKey, PonPort};

/// An optical alarm level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OpticalLevel {
    /// Above the warning threshold.
    Normal,
    /// At or below warning.
    Warning,
    /// At or below critical.
    Critical,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// An ONU went offline (or was first seen offline after being online or unknown).
    OnuOffline {
        /// The cause class.
        cause: DownCause,
        /// The OLT's last-down time, for clustering.
        at: Option<OltTime>,
    },
    /// An offline ONU is back online.
    OnuOnline,
    /// An ONU's receive level crossed a threshold.
    Optical {
        /// Previous level.
        from: OpticalLevel,
        /// New level.
        to: OpticalLevel,
        /// The receive level that caused it.
        rx_dbm: Dbm,
    },
    /// The OLT stopped answering (or answered garbage).
    OltUnreachable {
        /// Why (no secrets: error messages never contain credentials).
        error: String,
    },
    /// The OLT answers again.
    OltReachable,
}

/// One event, as published on the poller's channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PollerEvent {
    /// The OLT.
    pub olt: OltId,
    /// The ONU, for ONU events.
    pub onu: Option<OnuKey>,
    /// Its port.
    pub port: Option<PonPort>,
    /// Its serial.
    pub serial: Option<String>,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}
