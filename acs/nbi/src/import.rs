//! GenieACS device documents (as `mongoexport` or the NBI prints them) turned into the store's
//! records, so that after a migration the NBI answers for those devices as GenieACS did.

use crate::date;
use acs_store::{DeviceId, DeviceMeta, Expect, Identity, Op, Param, ParamTree, Value};
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

/// A number in mongoexport's extended JSON (`{"$numberLong": "…"}` and its kin), as text.
fn extended_number(v: &Json) -> Option<String> {
    let o = v.as_object()?;
    [
        "$numberLong",
        "$numberInt",
        "$numberDouble",
        "$numberDecimal",
    ]
    .iter()
    .find_map(|k| o.get(*k))
    .and_then(|n| match n {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    })
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
    // The document's own `_timestamp` is when GenieACS last listed the root: kept as the tree's
    // root node, so the planner does not list the root again for what it already knows.
    if let Some(ts) = d.get("_timestamp").and_then(date_of).filter(|t| *t > 0) {
        tree.insert("", Param::object(None, ts));
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

/// The store writes that make a device exactly what an imported document says: its record, and
/// its tree replaced (so importing the same document again changes nothing).
pub fn store_ops(meta: DeviceMeta, tree: &ParamTree) -> [Op; 3] {
    let id = meta.id.clone();
    [
        Op::PutDevice {
            meta,
            expect: Expect::Any,
        },
        Op::ClearTree { id: id.clone() },
        Op::UpdateTree {
            id,
            set: tree
                .iter()
                .map(|(p, v)| (p.to_owned(), v.clone()))
                .collect(),
            remove_subtrees: Vec::new(),
        },
    ]
}

/// The write that gives an imported device its CPE credentials (see `acs::credentials`):
/// explicit when GenieACS's tree holds both `ManagementServer.Username` and a non-empty
/// `ManagementServer.Password` (the values a provision set), else an adoption bound to the host
/// of its ConnectionRequestURL and its WAN address; `None` when neither is an address.
pub fn credentials(meta: &DeviceMeta, tree: &ParamTree, now_ms: i64) -> Option<Op> {
    let read = |name: &str| {
        tree.get(&format!("{}.ManagementServer.{name}", meta.root))
            .and_then(|p| p.value.as_ref())
            .map(|v| v.text().into_owned())
            .unwrap_or_default()
    };
    acs::credentials::import_op(meta, &read("Username"), &read("Password"), now_ms)
}

/// A node's `_notification`/`_accessList`/`_attributesTimestamp`, when GenieACS had read them.
fn attributes_of(o: &serde_json::Map<String, Json>) -> Option<Box<acs_store::Attributes>> {
    let notification = o.get("_notification")?.as_u64()?;
    Some(Box::new(acs_store::Attributes {
        notification: u8::try_from(notification).ok()?,
        access_list: o
            .get("_accessList")
            .and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Json::as_str)
                    .take(64)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        timestamp_ms: o.get("_attributesTimestamp").and_then(date_of).unwrap_or(0),
    }))
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
                other => match (date_of(other), extended_number(other)) {
                    (Some(ms), _) => date::iso(ms),
                    (None, Some(n)) => n,
                    (None, None) => other.to_string(),
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
            attributes: attributes_of(o),
        },
    );
    for (key, child) in o {
        if !key.starts_with('_') {
            walk(&format!("{path}.{key}"), child, depth + 1, tree)?;
        }
    }
    Ok(())
}

/// Splits a stream of JSON documents, either one per line (or simply concatenated, as
/// `mongoexport` writes them) or one JSON array, into documents, without holding more than one
/// document in memory. Each document is at most `max_doc` bytes.
pub struct Documents<R> {
    reader: R,
    max_doc: usize,
    state: Framing,
    buf: [u8; 1],
}

#[derive(PartialEq, Eq)]
enum Framing {
    Start,
    Lines,
    Array,
    Done,
}

impl<R: std::io::Read> Documents<R> {
    /// Reads documents from `reader`.
    pub fn new(reader: R, max_doc: usize) -> Self {
        Self {
            reader,
            max_doc,
            state: Framing::Start,
            buf: [0],
        }
    }

    fn byte(&mut self) -> std::io::Result<Option<u8>> {
        match self.reader.read(&mut self.buf)? {
            0 => Ok(None),
            _ => Ok(Some(self.buf[0])),
        }
    }

    /// The next document's bytes, `None` at the end.
    fn next_doc(&mut self) -> Result<Option<Vec<u8>>, ImportError> {
        let io = |e: std::io::Error| bad(format!("reading: {e}"));
        let mut doc = Vec::new();
        let (mut depth, mut in_str, mut escaped) = (0usize, false, false);
        loop {
            let Some(b) = self.byte().map_err(io)? else {
                return match (depth, &self.state) {
                    (0, Framing::Array) => Err(bad("the JSON array is not closed")),
                    (0, _) => Ok(None),
                    _ => Err(bad("the input ends inside a document")),
                };
            };
            if depth == 0 {
                match b {
                    b if b.is_ascii_whitespace() => continue,
                    b'[' if self.state == Framing::Start => {
                        self.state = Framing::Array;
                        continue;
                    }
                    b',' if self.state == Framing::Array => continue,
                    b']' if self.state == Framing::Array => {
                        self.state = Framing::Done;
                        return Ok(None);
                    }
                    b'{' => {
                        if self.state == Framing::Start {
                            self.state = Framing::Lines;
                        }
                    }
                    _ => return Err(bad("expected a JSON object")),
                }
            }
            doc.push(b);
            if doc.len() > self.max_doc {
                return Err(bad(format!(
                    "a document is larger than {} bytes",
                    self.max_doc
                )));
            }
            if in_str {
                match (escaped, b) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, b'"') => in_str = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => in_str = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(Some(doc));
                    }
                }
                _ => {}
            }
        }
    }
}

impl<R: std::io::Read> Iterator for Documents<R> {
    type Item = Result<Json, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.state == Framing::Done {
            return None;
        }
        match self.next_doc() {
            Ok(Some(bytes)) => {
                Some(serde_json::from_slice(&bytes).map_err(|e| bad(format!("invalid JSON: {e}"))))
            }
            Ok(None) => None,
            Err(e) => {
                self.state = Framing::Done;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn docs(input: &str) -> Vec<Result<Json, ImportError>> {
        Documents::new(input.as_bytes(), 1 << 20).collect()
    }

    #[test]
    fn lines_and_arrays_split_into_documents() {
        let want = vec![
            serde_json::json!({"a": "}{\"]"}),
            serde_json::json!({"b": [1, {"c": 2}]}),
        ];
        for input in [
            "{\"a\":\"}{\\\"]\"}\n{\"b\":[1,{\"c\":2}]}\n",
            "[ {\"a\":\"}{\\\"]\"} ,\n {\"b\":[1,{\"c\":2}]} ]",
            "{\"a\":\"}{\\\"]\"}{\"b\":[1,{\"c\":2}]}",
        ] {
            let got: Vec<Json> = docs(input).into_iter().map(Result::unwrap).collect();
            assert_eq!(got, want, "{input}");
        }
        assert!(docs("").is_empty());
        assert!(docs("[]").is_empty());
    }

    #[test]
    fn broken_input_is_an_error_not_a_hang() {
        for input in ["[{\"a\":1}", "{\"a\":", "3", "[1]"] {
            assert!(docs(input).iter().any(Result::is_err), "{input}");
        }
        let big = format!("{{\"a\":\"{}\"}}", "x".repeat(100));
        assert!(Documents::new(big.as_bytes(), 50).any(|d| d.is_err()));
    }

    #[test]
    fn mongoexport_extended_json_is_understood() {
        let doc = serde_json::json!({
            "_id": "202BC1-BM632w-000000",
            "_deviceId": {"_OUI": "202BC1", "_ProductClass": "BM632w", "_SerialNumber": "000000"},
            "_lastInform": {"$date": "2026-11-22T10:53:03.604Z"},
            "_registered": {"$date": {"$numberLong": "1795344783604"}},
            "X": {"_object": true, "N": {"_object": false, "_value": {"$numberLong": "12"}, "_type": "xsd:long"}}
        });
        let (meta, tree) = device(&doc).unwrap();
        assert!(tree.get("").is_none(), "no root listing recorded");
        assert_eq!(meta.last_inform_ms, 1_795_344_783_604);
        assert_eq!(meta.registered_ms, 1_795_344_783_604);
        assert_eq!(tree.get("X.N").unwrap().value, Some(Value::Long(12)));
        let mut listed = doc.clone();
        listed["_timestamp"] = serde_json::json!({"$date": "2026-11-22T10:53:03.604Z"});
        let (_, tree) = device(&listed).unwrap();
        assert_eq!(
            tree.get("").map(|n| n.timestamp_ms),
            Some(1_795_344_783_604)
        );
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(input in proptest::collection::vec(any::<u8>(), 0..200)) {
            for doc in Documents::new(&input[..], 64).take(50).flatten() {
                let _ = device(&doc);
            }
        }
    }
}
