//! Pending ONUs → incidents: clusters per port for the fibre family, across ports and OLTs for
//! dying gasps, single-ONU incidents for what is left once `single_onu_delay` has passed.

use std::collections::BTreeMap;

use fibreplane_types::olt::{OltId, OnuKey, PonPort};

use super::{Class, Correlator, Family, IncidentId, IncidentKind, IncidentState, OnuRef};
use crate::Timestamp;

/// A pending ONU, as the clustering sees it.
#[derive(Debug, Clone)]
struct Cand {
    olt: OltId,
    key: OnuKey,
    port: PonPort,
    at: Timestamp,
    seen: Timestamp,
    prior: Option<IncidentId>,
}

impl Cand {
    fn onu(&self) -> OnuRef {
        (self.olt.clone(), self.key)
    }
}

/// Splits time-sorted candidates into groups that each fit in `window` from their first.
fn groups(cands: Vec<Cand>, window: std::time::Duration) -> Vec<Vec<Cand>> {
    let mut out: Vec<Vec<Cand>> = Vec::new();
    for c in cands {
        match out.last_mut() {
            Some(g) if c.at.since(g[0].at) <= window => g.push(c),
            _ => out.push(vec![c]),
        }
    }
    out
}

/// The first incident whose span, widened by `window`, holds `at`.
fn within(
    open: &[(IncidentId, Timestamp, Timestamp)],
    at: Timestamp,
    window: std::time::Duration,
) -> Option<IncidentId> {
    open.iter()
        .find(|(_, lo, hi)| at.since(*hi) <= window && lo.since(at) <= window)
        .map(|(id, ..)| *id)
}

/// Whether ONUs of `family` may join an incident of `kind`: dying gasps join power outages,
/// not another ONU's single-ONU incident.
fn kind_fits(family: Family, kind: IncidentKind) -> bool {
    family != Family::Power || kind == IncidentKind::PowerOutage
}

impl Correlator {
    /// Classifies the pending ONUs of every OLT whose settle time has passed.
    pub(super) fn classify_pending(&mut self, now: Timestamp) {
        let mut fibre: BTreeMap<(OltId, PonPort), Vec<Cand>> = BTreeMap::new();
        let mut lone = Vec::new();
        let (mut power, mut single) = (Vec::new(), Vec::new());
        let mut wake = Vec::new();
        for (olt_id, olt) in &self.olts {
            if olt.pending.is_empty() || olt.unreachable() {
                continue;
            }
            if let Some(s) = olt.settle_at.filter(|&s| s > now) {
                wake.push(s);
                continue;
            }
            for key in &olt.pending {
                let Some(t) = olt.onus.get(key) else { continue };
                let Some(d) = &t.down else { continue };
                let c = Cand {
                    olt: olt_id.clone(),
                    key: *key,
                    port: t.port,
                    at: d.at(),
                    seen: d.seen,
                    prior: t.prior,
                };
                match d.class {
                    Class::Fibre => fibre.entry((olt_id.clone(), t.port)).or_default().push(c),
                    Class::Power => power.push(c),
                    Class::Individual => single.push(c),
                    Class::Excluded => {}
                }
            }
        }
        for w in wake {
            self.wake_at(w);
        }
        for ((olt, port), cands) in fibre {
            lone.extend(self.fibre_port(now, &olt, port, cands));
        }
        lone.extend(self.power(now, power));
        lone.extend(single.into_iter().map(|c| (c, Family::Individual)));
        self.singles(now, lone);
    }

    /// The open incidents of `family` (for the fibre family, on the given port) with their
    /// spans of down times: what a pending ONU may join.
    fn joinable(
        &self,
        family: Family,
        port: Option<(&OltId, PonPort)>,
    ) -> Vec<(IncidentId, Timestamp, Timestamp)> {
        self.incidents
            .iter()
            .filter(|(_, t)| {
                t.family == family
                    && kind_fits(family, t.incident.kind)
                    && t.incident.state == IncidentState::Open
                    && port.is_none_or(|(olt, p)| {
                        t.incident
                            .ports
                            .iter()
                            .any(|ip| ip.port == p && &ip.olt == olt)
                    })
            })
            .filter_map(|(id, t)| t.span.map(|(lo, hi)| (*id, lo, hi)))
            .collect()
    }

    /// Adds each candidate that fits an open incident to it (in one batch per incident, so a
    /// large outage costs one summary per poll, not one per ONU); returns the others.
    fn join_open(
        &mut self,
        now: Timestamp,
        cands: Vec<Cand>,
        family: Family,
        window: std::time::Duration,
        port: Option<(&OltId, PonPort)>,
    ) -> Vec<Cand> {
        let open = self.joinable(family, port);
        let mut joins: BTreeMap<IncidentId, Vec<OnuRef>> = BTreeMap::new();
        let mut rest = Vec::new();
        for c in cands {
            match within(&open, c.at, window) {
                Some(id) => joins.entry(id).or_default().push(c.onu()),
                None => rest.push(c),
            }
        }
        for (id, onus) in joins {
            self.add_members(id, now, &onus);
        }
        rest
    }

    /// A resolved incident of `family` that one of `group` belonged to, still within its flap
    /// window: reopening it beats opening a new one.
    fn reopenable(&self, group: &[Cand], family: Family) -> Option<IncidentId> {
        group.iter().filter_map(|c| c.prior).find(|id| {
            self.incidents.get(id).is_some_and(|t| {
                t.family == family
                    && kind_fits(family, t.incident.kind)
                    && t.incident.state == IncidentState::Resolved
            })
        })
    }

    /// Clusters one port's pending fibre-family ONUs; returns the lone ones.
    fn fibre_port(
        &mut self,
        now: Timestamp,
        olt: &OltId,
        port: PonPort,
        mut cands: Vec<Cand>,
    ) -> Vec<(Cand, Family)> {
        let mut lone = Vec::new();
        cands.sort_by_key(|c| c.at);
        let window = self.config.cluster_window;
        let rest = self.join_open(now, cands, Family::Fibre, window, Some((olt, port)));
        for group in groups(rest, window) {
            if group.len() >= self.config.branch_min_onus {
                let onus: Vec<OnuRef> = group.iter().map(Cand::onu).collect();
                let id = match self.reopenable(&group, Family::Fibre) {
                    Some(id) => {
                        self.reopen(id, now);
                        self.add_members(id, now, &onus);
                        id
                    }
                    None => self.open(now, IncidentKind::SplitterBranch, Family::Fibre, &onus),
                };
                self.escalate(id, now);
            } else {
                lone.extend(group.into_iter().map(|c| (c, Family::Fibre)));
            }
        }
        lone
    }

    /// Clusters the pending dying gasps of every OLT; returns the lone ones.
    fn power(&mut self, now: Timestamp, mut cands: Vec<Cand>) -> Vec<(Cand, Family)> {
        let mut lone = Vec::new();
        cands.sort_by_key(|c| c.at);
        let window = self.config.power_window;
        let rest = self.join_open(now, cands, Family::Power, window, None);
        for group in groups(rest, window) {
            let mut ports: Vec<(&OltId, PonPort)> =
                group.iter().map(|c| (&c.olt, c.port)).collect();
            ports.sort();
            ports.dedup();
            if group.len() >= self.config.power_min_onus
                && ports.len() >= self.config.power_min_ports
            {
                let onus: Vec<OnuRef> = group.iter().map(Cand::onu).collect();
                match self.reopenable(&group, Family::Power) {
                    Some(id) => {
                        self.reopen(id, now);
                        self.add_members(id, now, &onus);
                    }
                    None => {
                        self.open(now, IncidentKind::PowerOutage, Family::Power, &onus);
                    }
                }
            } else {
                lone.extend(group.into_iter().map(|c| (c, Family::Power)));
            }
        }
        lone
    }

    /// A lone ONU becomes a single-ONU incident once `single_onu_delay` has passed without a
    /// cluster taking it; a fibre-family ONU that went down during an open power outage on its
    /// OLT joins that outage instead (an ONU that lost power without a dying gasp). Those join
    /// in one batch per outage.
    fn singles(&mut self, now: Timestamp, lone: Vec<(Cand, Family)>) {
        let power = self.joinable(Family::Power, None);
        let mut absorbed: BTreeMap<IncidentId, Vec<OnuRef>> = BTreeMap::new();
        for (c, family) in lone {
            let due = c.seen.plus(self.config.single_onu_delay);
            if due > now {
                self.wake_at(due);
                continue;
            }
            if family == Family::Fibre
                && let Some(id) = within(&power, c.at, self.config.power_window)
                    .filter(|id| self.incidents[id].incident.olts.contains(&c.olt))
            {
                absorbed.entry(id).or_default().push(c.onu());
                continue;
            }
            let single = c.prior.filter(|id| {
                self.incidents.get(id).is_some_and(|t| {
                    t.family == family
                        && t.incident.kind == IncidentKind::SingleOnu
                        && t.incident.state == IncidentState::Resolved
                })
            });
            match single {
                Some(id) => {
                    self.reopen(id, now);
                    self.add_members(id, now, &[c.onu()]);
                }
                None => {
                    self.open(now, IncidentKind::SingleOnu, family, &[c.onu()]);
                }
            }
        }
        for (id, onus) in absorbed {
            self.add_members(id, now, &onus);
        }
    }

    /// Raises a fibre incident's kind to what its busiest port now supports (never lowers it).
    pub(super) fn escalate(&mut self, id: IncidentId, now: Timestamp) {
        let Some(t) = self.incidents.get(&id) else {
            return;
        };
        if t.family != Family::Fibre {
            return;
        }
        let best = t
            .incident
            .ports
            .iter()
            .map(|p| {
                let n = p.onus_affected as usize;
                let cut = p.onus_total.is_some_and(|total| {
                    total > 0
                        && n >= self.config.fibre_cut_min_onus
                        && n as f64 / f64::from(total) >= self.config.fibre_cut_ratio
                });
                if cut {
                    IncidentKind::FibreCut
                } else if n >= self.config.branch_min_onus {
                    IncidentKind::SplitterBranch
                } else {
                    IncidentKind::SingleOnu
                }
            })
            .max()
            .unwrap_or(IncidentKind::SingleOnu);
        let Some(t) = self.incidents.get_mut(&id) else {
            return;
        };
        if best > t.incident.kind {
            t.incident.kind = best;
            t.incident.updated_at = now;
            t.emit = t.emit.max(super::Emit::Updated);
        }
    }
}
