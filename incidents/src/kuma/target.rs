//! Which network element a Kuma monitor watches: from its tags (`olt=<id>`, `pon=<port>`) or
//! from a configured monitor-id → OLT map, so a DOWN joins the OLT/PON topology without parsing
//! monitor names.

use std::collections::HashMap;

use fibreplane_types::olt::{OltId, PonPort};
use serde::Serialize;

use super::{KumaEvent, KumaTag, MonitorId};

/// A PON port as an operator writes it in a tag: `0/1/3`, or the OLT's own name (`GPON 0/1/3`),
/// resolved against the port names of the OLT's latest snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum PortRef {
    /// `frame/slot/port`.
    Position(PonPort),
    /// An `ifName`.
    Name(String),
}

impl PortRef {
    /// `0/1/3` is a position; anything else is a name.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        let nums: Vec<Option<u32>> = s.split('/').map(|p| p.parse().ok()).collect();
        Some(match nums.as_slice() {
            [Some(frame), Some(slot), Some(port)] => Self::Position(PonPort {
                frame: *frame,
                slot: *slot,
                port: *port,
            }),
            _ => Self::Name(s.to_owned()),
        })
    }
}

/// The element a monitor watches: an OLT, or one of its PON ports.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct MonitorTarget {
    /// The OLT.
    pub olt: OltId,
    /// The port, when the monitor watches one port rather than the OLT (or its site).
    pub port: Option<PortRef>,
}

/// How monitors map to network elements. The configured map wins over tags, so an operator can
/// fix a mis-tagged monitor without touching Kuma.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorMap {
    /// The tag naming the OLT (default `olt`).
    pub olt_tag: String,
    /// The tag naming the PON port (default `pon`).
    pub pon_tag: String,
    /// Explicit targets by monitor id.
    pub monitors: HashMap<MonitorId, MonitorTarget>,
}

impl Default for MonitorMap {
    fn default() -> Self {
        Self {
            olt_tag: "olt".to_owned(),
            pon_tag: "pon".to_owned(),
            monitors: HashMap::new(),
        }
    }
}

impl MonitorMap {
    /// The monitor's target, if it has one.
    pub fn target(&self, ev: &KumaEvent) -> Option<MonitorTarget> {
        if let Some(t) = self.monitors.get(&ev.monitor_id) {
            return Some(t.clone());
        }
        let olt = tag_value(&ev.tags, &self.olt_tag).and_then(|v| OltId::new(v).ok())?;
        let port = tag_value(&ev.tags, &self.pon_tag).and_then(|v| PortRef::parse(&v));
        Some(MonitorTarget { olt, port })
    }
}

/// A tag's value by name: `{"name":"olt","value":"olt01"}`, or a value-less tag written as
/// `olt=olt01` (Kuma lets operators create either).
fn tag_value(tags: &[KumaTag], name: &str) -> Option<String> {
    tags.iter().find_map(|t| {
        if t.name.eq_ignore_ascii_case(name) && !t.value.trim().is_empty() {
            return Some(t.value.trim().to_owned());
        }
        let (k, v) = t.name.split_once('=')?;
        (k.trim().eq_ignore_ascii_case(name) && !v.trim().is_empty()).then(|| v.trim().to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_refs() {
        assert_eq!(
            PortRef::parse("0/1/3"),
            Some(PortRef::Position(PonPort {
                frame: 0,
                slot: 1,
                port: 3
            }))
        );
        assert_eq!(
            PortRef::parse("GPON 0/1/3"),
            Some(PortRef::Name("GPON 0/1/3".into()))
        );
        assert_eq!(PortRef::parse(" "), None);
    }

    #[test]
    fn tags_in_both_spellings() {
        let t = |n: &str, v: &str| KumaTag {
            name: n.into(),
            value: v.into(),
        };
        assert_eq!(
            tag_value(&[t("OLT", "olt01")], "olt").as_deref(),
            Some("olt01")
        );
        assert_eq!(
            tag_value(&[t("olt=olt02", "")], "olt").as_deref(),
            Some("olt02")
        );
        assert_eq!(tag_value(&[t("site", "olt01")], "olt"), None);
    }
}
