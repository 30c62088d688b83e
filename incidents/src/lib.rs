//! Outage correlation for Fibreplane: OLT poller events and Uptime Kuma webhooks become
//! incidents (fibre cut, splitter branch, power outage, OLT unreachable, single ONU) with the
//! ONUs, CPEs and customers they affect.
//!
//! Layers, from pure to IO:
//! - [`kuma`] parses every Uptime Kuma webhook variant into a [`KumaEvent`] (bytes in, typed
//!   value out) and maps monitors to OLTs and PON ports;
//! - [`correlate`] is the correlator: a deterministic state machine driven by `now` and inputs,
//!   with incident lifecycle events polled out; it never reads a clock and does no IO;
//! - [`IncidentService`] is the thin tokio driver: it consumes the poller's broadcast channel and
//!   parsed webhooks, runs the correlator on tokio time, keeps open and recent incidents, and
//!   publishes [`IncidentEvent`]s on a broadcast channel;
//! - [`http`] has the two axum routers the hub mounts: the Kuma webhook receiver and the
//!   read-only `/outages` API.
//!
//! Incidents live in memory only. After a restart the poller's first poll is a baseline, so
//! ONUs already down are not re-reported: outages that began before the restart are missed
//! until their ONUs change state, and Kuma's resends (`important: false`) restore its monitors'
//! DOWN state.
//!
//! Architecture invariants: the correlator and the Kuma parser never do IO and never read a
//! clock; webhook bodies are bounded before parsing and never panic; the webhook secret is
//! never logged.
#![warn(missing_docs)]

pub mod correlate;
pub mod directory;
mod error;
pub mod http;
pub mod kuma;
pub mod metrics;
mod service;
mod timestamp;

pub use correlate::{
    Correlator, CorrelatorConfig, CorrelatorStats, Incident, IncidentEvent, IncidentId,
    IncidentKind, IncidentState, PortTotal, PortTotals,
};
pub use directory::{Directory, InMemoryDirectory, NoDirectory, Subscriber};
pub use error::IncidentError;
pub use kuma::{KumaEvent, Notification};
pub use metrics::IncidentMetrics;
pub use service::{IncidentService, ServiceConfig};
pub use timestamp::Timestamp;
