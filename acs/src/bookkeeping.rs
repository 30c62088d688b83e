//! Write-behind of Inform bookkeeping.
//!
//! Most sessions are periodic Informs of a known device that change nothing but its last-inform
//! time. Making each of those durable before answering would cost one store commit (and a share
//! of an fsync) per session for a timestamp the next Inform rewrites anyway. Instead the time is
//! noted here and written within [`FLUSH_EVERY`], in one batch. A crash can lose at most that
//! much of these timestamps; everything else an Inform changes (a new device, a boot, a changed
//! value, a fact the ACS keeps) is still durable before the InformResponse. This is the one
//! exception to that rule, and it is deliberate (GenieACS's MongoDB writes do not wait for the
//! journal either).

use crate::Acs;
use acs_store::{DeviceId, Op};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// How often noted times are written.
pub(crate) const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// Last-inform times not yet written, by device.
#[derive(Default)]
pub(crate) struct InformLog {
    pending: Mutex<HashMap<DeviceId, i64>>,
}

impl InformLog {
    /// Notes that `device` informed at `at_ms`.
    pub(crate) fn note(&self, device: &DeviceId, at_ms: i64) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let t = p.entry(device.clone()).or_insert(at_ms);
        *t = (*t).max(at_ms);
    }

    /// The noted time of a device, for readers that want the freshest view.
    pub(crate) fn get(&self, device: &DeviceId) -> Option<i64> {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(device)
            .copied()
    }

    /// The devices with a time not yet written.
    pub(crate) fn devices(&self) -> Vec<DeviceId> {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    fn take(&self) -> HashMap<DeviceId, i64> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Writes every noted time in one batch of [`Op::NoteInform`], which touch neither the device's
/// metadata nor its revision: no read first, and no compare-and-swap race with sessions. A batch
/// that fails is noted again for the next round.
pub(crate) async fn flush(acs: &Acs) {
    let noted = acs.inform_log.take();
    if noted.is_empty() {
        return;
    }
    let ops = noted
        .iter()
        .map(|(id, &at_ms)| Op::NoteInform {
            id: id.clone(),
            at_ms,
        })
        .collect();
    if let Err(e) = acs.writer.apply(ops).await {
        tracing::error!(error = %e, "could not record last-inform times; retrying");
        for (device, at) in noted {
            acs.inform_log.note(&device, at);
        }
    }
}
