//! The driver's loops: ERPNext polls (and the decisions they call for), write-backs through
//! the outbox, retry timers, and the reconciliation after missed ACS events.

use super::{Provisioner, SyncReport, now};
use crate::engine::Cause;
use crate::error::ProvisionError;
use crate::model::Equipment;
use acs::DeviceId;
use acs::store::Index;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

impl Provisioner {
    /// Polls ERPNext once: the whole listing when one is due (or `full`), else the records
    /// modified since the watermark; then decides again on the devices the changes concern.
    pub async fn sync_once(self: &Arc<Self>, full: bool) -> Result<SyncReport, ProvisionError> {
        let (mark, now_ms) = {
            let e = self.lock();
            (e.mark().clone(), now(&self.acs))
        };
        let full = full
            || mark.full_ms == 0
            || now_ms - mark.full_ms > self.config.full_sync_interval.as_millis() as i64;
        let since = if full { String::new() } else { mark.watermark };
        let rows = match self.erp.modified_since(&since).await {
            Ok(r) => r,
            Err(e) => {
                self.with_engine(|en, _| en.sync_failed());
                tracing::warn!(error = %e, "ERPNext poll failed; will retry");
                return Err(e);
            }
        };
        let mut report = SyncReport {
            rows: rows.len(),
            full,
            ..SyncReport::default()
        };
        let mut records = Vec::with_capacity(rows.len());
        let mut names = BTreeSet::new();
        for row in &rows {
            match Equipment::from_row(row) {
                Ok(e) => {
                    names.insert(e.name.clone());
                    records.push(e);
                }
                Err(e) => {
                    report.rejected += 1;
                    tracing::warn!(error = %e, "ERPNext record skipped");
                }
            }
        }
        let (devices, changed) =
            self.with_engine(|e, now| e.synced(records, full.then_some(&names), now));
        report.changed = changed.len();
        let mut todo: BTreeSet<String> = devices.into_iter().collect();
        // Devices the ACS knows but the provisioner never decided on (registered before it ran)
        // that a changed record names.
        for e in &changed {
            // A store that cannot answer fails the sync (retried at the next poll): taking its
            // silence for "no device" would leave a record's device undecided.
            for id in self
                .acs_devices_for(e)
                .await
                .map_err(|e| ProvisionError::State(e.to_string()))?
            {
                if self.state(&id).is_none() {
                    todo.insert(id);
                }
            }
        }
        report.devices = todo.len();
        let mut set = tokio::task::JoinSet::new();
        for device in todo {
            let me = self.clone();
            set.spawn(async move { me.decide(&device, Cause::Sync).await });
        }
        while set.join_next().await.is_some() {}
        Ok(report)
    }

    async fn acs_devices_for(&self, e: &Equipment) -> Result<Vec<String>, acs::store::StoreError> {
        let store = self.acs.store();
        let mut out = Vec::new();
        if let Some(s) = &e.serial {
            out.extend(store.scan_index(Index::Serial, s.as_str()).await?);
        }
        if let Some(m) = &e.mac {
            for key in [m.as_str().to_owned(), m.as_str().to_lowercase()] {
                out.extend(store.scan_index(Index::Mac, &key).await?);
            }
        }
        Ok(out.into_iter().map(String::from).collect())
    }

    pub(super) async fn poll_loop(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            if let Err(e) = self.sync_once(false).await {
                tracing::debug!(error = %e, "poll failed");
            }
            tokio::select! {
                () = tokio::time::sleep(self.config.poll_interval) => {}
                () = self.sync_now.notified() => {}
                _ = stop.changed() => return,
            }
        }
    }

    pub(super) async fn writeback_loop(
        self: Arc<Self>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            let due = self.lock().due_writebacks(now(&self.acs));
            let mut set = tokio::task::JoinSet::new();
            for w in due {
                let me = self.clone();
                set.spawn(async move {
                    let _permit = me.permits.acquire().await;
                    let at = crate::erp::wire::datetime(w.at_ms);
                    let result = me
                        .erp
                        .write_outcome(w.equipment.as_str(), &w.status, &at)
                        .await;
                    if let Err(e) = &result {
                        tracing::info!(equipment = %w.equipment, error = %e, "write-back deferred");
                    }
                    me.with_engine(|e, now| e.written_back(&w, &result, now));
                });
            }
            while set.join_next().await.is_some() {}
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
                () = self.writeback_now.notified() => {}
                _ = stop.changed() => return,
            }
        }
    }

    pub(super) async fn timer_loop(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.changed() => return,
            }
            let due = self.lock().due(now(&self.acs));
            for device in due {
                let me = self.clone();
                tokio::spawn(async move { me.decide(&device, Cause::Timer).await });
            }
        }
    }

    /// After missed events: decides again on every device the ACS knows that is not settled.
    pub(super) async fn reconcile(self: Arc<Self>) {
        let mut after: Option<DeviceId> = None;
        loop {
            let page = match self.acs.store().scan(after.as_ref(), 500).await {
                Ok(page) => page,
                Err(e) => {
                    // The next missed event or restart reconciles again.
                    tracing::error!(error = %e, "reconciliation stopped: the store failed");
                    return;
                }
            };
            let Some(last) = page.last().cloned() else {
                return;
            };
            for id in page {
                let device = id.to_string();
                let actions = self.with_engine(|e, now| e.reconcile(&device, now));
                match actions {
                    Some(a) => self.execute(a),
                    None => {
                        let me = self.clone();
                        tokio::spawn(async move { me.decide(&device, Cause::Session).await });
                    }
                }
            }
            after = Some(last);
        }
    }
}
