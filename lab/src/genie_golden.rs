//! Goldens of GenieACS runs: the scenario files of `acs/testdata/genieacs-scripts/`, a device
//! document (GenieACS's NBI shape, from GenieACS itself or from Fibreplane) normalised into a
//! sorted list of parameters, and a readable diff of two normalised runs.
//!
//! Both sides go through [`normalise`], so a golden recorded against GenieACS 1.2.16 and the
//! tree Fibreplane builds for the same scenario are compared in one shape: path, value, type,
//! writability, attributes; timestamps aside.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One scenario: which CPE model, which provisions, virtual parameters and presets, and the
/// sessions the CPE runs (in order).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Scenario {
    /// The scenario's name (its file name without `.json`), filled in by [`load_scenarios`].
    #[serde(default)]
    pub name: String,
    /// What the scenario exercises.
    pub description: String,
    /// `xx230v` (cpe-sim's built-in tree) or the name of a CSV in `acs/testdata/trees/`.
    pub model: String,
    /// cpe-sim's serial prefix: with the model it makes the device id, which seeds
    /// `Math.random` and the per-device `Date.now` offsets.
    pub serial_prefix: String,
    /// Provision names; each script is `provisions/<name>.js`.
    pub provisions: Vec<String>,
    /// Virtual parameter names; each script is `vparams/<name>.js`.
    pub virtual_parameters: Vec<String>,
    /// Preset documents by name, as `PUT /presets/<name>` takes them.
    pub presets: BTreeMap<String, Value>,
    /// The extra Inform events of each session; the first session also carries cpe-sim's
    /// `0 BOOTSTRAP` and `1 BOOT`.
    pub sessions: Vec<Vec<String>>,
}

/// The scenario files and scripts of one directory (`acs/testdata/genieacs-scripts`).
#[derive(Debug, Clone)]
pub struct ScriptDir {
    root: PathBuf,
}

/// Why a scenario, a script or a golden could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GoldenError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file is not the JSON expected.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// A document does not have the shape of a GenieACS device document or fault list.
    #[error("not a GenieACS {what}: {detail}")]
    Shape {
        /// What was expected (`device document`, `fault list`).
        what: &'static str,
        /// What was wrong.
        detail: String,
    },
}

impl ScriptDir {
    /// The directory holding `scenarios/`, `provisions/`, `vparams/`, `ext/` and `goldens/`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Every `scenarios/*.json`, sorted by name.
    pub fn scenarios(&self) -> Result<Vec<Scenario>, GoldenError> {
        let dir = self.root.join("scenarios");
        let entries = std::fs::read_dir(&dir).map_err(|source| GoldenError::Io {
            path: dir.clone(),
            source,
        })?;
        let mut out = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|source| GoldenError::Io {
                    path: dir.clone(),
                    source,
                })?
                .path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let mut s: Scenario = read_json(&path)?;
            s.name = path
                .file_stem()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            out.push(s);
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The text of provision `name`.
    pub fn provision(&self, name: &str) -> Result<String, GoldenError> {
        read_text(&self.root.join("provisions").join(format!("{name}.js")))
    }

    /// The text of virtual parameter `name`'s script.
    pub fn virtual_parameter(&self, name: &str) -> Result<String, GoldenError> {
        read_text(&self.root.join("vparams").join(format!("{name}.js")))
    }

    /// The directory of extension files (GenieACS's `EXT_DIR` for these scenarios).
    pub fn ext_dir(&self) -> PathBuf {
        self.root.join("ext")
    }

    /// Where the golden of `scenario` lives.
    pub fn golden_path(&self, scenario: &str) -> PathBuf {
        self.root.join("goldens").join(format!("{scenario}.json"))
    }

    /// The recorded golden of `scenario`.
    pub fn golden(&self, scenario: &str) -> Result<Golden, GoldenError> {
        read_json(&self.golden_path(scenario))
    }
}

fn read_text(path: &Path) -> Result<String, GoldenError> {
    std::fs::read_to_string(path).map_err(|source| GoldenError::Io {
        path: path.to_owned(),
        source,
    })
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, GoldenError> {
    serde_json::from_str(&read_text(path)?).map_err(|source| GoldenError::Json {
        path: path.to_owned(),
        source,
    })
}

/// One node of a normalised device tree.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Entry {
    /// Full path, no trailing dot (`Tags.<tag>` for a tag).
    pub path: String,
    /// Whether the node is an object (`_object`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<bool>,
    /// `_writable`, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writable: Option<bool>,
    /// `_value` as JSON (strings, numbers, booleans; dates as GenieACS's ISO strings), or
    /// [`VOLATILE`] for a value that changes from run to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// `_type` (`xsd:string`, …).
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    pub xsd: Option<String>,
    /// `_notification`, when read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification: Option<Value>,
    /// `_accessList`, when read.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "accessList"
    )]
    pub access_list: Option<Value>,
}

/// One fault of a normalised run (GenieACS's `faults` collection).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Fault {
    /// The channel that faulted (`default`, a preset channel, `task_<id>`).
    pub channel: String,
    /// `cwmp.<code>`, `script.<ErrorName>`, `ext.<ErrorName>`, `timeout`, …
    pub code: String,
    /// The fault's message.
    pub message: String,
    /// How often the channel has been retried.
    pub retries: u64,
}

/// What one CPE session looked like from cpe-sim's side.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct SessionRecord {
    /// The Inform's events.
    pub events: Vec<String>,
    /// The RPCs the ACS sent, in order.
    pub rpcs: Vec<String>,
    /// The CPE's fault codes, in order.
    pub cpe_faults: Vec<u32>,
}

/// A normalised run: the golden file's content.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Golden {
    /// The scenario's name.
    pub scenario: String,
    /// The device id the CPE had.
    pub device_id: String,
    /// Who produced it (`GenieACS 1.2.16+…`).
    pub reference: String,
    /// The sessions, as cpe-sim saw them: informative, not compared (an ACS may batch RPCs
    /// differently and still reach the same tree).
    pub sessions: Vec<SessionRecord>,
    /// The tree, sorted by path.
    pub parameters: Vec<Entry>,
    /// The faults, sorted by channel.
    pub faults: Vec<Fault>,
}

/// The value written for a parameter whose value differs between runs of the same scenario.
pub const VOLATILE: &str = "<volatile>";

/// Parameters whose values change from run to run whatever the ACS does: the CPE's
/// connection-request URL carries cpe-sim's ephemeral listener port.
const VOLATILE_SUFFIXES: &[&str] = &["ManagementServer.ConnectionRequestURL"];

/// Flattens a GenieACS device document (as `GET /devices/` returns it) into entries sorted by
/// path: every node under a top-level key that does not start with `_`, plus `_tags` as
/// `Tags.<tag>`. Timestamps are dropped; volatile values become [`VOLATILE`].
pub fn normalise(doc: &Value) -> Result<Vec<Entry>, GoldenError> {
    let obj = doc.as_object().ok_or_else(|| GoldenError::Shape {
        what: "device document",
        detail: "not a JSON object".into(),
    })?;
    let mut out = Vec::new();
    for (key, node) in obj {
        if key.starts_with('_') {
            continue;
        }
        flatten(key, node, &mut out)?;
    }
    if let Some(tags) = obj.get("_tags") {
        let tags = tags.as_array().ok_or_else(|| GoldenError::Shape {
            what: "device document",
            detail: "_tags is not an array".into(),
        })?;
        for t in tags {
            let name = t.as_str().ok_or_else(|| GoldenError::Shape {
                what: "device document",
                detail: format!("tag {t} is not a string"),
            })?;
            out.push(Entry {
                path: format!("Tags.{name}"),
                object: None,
                writable: None,
                value: Some(Value::Bool(true)),
                xsd: None,
                notification: None,
                access_list: None,
            });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

fn flatten(path: &str, node: &Value, out: &mut Vec<Entry>) -> Result<(), GoldenError> {
    let obj = node.as_object().ok_or_else(|| GoldenError::Shape {
        what: "device document",
        detail: format!("{path} is not an object"),
    })?;
    let flag = |k: &str| obj.get(k).and_then(Value::as_bool);
    let volatile = VOLATILE_SUFFIXES.iter().any(|s| path.ends_with(s));
    let value = obj.get("_value").map(|v| {
        if volatile {
            Value::String(VOLATILE.into())
        } else {
            v.clone()
        }
    });
    let entry = Entry {
        path: path.to_owned(),
        object: flag("_object"),
        writable: flag("_writable"),
        value,
        xsd: obj.get("_type").and_then(Value::as_str).map(str::to_owned),
        notification: obj.get("_notification").cloned(),
        access_list: obj.get("_accessList").cloned(),
    };
    // A node known only by its children (no attribute of its own) is implied by them.
    let known = entry.object.is_some()
        || entry.writable.is_some()
        || entry.value.is_some()
        || entry.notification.is_some()
        || entry.access_list.is_some();
    if known {
        out.push(entry);
    }
    for (key, child) in obj {
        if !key.starts_with('_') {
            flatten(&format!("{path}.{key}"), child, out)?;
        }
    }
    Ok(())
}

/// Reads a GenieACS fault list (`GET /faults/`) into faults sorted by channel.
pub fn normalise_faults(list: &Value) -> Result<Vec<Fault>, GoldenError> {
    let items = list.as_array().ok_or_else(|| GoldenError::Shape {
        what: "fault list",
        detail: "not a JSON array".into(),
    })?;
    let mut out = Vec::new();
    for f in items {
        let field = |k: &str| {
            f.get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| GoldenError::Shape {
                    what: "fault list",
                    detail: format!("a fault without a string {k}: {f}"),
                })
        };
        out.push(Fault {
            channel: field("channel")?,
            code: field("code")?,
            message: field("message")?,
            retries: f.get("retries").and_then(Value::as_u64).unwrap_or(0),
        });
    }
    out.sort_by(|a, b| a.channel.cmp(&b.channel).then(a.code.cmp(&b.code)));
    Ok(out)
}

/// Whether two faults mean the same. A script's or extension's error message is the
/// JavaScript engine's wording (V8 in GenieACS), so for `script.*` and `ext.*` codes only the
/// channel, the code (the error's name) and the retries must agree.
fn same_fault(a: &Fault, b: &Fault) -> bool {
    let engine_worded = a.code.starts_with("script.") || a.code.starts_with("ext.");
    a.channel == b.channel
        && a.code == b.code
        && a.retries == b.retries
        && (engine_worded || a.message == b.message)
}

/// Compares a run with its golden; `None` when they agree, else a report listing every
/// parameter that is missing, unexpected or different, and every fault that differs.
pub fn diff(expected: &Golden, actual: &Golden) -> Option<String> {
    let mut lines = Vec::new();
    let want: BTreeMap<&str, &Entry> = expected
        .parameters
        .iter()
        .map(|e| (e.path.as_str(), e))
        .collect();
    let got: BTreeMap<&str, &Entry> = actual
        .parameters
        .iter()
        .map(|e| (e.path.as_str(), e))
        .collect();
    for (path, w) in &want {
        match got.get(path) {
            None => lines.push(format!("- {path}: {}", show(w))),
            Some(g) if g != w => {
                lines.push(format!("~ {path}: expected {}, got {}", show(w), show(g)));
            }
            Some(_) => {}
        }
    }
    for (path, g) in &got {
        if !want.contains_key(path) {
            lines.push(format!("+ {path}: {}", show(g)));
        }
    }
    let faults_agree = expected.faults.len() == actual.faults.len()
        && expected
            .faults
            .iter()
            .zip(&actual.faults)
            .all(|(a, b)| same_fault(a, b));
    if !faults_agree {
        lines.push(format!(
            "faults: expected {}, got {}",
            show_faults(&expected.faults),
            show_faults(&actual.faults)
        ));
    }
    if lines.is_empty() {
        return None;
    }
    Some(format!(
        "scenario {}: {} difference(s) from {} ('-' missing, '+' unexpected, '~' different)\n{}",
        expected.scenario,
        lines.len(),
        expected.reference,
        lines.join("\n")
    ))
}

fn show(e: &Entry) -> String {
    let mut parts = Vec::new();
    if let Some(v) = &e.value {
        parts.push(format!("value={v}"));
    }
    if let Some(t) = &e.xsd {
        parts.push(format!("type={t}"));
    }
    if let Some(w) = e.writable {
        parts.push(format!("writable={w}"));
    }
    if let Some(o) = e.object {
        parts.push(format!("object={o}"));
    }
    if let Some(n) = &e.notification {
        parts.push(format!("notification={n}"));
    }
    if let Some(a) = &e.access_list {
        parts.push(format!("accessList={a}"));
    }
    format!("[{}]", parts.join(" "))
}

fn show_faults(faults: &[Fault]) -> String {
    let items: Vec<String> = faults
        .iter()
        .map(|f| {
            format!(
                "{}:{} ({}, retries {})",
                f.channel, f.code, f.message, f.retries
            )
        })
        .collect();
    format!("[{}]", items.join("; "))
}

/// Serialises a golden with one parameter or fault per line, so that a changed golden reads
/// well in a diff.
pub fn to_pretty(g: &Golden) -> Result<String, serde_json::Error> {
    let mut s = String::from("{\n");
    s += &format!("  \"scenario\": {},\n", serde_json::to_string(&g.scenario)?);
    s += &format!(
        "  \"device_id\": {},\n",
        serde_json::to_string(&g.device_id)?
    );
    s += &format!(
        "  \"reference\": {},\n",
        serde_json::to_string(&g.reference)?
    );
    s += &format!("  \"sessions\": {},\n", lines(&g.sessions)?);
    s += &format!("  \"parameters\": {},\n", lines(&g.parameters)?);
    s += &format!("  \"faults\": {}\n", lines(&g.faults)?);
    s += "}\n";
    Ok(s)
}

fn lines<T: Serialize>(items: &[T]) -> Result<String, serde_json::Error> {
    if items.is_empty() {
        return Ok("[]".into());
    }
    let rows: Vec<String> = items
        .iter()
        .map(|i| serde_json::to_string(i).map(|j| format!("    {j}")))
        .collect::<Result<_, _>>()?;
    Ok(format!("[\n{}\n  ]", rows.join(",\n")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "_id": "1C61B4-Device2-X",
            "_lastInform": "2026-12-07T21:00:00.000Z",
            "_tags": ["b-tag", "a-tag"],
            "Device": {
                "_object": true, "_writable": false, "_timestamp": "2026-12-07T21:00:00.000Z",
                "ManagementServer": {
                    "_object": true,
                    "ConnectionRequestURL": {"_object": false, "_value": "http://127.0.0.1:41234/cr/0",
                        "_type": "xsd:string", "_writable": false, "_timestamp": "x"},
                    "PeriodicInformInterval": {"_value": 300, "_type": "xsd:unsignedInt",
                        "_writable": true, "_notification": 2, "_accessList": []}
                },
                "WiFi": {"SSID": {"1": {"SSID": {"_writable": true}}}}
            },
            "VirtualParameters": {"wan_mac": {"_value": "AA", "_type": "xsd:string", "_writable": false}}
        })
    }

    #[test]
    fn a_document_flattens_to_sorted_entries_without_timestamps() {
        let entries = normalise(&doc()).unwrap();
        let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "Device",
                "Device.ManagementServer",
                "Device.ManagementServer.ConnectionRequestURL",
                "Device.ManagementServer.PeriodicInformInterval",
                "Device.WiFi.SSID.1.SSID",
                "Tags.a-tag",
                "Tags.b-tag",
                "VirtualParameters.wan_mac",
            ],
            "nodes with no attribute of their own (WiFi, SSID, SSID.1) are implied, not listed"
        );
        let pii = &entries[3];
        assert_eq!(pii.value, Some(json!(300)));
        assert_eq!(pii.xsd.as_deref(), Some("xsd:unsignedInt"));
        assert_eq!(pii.writable, Some(true));
        assert_eq!(pii.notification, Some(json!(2)));
        assert_eq!(pii.access_list, Some(json!([])));
        assert_eq!(entries[2].value, Some(json!(VOLATILE)), "the CR URL varies");
        assert_eq!(entries[4].value, None, "known writable, value never read");
        let text = serde_json::to_string(&entries).unwrap();
        assert!(
            !text.contains("2026-12-07"),
            "no timestamp survives: {text}"
        );
    }

    #[test]
    fn malformed_documents_are_errors_not_panics() {
        assert!(normalise(&json!([])).is_err());
        assert!(normalise(&json!({"Device": 3})).is_err());
        assert!(normalise(&json!({"_tags": "vip"})).is_err());
        assert!(normalise_faults(&json!({})).is_err());
        assert!(normalise_faults(&json!([{"channel": "x"}])).is_err());
    }

    fn golden(parameters: Vec<Entry>, faults: Vec<Fault>) -> Golden {
        Golden {
            scenario: "s".into(),
            device_id: "d".into(),
            reference: "GenieACS test".into(),
            sessions: Vec::new(),
            parameters,
            faults,
        }
    }

    fn fault(channel: &str, code: &str, message: &str) -> Fault {
        Fault {
            channel: channel.into(),
            code: code.into(),
            message: message.into(),
            retries: 0,
        }
    }

    #[test]
    fn faults_are_read_and_sorted_by_channel() {
        let list = json!([
            {"_id": "d:z", "channel": "z", "code": "cwmp.9005", "message": "Invalid parameter name", "retries": 1, "detail": {}},
            {"_id": "d:a", "channel": "a", "code": "script.TypeError", "message": "boom", "timestamp": "t"}
        ]);
        let faults = normalise_faults(&list).unwrap();
        assert_eq!(
            faults,
            [
                fault("a", "script.TypeError", "boom"),
                Fault {
                    retries: 1,
                    ..fault("z", "cwmp.9005", "Invalid parameter name")
                }
            ]
        );
    }

    #[test]
    fn equal_runs_have_no_diff_and_every_kind_of_difference_is_reported() {
        let base = normalise(&doc()).unwrap();
        let a = golden(
            base.clone(),
            vec![fault("x", "script.TypeError", "V8 words")],
        );
        let same_but_engine_words = golden(
            base.clone(),
            vec![fault("x", "script.TypeError", "other words")],
        );
        assert_eq!(diff(&a, &same_but_engine_words), None);

        let mut changed = base.clone();
        changed.retain(|e| e.path != "Tags.a-tag");
        if let Some(e) = changed
            .iter_mut()
            .find(|e| e.path == "VirtualParameters.wan_mac")
        {
            e.value = Some(json!("BB"));
        }
        changed.push(Entry {
            path: "Device.Extra".into(),
            object: Some(false),
            writable: None,
            value: None,
            xsd: None,
            notification: None,
            access_list: None,
        });
        let b = golden(changed, vec![fault("x", "script.RangeError", "V8 words")]);
        let report = diff(&a, &b).expect("differences");
        assert!(report.contains("- Tags.a-tag: [value=true]"), "{report}");
        assert!(
            report.contains(
                "~ VirtualParameters.wan_mac: expected [value=\"AA\" type=xsd:string writable=false], got [value=\"BB\" type=xsd:string writable=false]"
            ),
            "{report}"
        );
        assert!(
            report.contains("+ Device.Extra: [object=false]"),
            "{report}"
        );
        assert!(
            report.contains("faults: expected [x:script.TypeError"),
            "{report}"
        );
        assert!(
            report.starts_with("scenario s: 4 difference(s)"),
            "{report}"
        );
    }

    #[test]
    fn a_non_script_fault_message_must_match() {
        let a = golden(
            Vec::new(),
            vec![fault("c", "cwmp.9003", "Invalid arguments")],
        );
        let b = golden(Vec::new(), vec![fault("c", "cwmp.9003", "Other")]);
        assert!(diff(&a, &b).is_some());
    }

    #[test]
    fn a_pretty_golden_reads_back_as_itself() {
        let g = Golden {
            sessions: vec![SessionRecord {
                events: vec!["0 BOOTSTRAP".into()],
                rpcs: vec!["GetParameterNames".into()],
                cpe_faults: Vec::new(),
            }],
            ..golden(normalise(&doc()).unwrap(), vec![fault("c", "timeout", "m")])
        };
        let text = to_pretty(&g).unwrap();
        assert_eq!(serde_json::from_str::<Golden>(&text).unwrap(), g);
        assert!(
            text.contains("\n    {\"path\":\"Device.ManagementServer\""),
            "{text}"
        );
    }

    #[test]
    fn the_committed_scenarios_load_and_name_existing_scripts() {
        let dir = ScriptDir::new(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../acs/testdata/genieacs-scripts"),
        );
        let scenarios = dir.scenarios().unwrap();
        assert!(scenarios.len() >= 5, "{scenarios:?}");
        for s in &scenarios {
            assert!(!s.sessions.is_empty(), "{}", s.name);
            for p in &s.provisions {
                dir.provision(p).unwrap();
            }
            for v in &s.virtual_parameters {
                dir.virtual_parameter(v).unwrap();
            }
        }
    }
}
