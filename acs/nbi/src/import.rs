//! GenieACS device documents (as `mongoexport` or the NBI prints them) turned into the store's
//! records, so that after a migration the NBI answers for those devices as GenieACS did.

use crate::date;
use acs_store::{DeviceId, DeviceMeta, Identity, Param, ParamTree, Value};
use serde_json::Value as Json;

/// Deepest parameter path accepted (GenieACS's own `MAX_DEPTH` is 16).
const MAX_PATH_DEPTH: usize = 32;

/// Why a document could not be imported.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImportError {
    /// The document lacks a field every GenieACS device has, or holds an unusable value.
    #[error("invalid GenieACS device document: {0}")]
    Invalid(String),
}

fn bad(msg: impl Into<String>) -> ImportError {
    ImportError::Invalid(msg.into())
}

/// A date as GenieACS exports it: an ISO string, `{"$date": "…"}` (mongoexport's extended
/// JSON) or `{"$date": {"$numberLong": "…"}}`.
fn date_of(v: &Json) -> Option<i64> {
    match v {
        Json::String(s) => date::parse(s),
        Json::Object(o) => match o.get("$date")? {
            Json::String(s) => date::parse(s),
            Json::Number(n) => n.as_i64(),
            Json::Object(l) => l.get("$numberLong")?.as_str()?.parse().ok(),
            _ => None,
        },
        _ => None,
    }
}

/// Converts one device document.
pub fn device(doc: &Json) -> Result<(DeviceMeta, ParamTree), ImportError> {
    let Json::Object(d) = doc else {
        return Err(bad("not an object"));
    };
    let id = d
        .get("_id")
        .and_then(Json::as_str)
        .ok_or_else(|| bad("no _id"))?;
    let id = DeviceId::parse(id).map_err(|e| bad(format!("_id: {e}")))?;
    let did = d.get("_deviceId").and_then(Json::as_object);
    let field = |k: &str| {
        did.and_then(|o| o.get(k))
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let identity = Identity {
        manufacturer: field("_Manufacturer"),
        oui: field("_OUI"),
        product_class: field("_ProductClass"),
        serial_number: field("_SerialNumber"),
    };
    let mut meta = DeviceMeta::new(id, identity);
    meta.last_inform_ms = d.get("_lastInform").and_then(date_of).unwrap_or(0);
    meta.registered_ms = d
        .get("_registered")
        .and_then(date_of)
        .unwrap_or(meta.last_inform_ms);
    meta.last_boot_ms = d.get("_lastBoot").and_then(date_of);
    meta.last_bootstrap_ms = d.get("_lastBootstrap").and_then(date_of);
    if let Some(tags) = d.get("_tags").and_then(Json::as_array) {
        meta.tags = tags
            .iter()
            .filter_map(Json::as_str)
            .map(str::to_owned)
            .collect();
    }
    let mut tree = ParamTree::new();
    for (key, node) in d {
        if key.starts_with('_') {
            continue;
        }
        if meta.root.is_empty() && (key == "Device" || key == "InternetGatewayDevice") {
            meta.root = key.clone();
        }
        walk(key, node, 1, &mut tree)?;
    }
    // What the ACS keeps beside the tree (indexes, connection-request details) comes from the
    // same parameters as in a session.
    for (path, param) in tree.iter() {
        if let Some(v) = &param.value {
            let text = v.text();
            acs::note_fact(&mut meta, path, &text);
            if path.ends_with("ManagementServer.ConnectionRequestUsername") {
                meta.cr_username = text.into_owned();
            } else if path.ends_with("ManagementServer.ConnectionRequestPassword") {
                meta.cr_password = text.into_owned();
            }
        }
    }
    Ok((meta, tree))
}

fn walk(path: &str, node: &Json, depth: usize, tree: &mut ParamTree) -> Result<(), ImportError> {
    if depth > MAX_PATH_DEPTH {
        return Err(bad(format!("{path}: deeper than {MAX_PATH_DEPTH}")));
    }
    let Json::Object(o) = node else {
        return Err(bad(format!("{path}: not an object")));
    };
    let object = o.get("_object").and_then(Json::as_bool).unwrap_or(false);
    let value = match (o.get("_value"), o.get("_type").and_then(Json::as_str)) {
        (Some(v), ty) => {
            let ty = ty.unwrap_or("xsd:string");
            let local = ty.strip_prefix("xsd:").unwrap_or(ty);
            let text = match v {
                Json::String(s) => s.clone(),
                Json::Bool(b) => b.to_string(),
                Json::Number(n) => n.to_string(),
                Json::Null => String::new(),
                other => match date_of(other) {
                    Some(ms) => date::iso(ms),
                    None => other.to_string(),
                },
            };
            Some(Value::from_wire_owned(local, text))
        }
        (None, _) => None,
    };
    tree.insert(
        path,
        Param {
            object,
            writable: o.get("_writable").and_then(Json::as_bool),
            value,
            timestamp_ms: o.get("_timestamp").and_then(date_of).unwrap_or(0),
        },
    );
    for (key, child) in o {
        if !key.starts_with('_') {
            walk(&format!("{path}.{key}"), child, depth + 1, tree)?;
        }
    }
    Ok(())
}
