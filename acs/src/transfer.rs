//! What a TransferComplete changes: the Download task it reports on, or the `Downloads.<n>`
//! record of a Download that presets declared. Pure functions over store types; the session
//! reads what they need and writes what they return.

use crate::tasks::{self, RetryPolicy};
use acs_store::{DeviceId, Op, Param, ParamTree, TaskRecord, Value};

/// What a TransferComplete's CommandKey names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// A Download task (`task_<id>`).
    Task(u64),
    /// A Download that presets declared (`download_<instance>`).
    Declared(u64),
    /// Something the ACS did not send (another ACS's, or the CPE's own): acknowledged only.
    Unknown,
}

/// Reads the CommandKey the ACS gave the Download.
pub(crate) fn target(command_key: &str) -> Target {
    let number = |prefix: &str| command_key.strip_prefix(prefix)?.parse::<u64>().ok();
    if let Some(n) = number("download_") {
        Target::Declared(n)
    } else if let Some(id) = number("task_") {
        Target::Task(id)
    } else {
        Target::Unknown
    }
}

/// The ops that complete the Download task a TransferComplete reports on (`task` as stored
/// now; `None` if it is gone, and then nothing changes). A failed transfer is a CPE fault on the
/// task, retried like any other, so it is made sendable again. Returns whether it succeeded.
pub(crate) fn task_ops(
    task: Option<TaskRecord>,
    tc: &cwmp::TransferComplete,
    now_ms: i64,
    policy: RetryPolicy,
) -> Option<(Vec<Op>, bool)> {
    let task = task?;
    if tc.fault.code == 0 {
        let delete_fault = Op::DeleteFault {
            device: task.device.clone(),
            channel: tasks::channel(task.id),
        };
        return Some((
            vec![tasks::finish_op(task, false, now_ms), delete_fault],
            true,
        ));
    }
    let fault = cwmp::Fault::new(tc.fault.code, tc.fault.string.clone());
    let mut ops = tasks::fault_ops(task, &fault, now_ms, policy);
    if let Op::PutTask(t) = &mut ops[0]
        && crate::task_sweep::parked_since(t).is_some()
    {
        t.not_before_ms = now_ms;
    }
    Some((ops.into(), false))
}

/// The tree writes recording a successful declared Download as GenieACS does:
/// `Downloads.<n>.Last*`, `LastDownload`, `StartTime` and `CompleteTime`. A failed transfer
/// writes nothing (the declaration is satisfied by the attempt, as in GenieACS).
pub(crate) fn declared_ops(
    device: &DeviceId,
    instance: u64,
    tc: &cwmp::TransferComplete,
    tree: &ParamTree,
    now_ms: i64,
) -> Option<Op> {
    if tc.fault.code != 0 {
        return None;
    }
    let base = format!("{}.{instance}", crate::provision::DOWNLOADS);
    let text = |leaf: &str| {
        tree.get(&format!("{base}.{leaf}"))
            .and_then(|p| p.value.as_ref())
            .map_or_else(String::new, |v| v.text().into_owned())
    };
    let leaf = |v: Value| Param::leaf(Some(v), Some(false), now_ms);
    let date = |s: &str| Value::DateTime(s.to_owned());
    let set = vec![
        (
            format!("{base}.LastFileType"),
            leaf(Value::String(text("FileType"))),
        ),
        (
            format!("{base}.LastFileName"),
            leaf(Value::String(text("FileName"))),
        ),
        (
            format!("{base}.LastTargetFileName"),
            leaf(Value::String(text("TargetFileName"))),
        ),
        (
            format!("{base}.LastDownload"),
            leaf(date(&crate::genie::date::iso(now_ms))),
        ),
        (format!("{base}.StartTime"), leaf(date(&tc.start_time))),
        (
            format!("{base}.CompleteTime"),
            leaf(date(&tc.complete_time)),
        ),
    ];
    Some(Op::UpdateTree {
        id: device.clone(),
        set,
        remove_subtrees: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_keys_name_their_target() {
        assert_eq!(target("task_42"), Target::Task(42));
        assert_eq!(target("download_3"), Target::Declared(3));
        assert_eq!(target("task_x"), Target::Unknown);
        assert_eq!(target(""), Target::Unknown);
    }
}
