//! GenieACS task bodies (`POST /devices/<id>/tasks`) validated into the ACS's task kinds.
//!
//! GenieACS accepts an invalid task, then throws and sends nothing, and the client hangs
//! (genieacs-compat note §5); here every problem is a 400 with the reason.

use acs_store::{ProvisionArg, TaskKind};
use serde_json::Value as Json;

/// Most bytes of task JSON accepted.
pub const MAX_TASK_BYTES: usize = 256 * 1024;

/// Why a task body was refused; the text is the 400 body.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskError {
    /// Not JSON.
    #[error("SyntaxError: {0}")]
    Syntax(String),
    /// JSON, but not a valid task.
    #[error("Invalid task: {0}")]
    Invalid(String),
}

/// A validated task: what to run, and its optional expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    /// What to run.
    pub kind: TaskKind,
    /// Seconds after creation after which the task is dropped, from `expiry`.
    pub expiry_secs: Option<i64>,
    /// For an `upload` task, the name its file is to have in the file server (`fileName`;
    /// empty: the caller names it).
    pub upload_file_name: Option<String>,
}

fn bad(msg: impl Into<String>) -> TaskError {
    TaskError::Invalid(msg.into())
}

/// Parses and validates a body. `known_type` gives the XSD type (e.g. `unsignedInt`) of a
/// parameter the device reported, used when a `setParameterValues` entry names no type.
/// `file_url` turns a `download` task's `fileName` into the URL the CPE fetches, when a file
/// server is configured.
pub fn parse(
    body: &[u8],
    known_type: &dyn Fn(&str) -> Option<String>,
    file_url: Option<&dyn Fn(&str) -> String>,
) -> Result<NewTask, TaskError> {
    if body.len() > MAX_TASK_BYTES {
        return Err(bad(format!("longer than {MAX_TASK_BYTES} bytes")));
    }
    let json: Json = serde_json::from_slice(body).map_err(|e| TaskError::Syntax(e.to_string()))?;
    let Json::Object(t) = &json else {
        return Err(bad("a task is a JSON object"));
    };
    let name = t
        .get("name")
        .and_then(Json::as_str)
        .ok_or_else(|| bad("missing name"))?;
    let string = |field: &str| -> Result<String, TaskError> {
        t.get(field)
            .and_then(Json::as_str)
            .map(str::to_owned)
            .ok_or_else(|| bad(format!("{name} needs a string {field}")))
    };
    let path = |field: &str| -> Result<String, TaskError> {
        let p = string(field)?;
        check_path(&p)?;
        Ok(p)
    };
    let kind = match name {
        "getParameterValues" => {
            let names = t
                .get("parameterNames")
                .and_then(Json::as_array)
                .filter(|a| !a.is_empty())
                .ok_or_else(|| bad("getParameterValues needs a non-empty parameterNames array"))?
                .iter()
                .map(|n| {
                    let p = n
                        .as_str()
                        .ok_or_else(|| bad("parameterNames holds strings"))?;
                    check_path(p)?;
                    Ok(p.to_owned())
                })
                .collect::<Result<Vec<_>, TaskError>>()?;
            TaskKind::GetParameterValues { names }
        }
        "setParameterValues" => {
            let list = t
                .get("parameterValues")
                .and_then(Json::as_array)
                .filter(|a| !a.is_empty())
                .ok_or_else(|| bad("setParameterValues needs a non-empty parameterValues array"))?;
            let mut values = Vec::with_capacity(list.len());
            for entry in list {
                values.push(spv_entry(entry, known_type)?);
            }
            TaskKind::SetParameterValues {
                values,
                parameter_key: String::new(),
            }
        }
        "refreshObject" => TaskKind::RefreshObject {
            path: object_path(t.get("objectName"))?,
        },
        "addObject" => TaskKind::AddObject {
            path: path("objectName")?,
            parameter_key: String::new(),
        },
        "deleteObject" => TaskKind::DeleteObject {
            path: path("objectName")?,
            parameter_key: String::new(),
        },
        "reboot" => TaskKind::Reboot,
        "factoryReset" => TaskKind::FactoryReset,
        "download" => {
            let file_name = t
                .get("fileName")
                .or_else(|| t.get("file"))
                .and_then(Json::as_str)
                .filter(|f| !f.is_empty())
                .ok_or_else(|| bad("download needs fileName"))?;
            let url = file_url.ok_or_else(|| {
                bad("download needs the file server (start the ACS with --fs-listen)")
            })?(file_name);
            TaskKind::Download {
                file_type: t
                    .get("fileType")
                    .and_then(Json::as_str)
                    .unwrap_or("1 Firmware Upgrade Image")
                    .to_owned(),
                url,
                username: String::new(),
                password: String::new(),
                file_size: 0,
                target_file_name: t
                    .get("targetFileName")
                    .and_then(Json::as_str)
                    .unwrap_or("")
                    .to_owned(),
            }
        }
        "provisions" => TaskKind::Provisions {
            provisions: provisions(t.get("provisions"))?,
        },
        other => match crate::task_rpcs::parse(other, t, file_url) {
            Some(kind) => kind?,
            None => return Err(bad(format!("unknown task name {other:?}"))),
        },
    };
    let upload_file_name = matches!(kind, TaskKind::Upload { .. }).then(|| {
        t.get("fileName")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned()
    });
    let expiry_secs = match t.get("expiry") {
        None | Some(Json::Null) => None,
        Some(v) => Some(
            v.as_f64()
                .filter(|s| *s >= 0.0)
                .ok_or_else(|| bad("expiry is a number of seconds"))? as i64,
        ),
    };
    Ok(NewTask {
        kind,
        expiry_secs,
        upload_file_name,
    })
}

fn check_path(p: &str) -> Result<(), TaskError> {
    let ok = !p.is_empty()
        && p.len() <= 1024
        && p.trim_end_matches('.').split('.').all(|seg| {
            !seg.is_empty()
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(bad(format!("invalid parameter path {p:?}")))
    }
}

/// A `provisions` task's list, checked as GenieACS checks it: an array of arrays whose
/// elements are `null`, booleans, numbers or strings. Names are not looked up here: a script
/// may be stored after the task is queued, and a name that is neither a script nor a built-in
/// when the task runs is skipped, as GenieACS skips it.
fn provisions(v: Option<&Json>) -> Result<Vec<Vec<ProvisionArg>>, TaskError> {
    let invalid = || bad("provisions needs an array of [name, arg, …] arrays");
    let list = v.and_then(Json::as_array).ok_or_else(invalid)?;
    list.iter()
        .map(|p| {
            let items = p.as_array().ok_or_else(invalid)?;
            items
                .iter()
                .map(|a| match a {
                    Json::Null => Ok(ProvisionArg::Null),
                    Json::Bool(b) => Ok(ProvisionArg::Bool(*b)),
                    Json::Number(n) => Ok(ProvisionArg::Number(n.to_string())),
                    Json::String(s) => Ok(ProvisionArg::Text(s.clone())),
                    _ => Err(bad(
                        "provision arguments are null, booleans, numbers or strings",
                    )),
                })
                .collect()
        })
        .collect()
}

/// `refreshObject`'s `objectName`: a path, or `""` for the whole tree.
fn object_path(v: Option<&Json>) -> Result<String, TaskError> {
    match v.and_then(Json::as_str) {
        Some("") => Ok(String::new()),
        Some(p) => {
            check_path(p)?;
            Ok(p.to_owned())
        }
        None => Err(bad("refreshObject needs a string objectName")),
    }
}

/// `[path, value, type?]`: the value may be a string, number or boolean; the type defaults to
/// the device's reported type, else follows the JSON type.
fn spv_entry(
    entry: &Json,
    known_type: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, String, String), TaskError> {
    let Some([path, value, rest @ ..]) = entry.as_array().map(Vec::as_slice) else {
        return Err(bad("parameterValues entries are [path, value, type?]"));
    };
    let path = path
        .as_str()
        .ok_or_else(|| bad("parameterValues paths are strings"))?;
    check_path(path)?;
    if path.ends_with('.') {
        return Err(bad(format!("{path:?} is an object, not a parameter")));
    }
    let (text, json_type) = match value {
        Json::String(s) => (s.clone(), "string"),
        Json::Bool(b) => (b.to_string(), "boolean"),
        Json::Number(n) if n.is_i64() && n.as_i64().is_some_and(|v| v >= 0) => {
            (n.to_string(), "unsignedInt")
        }
        Json::Number(n) if n.is_i64() => (n.to_string(), "int"),
        _ => return Err(bad(format!("unsupported value for {path:?}"))),
    };
    let ty = match rest.first() {
        Some(Json::String(t)) => t.strip_prefix("xsd:").unwrap_or(t).to_owned(),
        Some(_) => return Err(bad("a parameter type is a string such as xsd:string")),
        None => known_type(path).unwrap_or_else(|| json_type.to_owned()),
    };
    const TYPES: [&str; 9] = [
        "string",
        "int",
        "unsignedInt",
        "long",
        "unsignedLong",
        "boolean",
        "dateTime",
        "base64",
        "hexBinary",
    ];
    if !TYPES.contains(&ty.as_str()) {
        return Err(bad(format!("unknown parameter type {ty:?}")));
    }
    Ok((path.to_owned(), text, ty))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(body: &str) -> Result<NewTask, TaskError> {
        parse(body.as_bytes(), &|_| None, None)
    }

    #[test]
    fn genieacs_task_bodies_parse() {
        let t = p(r#"{"name":"getParameterValues","parameterNames":["InternetGatewayDevice.DeviceInfo.UpTime"]}"#).unwrap();
        assert_eq!(
            t.kind,
            TaskKind::GetParameterValues {
                names: vec!["InternetGatewayDevice.DeviceInfo.UpTime".into()]
            }
        );
        assert_eq!(p(r#"{"name":"reboot"}"#).unwrap().kind, TaskKind::Reboot);
        let spv = p(r#"{"name":"setParameterValues","parameterValues":[["A.B",300],["A.C","x","xsd:string"],["A.D",true]]}"#).unwrap();
        assert_eq!(
            spv.kind,
            TaskKind::SetParameterValues {
                values: vec![
                    ("A.B".into(), "300".into(), "unsignedInt".into()),
                    ("A.C".into(), "x".into(), "string".into()),
                    ("A.D".into(), "true".into(), "boolean".into()),
                ],
                parameter_key: String::new(),
            }
        );
        assert_eq!(
            p(r#"{"name":"refreshObject","objectName":""}"#)
                .unwrap()
                .kind,
            TaskKind::RefreshObject {
                path: String::new()
            }
        );
    }

    #[test]
    fn provisions_tasks_keep_their_scalars_as_given() {
        let t = p(r#"{"name":"provisions","provisions":[["refresh","Device.DeviceInfo",3600],["wifi","x",true,null,1.5],[]]}"#).unwrap();
        let text = |s: &str| ProvisionArg::Text(s.into());
        assert_eq!(
            t.kind,
            TaskKind::Provisions {
                provisions: vec![
                    vec![
                        text("refresh"),
                        text("Device.DeviceInfo"),
                        ProvisionArg::Number("3600".into())
                    ],
                    vec![
                        text("wifi"),
                        text("x"),
                        ProvisionArg::Bool(true),
                        ProvisionArg::Null,
                        ProvisionArg::Number("1.5".into())
                    ],
                    // GenieACS accepts an empty provision and runs nothing for it.
                    vec![],
                ]
            }
        );
        assert_eq!(
            p(r#"{"name":"provisions","provisions":[]}"#).unwrap().kind,
            TaskKind::Provisions { provisions: vec![] }
        );
    }

    #[test]
    fn the_device_type_wins_over_the_json_type() {
        let t = parse(
            br#"{"name":"setParameterValues","parameterValues":[["A.B","300"]]}"#,
            &|_| Some("unsignedInt".into()),
            None,
        )
        .unwrap();
        let TaskKind::SetParameterValues { values, .. } = t.kind else {
            panic!("wrong kind")
        };
        assert_eq!(values[0].2, "unsignedInt");
    }

    #[test]
    fn invalid_tasks_say_why() {
        for (body, why) in [
            ("{bad", "SyntaxError"),
            ("[]", "a task is a JSON object"),
            (r#"{"name":"nope"}"#, "unknown task name"),
            (r#"{"name":"getParameterValues"}"#, "parameterNames"),
            (
                r#"{"name":"getParameterValues","parameterNames":["a..b"]}"#,
                "invalid parameter path",
            ),
            (
                r#"{"name":"setParameterValues","parameterValues":[["A.B"]]}"#,
                "[path, value, type?]",
            ),
            (
                r#"{"name":"setParameterValues","parameterValues":[["A.B",1,"xsd:float"]]}"#,
                "unknown parameter type",
            ),
            (r#"{"name":"download","fileName":"fw.bin"}"#, "file server"),
            (r#"{"name":"provisions"}"#, "array of [name, arg, …] arrays"),
            (
                r#"{"name":"provisions","provisions":["refresh"]}"#,
                "array of [name, arg, …] arrays",
            ),
            (
                r#"{"name":"provisions","provisions":[["value","A.B",{"x":1}]]}"#,
                "null, booleans, numbers or strings",
            ),
            (
                r#"{"name":"provisions","provisions":[["value","A.B",[1]]]}"#,
                "null, booleans, numbers or strings",
            ),
        ] {
            let e = p(body).unwrap_err().to_string();
            assert!(e.contains(why), "{body}: {e}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse(&body, &|_| None, None);
        }

        #[test]
        fn arbitrary_json_tasks_never_panic(
            name in prop::sample::select(vec!["getParameterValues", "setParameterValues", "addObject", "download", "refreshObject", "x"]),
            field in "[a-zA-Z]{1,16}",
            value in prop_oneof![Just("1".to_owned()), Just("\"A.B\"".to_owned()), Just("[[\"A\",1]]".to_owned()), Just("[\"A.B.\"]".to_owned()), Just("null".to_owned())],
        ) {
            let body = format!("{{\"name\":\"{name}\",\"{field}\":{value}}}");
            let _ = p(&body);
        }
    }
}
