//! State diffing, sans-IO: successive snapshots of one OLT in, events out.
//!
//! The first snapshot is a baseline and produces no ONU events (the poller cannot know when
//! those states began); later ones report transitions. Optical levels use hysteresis so a level
//! hovering at a threshold does not flap.

use std::collections::HashMap;

use crate::config::OpticalThresholds;
use crate::model::{
    Dbm, EventKind, OltId, OltSnapshot, OnuKey, OnuState, OpticalLevel, PollerEvent,
};

#[derive(Debug, Clone, Copy)]
struct Seen {
    state: OnuState,
    level: OpticalLevel,
}

/// Diffs snapshots of one OLT.
#[derive(Debug)]
pub struct Tracker {
    olt: OltId,
    thresholds: OpticalThresholds,
    seen: Option<HashMap<OnuKey, Seen>>,
    unreachable: bool,
}

impl Tracker {
    /// A tracker with no baseline yet.
    pub fn new(olt: OltId, thresholds: OpticalThresholds) -> Self {
        Self {
            olt,
            thresholds,
            seen: None,
            unreachable: false,
        }
    }

    /// The level for `rx`, given the previous level (hysteresis on the way back up).
    pub fn level(&self, prev: OpticalLevel, rx: Dbm) -> OpticalLevel {
        let t = &self.thresholds;
        let h = t.hysteresis_db;
        let v = rx.0;
        match prev {
            _ if v <= t.critical_dbm => OpticalLevel::Critical,
            OpticalLevel::Critical if v <= t.critical_dbm + h => OpticalLevel::Critical,
            _ if v <= t.warning_dbm => OpticalLevel::Warning,
            OpticalLevel::Critical | OpticalLevel::Warning if v <= t.warning_dbm + h => {
                OpticalLevel::Warning
            }
            _ => OpticalLevel::Normal,
        }
    }

    /// A poll failed.
    pub fn poll_failed(&mut self, error: &crate::OltError) -> Vec<PollerEvent> {
        if self.unreachable {
            return Vec::new();
        }
        self.unreachable = true;
        vec![self.olt_event(EventKind::OltUnreachable {
            error: error.to_string(),
        })]
    }

    fn olt_event(&self, kind: EventKind) -> PollerEvent {
        PollerEvent {
            olt: self.olt.clone(),
            onu: None,
            port: None,
            serial: None,
            kind,
        }
    }

    /// Folds a snapshot in and returns the events it implies.
    pub fn observe(&mut self, snap: &OltSnapshot) -> Vec<PollerEvent> {
        let mut out = Vec::new();
        if self.unreachable {
            self.unreachable = false;
            out.push(self.olt_event(EventKind::OltReachable));
        }
        let baseline = self.seen.is_none();
        let prev = self.seen.take().unwrap_or_default();
        let mut next = HashMap::with_capacity(snap.onus.len());
        for onu in &snap.onus {
            let before = prev.get(&onu.key).copied();
            let prev_level = before.map_or(OpticalLevel::Normal, |s| s.level);
            // Offline ONUs report no level; they keep their last one so a flap does not re-alarm.
            let level = onu
                .rx_dbm
                .map_or(prev_level, |rx| self.level(prev_level, rx));
            next.insert(
                onu.key,
                Seen {
                    state: onu.state,
                    level,
                },
            );
            if baseline {
                continue;
            }
            let ev = |kind| PollerEvent {
                olt: self.olt.clone(),
                onu: Some(onu.key),
                port: Some(onu.port),
                serial: onu.serial.clone(),
                kind,
            };
            let was = before.map(|s| s.state);
            match (was, onu.state) {
                (Some(OnuState::Offline { cause: a }), OnuState::Offline { cause: b })
                    if a == b => {}
                (_, OnuState::Offline { cause }) => out.push(ev(EventKind::OnuOffline {
                    cause,
                    at: onu.last_down_time.clone(),
                })),
                (Some(OnuState::Offline { .. }), OnuState::Online) => {
                    out.push(ev(EventKind::OnuOnline))
                }
                _ => {}
            }
            if level != prev_level
                && let Some(rx) = onu.rx_dbm
            {
                out.push(ev(EventKind::Optical {
                    from: prev_level,
                    to: level,
                    rx_dbm: rx,
                }));
            }
        }
        self.seen = Some(next);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hysteresis() {
        let t = Tracker::new(OltId::new("a").unwrap(), OpticalThresholds::default());
        use OpticalLevel::*;
        assert_eq!(t.level(Normal, Dbm(-20.0)), Normal);
        assert_eq!(t.level(Normal, Dbm(-27.0)), Warning);
        assert_eq!(t.level(Warning, Dbm(-26.5)), Warning);
        assert_eq!(t.level(Warning, Dbm(-25.9)), Normal);
        assert_eq!(t.level(Warning, Dbm(-30.0)), Critical);
        assert_eq!(t.level(Critical, Dbm(-29.5)), Critical);
        assert_eq!(t.level(Critical, Dbm(-28.9)), Warning);
        assert_eq!(t.level(Critical, Dbm(-10.0)), Normal);
        assert_eq!(t.level(Normal, Dbm(-26.5)), Normal);
    }
}
