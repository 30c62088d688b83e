//! The engine's ERPNext side: records coming in from polls, and outcomes going out through the
//! outbox, with back-off while ERPNext is away.

use super::{Dirty, Engine};
use crate::error::ProvisionError;
use crate::model::{Equipment, EquipmentName};
use crate::state::{Audit, Phase, WriteBack, backoff_ms};
use std::collections::BTreeSet;

impl Engine {
    /// Records from a poll. `complete` lists every record name when the poll was a full
    /// listing (records missing from it were deleted in ERPNext). Returns the devices to decide
    /// on again: those bound to a changed record, those waiting for ERPNext, and, when anything
    /// changed, the quarantined ones (a fixed record may release them).
    pub fn synced(
        &mut self,
        records: Vec<Equipment>,
        complete: Option<&BTreeSet<EquipmentName>>,
        now: i64,
    ) -> (Vec<String>, Vec<Equipment>) {
        let mut changed: Vec<Equipment> = Vec::new();
        let mut newest = self.mark.watermark.clone();
        for e in records {
            if e.modified > newest {
                newest.clone_from(&e.modified);
            }
            let before = self.dir.get(&e.name).map(Equipment::fingerprint);
            if before.as_deref() != Some(e.fingerprint().as_str()) {
                changed.push(e.clone());
                self.dirty_records.insert(e.name.clone());
            }
            self.dir.upsert(e);
        }
        let mut gone = Vec::new();
        if let Some(all) = complete {
            for name in self.dir.names() {
                if !all.contains(&name) {
                    gone.extend(self.dir.remove(&name));
                    self.dirty_records.insert(name);
                }
            }
            self.mark.full_ms = now;
            self.dirty_mark = true;
        }
        if newest != self.mark.watermark {
            self.mark.watermark = newest;
            self.dirty_mark = true;
        }
        self.erp_ok = true;
        let touched: BTreeSet<&EquipmentName> =
            changed.iter().chain(gone.iter()).map(|e| &e.name).collect();
        let any = !touched.is_empty();
        let devices = self
            .devices
            .values()
            .filter(|d| {
                d.equipment.as_ref().is_some_and(|n| touched.contains(n))
                    || matches!(d.phase, Phase::Pending { .. })
                    || (any && matches!(d.phase, Phase::Quarantined { .. }))
            })
            .map(|d| d.device.clone())
            .collect();
        (devices, changed)
    }

    /// A poll failed: ERPNext is away, so unknown devices wait rather than go to quarantine.
    pub fn sync_failed(&mut self) {
        self.erp_ok = false;
    }

    /// Whether the last poll succeeded.
    pub fn erp_ok(&self) -> bool {
        self.erp_ok
    }

    /// Outcomes due to be written now.
    pub fn due_writebacks(&self, now: i64) -> Vec<WriteBack> {
        self.outbox
            .values()
            .filter(|w| w.next_ms <= now)
            .cloned()
            .collect()
    }

    /// How writing an outcome went. Only the same outcome is cleared: a newer one queued
    /// meanwhile stays.
    pub fn written_back(&mut self, w: &WriteBack, result: &Result<(), ProvisionError>, now: i64) {
        let Some(current) = self.outbox.get_mut(&w.equipment) else {
            return;
        };
        if current.at_ms != w.at_ms || current.status != w.status {
            return;
        }
        self.dirty_outbox.insert(w.equipment.clone());
        let outcome = match result {
            Ok(()) => {
                self.outbox.remove(&w.equipment);
                "written".to_owned()
            }
            // The record is gone: there is nothing left to tell.
            Err(ProvisionError::NotFound(_)) => {
                self.outbox.remove(&w.equipment);
                "record gone; dropped".to_owned()
            }
            Err(e) => {
                current.attempts += 1;
                current.next_ms = now
                    + backoff_ms(
                        self.config.writeback_base_ms,
                        self.config.writeback_max_ms,
                        current.attempts - 1,
                    );
                // Only the first failure of a run of them is audited, not every retry.
                if current.attempts > 1 {
                    return;
                }
                format!("deferred: {e}")
            }
        };
        if let Some(st) = self.devices.get_mut(&w.device) {
            st.note(Audit {
                at_ms: now,
                actor: "provisioner".into(),
                action: "write_back".into(),
                equipment: Some(w.equipment.clone()),
                paths: Vec::new(),
                outcome: format!("{}: {outcome}", w.status),
            });
            self.dirty_devices.insert(w.device.clone());
        }
    }

    /// The durable records changed since the last call.
    pub fn take_dirty(&mut self) -> Dirty {
        let mut d = Dirty::default();
        for id in std::mem::take(&mut self.dirty_devices) {
            if let Some(s) = self.devices.get(&id) {
                d.devices.push(s.clone());
            }
        }
        for name in std::mem::take(&mut self.dirty_outbox) {
            match self.outbox.get(&name) {
                Some(w) => d.outbox.push(w.clone()),
                None => d.outbox_done.push(name),
            }
        }
        for name in std::mem::take(&mut self.dirty_records) {
            match self.dir.get(&name) {
                Some(e) => d.records.push(e.clone()),
                None => d.records_gone.push(name),
            }
        }
        if std::mem::take(&mut self.dirty_mark) {
            d.mark = Some(self.mark.clone());
        }
        d
    }
}
