//! Carrying out the engine's actions against the ACS: presets written through `Acs::write`,
//! connection requests, read-back and refresh tasks. Each runs in its own task so the event
//! loop never waits on a device.

use super::Provisioner;
use crate::engine::{Action, Cause};
use acs::store::Op;
use acs::{DeviceId, TaskKind, TaskOutcome};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Preset ops waiting to be written, with whom to tell.
pub(crate) type PresetWrite = (Vec<Op>, tokio::sync::oneshot::Sender<Result<(), String>>);

impl Provisioner {
    /// Starts the actions in the background, one after the other (a preset is written before
    /// the connection request that should apply it); returns at once.
    pub(crate) fn execute(self: &Arc<Self>, actions: Vec<Action>) {
        if actions.is_empty() {
            return;
        }
        let me = self.clone();
        me.in_flight.fetch_add(1, Ordering::AcqRel);
        tokio::spawn(async move {
            for action in actions {
                me.clone().act(action).await;
            }
            me.in_flight.fetch_sub(1, Ordering::AcqRel);
        });
    }

    async fn act(self: Arc<Self>, action: Action) {
        match action {
            Action::Install {
                device,
                preset,
                body,
                stale_channel,
            } => {
                let mut ops = vec![Op::PutDoc {
                    collection: acs::presets::COLLECTION.into(),
                    name: preset,
                    body: body.expose().as_bytes().to_vec(),
                }];
                if let (Some(channel), Ok(id)) = (stale_channel, DeviceId::parse(&device)) {
                    ops.push(Op::DeleteFault {
                        device: id,
                        channel,
                    });
                }
                if let Err(e) = self.write_presets(ops).await {
                    tracing::error!(%device, error = %e, "could not write the device's preset");
                }
            }
            Action::Uninstall { device, preset } => {
                let op = Op::DeleteDoc {
                    collection: acs::presets::COLLECTION.into(),
                    name: preset,
                };
                if let Err(e) = self.acs.write(vec![op]).await {
                    tracing::error!(%device, error = %e, "could not remove the device's preset");
                }
            }
            Action::Kick { device } => self.kick(&device).await,
            Action::ReadBack {
                device,
                generation,
                paths,
            } => {
                let result = self.read(&device, paths).await;
                let actions =
                    self.with_engine(|e, now| e.read_back(&device, generation, result, now));
                self.execute(actions);
            }
            Action::Refresh { device, paths } => {
                let Ok(id) = DeviceId::parse(&device) else {
                    return;
                };
                let mut tasks = Vec::new();
                for path in paths {
                    let kind = TaskKind::RefreshObject {
                        path: path.trim_end_matches('.').to_owned(),
                    };
                    match self.acs.enqueue(&id, kind).await {
                        Ok(t) => tasks.push(t.id),
                        Err(e) => tracing::warn!(%device, error = %e, "could not queue a refresh"),
                    }
                }
                self.kick(&device).await;
                for t in tasks {
                    let _ = self.acs.wait_task(t, self.readback_timeout()).await;
                }
                self.decide(&device, Cause::Timer).await;
            }
            Action::SyncNow => self.request_sync(),
        }
    }

    /// Writes preset ops, batched with other devices' written at about the same time: the ACS
    /// drops its parsed preset set at every write that touches presets and re-reads all of them
    /// at the next session, so during a bootstrap wave one write per device would re-read
    /// thousands of presets thousands of times. The first caller gathers for a few
    /// milliseconds and writes everything queued in one go; every caller returns once its ops
    /// are durable (so a connection request that follows finds its preset).
    async fn write_presets(&self, ops: Vec<Op>) -> Result<(), String> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.lock_presets().push((ops, tx));
        if !self.preset_leader.swap(true, Ordering::AcqRel) {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            loop {
                let batch = std::mem::take(&mut *self.lock_presets());
                if batch.is_empty() {
                    self.preset_leader.store(false, Ordering::Release);
                    // Someone may have queued after the take but before the flag dropped.
                    if self.lock_presets().is_empty()
                        || self.preset_leader.swap(true, Ordering::AcqRel)
                    {
                        break;
                    }
                    continue;
                }
                let (ops, waiters): (Vec<Vec<Op>>, Vec<_>) = batch.into_iter().unzip();
                let result = self
                    .acs
                    .write(ops.concat())
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string());
                for w in waiters {
                    let _ = w.send(result.clone());
                }
            }
        }
        rx.await
            .unwrap_or_else(|_| Err("preset writer gone".into()))
    }

    fn lock_presets(&self) -> std::sync::MutexGuard<'_, Vec<PresetWrite>> {
        self.preset_queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A connection request, with at most `concurrency` in flight. A CPE still closing the
    /// session that just ended answers 503, so a refused request is tried again a few times
    /// (0.5, 1, 2 s apart); a device that still does not answer is picked up at its next inform.
    async fn kick(&self, device: &str) {
        let Ok(id) = DeviceId::parse(device) else {
            return;
        };
        for attempt in 0..4u32 {
            let result = {
                let _permit = self.permits.acquire().await;
                self.acs.connection_request(&id).await
            };
            match result {
                Ok(()) => return,
                Err(acs::CrError::UnknownDevice | acs::CrError::NoUrl) => break,
                Err(e) if attempt == 3 => {
                    tracing::info!(%device, error = %e, "connection request failed; waiting for the next inform");
                }
                Err(_) => {
                    tokio::time::sleep(std::time::Duration::from_millis(500 << attempt)).await
                }
            }
        }
    }

    /// Reads `paths` from the device now (a GetParameterValues task and a connection request)
    /// and returns what the device reported.
    async fn read(
        &self,
        device: &str,
        paths: Vec<String>,
    ) -> Result<Vec<(String, String)>, String> {
        let id = DeviceId::parse(device).map_err(|e| e.to_string())?;
        let task = self
            .acs
            .enqueue(
                &id,
                TaskKind::GetParameterValues {
                    names: paths.clone(),
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        // A connection request can be lost (the CPE was still closing a session, or its
        // session queue was full): wake it again every few seconds until the task ran.
        let deadline = tokio::time::Instant::now() + self.readback_timeout();
        let mut outcome;
        loop {
            self.kick(device).await;
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let wait = left.min(std::time::Duration::from_secs(5));
            outcome = self.acs.wait_task(task.id, wait).await;
            if !matches!(outcome, Ok(TaskOutcome::Pending(_))) || wait == left {
                break;
            }
        }
        match outcome {
            Ok(TaskOutcome::Done(_)) => {
                let tree = self
                    .acs
                    .store()
                    .get_tree(&id)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(paths
                    .into_iter()
                    .filter_map(|p| {
                        let v = tree.get(&p)?.value.as_ref()?.text().into_owned();
                        Some((p, v))
                    })
                    .collect())
            }
            Ok(TaskOutcome::Faulted(_, f)) => Err(format!("fault {}", f.code)),
            Ok(TaskOutcome::Pending(_)) => Err("the device did not answer in time".into()),
            Err(e) => Err(e.to_string()),
        }
    }
}
