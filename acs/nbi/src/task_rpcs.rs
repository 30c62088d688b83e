//! Task bodies for the CWMP RPCs GenieACS has no task for (README.md, "NBI" section, lists
//! them): `getRPCMethods`, `scheduleInform`, `upload`, `scheduleDownload`, `cancelTransfer`,
//! `getQueuedTransfers`, `getAllQueuedTransfers` and `changeDUState`. Field names follow
//! GenieACS's style (camelCase of the TR-069 argument names); every problem is a 400.

use crate::task_body::TaskError;
use acs_store::{DuOp, TaskKind, TransferWindow};
use serde_json::{Map, Value as Json};

fn bad(msg: impl Into<String>) -> TaskError {
    TaskError::Invalid(msg.into())
}

/// The file type an `upload` task asks for when its body names none.
pub const DEFAULT_UPLOAD_TYPE: &str = "1 Vendor Configuration File";

/// The task kind for `name`, or `None` when `name` is not one of these tasks. `file_url` turns
/// a file name into the file server's URL (absent when no file server runs). An `upload`
/// task's URL is left empty: the caller opens an upload slot on the file server and fills it.
pub(crate) fn parse(
    name: &str,
    t: &Map<String, Json>,
    file_url: Option<&dyn Fn(&str) -> String>,
) -> Option<Result<TaskKind, TaskError>> {
    Some(match name {
        "getRPCMethods" => Ok(TaskKind::GetRpcMethods),
        "getQueuedTransfers" => Ok(TaskKind::GetQueuedTransfers),
        "getAllQueuedTransfers" => Ok(TaskKind::GetAllQueuedTransfers),
        "scheduleInform" => schedule_inform(t),
        "cancelTransfer" => string(t, "commandKey", true)
            .map(|command_key| TaskKind::CancelTransfer { command_key }),
        "upload" => upload(t, file_url.is_some()),
        "scheduleDownload" => schedule_download(t, file_url),
        "changeDUState" => change_du_state(t),
        _ => return None,
    })
}

/// A string field; `required` makes an absent or empty one an error.
fn string(t: &Map<String, Json>, field: &str, required: bool) -> Result<String, TaskError> {
    match t.get(field) {
        None | Some(Json::Null) if !required => Ok(String::new()),
        Some(Json::String(s)) if !(required && s.is_empty()) => Ok(s.clone()),
        _ => Err(bad(format!("{field} must be a non-empty string"))),
    }
}

/// A whole number of seconds (or count) in `range`; absent gives `default`.
fn number(
    t: &Map<String, Json>,
    field: &str,
    default: Option<i64>,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, TaskError> {
    let v = match (t.get(field), default) {
        (None | Some(Json::Null), Some(d)) => return Ok(d),
        (None | Some(Json::Null), None) => None,
        (Some(v), _) => v.as_i64(),
    };
    v.filter(|n| range.contains(n)).ok_or_else(|| {
        bad(format!(
            "{field} must be a whole number from {} to {}",
            range.start(),
            range.end()
        ))
    })
}

fn u32_field(t: &Map<String, Json>, field: &str, default: Option<i64>) -> Result<u32, TaskError> {
    let n = number(t, field, default, 0..=i64::from(u32::MAX))?;
    u32::try_from(n).map_err(|_| bad(format!("{field} is out of range")))
}

fn schedule_inform(t: &Map<String, Json>) -> Result<TaskKind, TaskError> {
    Ok(TaskKind::ScheduleInform {
        // TR-069 requires a delay of at least one second.
        delay_seconds: u32::try_from(number(t, "delaySeconds", None, 1..=i64::from(u32::MAX))?)
            .map_err(|_| bad("delaySeconds is out of range"))?,
        command_key: string(t, "commandKey", false)?,
    })
}

fn upload(t: &Map<String, Json>, file_server: bool) -> Result<TaskKind, TaskError> {
    if !file_server {
        return Err(bad(
            "upload needs the file server (start the ACS with --fs-listen)",
        ));
    }
    let file_type = match string(t, "fileType", false)? {
        s if s.is_empty() => DEFAULT_UPLOAD_TYPE.to_owned(),
        s => s,
    };
    if let Some(name) = t.get("fileName") {
        let ok = name
            .as_str()
            .is_some_and(|n| !n.is_empty() && n.len() <= 255 && !n.contains('/'));
        if !ok {
            return Err(bad("fileName must be a file name without '/'"));
        }
    }
    Ok(TaskKind::Upload {
        file_type,
        url: String::new(),
        delay_seconds: u32_field(t, "delaySeconds", Some(0))?,
    })
}

fn schedule_download(
    t: &Map<String, Json>,
    file_url: Option<&dyn Fn(&str) -> String>,
) -> Result<TaskKind, TaskError> {
    let file_name = string(t, "fileName", true)?;
    let url = file_url.ok_or_else(|| {
        bad("scheduleDownload needs the file server (start the ACS with --fs-listen)")
    })?(&file_name);
    let list = t
        .get("timeWindows")
        .and_then(Json::as_array)
        .filter(|a| (1..=2).contains(&a.len()))
        .ok_or_else(|| bad("scheduleDownload needs timeWindows: one or two windows"))?;
    let mut windows = Vec::with_capacity(list.len());
    for w in list {
        let w = w
            .as_object()
            .ok_or_else(|| bad("a time window is an object"))?;
        let start_secs = u32_field(w, "windowStart", None)?;
        let end_secs = u32_field(w, "windowEnd", None)?;
        if end_secs <= start_secs {
            return Err(bad("windowEnd must be after windowStart"));
        }
        let mode = match string(w, "windowMode", false)? {
            m if m.is_empty() => "1 At Any Time".to_owned(),
            m => m,
        };
        let max_retries = number(w, "maxRetries", Some(-1), -1..=i64::from(i32::MAX))?;
        windows.push(TransferWindow {
            start_secs,
            end_secs,
            mode,
            user_message: string(w, "userMessage", false)?,
            max_retries: i32::try_from(max_retries).unwrap_or(-1),
        });
    }
    Ok(TaskKind::ScheduleDownload {
        file_type: match string(t, "fileType", false)? {
            s if s.is_empty() => "1 Firmware Upgrade Image".to_owned(),
            s => s,
        },
        url,
        file_size: 0,
        target_file_name: string(t, "targetFileName", false)?,
        windows,
    })
}

fn change_du_state(t: &Map<String, Json>) -> Result<TaskKind, TaskError> {
    let list = t
        .get("operations")
        .and_then(Json::as_array)
        .filter(|a| !a.is_empty() && a.len() <= 16)
        .ok_or_else(|| bad("changeDUState needs operations: 1 to 16 objects"))?;
    let mut operations = Vec::with_capacity(list.len());
    for op in list {
        let op = op
            .as_object()
            .ok_or_else(|| bad("an operation is an object"))?;
        let kind = string(op, "type", true)?;
        operations.push(match kind.as_str() {
            "install" => DuOp::Install {
                url: string(op, "url", true)?,
                uuid: string(op, "uuid", false)?,
                execution_env_ref: string(op, "executionEnvRef", false)?,
            },
            "update" => DuOp::Update {
                uuid: string(op, "uuid", false)?,
                version: string(op, "version", false)?,
                url: string(op, "url", false)?,
            },
            "uninstall" => DuOp::Uninstall {
                uuid: string(op, "uuid", true)?,
                version: string(op, "version", false)?,
                execution_env_ref: string(op, "executionEnvRef", false)?,
            },
            other => {
                return Err(bad(format!(
                    "operation type {other:?} is not install, update or uninstall"
                )));
            }
        });
    }
    Ok(TaskKind::ChangeDuState { operations })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(body: &str, fs: bool) -> Result<TaskKind, TaskError> {
        let json: Json = serde_json::from_str(body).unwrap();
        let t = json.as_object().unwrap();
        let url = |n: &str| format!("http://127.0.0.1:7567/{n}");
        let name = t["name"].as_str().unwrap();
        parse(name, t, fs.then_some(&url as &dyn Fn(&str) -> String)).unwrap()
    }

    #[test]
    fn each_task_parses() {
        assert_eq!(
            p(r#"{"name":"getRPCMethods"}"#, false).unwrap(),
            TaskKind::GetRpcMethods
        );
        assert_eq!(
            p(r#"{"name":"scheduleInform","delaySeconds":5}"#, false).unwrap(),
            TaskKind::ScheduleInform {
                delay_seconds: 5,
                command_key: String::new()
            }
        );
        assert_eq!(
            p(r#"{"name":"upload","fileType":"2 Vendor Log File"}"#, true).unwrap(),
            TaskKind::Upload {
                file_type: "2 Vendor Log File".into(),
                url: String::new(),
                delay_seconds: 0
            }
        );
        let sd = p(
            r#"{"name":"scheduleDownload","fileName":"fw.bin","timeWindows":[{"windowStart":0,"windowEnd":60}]}"#,
            true,
        )
        .unwrap();
        let TaskKind::ScheduleDownload { url, windows, .. } = sd else {
            panic!("scheduleDownload gives a ScheduleDownload")
        };
        assert_eq!(url, "http://127.0.0.1:7567/fw.bin");
        assert_eq!(windows[0].mode, "1 At Any Time");
        assert_eq!(windows[0].max_retries, -1);
        let du = p(
            r#"{"name":"changeDUState","operations":[{"type":"install","url":"http://x/a.ipk"},{"type":"uninstall","uuid":"u-1"}]}"#,
            false,
        )
        .unwrap();
        assert!(matches!(du, TaskKind::ChangeDuState { ref operations } if operations.len() == 2));
    }

    #[test]
    fn bad_bodies_say_why() {
        for (body, fs, why) in [
            (r#"{"name":"scheduleInform"}"#, false, "delaySeconds"),
            (
                r#"{"name":"scheduleInform","delaySeconds":0}"#,
                false,
                "delaySeconds",
            ),
            (r#"{"name":"cancelTransfer"}"#, false, "commandKey"),
            (r#"{"name":"upload"}"#, false, "file server"),
            (r#"{"name":"upload","fileName":"a/b"}"#, true, "fileName"),
            (
                r#"{"name":"scheduleDownload","fileName":"f"}"#,
                true,
                "timeWindows",
            ),
            (
                r#"{"name":"scheduleDownload","fileName":"f","timeWindows":[{"windowStart":9,"windowEnd":9}]}"#,
                true,
                "windowEnd",
            ),
            (
                r#"{"name":"changeDUState","operations":[]}"#,
                false,
                "operations",
            ),
            (
                r#"{"name":"changeDUState","operations":[{"type":"install"}]}"#,
                false,
                "url",
            ),
            (
                r#"{"name":"changeDUState","operations":[{"type":"move"}]}"#,
                false,
                "not install",
            ),
        ] {
            let e = p(body, fs).unwrap_err().to_string();
            assert!(e.contains(why), "{body}: {e}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_fields_never_panic(
            name in prop::sample::select(vec!["scheduleInform", "upload", "scheduleDownload", "cancelTransfer", "changeDUState"]),
            field in prop::sample::select(vec!["delaySeconds", "commandKey", "fileName", "fileType", "timeWindows", "operations", "x"]),
            value in prop_oneof![Just("1".to_owned()), Just("-1".to_owned()), Just("1e30".to_owned()), Just("\"a\"".to_owned()), Just("[{}]".to_owned()), Just("[{\"type\":\"update\"}]".to_owned()), Just("[{\"windowStart\":1,\"windowEnd\":2}]".to_owned()), Just("null".to_owned())],
            fs in any::<bool>(),
        ) {
            let body = format!("{{\"name\":\"{name}\",\"{field}\":{value}}}");
            let _ = p(&body, fs);
        }
    }
}
