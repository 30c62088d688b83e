//! The rest of the CWMP RPC set as tasks: GetRPCMethods, ScheduleInform, Upload,
//! ScheduleDownload, CancelTransfer, GetQueuedTransfers, GetAllQueuedTransfers and ChangeDUState.
//!
//! GenieACS has no task for any of these, so what the CPE answers is kept where the NBI can
//! read it: in the device's tree, under the pseudo-object [`CWMP`] (read-only, like GenieACS's
//! `Downloads` and `Events`), replaced as a whole by each new answer. The transfers and
//! ChangeDUState finish later, with a TransferComplete or DUStateChangeComplete whose command
//! key names the task (`task_<id>`); until then the task is parked like a Download.

use acs_store::{DuOp, Param, TaskKind, Value};
use cwmp::{Body, Fault, OpResult};

/// The root of the pseudo-parameters this module writes.
pub(crate) const CWMP: &str = "CWMP";

/// What a task of the rest of the RPC set sends.
#[derive(Debug, Clone)]
pub(crate) struct RpcWork(Body);

/// What an answer to one of these RPCs changes.
#[derive(Debug, Default)]
pub(crate) struct RpcApplied {
    /// Pseudo-parameters to write.
    pub(crate) set: Vec<(String, Param)>,
    /// Subtrees to replace.
    pub(crate) remove: Vec<String>,
    /// The RPC finishes later (TransferComplete, DUStateChangeComplete).
    pub(crate) awaiting: bool,
}

impl RpcWork {
    /// The RPC for a task kind this module handles; `None` for GenieACS's own kinds. The
    /// command key is `task_<id>`, as for Download, so the completion finds its task.
    pub(crate) fn from_task(kind: &TaskKind, id: u64) -> Option<Self> {
        let key = format!("task_{id}");
        let body = match kind {
            TaskKind::GetRpcMethods => Body::GetRpcMethods,
            TaskKind::ScheduleInform {
                delay_seconds,
                command_key,
            } => Body::ScheduleInform {
                delay_seconds: *delay_seconds,
                command_key: if command_key.is_empty() {
                    key
                } else {
                    command_key.clone()
                },
            },
            TaskKind::Upload {
                file_type,
                url,
                delay_seconds,
            } => Body::Upload(cwmp::Upload {
                command_key: key,
                file_type: file_type.clone(),
                url: url.clone(),
                delay_seconds: *delay_seconds,
                ..cwmp::Upload::default()
            }),
            TaskKind::ScheduleDownload {
                file_type,
                url,
                file_size,
                target_file_name,
                windows,
            } => Body::ScheduleDownload(cwmp::ScheduleDownload {
                command_key: key,
                file_type: file_type.clone(),
                url: url.clone(),
                file_size: *file_size,
                target_file_name: target_file_name.clone(),
                time_windows: windows
                    .iter()
                    .map(|w| cwmp::TimeWindow {
                        window_start: w.start_secs,
                        window_end: w.end_secs,
                        window_mode: w.mode.clone(),
                        user_message: w.user_message.clone(),
                        max_retries: w.max_retries,
                    })
                    .collect(),
                ..cwmp::ScheduleDownload::default()
            }),
            TaskKind::CancelTransfer { command_key } => Body::CancelTransfer {
                command_key: command_key.clone(),
            },
            TaskKind::GetQueuedTransfers => Body::GetQueuedTransfers,
            TaskKind::GetAllQueuedTransfers => Body::GetAllQueuedTransfers,
            TaskKind::ChangeDuState { operations } => Body::ChangeDuState {
                operations: operations.iter().map(du_operation).collect(),
                command_key: key,
            },
            _ => return None,
        };
        Some(Self(body))
    }

    /// The RPC to send.
    pub(crate) fn request(&self) -> Body {
        self.0.clone()
    }

    /// Folds the CPE's answer; a mismatched answer is an 8003 fault, as for every job.
    pub(crate) fn apply(&self, answer: Body, now_ms: i64) -> Result<RpcApplied, Fault> {
        let mut out = RpcApplied::default();
        match (&self.0, answer) {
            (Body::GetRpcMethods, Body::GetRpcMethodsResponse { methods }) => {
                let path = format!("{CWMP}.RPCMethods");
                out.set.push(object(CWMP, now_ms));
                out.set
                    .push((path, leaf(Value::String(methods.join(",")), now_ms)));
            }
            (Body::ScheduleInform { .. }, Body::ScheduleInformResponse)
            | (Body::CancelTransfer { .. }, Body::CancelTransferResponse) => {}
            (Body::Upload(_), Body::UploadResponse { status, .. }) => out.awaiting = status == 1,
            (Body::ScheduleDownload(_), Body::ScheduleDownloadResponse)
            | (Body::ChangeDuState { .. }, Body::ChangeDuStateResponse) => out.awaiting = true,
            (Body::GetQueuedTransfers, Body::GetQueuedTransfersResponse { transfers }) => {
                let base = format!("{CWMP}.QueuedTransfers");
                table(&mut out, &base, now_ms);
                for (i, t) in transfers.into_iter().enumerate() {
                    let at = format!("{base}.{}", i + 1);
                    out.set.push(object(&at, now_ms));
                    out.set.push(text(&at, "CommandKey", t.command_key, now_ms));
                    out.set.push(uint(&at, "State", t.state.into(), now_ms));
                }
            }
            (Body::GetAllQueuedTransfers, Body::GetAllQueuedTransfersResponse { transfers }) => {
                let base = format!("{CWMP}.AllQueuedTransfers");
                table(&mut out, &base, now_ms);
                for (i, t) in transfers.into_iter().enumerate() {
                    let at = format!("{base}.{}", i + 1);
                    out.set.push(object(&at, now_ms));
                    out.set.push(text(&at, "CommandKey", t.command_key, now_ms));
                    out.set.push(uint(&at, "State", t.state.into(), now_ms));
                    out.set.push((
                        format!("{at}.IsDownload"),
                        leaf(Value::Boolean(t.is_download), now_ms),
                    ));
                    out.set.push(text(&at, "FileType", t.file_type, now_ms));
                    out.set.push(ulong(&at, "FileSize", t.file_size, now_ms));
                    out.set
                        .push(text(&at, "TargetFileName", t.target_file_name, now_ms));
                }
            }
            (_, other) => {
                return Err(Fault::new(
                    8003,
                    format!("unexpected answer {}", other.name()),
                ));
            }
        }
        Ok(out)
    }
}

/// The results of a (possibly autonomous) DUStateChangeComplete as pseudo-parameters under
/// `CWMP.<table>.<n>`, replacing the previous ones.
pub(crate) fn du_results(table_name: &str, results: &[OpResult], now_ms: i64) -> RpcApplied {
    let mut out = RpcApplied::default();
    let base = format!("{CWMP}.{table_name}");
    table(&mut out, &base, now_ms);
    for (i, r) in results.iter().enumerate() {
        let at = format!("{base}.{}", i + 1);
        out.set.push(object(&at, now_ms));
        for (name, v) in [
            ("UUID", &r.uuid),
            ("DeploymentUnitRef", &r.deployment_unit_ref),
            ("Version", &r.version),
            ("CurrentState", &r.current_state),
            ("ExecutionUnitRefList", &r.execution_unit_ref_list),
            ("OperationPerformed", &r.operation_performed),
            ("StartTime", &r.start_time),
            ("CompleteTime", &r.complete_time),
            ("FaultString", &r.fault.string),
        ] {
            out.set.push(text(&at, name, v.clone(), now_ms));
        }
        out.set
            .push(uint(&at, "FaultCode", r.fault.code.into(), now_ms));
    }
    out
}

/// An AutonomousTransferComplete recorded as `CWMP.LastAutonomousTransfer`.
pub(crate) fn autonomous_transfer(
    atc: &cwmp::AutonomousTransferComplete,
    now_ms: i64,
) -> RpcApplied {
    let base = format!("{CWMP}.LastAutonomousTransfer");
    let mut out = RpcApplied {
        remove: vec![base.clone()],
        ..RpcApplied::default()
    };
    out.set.push(object(CWMP, now_ms));
    out.set.push(object(&base, now_ms));
    for (name, v) in [
        ("AnnounceURL", &atc.announce_url),
        ("TransferURL", &atc.transfer_url),
        ("FileType", &atc.file_type),
        ("TargetFileName", &atc.target_file_name),
        ("StartTime", &atc.start_time),
        ("CompleteTime", &atc.complete_time),
        ("FaultString", &atc.fault.string),
    ] {
        out.set.push(text(&base, name, v.clone(), now_ms));
    }
    out.set.push((
        format!("{base}.IsDownload"),
        leaf(Value::Boolean(atc.is_download), now_ms),
    ));
    out.set
        .push(ulong(&base, "FileSize", atc.file_size, now_ms));
    out.set
        .push(uint(&base, "FaultCode", atc.fault.code.into(), now_ms));
    out
}

/// The task-document fields (`name` and arguments) of the kinds this module handles, as the
/// NBI accepts them; `None` for GenieACS's own kinds.
pub(crate) fn task_fields(kind: &TaskKind) -> Option<Vec<(String, crate::genie::doc::Node)>> {
    use crate::genie::doc::Node;
    let s = |v: &str| Node::Str(v.to_owned());
    let n = |v: f64| Node::Num(v);
    let mut fields = vec![("name".to_owned(), s(kind.name()))];
    match kind {
        TaskKind::GetRpcMethods
        | TaskKind::GetQueuedTransfers
        | TaskKind::GetAllQueuedTransfers => {}
        TaskKind::ScheduleInform {
            delay_seconds,
            command_key,
        } => {
            fields.push(("delaySeconds".into(), n(f64::from(*delay_seconds))));
            fields.push(("commandKey".into(), s(command_key)));
        }
        TaskKind::Upload {
            file_type,
            url,
            delay_seconds,
        } => {
            fields.push(("fileType".into(), s(file_type)));
            fields.push(("url".into(), s(url)));
            fields.push(("delaySeconds".into(), n(f64::from(*delay_seconds))));
        }
        TaskKind::ScheduleDownload {
            file_type,
            url,
            target_file_name,
            windows,
            ..
        } => {
            fields.push(("fileType".into(), s(file_type)));
            fields.push(("fileName".into(), s(url.rsplit('/').next().unwrap_or(url))));
            fields.push(("targetFileName".into(), s(target_file_name)));
            let windows = windows
                .iter()
                .map(|w| {
                    Node::Obj(vec![
                        ("windowStart".into(), n(f64::from(w.start_secs))),
                        ("windowEnd".into(), n(f64::from(w.end_secs))),
                        ("windowMode".into(), s(&w.mode)),
                        ("userMessage".into(), s(&w.user_message)),
                        ("maxRetries".into(), n(f64::from(w.max_retries))),
                    ])
                })
                .collect();
            fields.push(("timeWindows".into(), Node::Arr(windows)));
        }
        TaskKind::CancelTransfer { command_key } => {
            fields.push(("commandKey".into(), s(command_key)));
        }
        TaskKind::ChangeDuState { operations } => {
            let ops = operations
                .iter()
                .map(|op| {
                    let (action, pairs): (&str, Vec<(&str, &String)>) = match op {
                        DuOp::Install {
                            url,
                            uuid,
                            execution_env_ref,
                        } => (
                            "install",
                            vec![
                                ("url", url),
                                ("uuid", uuid),
                                ("executionEnvRef", execution_env_ref),
                            ],
                        ),
                        DuOp::Update { uuid, version, url } => (
                            "update",
                            vec![("uuid", uuid), ("version", version), ("url", url)],
                        ),
                        DuOp::Uninstall {
                            uuid,
                            version,
                            execution_env_ref,
                        } => (
                            "uninstall",
                            vec![
                                ("uuid", uuid),
                                ("version", version),
                                ("executionEnvRef", execution_env_ref),
                            ],
                        ),
                    };
                    let mut obj = vec![("type".to_owned(), s(action))];
                    obj.extend(pairs.into_iter().map(|(k, v)| (k.to_owned(), s(v))));
                    Node::Obj(obj)
                })
                .collect();
            fields.push(("operations".into(), Node::Arr(ops)));
        }
        _ => return None,
    }
    Some(fields)
}

fn du_operation(op: &DuOp) -> cwmp::DuOperation {
    match op.clone() {
        DuOp::Install {
            url,
            uuid,
            execution_env_ref,
        } => cwmp::DuOperation::Install {
            url,
            uuid,
            username: String::new(),
            password: String::new(),
            execution_env_ref,
        },
        DuOp::Update { uuid, version, url } => cwmp::DuOperation::Update {
            uuid,
            version,
            url,
            username: String::new(),
            password: String::new(),
        },
        DuOp::Uninstall {
            uuid,
            version,
            execution_env_ref,
        } => cwmp::DuOperation::Uninstall {
            uuid,
            version,
            execution_env_ref,
        },
    }
}

/// Replaces the table at `base`: its old rows go, the object itself is written again.
fn table(out: &mut RpcApplied, base: &str, now_ms: i64) {
    out.remove.push(base.to_owned());
    out.set.push(object(CWMP, now_ms));
    out.set.push(object(base, now_ms));
}

fn object(path: &str, now_ms: i64) -> (String, Param) {
    (path.to_owned(), Param::object(Some(false), now_ms))
}

fn leaf(v: Value, now_ms: i64) -> Param {
    Param::leaf(Some(v), Some(false), now_ms)
}

fn text(base: &str, name: &str, v: String, now_ms: i64) -> (String, Param) {
    (format!("{base}.{name}"), leaf(Value::String(v), now_ms))
}

fn uint(base: &str, name: &str, v: u64, now_ms: i64) -> (String, Param) {
    (
        format!("{base}.{name}"),
        leaf(Value::UnsignedInt(v), now_ms),
    )
}

fn ulong(base: &str, name: &str, v: u64, now_ms: i64) -> (String, Param) {
    (
        format!("{base}.{name}"),
        leaf(Value::UnsignedLong(v), now_ms),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_transfers_replace_their_table() {
        let work = RpcWork::from_task(&TaskKind::GetQueuedTransfers, 9).unwrap();
        assert!(matches!(work.request(), Body::GetQueuedTransfers));
        let answer = Body::GetQueuedTransfersResponse {
            transfers: vec![cwmp::QueuedTransfer {
                command_key: "task_3".into(),
                state: 2,
            }],
        };
        let out = work.apply(answer, 5).unwrap();
        assert_eq!(out.remove, vec!["CWMP.QueuedTransfers".to_owned()]);
        let key = out
            .set
            .iter()
            .find(|(p, _)| p == "CWMP.QueuedTransfers.1.CommandKey")
            .unwrap();
        assert_eq!(key.1.value, Some(Value::String("task_3".into())));
        assert!(!out.awaiting);
    }

    #[test]
    fn transfers_and_du_changes_wait_for_their_completion() {
        let up = TaskKind::Upload {
            file_type: "2 Vendor Log File".into(),
            url: "http://127.0.0.1/u".into(),
            delay_seconds: 0,
        };
        let work = RpcWork::from_task(&up, 4).unwrap();
        let Body::Upload(u) = work.request() else {
            panic!("an upload task sends Upload");
        };
        assert_eq!(u.command_key, "task_4");
        let done = Body::UploadResponse {
            status: 0,
            start_time: String::new(),
            complete_time: String::new(),
        };
        assert!(!work.apply(done, 1).unwrap().awaiting);
        let later = Body::UploadResponse {
            status: 1,
            start_time: String::new(),
            complete_time: String::new(),
        };
        assert!(work.apply(later, 1).unwrap().awaiting);
        let du = TaskKind::ChangeDuState {
            operations: vec![DuOp::Uninstall {
                uuid: "u".into(),
                version: String::new(),
                execution_env_ref: String::new(),
            }],
        };
        let work = RpcWork::from_task(&du, 5).unwrap();
        assert!(work.apply(Body::ChangeDuStateResponse, 1).unwrap().awaiting);
        assert_eq!(work.apply(Body::RebootResponse, 1).unwrap_err().code, 8003);
        assert!(RpcWork::from_task(&TaskKind::Reboot, 1).is_none());
    }
}
