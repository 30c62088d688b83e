//! Incidents' lives: opening, ONUs joining, reopening, the OLT-level incident, resolution after
//! the quiet time, and expiry at the end of the flap window.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    AffectedOnu, Correlator, Emit, Evidence, Family, Incident, IncidentId, IncidentKind,
    IncidentPort, IncidentState, KumaEvidence, OnuRef, Tracked,
};
use fibreplane_types::olt::{DownCause, OltId, PonPort};

use crate::Timestamp;

impl Correlator {
    fn new_id(&mut self, now: Timestamp) -> IncidentId {
        let id = self
            .next_id
            .saturating_add(1)
            .max(u64::try_from(now.unix_ms()).unwrap_or(0));
        self.next_id = id;
        IncidentId(id)
    }

    /// Opens an incident with these ONUs (none for an OLT-level one).
    pub(super) fn open(
        &mut self,
        now: Timestamp,
        kind: IncidentKind,
        family: Family,
        onus: &[OnuRef],
    ) -> IncidentId {
        let id = self.new_id(now);
        let incident = Incident {
            id,
            kind,
            state: IncidentState::Open,
            olt: None,
            olts: Vec::new(),
            ports: Vec::new(),
            cause: None,
            onus: Vec::new(),
            customers: Vec::new(),
            onus_offline: 0,
            evidence: Evidence::default(),
            started_at: None,
            opened_at: now,
            updated_at: now,
            resolved_at: None,
            reopens: 0,
        };
        self.incidents.insert(
            id,
            Tracked {
                incident,
                family,
                index: Default::default(),
                span: None,
                clear_since: None,
                last_resolved: None,
                orphans: Default::default(),
                emit: Emit::Opened,
            },
        );
        self.add_members(id, now, onus);
        id
    }

    /// Reopens a resolved incident (the same ONUs down again within its flap window).
    pub(super) fn reopen(&mut self, id: IncidentId, now: Timestamp) {
        if let Some(t) = self.incidents.get_mut(&id) {
            t.incident.state = IncidentState::Open;
            t.incident.resolved_at = None;
            t.incident.reopens += 1;
            t.incident.updated_at = now;
            t.clear_since = None;
            t.emit = t.emit.max(Emit::Updated);
        }
    }

    /// Adds ONUs to an incident (they stop being pending), then refreshes its summary and, for
    /// the fibre family, its kind.
    pub(super) fn add_members(&mut self, id: IncidentId, now: Timestamp, onus: &[OnuRef]) {
        let Some(t) = self.incidents.get_mut(&id) else {
            return;
        };
        let mut added = false;
        for (olt_id, key) in onus {
            let Some(olt) = self.olts.get_mut(olt_id) else {
                continue;
            };
            olt.pending.remove(key);
            let Some(track) = olt.onus.get_mut(key) else {
                continue;
            };
            track.incident = Some(id);
            track.prior = None;
            if !t.orphans.is_empty() {
                t.orphans.remove(&(olt_id.clone(), *key));
            }
            let Some(down) = &track.down else { continue };
            let at = down.at();
            t.span = Some(t.span.map_or((at, at), |(lo, hi)| (lo.min(at), hi.max(at))));
            let member = AffectedOnu {
                olt: olt_id.clone(),
                port: track.port,
                onu_id: key.onu_id,
                if_index: key.if_index,
                serial: track.serial.clone(),
                cause: down.cause,
                down_at: down.olt_at,
                online: false,
                subscriber: track
                    .serial
                    .as_deref()
                    .and_then(|s| self.directory.lookup(s))
                    .unwrap_or_default(),
            };
            match t.index.get(&(olt_id.clone(), *key)) {
                Some(&i) => t.incident.onus[i] = member,
                None => {
                    t.index
                        .insert((olt_id.clone(), *key), t.incident.onus.len());
                    t.incident.onus.push(member);
                }
            }
            added = true;
        }
        if added {
            t.incident.updated_at = now;
            t.emit = t.emit.max(Emit::Updated);
            self.summarise(id);
            self.escalate(id, now);
        }
    }

    /// Recomputes the derived fields: OLTs, ports with totals, shared cause, customers, counts.
    fn summarise(&mut self, id: IncidentId) {
        let Some(t) = self.incidents.get_mut(&id) else {
            return;
        };
        let inc = &mut t.incident;
        let mut ports: BTreeMap<(&OltId, PonPort), u32> = BTreeMap::new();
        let mut olts = BTreeSet::new();
        let mut customers = BTreeSet::new();
        for m in &inc.onus {
            *ports.entry((&m.olt, m.port)).or_default() += 1;
            olts.insert(m.olt.clone());
            customers.extend(m.subscriber.customer.clone());
        }
        olts.extend(inc.olts.iter().cloned());
        inc.ports = ports
            .into_iter()
            .map(|((olt, port), n)| {
                let total = self.olts.get(olt).and_then(|o| o.totals.get(&port));
                IncidentPort {
                    olt: olt.clone(),
                    port,
                    name: total.and_then(|t| t.name.clone()),
                    onus_total: total.map(|t| t.onus),
                    onus_affected: n,
                }
            })
            .collect();
        inc.olts = olts.into_iter().collect();
        inc.olt = match inc.olts.as_slice() {
            [one] => Some(one.clone()),
            _ => None,
        };
        inc.customers = customers.into_iter().collect();
        let first = inc.onus.first().map(|m| m.cause);
        inc.cause = first.filter(|c| inc.onus.iter().all(|m| m.cause == *c));
        inc.onus_offline = inc.onus.iter().filter(|m| !m.online).count() as u32;
        let earliest = t.span.map(|(lo, _)| lo);
        inc.started_at = match (inc.started_at, earliest) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }

    /// One `olt_unreachable` incident per OLT that SNMP or Kuma says is unreachable.
    pub(super) fn olt_level(&mut self, now: Timestamp) {
        let mut changes = Vec::new();
        for (olt_id, olt) in &self.olts {
            let evidence = Evidence {
                snmp_down_since: olt.snmp_down,
                kuma: olt
                    .kuma_down
                    .iter()
                    .filter(|(_, k)| k.port.is_none())
                    .map(|(id, k)| KumaEvidence {
                        monitor_id: *id,
                        name: k.name.clone(),
                        down_at: k.since,
                    })
                    .collect(),
            };
            let existing = olt
                .olt_incident
                .and_then(|id| self.incidents.get(&id).map(|t| (id, t.incident.state)));
            let down = olt.unreachable();
            match existing {
                Some((id, state)) if down || state == IncidentState::Open => {
                    changes.push((olt_id.clone(), Some((id, state)), evidence));
                }
                None if down => changes.push((olt_id.clone(), None, evidence)),
                _ => {}
            }
        }
        for (olt_id, existing, evidence) in changes {
            let down = evidence.snmp_down_since.is_some() || !evidence.kuma.is_empty();
            let id = match existing {
                Some((id, IncidentState::Resolved)) => {
                    self.reopen(id, now);
                    id
                }
                Some((id, IncidentState::Open)) => id,
                None => {
                    let id = self.open(now, IncidentKind::OltUnreachable, Family::Olt, &[]);
                    let t = self.incidents.get_mut(&id).expect("just opened");
                    t.incident.olts = vec![olt_id.clone()];
                    t.incident.olt = Some(olt_id.clone());
                    self.olts.entry(olt_id).or_default().olt_incident = Some(id);
                    id
                }
            };
            let t = self.incidents.get_mut(&id).expect("held");
            if down {
                let since = evidence
                    .kuma
                    .iter()
                    .map(|k| k.down_at)
                    .chain(evidence.snmp_down_since)
                    .min();
                t.incident.started_at = t.incident.started_at.min(since).or(since);
            }
            if t.incident.evidence != evidence {
                t.incident.evidence = evidence;
                t.incident.updated_at = now;
                t.emit = t.emit.max(Emit::Updated);
            }
        }
    }

    /// Resolution, port-level Kuma evidence, escalation after new totals, expiry.
    pub(super) fn lifecycle(&mut self, now: Timestamp) {
        let ids: Vec<IncidentId> = self.incidents.keys().copied().collect();
        for id in ids {
            self.escalate(id, now);
            self.port_evidence(id, now);
            let t = &self.incidents[&id];
            if t.incident.state == IncidentState::Resolved {
                let end = t
                    .last_resolved
                    .map_or(now, |r| r.plus(self.config.flap_window));
                if end <= now {
                    self.expire(id);
                } else {
                    self.wake_at(end);
                }
                continue;
            }
            if !self.clear(id) {
                if let Some(t) = self.incidents.get_mut(&id) {
                    t.clear_since = None;
                }
                continue;
            }
            let c = &self.config;
            let (quiet, min_open, flap) = (c.quiet_time, c.min_open, c.flap_window);
            let t = self.incidents.get_mut(&id).expect("held");
            let since = *t.clear_since.get_or_insert(now);
            let due = since
                .plus(quiet)
                .max(t.incident.opened_at.plus(min_open))
                .max(t.last_resolved.map_or(since, |r| r.plus(flap)));
            if due <= now {
                self.resolve(id, now);
            } else {
                self.wake_at(due);
            }
        }
    }

    /// Whether an open incident's resolve condition holds now.
    fn clear(&self, id: IncidentId) -> bool {
        let t = &self.incidents[&id];
        if t.family == Family::Olt {
            return t.incident.evidence.snmp_down_since.is_none()
                && t.incident.evidence.kuma.is_empty();
        }
        // An open incident's members stay attached and their `online` and `cause` follow the
        // poller's events, so the incident's own list says who is back.
        let total = t.incident.onus.len();
        let back = t
            .incident
            .onus
            .iter()
            .filter(|m| {
                m.online
                    || matches!(m.cause, DownCause::Admin | DownCause::Reset)
                    || (!t.orphans.is_empty() && t.orphans.contains(&(m.olt.clone(), m.key())))
            })
            .count();
        let need = (self.config.restore_ratio * total as f64).ceil() as usize;
        back >= need.clamp(1, total.max(1))
    }

    fn resolve(&mut self, id: IncidentId, now: Timestamp) {
        let Some(t) = self.incidents.get_mut(&id) else {
            return;
        };
        t.incident.state = IncidentState::Resolved;
        t.incident.resolved_at = Some(now);
        t.incident.updated_at = now;
        t.last_resolved = Some(now);
        t.clear_since = None;
        t.emit = t.emit.max(Emit::Resolved);
        // ONUs still down are customer matters now: they leave the incident and stay quiet
        // until they change state.
        for m in &mut t.incident.onus {
            let Some(track) = self
                .olts
                .get_mut(&m.olt)
                .and_then(|o| o.onus.get_mut(&m.key()))
            else {
                m.online = true;
                continue;
            };
            m.online = track.down.is_none();
            if !track.is_back() && track.incident == Some(id) {
                track.incident = None;
                track.orphan = true;
                t.orphans.insert((m.olt.clone(), m.key()));
            }
        }
        self.summarise(id);
        let wake = now.plus(self.config.flap_window);
        self.wake_at(wake);
    }

    /// Forgets a resolved incident at the end of its flap window.
    fn expire(&mut self, id: IncidentId) {
        let Some(t) = self.incidents.remove(&id) else {
            return;
        };
        for m in &t.incident.onus {
            let Some(olt) = self.olts.get_mut(&m.olt) else {
                continue;
            };
            let key = m.key();
            if let Some(track) = olt.onus.get_mut(&key) {
                if track.incident == Some(id) {
                    track.incident = None;
                }
                if track.prior == Some(id) {
                    track.prior = None;
                }
                if track.down.is_none() && track.incident.is_none() {
                    olt.onus.remove(&key);
                }
            }
        }
    }

    /// Kuma monitors tagged with one of the incident's ports are listed as its evidence.
    fn port_evidence(&mut self, id: IncidentId, now: Timestamp) {
        let t = &self.incidents[&id];
        if t.family == Family::Olt || t.incident.state != IncidentState::Open {
            return;
        }
        let mut kuma = Vec::new();
        for p in &t.incident.ports {
            let Some(olt) = self.olts.get(&p.olt) else {
                continue;
            };
            for (mid, k) in &olt.kuma_down {
                let Some(r) = &k.port else { continue };
                if olt.resolve_port(r) == Some(p.port) {
                    kuma.push(KumaEvidence {
                        monitor_id: *mid,
                        name: k.name.clone(),
                        down_at: k.since,
                    });
                }
            }
        }
        let t = self.incidents.get_mut(&id).expect("held");
        if t.incident.evidence.kuma != kuma {
            t.incident.evidence.kuma = kuma;
            t.incident.updated_at = now;
            t.emit = t.emit.max(Emit::Updated);
        }
    }
}
