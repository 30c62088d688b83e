//! Data-model calls: the JSON the web UI encrypts (`{"data":{…},"operation":"gl","oid":"…"}`) and
//! the JSON the modem answers, parsed with limits into string maps.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{BridgeError, ProtocolMismatch};

/// Longest decrypted answer accepted (a full host table is tens of KiB).
pub const MAX_REPLY: usize = 1024 * 1024;
/// Most list entries accepted in one `gl` answer.
pub const MAX_ENTRIES: usize = 1024;
/// Most attributes accepted in one object.
pub const MAX_ATTRS: usize = 256;
/// Deepest JSON nesting accepted (a `gl` answer needs 3).
pub const MAX_DEPTH: usize = 8;

/// The `operation` of a call; only reads are ever built by the bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Get one object.
    Go,
    /// Get a list of instances.
    Gl,
    /// A CGI action (logout).
    Cgi,
}

impl Operation {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Go => "go",
            Self::Gl => "gl",
            Self::Cgi => "cgi",
        }
    }
}

/// One object's attributes; every value is a string on the wire.
pub type Attrs = BTreeMap<String, String>;

/// What a successful call returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DmData {
    /// `go`: one object.
    Object(Attrs),
    /// `gl`: instances in order.
    List(Vec<Attrs>),
}

impl DmData {
    /// The instances: an object is a list of one.
    pub fn entries(&self) -> &[Attrs] {
        match self {
            Self::Object(o) => std::slice::from_ref(o),
            Self::List(l) => l,
        }
    }
}

/// Builds the plaintext payload of a call (`stack` addresses an instance; attributes are asked
/// for as keys with empty values).
pub fn request_json(op: Operation, oid: &str, stack: &str, attrs: &[&str]) -> String {
    let mut data = Map::new();
    data.insert("stack".into(), Value::from(stack));
    data.insert("pstack".into(), Value::from("0,0,0,0,0,0"));
    for a in attrs {
        data.insert((*a).into(), Value::from(""));
    }
    let mut root = Map::new();
    root.insert("data".into(), Value::Object(data));
    root.insert("operation".into(), Value::from(op.as_str()));
    root.insert("oid".into(), Value::from(oid));
    Value::Object(root).to_string()
}

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn attrs(v: &Value) -> Result<Attrs, ProtocolMismatch> {
    let Value::Object(o) = v else {
        return Err(ProtocolMismatch::new("data entry is not an object"));
    };
    if o.len() > MAX_ATTRS {
        return Err(ProtocolMismatch::new("object has too many attributes"));
    }
    o.iter()
        .map(|(k, v)| {
            let s = match v {
                Value::String(s) => s.clone(),
                // Firmware sends strings; numbers and booleans are tolerated as their text.
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => u8::from(*b).to_string(),
                Value::Null => String::new(),
                _ => {
                    return Err(ProtocolMismatch::new(format!(
                        "attribute {k} is not a scalar"
                    )));
                }
            };
            Ok((k.clone(), s))
        })
        .collect()
}

/// Parses a decrypted answer to a call on `oid`.
pub fn reply(oid: &str, text: &str) -> Result<DmData, BridgeError> {
    if text.len() > MAX_REPLY {
        return Err(ProtocolMismatch::new("answer exceeds the size limit").into());
    }
    let v: Value = serde_json::from_str(text).map_err(|e| {
        ProtocolMismatch::new(format!(
            "answer to {oid} is not JSON ({})",
            e.classify_name()
        ))
    })?;
    if depth(&v) > MAX_DEPTH {
        return Err(ProtocolMismatch::new("answer nests too deeply").into());
    }
    let Value::Object(root) = &v else {
        return Err(ProtocolMismatch::new("answer is not an object").into());
    };
    if root.get("success").and_then(Value::as_bool) == Some(false) {
        let code = root
            .get("errorcode")
            .and_then(|c| c.as_i64().or_else(|| c.as_str()?.parse().ok()));
        return Err(BridgeError::Refused {
            oid: oid.to_owned(),
            code: code.unwrap_or(-1),
        });
    }
    match root.get("data") {
        Some(Value::Array(items)) => {
            if items.len() > MAX_ENTRIES {
                return Err(ProtocolMismatch::new("list exceeds the entry limit").into());
            }
            Ok(DmData::List(
                items.iter().map(attrs).collect::<Result<_, _>>()?,
            ))
        }
        Some(obj @ Value::Object(_)) => Ok(DmData::Object(attrs(obj)?)),
        None | Some(Value::Null) => Ok(DmData::List(Vec::new())),
        Some(_) => Err(ProtocolMismatch::new("`data` is neither object nor list").into()),
    }
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        // The error's Display may quote the input; only its class is reported.
        match self.classify() {
            serde_json::error::Category::Io => "io",
            serde_json::error::Category::Syntax => "syntax",
            serde_json::error::Category::Data => "data",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn request_lists_attributes_as_empty_keys() {
        let j = request_json(
            Operation::Gl,
            "DEV2_ADT_LAN",
            "0,0,0,0,0,0",
            &["MACAddress", "IPAddress"],
        );
        let v: Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["operation"], "gl");
        assert_eq!(v["oid"], "DEV2_ADT_LAN");
        assert_eq!(v["data"]["MACAddress"], "");
        assert_eq!(v["data"]["stack"], "0,0,0,0,0,0");
    }

    #[test]
    fn replies_parse_objects_lists_and_refusals() {
        let o = reply(
            "X",
            r#"{"data":{"upTime":"15687","n":3},"operation":"go","oid":"X","success":true}"#,
        )
        .unwrap();
        assert_eq!(o.entries()[0]["upTime"], "15687");
        assert_eq!(o.entries()[0]["n"], "3");
        let l = reply(
            "X",
            r#"{"data":[{"a":"1","stack":"1,0,0,0,0,0"},{"a":"2"}],"success":true}"#,
        )
        .unwrap();
        assert_eq!(l.entries().len(), 2);
        assert!(matches!(
            reply("DEV2_X", r#"{"success":false,"errorcode":9804}"#),
            Err(BridgeError::Refused { code: 9804, .. })
        ));
        assert!(matches!(
            reply("X", "[[[[[[[[[[1]]]]]]]]]]"),
            Err(BridgeError::Protocol(_))
        ));
        assert!(matches!(
            reply("X", r#"{"data":{"a":{"b":"c"}}}"#),
            Err(BridgeError::Protocol(_))
        ));
        let many = format!("{{\"data\":[{}{{}}]}}", "{},".repeat(MAX_ENTRIES));
        assert!(matches!(reply("X", &many), Err(BridgeError::Protocol(_))));
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in ".{0,300}") {
            let _ = reply("X", &s);
        }

        #[test]
        fn arbitrary_json_never_panics(v in arb_json()) {
            let _ = reply("X", &v.to_string());
        }
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            ".{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(12, 64, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map("(data|success|errorcode|[a-z]{1,4})", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
