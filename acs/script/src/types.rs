//! What goes into a script run and what comes out of it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One existing node of the device tree as a script sees it through `declare(...)`'s object.
/// Attributes the ACS does not know are `None` (the script reads `undefined`).
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Node {
    /// The concrete path, e.g. `Device.WiFi.SSID.1.SSID`.
    pub path: String,
    /// Whether the node is an object (`.object`, the number 1 or 0 as GenieACS gives it).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "flag")]
    pub object: Option<bool>,
    /// Whether the node is writable (`.writable`, the number 1 or 0 as GenieACS gives it).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "flag")]
    pub writable: Option<bool>,
    /// The value and its `xsd:` type (`.value` is `[value, type]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<(serde_json::Value, String)>,
    /// The notification attribute (`.notification`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification: Option<i64>,
    /// The access list (`.accessList`).
    #[serde(rename = "accessList", skip_serializing_if = "Option::is_none")]
    pub access_list: Option<Vec<String>>,
}

/// GenieACS keeps `object` and `writable` as the numbers 1 and 0, and scripts see them so
/// (`${p.writable}` is `1`, not `true`).
fn flag<S: serde::Serializer>(v: &Option<bool>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(b) => s.serialize_u8(u8::from(*b)),
        None => s.serialize_none(),
    }
}

/// The device as the script may read it. The ACS implements it over its own tree and path
/// patterns (`*` and alias filters `[Key:Value]`), so patterns are matched in one place.
pub trait DeviceView {
    /// Every existing node that `pattern` matches, in tree order; an unparsable pattern is an
    /// error the script receives as a thrown `Error`.
    fn matches(&self, pattern: &str) -> Result<Vec<Node>, String>;
}

/// Wanted instance counts of a declared path (`{path: n}` or `{path: [min, max]}`).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
pub struct InstanceCount {
    /// At least this many instances (`None`: no lower bound).
    pub min: Option<u32>,
    /// At most this many instances (`None`: no upper bound).
    pub max: Option<u32>,
}

/// One `declare(path, timestamps, values)` call, as GenieACS records it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Declaration {
    /// The path pattern as written.
    pub path: String,
    /// Instances must have been discovered at or after this time (ms; 1 = ever).
    #[serde(rename = "pathGet")]
    pub path_get: f64,
    /// Wanted instance counts.
    #[serde(rename = "pathSet")]
    pub path_set: Option<InstanceCount>,
    /// Per attribute (`value`, `writable`, `object`, `notification`, `accessList`): read at or
    /// after this time (ms; 1 = ever).
    #[serde(rename = "attrGet")]
    pub attr_get: BTreeMap<String, f64>,
    /// Per attribute, the wanted value; `value` is `[value]` or `[value, type]`.
    #[serde(rename = "attrSet")]
    pub attr_set: BTreeMap<String, serde_json::Value>,
    /// Whether the declaration waits for every script of the pass to finish before its
    /// values and instances are applied (GenieACS's `defer`).
    pub defer: bool,
}

/// One `clear(path, timestamp[, attributes])` call.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Clear {
    /// The path pattern.
    pub path: String,
    /// Data of the path older than this (ms) is forgotten.
    pub timestamp: f64,
    /// Per attribute, the same for attributes.
    pub attributes: Option<BTreeMap<String, f64>>,
}

/// One `log(message, meta)` line, kept only on the run's final revision as GenieACS does.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct LogLine {
    /// `Script: <message>`.
    pub message: String,
    /// The meta object as JSON (`null` without one).
    pub meta: serde_json::Value,
}

/// An `ext(file, function, ...args)` call whose result the session does not have yet.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ExtCall {
    /// The cache key, `"<revision>: <JSON of the stringified arguments>"`.
    pub key: String,
    /// The arguments as strings: extension file, function, then the script's arguments.
    pub args: Vec<String>,
}

/// A fault, shaped like GenieACS's.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Fault {
    /// `script.<ErrorName>`, `script`, `timeout`, `ext.<ErrorName>`, …
    pub code: String,
    /// The error's message.
    pub message: String,
    /// `{name, message, stack}` for a thrown error.
    pub detail: Option<serde_json::Value>,
}

/// A virtual parameter's computed attributes (`return {writable, value}`), checked and typed.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct VirtualValue {
    /// Whether the parameter is writable.
    pub writable: Option<bool>,
    /// The value and its `xsd:` type.
    pub value: Option<(serde_json::Value, String)>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum End {
    /// The script returned; for a virtual parameter, with its checked value.
    Completed(Option<VirtualValue>),
    /// The script read something not yet synced with the CPE (or called `commit()`): sync
    /// the declarations, then run it again with `max_revision + 1`.
    Committed,
    /// The script called `ext()` for results the session does not have: run `ext_calls`, add
    /// their results to the cache, and run it again with `ext_counter` from this outcome.
    NeedsExtensions,
    /// The script failed.
    Fault(Fault),
}

/// Everything a run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// How it ended.
    pub end: End,
    /// Its declarations, timestamps capped at the session's time.
    pub declarations: Vec<Declaration>,
    /// Its `clear()` calls on the last revision, timestamps capped at the session's time.
    pub clears: Vec<Clear>,
    /// Its log lines.
    pub logs: Vec<LogLine>,
    /// Extension calls to perform (with `End::NeedsExtensions`).
    pub ext_calls: Vec<ExtCall>,
    /// The `ext_counter` to pass to the re-run after extensions (GenieACS's way of logging
    /// each line once across those re-runs).
    pub ext_counter: i64,
}

/// Which kind of script runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A provision: `args` are the preset's arguments.
    Provision,
    /// A virtual parameter: `args` are `[declaredTimestamps, declaredValues,
    /// currentTimestamps, currentValues]`, and it must return `{writable, value}`.
    VirtualParameter,
}
