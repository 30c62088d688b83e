//! Counters for Prometheus, as a plain struct the hub renders through its metrics client (this
//! crate has no metrics dependency).

use serde::Serialize;

use crate::correlate::{CorrelatorStats, IncidentKind};

/// Per-kind incident counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KindCounts {
    /// The kind.
    pub kind: IncidentKind,
    /// Open now.
    pub open: u64,
    /// Opened since start.
    pub opened_total: u64,
    /// Resolved since start.
    pub resolved_total: u64,
}

/// Why webhook requests were refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Refusals {
    /// Missing or wrong secret (401).
    pub unauthorized: u64,
    /// Body not a Kuma notification (400).
    pub bad_body: u64,
    /// Body over the limit (413).
    pub too_large: u64,
    /// The service's input queue was full (503).
    pub busy: u64,
}

/// A snapshot of the service's counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentMetrics {
    /// What the correlator was given.
    pub correlator: CorrelatorStats,
    /// Webhook requests accepted with a monitor event.
    pub webhook_events: u64,
    /// Webhook requests accepted without side effect (Test button, expiry reminders).
    pub webhook_tests: u64,
    /// Webhook requests refused.
    pub webhook_refused: Refusals,
    /// Poller events lost because the service fell behind the poller's channel.
    pub poller_lagged: u64,
    /// Incident lifecycle events published.
    pub events_published: u64,
    /// Incidents by kind.
    pub incidents: Vec<KindCounts>,
}
