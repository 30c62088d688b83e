//! The provisioner's durable records: per-device provisioning state with its audit trail, the
//! outbox of outcomes still to be written to ERPNext, and the sync watermark. They are JSON
//! documents in the ACS store's own collections, written through `Acs::write`, so they survive
//! restarts and ERPNext outages. None of them holds a secret value.

use crate::matching::Quarantine;
use crate::model::{EquipmentName, Mac, Serial};
use serde::{Deserialize, Serialize};

/// Collection of per-device states (name: the device id).
pub const DEVICES: &str = "provisioning";
/// Collection of pending ERPNext write-backs (name: the equipment name).
pub const OUTBOX: &str = "provisioning_outbox";
/// Collection of the ERPNext records the provisioner mirrors (name: the equipment name).
pub const RECORDS: &str = "provisioning_erp";
/// Collection holding the sync watermark (one document, [`SYNC_DOC`]).
pub const SYNC: &str = "provisioning_sync";
/// The watermark document's name.
pub const SYNC_DOC: &str = "watermark";
/// Audit records kept per device (older ones are dropped).
pub const AUDIT_KEPT: usize = 50;

/// Where a device stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Phase {
    /// Seen, not decided yet (waiting for its session to end or for ERPNext).
    Pending {
        /// Why it waits.
        why: String,
    },
    /// Not matched to exactly one record: nothing is pushed.
    Quarantined {
        /// Why.
        reason: Quarantine,
    },
    /// Its preset is written; waiting for the ACS to converge it.
    Installing {
        /// The desired state's generation (the preset's channel is `prov-g<generation>`).
        generation: u64,
        /// Connection requests sent for this generation.
        kicks: u32,
    },
    /// Converged; reading back what can be read.
    Confirming {
        /// The generation being confirmed.
        generation: u64,
    },
    /// Confirmed.
    Provisioned {
        /// When (ms since the epoch).
        at_ms: i64,
    },
    /// The last attempt failed; retried at `retry_at_ms`.
    Failed {
        /// Why (no secret values).
        reason: String,
        /// When the next attempt is due.
        retry_at_ms: i64,
    },
}

/// One audit record: who did what to which paths, and how it ended. Never values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audit {
    /// When (ms since the epoch).
    pub at_ms: i64,
    /// Who: `provisioner` or `api`.
    pub actor: String,
    /// What: `match`, `install`, `confirm`, `fail`, `quarantine`, `retry`, `write_back`, ….
    pub action: String,
    /// The record concerned.
    pub equipment: Option<EquipmentName>,
    /// Parameter paths concerned.
    pub paths: Vec<String>,
    /// How it ended.
    pub outcome: String,
}

/// A device's durable provisioning state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceState {
    /// The device id.
    pub device: String,
    /// The serial it reported, normalised.
    pub serial: Option<Serial>,
    /// Its MACs, normalised.
    pub macs: Vec<Mac>,
    /// Its data-model root.
    pub root: String,
    /// The record it is bound to.
    pub equipment: Option<EquipmentName>,
    /// Where it stands.
    pub phase: Phase,
    /// Generation of the installed desired state (0: none yet).
    pub generation: u64,
    /// Fingerprint of the record the installed state came from.
    pub fingerprint: String,
    /// Consecutive failed attempts.
    pub attempts: u32,
    /// What the device must read back (readable settings only, never passwords).
    pub expect: Vec<(String, String)>,
    /// The last outcome written for ERPNext (`provisioned`, `failed: …`) and when.
    pub last_outcome: Option<(String, i64)>,
    /// The most recent audit records, oldest first.
    pub audit: Vec<Audit>,
}

impl DeviceState {
    /// A fresh state for a device seen for the first time.
    pub fn new(device: &str) -> Self {
        Self {
            device: device.to_owned(),
            serial: None,
            macs: Vec::new(),
            root: String::new(),
            equipment: None,
            phase: Phase::Pending {
                why: "waiting for the end of its first session".into(),
            },
            generation: 0,
            fingerprint: String::new(),
            attempts: 0,
            expect: Vec::new(),
            last_outcome: None,
            audit: Vec::new(),
        }
    }

    /// Appends an audit record, keeping the last [`AUDIT_KEPT`].
    pub fn note(&mut self, audit: Audit) {
        self.audit.push(audit);
        if self.audit.len() > AUDIT_KEPT {
            let extra = self.audit.len() - AUDIT_KEPT;
            self.audit.drain(..extra);
        }
    }

    /// The preset channel of a generation.
    pub fn channel(generation: u64) -> String {
        format!("prov-g{generation}")
    }

    /// The name of the device's preset.
    pub fn preset_name(&self) -> String {
        format!("prov-{}", self.device)
    }
}

/// An outcome still to be written to ERPNext.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteBack {
    /// The record.
    pub equipment: EquipmentName,
    /// The device it concerns.
    pub device: String,
    /// `provisioned` or `failed: <reason>`.
    pub status: String,
    /// When the outcome happened (ms since the epoch).
    pub at_ms: i64,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Not before (ms since the epoch).
    pub next_ms: i64,
}

/// The sync watermark: the newest `modified` seen, and when the last full listing ran.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncMark {
    /// Frappe `Datetime` text of the newest `modified` seen.
    pub watermark: String,
    /// When the last full listing completed (ms since the epoch; 0: never).
    pub full_ms: i64,
}

/// Exponential back-off: `base` × 2^attempts, at most `max`.
pub fn backoff_ms(base_ms: i64, max_ms: i64, attempts: u32) -> i64 {
    base_ms.saturating_mul(1i64 << attempts.min(20)).min(max_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff_ms(1000, 60_000, 0), 1000);
        assert_eq!(backoff_ms(1000, 60_000, 3), 8000);
        assert_eq!(backoff_ms(1000, 60_000, 30), 60_000);
    }

    #[test]
    fn audit_keeps_the_tail() {
        let mut s = DeviceState::new("d");
        for i in 0..(AUDIT_KEPT as i64 + 5) {
            s.note(Audit {
                at_ms: i,
                actor: "provisioner".into(),
                action: "x".into(),
                equipment: None,
                paths: vec![],
                outcome: String::new(),
            });
        }
        assert_eq!(s.audit.len(), AUDIT_KEPT);
        assert_eq!(s.audit[0].at_ms, 5);
    }
}
