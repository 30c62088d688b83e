//! What happens to queued tasks before a session sends any: GenieACS's task `expiry` and its
//! `cwmp.downloadTimeout`.
//!
//! A task past its expiry is not sent: it is deleted with its fault, as GenieACS deletes an
//! expired task at the device's next session. A transfer the CPE accepted with status 1 is
//! parked until its TransferComplete; if none has come `download_timeout` after it was sent,
//! the task gets GenieACS's fault `timeout` ("Download operation timed out") and is retried
//! under its retry rules. Pure functions; the session writes what they return.

use crate::tasks::{self, RetryPolicy};
use acs_store::{Op, TaskRecord, TaskStatus};

/// A parked task's `not_before_ms`: never due, and still telling when its RPC went out.
/// Records are encoded positionally, so the send time lives in the field that parks the task
/// rather than in a new one: `i64::MAX - sent_ms`, which stays above any real time.
pub(crate) fn parked(sent_ms: i64) -> i64 {
    i64::MAX - sent_ms.max(0)
}

/// When a parked task's RPC went out; `None` if the task is not parked.
pub(crate) fn parked_since(task: &TaskRecord) -> Option<i64> {
    (task.not_before_ms > PARKED_FLOOR).then(|| i64::MAX - task.not_before_ms)
}

/// Above this a `not_before_ms` is a parked task's (year 146,000,000 or so as a time).
const PARKED_FLOOR: i64 = i64::MAX / 2;

/// The outcome of a sweep.
#[derive(Debug, Default)]
pub(crate) struct Swept {
    /// The tasks still queued, in order.
    pub(crate) live: Vec<TaskRecord>,
    /// Deletions and faults to write.
    pub(crate) ops: Vec<Op>,
    /// Tasks whose waiters hear of the change once it is durable.
    pub(crate) notify: Vec<u64>,
    /// How many timed out (for the task fault counter).
    pub(crate) timed_out: usize,
}

/// Sweeps a device's pending tasks at `now_ms`.
pub(crate) fn sweep(
    tasks: Vec<TaskRecord>,
    now_ms: i64,
    download_timeout_ms: i64,
    policy: RetryPolicy,
) -> Swept {
    let mut out = Swept::default();
    for t in tasks {
        if t.status != TaskStatus::Pending {
            out.live.push(t);
            continue;
        }
        if t.expiry_ms.is_some_and(|e| e <= now_ms) {
            tracing::info!(device = %t.device, task = t.id, "task expired");
            out.ops.push(Op::DeleteTask(t.id));
            out.ops.push(Op::DeleteFault {
                device: t.device.clone(),
                channel: tasks::channel(t.id),
            });
            out.notify.push(t.id);
            continue;
        }
        if let Some(sent) = parked_since(&t)
            && now_ms >= sent.saturating_add(download_timeout_ms)
        {
            tracing::warn!(device = %t.device, task = t.id, "transfer timed out");
            let id = t.id;
            let fault = cwmp::Fault::new(0, "Download operation timed out");
            let [mut task_op, mut fault_op] = tasks::fault_ops(t, &fault, now_ms, policy);
            if let Op::PutFault(f) = &mut fault_op {
                "timeout".clone_into(&mut f.code);
            }
            if let Op::PutTask(task) = &mut task_op {
                if let TaskStatus::Faulted { code, .. } = &mut task.status {
                    "timeout".clone_into(code);
                }
                if task.status == TaskStatus::Pending {
                    out.live.push(task.clone());
                }
            }
            out.ops.push(task_op);
            out.ops.push(fault_op);
            out.notify.push(id);
            out.timed_out += 1;
            continue;
        }
        out.live.push(t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use acs_store::{DeviceId, TaskKind};

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

    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 3,
        base_ms: 1_000,
    };

    #[test]
    fn parking_keeps_the_send_time_and_is_never_due() {
        let mut t = task(1);
        t.not_before_ms = parked(1_700_000_000_000);
        assert_eq!(parked_since(&t), Some(1_700_000_000_000));
        assert!(t.not_before_ms > 4_000_000_000_000_000);
        assert_eq!(parked_since(&task(2)), None);
    }

    #[test]
    fn expired_tasks_are_deleted_with_their_fault() {
        let mut old = task(1);
        old.expiry_ms = Some(100);
        let mut fresh = task(2);
        fresh.expiry_ms = Some(1_000);
        let out = sweep(vec![old, fresh, task(3)], 100, 3_600_000, POLICY);
        assert_eq!(
            out.live.iter().map(|t| t.id).collect::<Vec<_>>(),
            vec![2, 3]
        );
        assert!(matches!(
            out.ops.as_slice(),
            [Op::DeleteTask(1), Op::DeleteFault { channel, .. }] if channel == "task_1"
        ));
        assert_eq!(out.notify, vec![1]);
    }

    #[test]
    fn a_parked_transfer_times_out_with_genieacs_fault() {
        let mut t = task(7);
        t.not_before_ms = parked(10_000);
        let early = sweep(vec![t.clone()], 10_000 + 59_999, 60_000, POLICY);
        assert!(early.ops.is_empty() && early.live.len() == 1);
        let late = sweep(vec![t], 10_000 + 60_000, 60_000, POLICY);
        assert_eq!(late.timed_out, 1);
        let [Op::PutTask(task), Op::PutFault(fault)] = late.ops.as_slice() else {
            panic!("a timed-out transfer is a task fault");
        };
        assert_eq!(fault.code, "timeout");
        assert_eq!(fault.message, "Download operation timed out");
        assert_eq!(task.attempts, 1);
        assert_eq!(
            task.not_before_ms,
            70_000 + 1_000,
            "retried after the back-off"
        );
        assert_eq!(late.live.len(), 1, "still queued for its retry");
    }
}
