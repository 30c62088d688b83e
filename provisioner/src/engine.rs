//! The provisioner's decisions, sans-IO: facts and events in, actions and durable records out.
//! Time is an argument (`now`, ms since the epoch); the driver (`driver.rs`) reads the ACS and
//! ERPNext, calls in here, and carries the actions out.
//!
//! Per device: first sight or a boot → match (serial, then MAC) → build the desired state from
//! the device's own tree → write its per-device preset (channel `prov-g<generation>`) and wake
//! it → the ACS converges the channel (SPV status 0/1) → read back what is readable → write
//! `provisioned` (or `failed: reason`) to ERPNext through a durable outbox. Failures are retried
//! with exponential back-off; unknown, ambiguous and conflicting devices are quarantined.

use crate::desired::{self, Missing};
use crate::matching::{Directory, Quarantine};
use crate::model::{Equipment, EquipmentName, Mac, Serial};
use crate::state::{Audit, DeviceState, Phase, SyncMark, WriteBack};
use acs::store::ParamTree;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Tunables of the engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// First retry delay of a failed device, doubled per failure.
    pub retry_base_ms: i64,
    /// Longest retry delay.
    pub retry_max_ms: i64,
    /// Connection requests per generation before waiting for the device's own next inform.
    pub max_kicks: u32,
    /// Push changed settings at once (connection request) instead of at the next inform.
    pub push_on_change: bool,
    /// First delay before re-trying a write-back ERPNext refused or missed.
    pub writeback_base_ms: i64,
    /// Longest write-back delay.
    pub writeback_max_ms: i64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            retry_base_ms: 30_000,
            retry_max_ms: 3_600_000,
            max_kicks: 3,
            push_on_change: false,
            writeback_base_ms: 1_000,
            writeback_max_ms: 300_000,
        }
    }
}

/// What the driver knows about a device when the engine decides on it.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Its serial, normalised.
    pub serial: Option<Serial>,
    /// Its MACs, normalised.
    pub macs: Vec<Mac>,
    /// Its data-model root (`Device` or `InternetGatewayDevice`).
    pub root: String,
}

/// Why a device is being decided on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// Its session ended (after a boot, or at first sight).
    Session,
    /// ERPNext records changed.
    Sync,
    /// An operator asked (`POST /provisioning/{device}/retry`).
    Retry,
    /// A failed attempt's retry time came.
    Timer,
}

/// Something for the driver to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Write the device's preset (replacing the previous generation's).
    Install {
        /// The device.
        device: String,
        /// The preset's name.
        preset: String,
        /// The preset document; it holds the passwords, so it is a `Secret` (never printed).
        body: acs::Secret,
        /// The previous generation's channel, whose fault record can go.
        stale_channel: Option<String>,
    },
    /// Remove the device's preset: it must not keep a customer's settings it no longer matches.
    Uninstall {
        /// The device.
        device: String,
        /// The preset's name.
        preset: String,
    },
    /// Send a connection request.
    Kick {
        /// The device.
        device: String,
    },
    /// Read these paths from the device (a GetParameterValues task) and report with
    /// [`Engine::read_back`].
    ReadBack {
        /// The device.
        device: String,
        /// The generation being confirmed.
        generation: u64,
        /// The paths.
        paths: Vec<String>,
    },
    /// Discover these subtrees (RefreshObject tasks), then decide again.
    Refresh {
        /// The device.
        device: String,
        /// The subtrees.
        paths: Vec<String>,
    },
    /// Poll ERPNext now.
    SyncNow,
}

/// Durable records changed since the last [`Engine::take_dirty`].
#[derive(Debug, Default)]
pub struct Dirty {
    /// Device states to write.
    pub devices: Vec<DeviceState>,
    /// Outbox entries to write.
    pub outbox: Vec<WriteBack>,
    /// Outbox entries to delete.
    pub outbox_done: Vec<EquipmentName>,
    /// Mirrored records to write.
    pub records: Vec<Equipment>,
    /// Mirrored records to delete.
    pub records_gone: Vec<EquipmentName>,
    /// The watermark, when it moved.
    pub mark: Option<SyncMark>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Seen {
    boot: bool,
    channel: bool,
}

/// The engine.
#[derive(Debug, Default)]
pub struct Engine {
    config: EngineConfig,
    dir: Directory,
    devices: HashMap<String, DeviceState>,
    outbox: BTreeMap<EquipmentName, WriteBack>,
    mark: SyncMark,
    erp_ok: bool,
    sessions: HashMap<String, Seen>,
    dirty_devices: BTreeSet<String>,
    dirty_outbox: BTreeSet<EquipmentName>,
    dirty_records: BTreeSet<EquipmentName>,
    dirty_mark: bool,
}

const ACTOR: &str = "provisioner";

impl Engine {
    /// An engine with nothing known.
    pub fn new(config: EngineConfig) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    /// Loads durable records written by an earlier run.
    pub fn restore(
        &mut self,
        devices: Vec<DeviceState>,
        outbox: Vec<WriteBack>,
        records: Vec<Equipment>,
        mark: SyncMark,
    ) {
        for d in devices {
            self.devices.insert(d.device.clone(), d);
        }
        for w in outbox {
            self.outbox.insert(w.equipment.clone(), w);
        }
        for r in records {
            self.dir.upsert(r);
        }
        self.mark = mark;
    }

    /// A device's state.
    pub fn device(&self, device: &str) -> Option<&DeviceState> {
        self.devices.get(device)
    }

    /// The ERPNext record a device is bound to.
    pub fn record_of(&self, device: &str) -> Option<&Equipment> {
        let name = self.devices.get(device)?.equipment.as_ref()?;
        self.dir.get(name)
    }

    /// The devices bound to records that `keep` accepts (a customer's, a location's).
    pub fn devices_where(&self, keep: impl Fn(&Equipment) -> bool) -> Vec<String> {
        let mut out: Vec<String> = self
            .devices
            .values()
            .filter(|d| {
                d.equipment
                    .as_ref()
                    .and_then(|n| self.dir.get(n))
                    .is_some_and(&keep)
            })
            .map(|d| d.device.clone())
            .collect();
        out.sort();
        out
    }

    /// Every device in quarantine.
    pub fn quarantined(&self) -> Vec<&DeviceState> {
        let mut q: Vec<&DeviceState> = self
            .devices
            .values()
            .filter(|d| matches!(d.phase, Phase::Quarantined { .. }))
            .collect();
        q.sort_by(|a, b| a.device.cmp(&b.device));
        q
    }

    /// The sync watermark.
    pub fn mark(&self) -> &SyncMark {
        &self.mark
    }

    /// Number of records mirrored.
    pub fn records(&self) -> usize {
        self.dir.len()
    }

    /// Outcomes not yet written to ERPNext.
    pub fn outbox_len(&self) -> usize {
        self.outbox.len()
    }

    /// How many devices are in each phase (`provisioned`, `failed`, …), for status output.
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        let mut out = BTreeMap::new();
        for d in self.devices.values() {
            let k = match d.phase {
                Phase::Pending { .. } => "pending",
                Phase::Quarantined { .. } => "quarantined",
                Phase::Installing { .. } => "installing",
                Phase::Confirming { .. } => "confirming",
                Phase::Provisioned { .. } => "provisioned",
                Phase::Failed { .. } => "failed",
            };
            *out.entry(k).or_insert(0) += 1;
        }
        out
    }

    /// A session of `device` started with these event codes.
    pub fn informed(&mut self, device: &str, events: &[String]) {
        let boot = events.iter().any(|e| e == "0 BOOTSTRAP" || e == "1 BOOT");
        self.sessions.insert(
            device.to_owned(),
            Seen {
                boot,
                channel: false,
            },
        );
    }

    /// Whether the end of `device`'s current session calls for a decision (and so for its
    /// facts and tree): first sight, a boot, or a device waiting for one.
    pub fn wants_facts(&self, device: &str, now: i64) -> bool {
        let boot = self.sessions.get(device).is_some_and(|s| s.boot);
        match self.devices.get(device) {
            None => true,
            Some(d) => {
                boot || matches!(d.phase, Phase::Pending { .. })
                    || matches!(d.phase, Phase::Failed { retry_at_ms, .. } if retry_at_ms <= now)
            }
        }
    }

    /// `device`'s session ended; `facts` are given when [`Self::wants_facts`] said so.
    pub fn session_ended(
        &mut self,
        device: &str,
        facts: Option<(&Facts, &ParamTree)>,
        now: i64,
    ) -> Vec<Action> {
        let seen = self.sessions.remove(device).unwrap_or_default();
        if let Some((facts, tree)) = facts {
            return self.evaluate(device, facts, tree, Cause::Session, now);
        }
        let max_kicks = self.config.max_kicks;
        let Some(st) = self.devices.get_mut(device) else {
            return Vec::new();
        };
        match &mut st.phase {
            // The preset came too late for this session (or the session had no events for
            // presets): wake the device again, a bounded number of times.
            Phase::Installing { kicks, .. } if !seen.channel && *kicks < max_kicks => {
                *kicks += 1;
                self.dirty_devices.insert(device.to_owned());
                vec![Action::Kick {
                    device: device.to_owned(),
                }]
            }
            _ => Vec::new(),
        }
    }

    /// Decides on a device: match, desired state, install.
    pub fn evaluate(
        &mut self,
        device: &str,
        facts: &Facts,
        tree: &ParamTree,
        cause: Cause,
        now: i64,
    ) -> Vec<Action> {
        let actor = if cause == Cause::Retry { "api" } else { ACTOR };
        let st = self
            .devices
            .entry(device.to_owned())
            .or_insert_with(|| DeviceState::new(device));
        st.serial.clone_from(&facts.serial);
        st.macs.clone_from(&facts.macs);
        st.root.clone_from(&facts.root);
        self.dirty_devices.insert(device.to_owned());
        let name = match self.dir.match_device(facts.serial.as_ref(), &facts.macs) {
            Ok(m) => m.name,
            Err(Quarantine::Unknown) if cause != Cause::Sync || !self.erp_ok => {
                // Perhaps the record was scanned after our last poll: look again before
                // calling the device unknown.
                self.set_phase(
                    device,
                    Phase::Pending {
                        why: "not found in ERPNext yet; checking again".into(),
                    },
                );
                return vec![Action::SyncNow];
            }
            Err(reason) => return self.quarantine(device, reason, actor, now),
        };
        if let Some(holder) = self.holder(&name, device) {
            let reason = Quarantine::Claimed {
                equipment: name,
                holder,
            };
            return self.quarantine(device, reason, actor, now);
        }
        let Some(record) = self.dir.get(&name).cloned() else {
            return Vec::new();
        };
        let wanted = match desired::build(&facts.root, tree, &record) {
            Ok(d) => d,
            Err(Ok(Missing::Refresh(paths))) => {
                self.set_phase(
                    device,
                    Phase::Pending {
                        why: "discovering the device's data model".into(),
                    },
                );
                return vec![Action::Refresh {
                    device: device.to_owned(),
                    paths,
                }];
            }
            Err(Err(e)) => {
                let st = self.devices.get_mut(device).expect("inserted above");
                st.equipment = Some(name);
                return self.fail(device, &e.to_string(), now);
            }
        };
        let fingerprint = record.fingerprint();
        let st = self.devices.get_mut(device).expect("inserted above");
        let same = st.equipment.as_ref() == Some(&name) && st.fingerprint == fingerprint;
        let settled = matches!(
            st.phase,
            Phase::Provisioned { .. } | Phase::Installing { .. } | Phase::Confirming { .. }
        );
        if same && settled && cause != Cause::Retry {
            // Idempotent: the installed preset already holds this record's settings and the
            // ACS re-applies it at every inform.
            return Vec::new();
        }
        let stale_channel = (st.generation > 0).then(|| DeviceState::channel(st.generation));
        st.generation += 1;
        st.equipment = Some(name.clone());
        st.fingerprint = fingerprint;
        st.expect = wanted.readable();
        // A settings change found by a poll waits for the device's next inform unless asked
        // otherwise; a device provisioned for the first time (say, released from quarantine)
        // is woken at once.
        let kick = cause != Cause::Sync || self.config.push_on_change || !settled;
        st.phase = Phase::Installing {
            generation: st.generation,
            kicks: u32::from(kick),
        };
        let channel = DeviceState::channel(st.generation);
        st.note(Audit {
            at_ms: now,
            actor: actor.into(),
            action: "install".into(),
            equipment: Some(name),
            paths: wanted.paths(),
            outcome: format!("preset {} on channel {channel}", st.preset_name()),
        });
        let mut out = vec![Action::Install {
            device: device.to_owned(),
            preset: st.preset_name(),
            body: acs::Secret::new(String::from_utf8_lossy(&wanted.preset(device, &channel))),
            stale_channel,
        }];
        if kick {
            out.push(Action::Kick {
                device: device.to_owned(),
            });
        }
        out
    }

    /// The other device already bound to `name` that still matches it, if any.
    fn holder(&self, name: &EquipmentName, device: &str) -> Option<String> {
        self.devices
            .values()
            .filter(|d| d.device != device && d.equipment.as_ref() == Some(name))
            .filter(|d| !matches!(d.phase, Phase::Quarantined { .. }))
            .find(|d| {
                self.dir
                    .match_device(d.serial.as_ref(), &d.macs)
                    .is_ok_and(|m| &m.name == name)
            })
            .map(|d| d.device.clone())
    }

    fn set_phase(&mut self, device: &str, phase: Phase) {
        if let Some(st) = self.devices.get_mut(device) {
            st.phase = phase;
            self.dirty_devices.insert(device.to_owned());
        }
    }

    fn quarantine(
        &mut self,
        device: &str,
        reason: Quarantine,
        actor: &str,
        now: i64,
    ) -> Vec<Action> {
        let Some(st) = self.devices.get_mut(device) else {
            return Vec::new();
        };
        self.dirty_devices.insert(device.to_owned());
        if matches!(&st.phase, Phase::Quarantined { reason: r } if *r == reason) {
            return Vec::new();
        }
        let had_preset = st.generation > 0;
        st.phase = Phase::Quarantined {
            reason: reason.clone(),
        };
        st.equipment = None;
        st.note(Audit {
            at_ms: now,
            actor: actor.into(),
            action: "quarantine".into(),
            equipment: None,
            paths: Vec::new(),
            outcome: serde_json::to_string(&reason).unwrap_or_default(),
        });
        tracing::warn!(%device, reason = ?reason, "device quarantined");
        if had_preset {
            vec![Action::Uninstall {
                device: device.to_owned(),
                preset: st.preset_name(),
            }]
        } else {
            Vec::new()
        }
    }

    /// An operator asks to try `device` again now; false if it is unknown.
    pub fn retry(&mut self, device: &str, now: i64) -> bool {
        let Some(st) = self.devices.get_mut(device) else {
            return false;
        };
        st.attempts = 0;
        st.note(Audit {
            at_ms: now,
            actor: "api".into(),
            action: "retry".into(),
            equipment: st.equipment.clone(),
            paths: Vec::new(),
            outcome: "requested".into(),
        });
        self.dirty_devices.insert(device.to_owned());
        true
    }

    /// Devices whose retry time has come (decide on them again with [`Cause::Timer`]).
    pub fn due(&self, now: i64) -> Vec<String> {
        self.devices
            .values()
            .filter(|d| matches!(d.phase, Phase::Failed { retry_at_ms, .. } if retry_at_ms <= now))
            .map(|d| d.device.clone())
            .collect()
    }

    /// After missed events: what to do about `device`. `None` asks for a decision with its
    /// facts (never seen, or waiting); otherwise the actions that pick up where it stands.
    pub fn reconcile(&mut self, device: &str, now: i64) -> Option<Vec<Action>> {
        let st = self.devices.get(device)?;
        match &st.phase {
            Phase::Pending { .. } => None,
            Phase::Installing { .. } => Some(vec![Action::Kick {
                device: device.to_owned(),
            }]),
            Phase::Confirming { generation } => Some(vec![Action::ReadBack {
                device: device.to_owned(),
                generation: *generation,
                paths: st.expect.iter().map(|(p, _)| p.clone()).collect(),
            }]),
            Phase::Failed { retry_at_ms, .. } if *retry_at_ms <= now => None,
            _ => Some(Vec::new()),
        }
    }

    /// The stored facts of a device (for decisions not triggered by its own session).
    pub fn facts(&self, device: &str) -> Option<Facts> {
        self.devices.get(device).map(|d| Facts {
            serial: d.serial.clone(),
            macs: d.macs.clone(),
            root: d.root.clone(),
        })
    }
}

mod confirm;
mod sync;
