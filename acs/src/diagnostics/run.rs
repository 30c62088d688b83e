//! The driver of one diagnostic: the recipe of `notes/cwmp.md` §9 on the ACS's own tasks.
//!
//! 1. Queue the SetParameterValues ([`super::plan`]) and send a connection request; the CPE runs
//!    it in a `6 CONNECTION REQUEST` session and starts the test when the session ends.
//! 2. Wait for its `8 DIAGNOSTICS COMPLETE` Inform, up to the test's own worst case plus a
//!    margin (`AcsConfig::diagnostic_margin`).
//! 3. Then refresh the result object (GetParameterNames + GetParameterValues, so `RouteHops` of
//!    an earlier run do not survive) and read it ([`super::read_result`]).
//! 4. Fallback when no event comes (some firmware never sends it, a reboot loses it): a
//!    connection request and a read of `DiagnosticsState`; `Requested` waits and polls again, a
//!    bounded number of times; `None` is a lost test. A `1 BOOT` Inform triggers the check at
//!    once.
//!
//! Tasks are woken with connection requests, except while the device is in a session (it may
//! still pick the task up; its end is the cue to ask again). Every task this driver queued and
//! no longer needs is deleted, so an abandoned diagnostic does not run at the next Inform.
//! Diagnostics of one device run one at a time: `8 DIAGNOSTICS COMPLETE` does not say which
//! test finished.

use super::parse::{State, classify, state_text};
use super::plan::{STATE, plan};
use super::{DiagError, DiagProgress, DiagResult, Diagnostic, read_result};
use crate::datamodel::DataModel;
use crate::{Acs, CrError, DeviceEvent, DeviceId, TaskKind, TaskOutcome};
use acs_store::{Op, ParamTree};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;

/// How long a queued task may wait for a session before the CPE is asked again.
const SLICE: Duration = Duration::from_secs(2);

/// Connection requests tried while the CPE answers 503 (it is finishing a session).
const BUSY_RETRIES: u32 = 5;

const DIAGNOSTICS_COMPLETE: &str = "8 DIAGNOSTICS COMPLETE";

/// Progress reports; a full or closed channel drops them (the result is returned anyway).
struct Progress(Option<mpsc::Sender<DiagProgress>>);

impl Progress {
    fn send(&self, p: DiagProgress) {
        if let Some(tx) = &self.0 {
            let _ = tx.try_send(p);
        }
    }
}

/// What the device's events told the driver so far.
struct Watch {
    events: broadcast::Receiver<DeviceEvent>,
    device: DeviceId,
    contacted: bool,
    completed: bool,
    /// A reboot, or missed events: look at the state now.
    check: bool,
    session_ended: bool,
}

/// Why the wait for the test's end stopped.
enum Signal {
    Completed,
    Check,
    Timeout,
}

impl Watch {
    fn note(&mut self, ev: Result<DeviceEvent, RecvError>, progress: &Progress) {
        match ev {
            Ok(DeviceEvent::Informed { device, events }) if device == self.device => {
                if !self.contacted {
                    self.contacted = true;
                    progress.send(DiagProgress::CpeContacted);
                }
                if events.iter().any(|e| e == DIAGNOSTICS_COMPLETE) {
                    self.completed = true;
                } else if events.iter().any(|e| e == "1 BOOT" || e == "0 BOOTSTRAP") {
                    // A reboot loses a test in flight and its event (TR-069 §3.2.1).
                    self.check = true;
                }
            }
            Ok(DeviceEvent::SessionEnded { device }) if device == self.device => {
                self.session_ended = true;
            }
            Ok(_) | Err(RecvError::Closed) => {}
            // Events were dropped; one of them may have been ours.
            Err(RecvError::Lagged(_)) => self.check = true,
        }
    }

    async fn signal(&mut self, until: Instant, progress: &Progress) -> Signal {
        loop {
            if std::mem::take(&mut self.completed) {
                return Signal::Completed;
            }
            if std::mem::take(&mut self.check) {
                return Signal::Check;
            }
            match tokio::time::timeout_at(until, self.events.recv()).await {
                Err(_) | Ok(Err(RecvError::Closed)) => return Signal::Timeout,
                Ok(ev) => self.note(ev, progress),
            }
        }
    }
}

impl Acs {
    /// Runs `diag` on `device` and returns its results: the one-call technician diagnostic.
    ///
    /// `timeout` bounds the whole call (queueing, the CPE's sessions, the test, the reads);
    /// `progress` receives the steps for live display (a bounded channel of 16 never drops one).
    /// Test failures the CPE reports (`Error_…` states) are [`DiagError::Failed`].
    pub async fn run_diagnostic(
        &self,
        device: &DeviceId,
        diag: Diagnostic,
        timeout: Duration,
        progress: Option<mpsc::Sender<DiagProgress>>,
    ) -> Result<DiagResult, DiagError> {
        let started = Instant::now();
        let deadline = started + timeout;
        let progress = Progress(progress);
        let lock = self.diag_lock(device);
        let result = match tokio::time::timeout_at(deadline, lock.lock()).await {
            Ok(_serial) => self.diagnose(device, &diag, deadline, &progress).await,
            Err(_) => Err(DiagError::Timeout(
                "waiting for another diagnostic of the device",
            )),
        };
        drop(lock);
        self.release_diag_lock(device);
        match &result {
            Ok(_) => progress.send(DiagProgress::Complete),
            Err(e) => progress.send(DiagProgress::Failed {
                reason: e.to_string(),
            }),
        }
        self.metrics.diagnostics.inc();
        if result.is_err() {
            self.metrics.diagnostic_failures.inc();
        }
        self.metrics
            .observe_diagnostic(diag.kind_name(), result.is_ok(), started.elapsed());
        result
    }

    fn diag_lock(&self, device: &DeviceId) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.diag_locks.lock().unwrap_or_else(|e| e.into_inner());
        locks.entry(device.clone()).or_default().clone()
    }

    /// Forgets the device's lock when no other diagnostic holds or waits for it.
    fn release_diag_lock(&self, device: &DeviceId) {
        let mut locks = self.diag_locks.lock().unwrap_or_else(|e| e.into_inner());
        if locks.get(device).is_some_and(|l| Arc::strong_count(l) == 1) {
            locks.remove(device);
        }
    }

    async fn diagnose(
        &self,
        device: &DeviceId,
        diag: &Diagnostic,
        deadline: Instant,
        progress: &Progress,
    ) -> Result<DiagResult, DiagError> {
        let meta = self
            .device(device)
            .await?
            .ok_or(DiagError::UnknownDevice)?
            .value;
        let tree = self
            .store
            .get_tree(device)
            .await
            .map_err(crate::AcsError::from)?;
        let model = match meta.root.as_str() {
            "" => DataModel::of(None, &tree).unwrap_or(DataModel::Tr181),
            root => DataModel::from_root(root)
                .ok_or_else(|| DiagError::UnsupportedDataModel(root.to_owned()))?,
        };
        let plan = plan(diag, model, &tree)?;
        let mut watch = Watch {
            events: self.subscribe(),
            device: device.clone(),
            contacted: false,
            completed: false,
            check: false,
            session_ended: false,
        };
        let kind = TaskKind::SetParameterValues {
            values: plan.values,
            parameter_key: String::new(),
        };
        let task = self.enqueue(device, kind).await?;
        progress.send(DiagProgress::Queued { task_id: task.id });
        self.await_task(
            task.id,
            true,
            deadline,
            &mut watch,
            progress,
            "waiting for the CPE to take the request",
        )
        .await?;
        progress.send(DiagProgress::Running);
        let margin = self.config.diagnostic_margin;
        let mut until = deadline.min(Instant::now() + diag.expected_duration() + margin);
        let mut polls = 0;
        loop {
            let signal = watch.signal(until, progress).await;
            let via_poll = !matches!(signal, Signal::Completed);
            if via_poll {
                polls += 1;
                if polls > self.config.diagnostic_polls || Instant::now() >= deadline {
                    return Err(DiagError::Timeout("waiting for the test to finish"));
                }
                progress.send(DiagProgress::Polling { attempt: polls });
                let names = vec![format!("{}.{STATE}", plan.object)];
                let read = TaskKind::GetParameterValues { names };
                let stage = "reading the state";
                let tree = self
                    .read_now(read, deadline, &mut watch, progress, stage)
                    .await?;
                match self.state_of(diag, model, &tree) {
                    State::Requested => {
                        until = deadline.min(Instant::now() + self.config.diagnostic_poll_interval);
                        continue;
                    }
                    State::Complete | State::Failed(_) => {}
                    State::None | State::Other(_) => {
                        let state = state_text(diag.kind(), model, &tree).unwrap_or_default();
                        return Err(DiagError::Lost { state });
                    }
                }
            }
            let read = TaskKind::RefreshObject {
                path: plan.object.clone(),
            };
            let stage = "reading the results";
            let tree = self
                .read_now(read, deadline, &mut watch, progress, stage)
                .await?;
            if self.state_of(diag, model, &tree) == State::Requested {
                // The event was another test's (or a stale one): ours still runs.
                until = deadline.min(Instant::now() + self.config.diagnostic_poll_interval);
                continue;
            }
            let mut result = read_result(diag, model, &tree)?;
            result.via_poll = via_poll;
            return Ok(result);
        }
    }

    /// Queues a read, waits until it ran and returns the device's tree as it then stands.
    async fn read_now(
        &self,
        read: TaskKind,
        deadline: Instant,
        watch: &mut Watch,
        progress: &Progress,
        stage: &'static str,
    ) -> Result<ParamTree, DiagError> {
        let task = self.enqueue(&watch.device, read).await?;
        self.await_task(task.id, false, deadline, watch, progress, stage)
            .await?;
        Ok(self
            .store
            .get_tree(&watch.device)
            .await
            .map_err(crate::AcsError::from)?)
    }

    fn state_of(&self, diag: &Diagnostic, model: DataModel, tree: &ParamTree) -> State {
        state_text(diag.kind(), model, tree).map_or(State::Other(String::new()), |s| classify(&s))
    }

    /// Waits until task `id` ran, waking the CPE as needed; deletes it on failure or timeout.
    /// With `first`, a connection request that fails for a reason other than a busy CPE ends
    /// the diagnostic (the device is offline); later ones are retried until the deadline.
    async fn await_task(
        &self,
        id: u64,
        first: bool,
        deadline: Instant,
        watch: &mut Watch,
        progress: &Progress,
        stage: &'static str,
    ) -> Result<(), DiagError> {
        watch.session_ended = false;
        if !self.in_session(&watch.device) {
            self.wake_for(id, first, watch).await?;
        }
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                self.abandon(&watch.device, id).await;
                return Err(DiagError::Timeout(stage));
            }
            let wait = self.wait_task(id, left.min(SLICE));
            tokio::pin!(wait);
            let outcome = loop {
                tokio::select! {
                    biased;
                    out = &mut wait => break Some(out?),
                    ev = watch.events.recv() => {
                        watch.note(ev, progress);
                        if std::mem::take(&mut watch.session_ended) {
                            break None;
                        }
                    }
                }
            };
            match outcome {
                Some(TaskOutcome::Done(_)) => return Ok(()),
                Some(TaskOutcome::Faulted(_, f)) => {
                    self.abandon(&watch.device, id).await;
                    return Err(DiagError::Refused {
                        code: f.code,
                        message: f.message,
                        detail: f.detail,
                    });
                }
                // A session ended without running it, or none came: ask the CPE again.
                Some(TaskOutcome::Pending(_)) | None => {
                    self.wake_for(id, first && !watch.contacted, watch).await?;
                }
            }
        }
    }

    /// A connection request for a queued task; `fatal` makes an offline CPE end the diagnostic.
    async fn wake_for(&self, id: u64, fatal: bool, watch: &Watch) -> Result<(), DiagError> {
        match self.wake(&watch.device).await {
            Ok(()) | Err(CrError::Busy) => Ok(()),
            Err(e) if fatal => {
                self.abandon(&watch.device, id).await;
                Err(DiagError::ConnectionRequest(e))
            }
            Err(e) => {
                tracing::debug!(device = %watch.device, error = %e, "diagnostic: connection request failed; will retry");
                Ok(())
            }
        }
    }

    /// A connection request, retried while the CPE answers 503 (a session still closing).
    async fn wake(&self, device: &DeviceId) -> Result<(), CrError> {
        let mut pause = Duration::from_millis(50);
        let mut result = self.connection_request(device).await;
        for _ in 0..BUSY_RETRIES {
            if result != Err(CrError::Busy) {
                break;
            }
            tokio::time::sleep(pause).await;
            pause *= 2;
            result = self.connection_request(device).await;
        }
        result
    }

    /// Deletes a task this driver no longer wants, with its fault record.
    async fn abandon(&self, device: &DeviceId, id: u64) {
        let ops = vec![
            Op::DeleteTask(id),
            Op::DeleteFault {
                device: device.clone(),
                channel: format!("task_{id}"),
            },
        ];
        if let Err(e) = self.write(ops).await {
            tracing::warn!(%device, task = id, error = %e, "could not delete an abandoned diagnostic task");
        }
    }
}
