//! Counters for Prometheus, as a plain struct the hub renders (this crate has no metrics
//! dependency).

use std::fmt::Write as _;

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

impl IncidentMetrics {
    /// The counters in Prometheus text exposition format, for a hub that wants them as is.
    pub fn to_prometheus(&self) -> String {
        let mut s = String::new();
        let c = &self.correlator;
        let counters: [(&str, &str, u64); 8] = [
            ("poller_events", "Poller events handled", c.poller_events),
            ("kuma_events", "Kuma events handled", c.kuma_events),
            (
                "kuma_unmapped",
                "Kuma events of monitors mapped to no OLT",
                c.kuma_unmapped,
            ),
            (
                "onu_excluded",
                "ONU down events with admin or reset causes",
                c.excluded,
            ),
            (
                "onu_suppressed",
                "ONU events of unreachable OLTs",
                c.suppressed,
            ),
            (
                "webhook_tests",
                "Webhooks without side effect",
                self.webhook_tests,
            ),
            (
                "poller_lagged",
                "Poller events lost to lag",
                self.poller_lagged,
            ),
            (
                "events_published",
                "Incident events published",
                self.events_published,
            ),
        ];
        for (name, help, v) in counters {
            let _ = writeln!(s, "# HELP fibreplane_incidents_{name}_total {help}.");
            let _ = writeln!(s, "# TYPE fibreplane_incidents_{name}_total counter");
            let _ = writeln!(s, "fibreplane_incidents_{name}_total {v}");
        }
        let r = &self.webhook_refused;
        let _ = writeln!(
            s,
            "# HELP fibreplane_kuma_webhooks_refused_total Webhook requests refused."
        );
        let _ = writeln!(s, "# TYPE fibreplane_kuma_webhooks_refused_total counter");
        for (reason, v) in [
            ("unauthorized", r.unauthorized),
            ("bad_body", r.bad_body),
            ("too_large", r.too_large),
            ("busy", r.busy),
        ] {
            let _ = writeln!(
                s,
                "fibreplane_kuma_webhooks_refused_total{{reason=\"{reason}\"}} {v}"
            );
        }
        let _ = writeln!(s, "# TYPE fibreplane_kuma_webhooks_accepted_total counter");
        let _ = writeln!(
            s,
            "fibreplane_kuma_webhooks_accepted_total {}",
            self.webhook_events
        );
        let _ = writeln!(
            s,
            "# HELP fibreplane_incidents_open Open incidents by kind."
        );
        let _ = writeln!(s, "# TYPE fibreplane_incidents_open gauge");
        for k in &self.incidents {
            let _ = writeln!(
                s,
                "fibreplane_incidents_open{{kind=\"{}\"}} {}",
                k.kind.as_str(),
                k.open
            );
        }
        let _ = writeln!(s, "# TYPE fibreplane_incidents_total counter");
        for k in &self.incidents {
            let kind = k.kind.as_str();
            let _ = writeln!(
                s,
                "fibreplane_incidents_total{{kind=\"{kind}\",state=\"opened\"}} {}",
                k.opened_total
            );
            let _ = writeln!(
                s,
                "fibreplane_incidents_total{{kind=\"{kind}\",state=\"resolved\"}} {}",
                k.resolved_total
            );
        }
        s
    }
}
