//! Uptime Kuma webhook notifications: every request variant Kuma sends, parsed into a
//! [`Notification`] (sans-IO: bytes in, typed value out).
//!
//! Variants (see the crate docs and `testdata/kuma/NOTICE.md`): a JSON POST (the default), a
//! `multipart/form-data` POST with one field `data`, a `custom` body (a LiquidJS template Kuma
//! sends as `application/x-www-form-urlencoded` unless told otherwise, so the body is parsed for
//! what it is, not for what it declares), a 2.x GET with the query parameters `msg`,
//! `heartbeat` and `monitor`, and the Test button's `{"heartbeat":null,"monitor":null,…}`.
//! 1.23.x sends the same object with fewer heartbeat and monitor fields; unknown fields are
//! ignored everywhere, because the set grows with every Kuma release.
//!
//! The wire types (`wire.rs`) stay private; callers see [`KumaEvent`].

mod body;
mod target;
mod wire;

use std::fmt;

use serde::Serialize;

pub use target::{MonitorMap, MonitorTarget, PortRef};

use crate::{IncidentError, Timestamp};

/// Size and nesting limits for webhook bodies. Kuma's own notifications are a few KiB (a
/// monitor has about a hundred fields); a saved response body can add some.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KumaLimits {
    /// Largest body (or query string) accepted, in bytes.
    pub max_body: usize,
    /// Deepest JSON nesting accepted (objects and arrays).
    pub max_depth: usize,
}

impl Default for KumaLimits {
    fn default() -> Self {
        Self {
            max_body: 256 * 1024,
            max_depth: 32,
        }
    }
}

/// One webhook request as the HTTP layer received it, reduced to what the parser needs.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebhookRequest<'a> {
    /// The `Content-Type` header, if any.
    pub content_type: Option<&'a str>,
    /// The body (empty for a GET).
    pub body: &'a [u8],
    /// The raw query string, without `?` (Kuma 2.x GET sends the notification here).
    pub query: Option<&'a str>,
}

/// A Kuma monitor's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct MonitorId(pub u64);

impl fmt::Display for MonitorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A monitor's status in a heartbeat (`src/util.ts`). Webhooks carry only Down and Up; the
/// other two are kept so a custom template that sends them is understood, not refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KumaStatus {
    /// 0.
    Down,
    /// 1.
    Up,
    /// 2: retrying before declaring Down.
    Pending,
    /// 3: under maintenance.
    Maintenance,
}

/// A monitor tag: `{"name": "olt", "value": "olt01"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KumaTag {
    /// The tag's name.
    pub name: String,
    /// Its value (empty when the tag has none).
    pub value: String,
}

/// A monitor's state change as Kuma reported it: the domain view of one heartbeat notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KumaEvent {
    /// The monitor.
    pub monitor_id: MonitorId,
    /// Its name.
    pub name: Option<String>,
    /// Down or Up (or, from custom templates, Pending/Maintenance).
    pub status: KumaStatus,
    /// The heartbeat's time (Kuma writes UTC without a zone).
    pub at: Option<Timestamp>,
    /// On an Up: when the outage began (the last important Down beat).
    pub last_down_at: Option<Timestamp>,
    /// `important: false`: a reminder that the monitor is still down, not a new outage.
    pub resend: bool,
    /// The check's message (`"timeout"`, `"N/A"`).
    pub message: Option<String>,
    /// The monitor's tags.
    pub tags: Vec<KumaTag>,
    /// The monitor's hostname, for ping/port monitors.
    pub hostname: Option<String>,
    /// The monitor's URL, for HTTP monitors (non-HTTP monitors carry `"https://"`).
    pub url: Option<String>,
    /// The monitor type (`ping`, `http`, `snmp`, …).
    pub monitor_type: Option<String>,
    /// The group path (`"OLTs / OLT-Quebec-01 ping"`).
    pub group: Option<String>,
}

/// What one webhook request said.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notification {
    /// The Test button: accepted, no side effect.
    Test {
        /// The message (`"<notification name> Testing"`).
        msg: Option<String>,
    },
    /// A notification about a monitor without a heartbeat (Kuma's certificate and domain expiry
    /// reminders): accepted, no side effect on outages.
    Info {
        /// The monitor, when given.
        monitor_id: Option<MonitorId>,
        /// The message.
        msg: Option<String>,
    },
    /// A monitor went down or came back up.
    Event(KumaEvent),
}

/// Parses one webhook request in any of Kuma's variants. Every malformed request is an error
/// that says what was wrong; nothing here panics on any input.
pub fn parse(req: &WebhookRequest<'_>, limits: KumaLimits) -> Result<Notification, IncidentError> {
    let query_len = req.query.map_or(0, str::len);
    if req.body.len() > limits.max_body || query_len > limits.max_body {
        return Err(IncidentError::TooLarge {
            size: req.body.len().max(query_len),
            limit: limits.max_body,
        });
    }
    let payload = body::payload(req, limits)?;
    wire::into_notification(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_payload_is_a_test() {
        let req = WebhookRequest {
            content_type: Some("application/json"),
            body: br#"{"heartbeat":null,"monitor":null,"msg":"My Webhook Testing"}"#,
            query: None,
        };
        assert_eq!(
            parse(&req, KumaLimits::default()).unwrap(),
            Notification::Test {
                msg: Some("My Webhook Testing".into())
            }
        );
    }

    #[test]
    fn too_large_is_refused_before_parsing() {
        let body = vec![b' '; 100];
        let req = WebhookRequest {
            body: &body,
            ..WebhookRequest::default()
        };
        let limits = KumaLimits {
            max_body: 10,
            max_depth: 4,
        };
        assert!(matches!(
            parse(&req, limits),
            Err(IncidentError::TooLarge { size: 100, .. })
        ));
    }
}
