//! The task queue: which devices may have tasks, who waits for which task, and the store ops
//! that finish a task or record a CPE fault on it.
//!
//! Tasks themselves are store records; this module keeps what makes the queue cheap and
//! observable around them. Most sessions are periodic Informs of devices with nothing queued,
//! so a device is *marked* before any task of its is written and a session reads the queue only
//! for marked devices; a mark goes only when a session found nothing pending and nothing was
//! queued since it looked (the mark counts queueings, so a race cannot lose a task). Callers of
//! [`crate::Acs::wait_task`] register a waiter that sessions wake once the task's new state is
//! durable.

use crate::{AcsError, TaskOutcome};
use acs_store::{DeviceId, FaultRecord, Op, Outcome, TaskKind, TaskRecord, TaskStatus};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::oneshot;

/// The marks and waiters of the task queue.
#[derive(Default)]
pub(crate) struct TaskQueue {
    /// Devices that may have pending tasks, with the number of queueings seen.
    marks: Mutex<HashMap<DeviceId, u64>>,
    waiters: Mutex<HashMap<u64, Vec<oneshot::Sender<()>>>>,
}

impl TaskQueue {
    /// A queue whose marks are those devices with pending tasks (read once at start-up).
    pub(crate) fn with_pending(tasks: &[TaskRecord]) -> Self {
        let marks = tasks
            .iter()
            .filter(|t| t.status == TaskStatus::Pending)
            .map(|t| (t.device.clone(), 1))
            .collect();
        Self {
            marks: Mutex::new(marks),
            waiters: Mutex::default(),
        }
    }

    /// `Some(generation)` if the device may have pending tasks; `None` means it has none.
    pub(crate) fn may_have_tasks(&self, device: &DeviceId) -> Option<u64> {
        self.marks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(device)
            .copied()
    }

    /// Marks the device as possibly having tasks (before a task is written, and again once it
    /// is durable: a session that read the first mark but looked at the store before the write
    /// landed would otherwise clear the mark and miss the task).
    pub(crate) fn mark(&self, device: &DeviceId) {
        *self
            .marks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(device.clone())
            .or_default() += 1;
    }

    /// Forgets the device's mark if nothing was queued since `generation` was read.
    pub(crate) fn unmark(&self, device: &DeviceId, generation: u64) {
        let mut marks = self.marks.lock().unwrap_or_else(|e| e.into_inner());
        if marks.get(device) == Some(&generation) {
            marks.remove(device);
        }
    }

    /// Registers a waiter for the task; it fires at the task's next durable change.
    pub(crate) fn wait(&self, id: u64) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        self.waiters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(id)
            .or_default()
            .push(tx);
        rx
    }

    /// Wakes every waiter of the task.
    pub(crate) fn notify(&self, id: u64) {
        let waiters = self
            .waiters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        for w in waiters.into_iter().flatten() {
            let _ = w.send(());
        }
    }
}

/// The task queue's part of the ACS's API.
impl crate::Acs {
    /// Queues a task for a device, durably: when this returns the task survives a crash. It runs
    /// at the device's next session (use [`crate::Acs::connection_request`] to make that now).
    pub async fn enqueue(&self, device: &DeviceId, kind: TaskKind) -> Result<TaskRecord, AcsError> {
        if self.store.get(device).await?.is_none() {
            return Err(AcsError::NoSuchDevice);
        }
        let now = self.clock_ms();
        let mut task = TaskRecord {
            id: 0,
            device: device.clone(),
            kind,
            created_ms: now,
            status: TaskStatus::Pending,
            attempts: 0,
            not_before_ms: 0,
            expiry_ms: None,
        };
        self.tasks.mark(device);
        let out = self.writer.apply(vec![Op::PutTask(task.clone())]).await?;
        // Marked again once durable (see `tasks.rs`).
        self.tasks.mark(device);
        match out.first() {
            Some(Outcome::Done {
                task_id: Some(id), ..
            }) => task.id = *id,
            _ => return Err(AcsError::Conflict("the store assigned no task id")),
        }
        Ok(task)
    }

    /// Waits until the task is done or has a fault recorded, or `timeout` passes. A faulted
    /// task may still be retried later; its fault record goes away when it succeeds.
    pub async fn wait_task(&self, id: u64, timeout: Duration) -> Result<TaskOutcome, AcsError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Register before reading so a completion between the read and the wait is not lost.
            let rx = self.tasks.wait(id);
            let task = self.store.task(id).await?.ok_or(AcsError::NoSuchTask)?;
            if let TaskStatus::Done { .. } = task.status {
                return Ok(TaskOutcome::Done(task));
            }
            let channel = channel(id);
            let fault = self
                .store
                .faults(Some(&task.device))
                .await?
                .into_iter()
                .find(|f| f.channel == channel);
            if let Some(f) = fault {
                return Ok(TaskOutcome::Faulted(task, f));
            }
            if tokio::time::timeout_at(deadline, rx).await.is_err() {
                return Ok(TaskOutcome::Pending(task));
            }
        }
    }

    /// Deletes the records of tasks completed more than `done_task_retention` ago; returns how
    /// many. Run every minute while serving, so the task table holds only live work.
    pub async fn purge_done_tasks(&self) -> Result<usize, AcsError> {
        let cutoff = self.clock_ms() - self.config.done_task_retention.as_millis() as i64;
        let ops = purge_ops(self.store.tasks(None).await?, cutoff);
        let n = ops.len();
        self.writer.apply(ops).await?;
        Ok(n)
    }
}

/// How faulted tasks are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    /// Attempts before a task is faulted for good.
    pub(crate) max_attempts: u32,
    /// The wait after the first fault, in milliseconds; doubled after each further one.
    pub(crate) base_ms: i64,
}

/// The fault channel of a task (GenieACS's `task_<id>`).
pub(crate) fn channel(id: u64) -> String {
    format!("task_{id}")
}

/// The op that finishes a task: done now, or, for a Download the CPE accepted with status 1,
/// parked until its TransferComplete reports (it must not be sent again meanwhile; see
/// `task_sweep.rs` for how long it may stay parked).
pub(crate) fn finish_op(mut task: TaskRecord, awaiting_transfer: bool, now_ms: i64) -> Op {
    if awaiting_transfer {
        task.not_before_ms = crate::task_sweep::parked(now_ms);
    } else {
        task.status = TaskStatus::Done {
            finished_ms: now_ms,
        };
    }
    Op::PutTask(task)
}

/// The ops that record a CPE fault on a task and schedule its retry with exponential back-off,
/// or fault it for good after the policy's attempts. A transfer that failed is sendable again.
pub(crate) fn fault_ops(
    mut task: TaskRecord,
    fault: &cwmp::Fault,
    now_ms: i64,
    policy: RetryPolicy,
) -> [Op; 2] {
    task.attempts += 1;
    let record = fault_record(&task.device, task.id, fault, task.attempts, now_ms);
    if task.attempts >= policy.max_attempts {
        task.status = TaskStatus::Faulted {
            code: record.code.clone(),
            message: record.message.clone(),
            at_ms: now_ms,
        };
    } else {
        task.not_before_ms = now_ms
            + policy
                .base_ms
                .saturating_mul(1 << (task.attempts - 1).min(16));
    }
    [Op::PutTask(task), Op::PutFault(record)]
}

/// The ops that record a fault the ACS raised on a task's channel (a script's, a planner
/// limit, or the CPE's on an RPC the task's provisions sent), under the same retry rules as a
/// CPE fault on a task's own RPC.
pub(crate) fn record_fault_ops(
    mut task: TaskRecord,
    mut record: FaultRecord,
    now_ms: i64,
    policy: RetryPolicy,
) -> [Op; 2] {
    task.attempts += 1;
    record.task_id = Some(task.id);
    record.channel = channel(task.id);
    record.retries = task.attempts.saturating_sub(1);
    record.timestamp_ms = now_ms;
    if task.attempts >= policy.max_attempts {
        task.status = TaskStatus::Faulted {
            code: record.code.clone(),
            message: record.message.clone(),
            at_ms: now_ms,
        };
    } else {
        task.not_before_ms = now_ms
            + policy
                .base_ms
                .saturating_mul(1 << (task.attempts - 1).min(16));
    }
    [Op::PutTask(task), Op::PutFault(record)]
}

/// The ops for a task whose RPC went out in a session the CPE left without answering (it came
/// back with a fresh Inform): a failed attempt under the task's retry rules, recorded as a
/// `session_lost` fault rather than a CPE fault code.
pub(crate) fn lost_ops(task: TaskRecord, now_ms: i64, policy: RetryPolicy) -> [Op; 2] {
    let fault = cwmp::Fault::new(0, "the CPE started a new session before answering");
    let mut ops = fault_ops(task, &fault, now_ms, policy);
    if let Op::PutFault(record) = &mut ops[1] {
        record.code = "session_lost".into();
    }
    if let Op::PutTask(task) = &mut ops[0]
        && let TaskStatus::Faulted { code, .. } = &mut task.status
    {
        "session_lost".clone_into(code);
    }
    ops
}

/// The fault record of a CPE fault on a task; `retries` counts the attempts before this one.
pub(crate) fn fault_record(
    device: &DeviceId,
    task_id: u64,
    fault: &cwmp::Fault,
    attempts: u32,
    now_ms: i64,
) -> FaultRecord {
    FaultRecord {
        device: device.clone(),
        channel: channel(task_id),
        task_id: Some(task_id),
        code: format!("cwmp.{}", fault.code),
        message: fault.string.clone(),
        detail: fault_detail(fault),
        retries: attempts.saturating_sub(1),
        timestamp_ms: now_ms,
    }
}

/// The per-parameter faults of a SetParameterValues fault, on one line.
pub(crate) fn fault_detail(fault: &cwmp::Fault) -> String {
    fault
        .set_parameter_values_faults
        .iter()
        .map(|f| format!("{}: {} {}", f.name, f.code, f.string))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Ops deleting the records of tasks completed at or before `cutoff_ms`.
pub(crate) fn purge_ops(tasks: Vec<TaskRecord>, cutoff_ms: i64) -> Vec<Op> {
    tasks
        .into_iter()
        .filter(
            |t| matches!(t.status, TaskStatus::Done { finished_ms } if finished_ms <= cutoff_ms),
        )
        .map(|t| Op::DeleteTask(t.id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use acs_store::TaskKind;

    fn task(id: u64) -> TaskRecord {
        TaskRecord {
            id,
            device: DeviceId::parse("OUI-PC-SN").unwrap(),
            kind: TaskKind::Reboot,
            created_ms: 0,
            status: TaskStatus::Pending,
            attempts: 0,
            not_before_ms: 0,
            expiry_ms: None,
        }
    }

    #[test]
    fn faults_back_off_exponentially_then_fault_for_good() {
        let policy = RetryPolicy {
            max_attempts: 3,
            base_ms: 1_000,
        };
        let fault = cwmp::Fault::new(9002, "internal error");
        let mut t = task(7);
        let mut waits = Vec::new();
        for _ in 0..3 {
            let [Op::PutTask(next), Op::PutFault(record)] = fault_ops(t, &fault, 10_000, policy)
            else {
                panic!("fault_ops returns a task and a fault");
            };
            assert_eq!(record.channel, "task_7");
            assert_eq!(record.retries, next.attempts - 1);
            waits.push((next.not_before_ms - 10_000, next.status.clone()));
            t = next;
        }
        assert_eq!(waits[0].0, 1_000);
        assert_eq!(waits[1].0, 2_000);
        assert!(matches!(waits[2].1, TaskStatus::Faulted { ref code, .. } if code == "cwmp.9002"));
    }

    #[test]
    fn a_mark_survives_a_queueing_that_raced_the_session() {
        let q = TaskQueue::default();
        let d = DeviceId::parse("OUI-PC-SN").unwrap();
        q.mark(&d);
        let seen = q.may_have_tasks(&d).unwrap();
        q.mark(&d);
        q.unmark(&d, seen);
        assert!(
            q.may_have_tasks(&d).is_some(),
            "a task queued meanwhile keeps the mark"
        );
        let seen = q.may_have_tasks(&d).unwrap();
        q.unmark(&d, seen);
        assert_eq!(q.may_have_tasks(&d), None);
    }

    #[test]
    fn purge_keeps_live_and_recent_tasks() {
        let mut old = task(1);
        old.status = TaskStatus::Done { finished_ms: 100 };
        let mut recent = task(2);
        recent.status = TaskStatus::Done { finished_ms: 900 };
        let ops = purge_ops(vec![old, recent, task(3)], 500);
        assert!(matches!(ops.as_slice(), [Op::DeleteTask(1)]));
    }
}
