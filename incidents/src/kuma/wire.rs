//! Kuma's JSON as it is on the wire (`{"heartbeat": …, "monitor": …, "msg": …}`), kept apart from
//! the domain types. Every field is optional and unknown fields are ignored: 1.23.x sends fewer
//! fields than 2.x, and each release adds some.

use serde::Deserialize;
use serde_json::Value;

use super::{KumaEvent, KumaStatus, KumaTag, MonitorId, Notification};
use crate::{IncidentError, Timestamp};

/// The object every variant carries.
#[derive(Debug, Default, Deserialize)]
pub(super) struct WirePayload {
    #[serde(default)]
    pub(super) heartbeat: Option<WireHeartbeat>,
    #[serde(default)]
    pub(super) monitor: Option<WireMonitor>,
    #[serde(default)]
    pub(super) msg: Option<String>,
}

/// `Heartbeat.toJSONAsync()` (2.x) or `toJSON()` (1.23.x), the fields the correlator uses.
#[derive(Debug, Deserialize)]
pub(super) struct WireHeartbeat {
    #[serde(rename = "monitorID", default)]
    monitor_id: Option<u64>,
    status: i64,
    #[serde(default)]
    time: Option<String>,
    #[serde(default)]
    msg: Option<String>,
    #[serde(default)]
    important: Option<bool>,
    #[serde(rename = "lastDownTime", default)]
    last_down_time: Option<String>,
}

/// `Monitor.toJSON(preloadData, false)`, the fields the correlator uses.
#[derive(Debug, Deserialize)]
pub(super) struct WireMonitor {
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    hostname: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(rename = "pathName", default)]
    path_name: Option<String>,
    // Kuma builds tags with `preparePreloadData()`: `{tag_id, monitor_id, value, name, color}`.
    // A value may be null or, from hand-made bodies, a number.
    #[serde(default)]
    tags: Option<Vec<WireTag>>,
}

#[derive(Debug, Deserialize)]
struct WireTag {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    value: Option<Value>,
}

fn status(v: i64) -> Result<KumaStatus, IncidentError> {
    Ok(match v {
        0 => KumaStatus::Down,
        1 => KumaStatus::Up,
        2 => KumaStatus::Pending,
        3 => KumaStatus::Maintenance,
        other => {
            return Err(IncidentError::BadNotification(format!(
                "heartbeat status {other} is not 0–3"
            )));
        }
    })
}

fn time(s: Option<String>) -> Result<Option<Timestamp>, IncidentError> {
    // Kuma leaves fields empty rather than absent in a few places; treat "" as absent.
    s.filter(|s| !s.is_empty())
        .map(|s| Timestamp::parse_kuma(&s))
        .transpose()
}

fn tag(t: WireTag) -> Option<KumaTag> {
    let name = t.name.filter(|n| !n.is_empty())?;
    let value = match t.value {
        Some(Value::String(s)) => s,
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    };
    Some(KumaTag { name, value })
}

/// Wire payload → domain notification.
pub(super) fn into_notification(p: WirePayload) -> Result<Notification, IncidentError> {
    let Some(hb) = p.heartbeat else {
        return Ok(match p.monitor {
            None => Notification::Test { msg: p.msg },
            Some(m) => Notification::Info {
                monitor_id: m.id.map(MonitorId),
                msg: p.msg,
            },
        });
    };
    let monitor_id = match (hb.monitor_id, p.monitor.as_ref().and_then(|m| m.id)) {
        (Some(a), Some(b)) if a != b => {
            return Err(IncidentError::BadNotification(format!(
                "heartbeat.monitorID {a} is not monitor.id {b}"
            )));
        }
        (Some(id), _) | (None, Some(id)) => MonitorId(id),
        (None, None) => {
            return Err(IncidentError::BadNotification(
                "no monitor id (heartbeat.monitorID or monitor.id)".into(),
            ));
        }
    };
    let m = p.monitor;
    let (name, hostname, url, monitor_type, group, tags) = match m {
        Some(m) => (
            m.name,
            m.hostname,
            m.url,
            m.kind,
            m.path_name,
            m.tags
                .unwrap_or_default()
                .into_iter()
                .filter_map(tag)
                .collect(),
        ),
        None => (None, None, None, None, None, Vec::new()),
    };
    Ok(Notification::Event(KumaEvent {
        monitor_id,
        name,
        status: status(hb.status)?,
        at: time(hb.time)?,
        last_down_at: time(hb.last_down_time)?,
        resend: hb.important == Some(false),
        message: hb.msg,
        tags,
        hostname,
        url,
        monitor_type,
        group,
    }))
}
