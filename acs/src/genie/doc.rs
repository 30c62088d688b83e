//! GenieACS's document shapes, built from the store's records: the device document (nested
//! parameters with `_object`, `_writable`, `_value`, `_type`, `_timestamp`), tasks and faults.
//!
//! Documents are typed [`Node`]s rather than JSON so that the query language can tell a date
//! from a string, as MongoDB does with BSON dates; they become JSON only when sent.

use crate::genie::date;
use acs_store::{DeviceMeta, FaultRecord, ParamTree, TaskKind, TaskRecord, Value};

/// A document value.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A number.
    Num(f64),
    /// A string.
    Str(String),
    /// A date, in milliseconds since the Unix epoch; JSON shows it as an ISO string.
    Date(i64),
    /// An array.
    Arr(Vec<Self>),
    /// An object whose keys keep their insertion order, as GenieACS's documents do.
    Obj(Vec<(String, Self)>),
}

impl Node {
    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Self> {
        match self {
            Self::Obj(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn child_mut(&mut self, key: &str) -> &mut Self {
        if !matches!(self, Self::Obj(_)) {
            *self = Self::Obj(Vec::new());
        }
        let Self::Obj(fields) = self else {
            unreachable!("made an object above")
        };
        let at = match fields.iter().position(|(k, _)| k == key) {
            Some(i) => i,
            None => {
                fields.push((key.to_owned(), Self::Obj(Vec::new())));
                fields.len() - 1
            }
        };
        &mut fields[at].1
    }

    fn set(&mut self, key: &str, value: Self) {
        *self.child_mut(key) = value;
    }

    /// Serializes as GenieACS does (`JSON.stringify`): dates as ISO strings, integers without a
    /// fraction.
    pub fn to_json(&self, out: &mut String) {
        match self {
            Self::Null => out.push_str("null"),
            Self::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Self::Num(n) if n.is_finite() && n.fract() == 0.0 && n.abs() < 9.007e15 => {
                out.push_str(&format!("{}", *n as i64));
            }
            Self::Num(n) if n.is_finite() => out.push_str(&format!("{n}")),
            Self::Num(_) => out.push_str("null"),
            Self::Str(s) => push_str(out, s),
            Self::Date(ms) => push_str(out, &date::iso(*ms)),
            Self::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.to_json(out);
                }
                out.push(']');
            }
            Self::Obj(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    push_str(out, k);
                    out.push(':');
                    v.to_json(out);
                }
                out.push('}');
            }
        }
    }

    /// The JSON text of this node.
    pub fn json(&self) -> String {
        let mut s = String::new();
        self.to_json(&mut s);
        s
    }

    /// Converts parsed JSON (a stored preset, a task body) into a node; no dates appear.
    pub fn from_json(v: &serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Self::Null,
            serde_json::Value::Bool(b) => Self::Bool(*b),
            serde_json::Value::Number(n) => Self::Num(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => Self::Str(s.clone()),
            serde_json::Value::Array(a) => Self::Arr(a.iter().map(Self::from_json).collect()),
            serde_json::Value::Object(o) => Self::Obj(
                o.iter()
                    .map(|(k, v)| (k.clone(), Self::from_json(v)))
                    .collect(),
            ),
        }
    }
}

fn push_str(out: &mut String, s: &str) {
    out.push_str(&serde_json::Value::String(s.to_owned()).to_string());
}

/// The device document GenieACS's NBI returns. `tree` may be empty when the caller knows no
/// parameter is asked for (a query and projection on `_`-fields only).
pub fn device(meta: &DeviceMeta, tree: &ParamTree) -> Node {
    let mut doc = Node::Obj(vec![("_id".into(), Node::Str(meta.id.to_string()))]);
    for (path, param) in tree.iter() {
        if path.is_empty() {
            // The root's node only records when the root was last listed, which GenieACS keeps
            // as the document's own `_timestamp`.
            if param.timestamp_ms > 0 {
                doc.set("_timestamp", Node::Date(param.timestamp_ms));
            }
            continue;
        }
        let mut node = &mut doc;
        for seg in path.split('.') {
            node = node.child_mut(seg);
        }
        node.set("_object", Node::Bool(param.object));
        if let Some(w) = param.writable {
            node.set("_writable", Node::Bool(w));
        }
        if let Some(v) = &param.value {
            node.set("_value", value(v));
            node.set("_type", Node::Str(format!("xsd:{}", v.xsd_type())));
        }
        if param.timestamp_ms > 0 {
            node.set("_timestamp", Node::Date(param.timestamp_ms));
        }
        if let Some(a) = &param.attributes {
            node.set("_notification", Node::Num(f64::from(a.notification)));
            node.set(
                "_accessList",
                Node::Arr(a.access_list.iter().cloned().map(Node::Str).collect()),
            );
            node.set("_attributesTimestamp", Node::Date(a.timestamp_ms));
        }
    }
    let id = &meta.identity;
    doc.set(
        "_deviceId",
        Node::Obj(vec![
            ("_Manufacturer".into(), Node::Str(id.manufacturer.clone())),
            ("_OUI".into(), Node::Str(id.oui.clone())),
            ("_ProductClass".into(), Node::Str(id.product_class.clone())),
            ("_SerialNumber".into(), Node::Str(id.serial_number.clone())),
        ]),
    );
    doc.set("_lastInform", Node::Date(meta.last_inform_ms));
    if let Some(t) = meta.last_boot_ms {
        doc.set("_lastBoot", Node::Date(t));
    }
    if let Some(t) = meta.last_bootstrap_ms {
        doc.set("_lastBootstrap", Node::Date(t));
    }
    doc.set("_registered", Node::Date(meta.registered_ms));
    if !meta.tags.is_empty() {
        doc.set(
            "_tags",
            Node::Arr(meta.tags.iter().cloned().map(Node::Str).collect()),
        );
    }
    doc
}

/// GenieACS's native types: dateTime → Date, int/unsignedInt → number, boolean → bool, and
/// every other type (long and unsignedLong included) → string.
fn value(v: &Value) -> Node {
    match v {
        Value::Int(n) => Node::Num(*n as f64),
        Value::UnsignedInt(n) => Node::Num(*n as f64),
        Value::Boolean(b) => Node::Bool(*b),
        Value::DateTime(s) => date::parse(s).map_or_else(|| Node::Str(s.clone()), Node::Date),
        // An int that is not an integer (a virtual parameter's untyped `-19.52`, which GenieACS
        // types `xsd:int` and keeps as the JavaScript number it is) is still a number.
        Value::Other { xsd_type, text } if xsd_type == "int" || xsd_type == "unsignedInt" => text
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map_or_else(|| Node::Str(text.clone()), Node::Num),
        other => Node::Str(other.text().into_owned()),
    }
}

/// A task id as GenieACS shows it: 24 hex digits, like a MongoDB ObjectId.
pub fn task_id(id: u64) -> String {
    format!("{id:024x}")
}

/// Parses a 24-hex task id back; ids this ACS did not issue are `None`.
pub fn parse_task_id(s: &str) -> Option<u64> {
    if s.len() != 24 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(s, 16)
        .ok()
        .and_then(|n| u64::try_from(n).ok())
}

/// A task document: the fields of its GenieACS form, then `device`, `timestamp` and `_id`.
pub fn task(t: &TaskRecord) -> Node {
    let s = |v: &str| Node::Str(v.to_owned());
    let mut fields: Vec<(String, Node)> = match &t.kind {
        TaskKind::GetParameterValues { names } => vec![
            ("name".into(), s("getParameterValues")),
            (
                "parameterNames".into(),
                Node::Arr(names.iter().map(|n| s(n)).collect()),
            ),
        ],
        TaskKind::SetParameterValues { values, .. } => vec![
            ("name".into(), s("setParameterValues")),
            (
                "parameterValues".into(),
                Node::Arr(
                    values
                        .iter()
                        .map(|(p, v, ty)| Node::Arr(vec![s(p), s(v), s(&format!("xsd:{ty}"))]))
                        .collect(),
                ),
            ),
        ],
        TaskKind::RefreshObject { path } => vec![
            ("name".into(), s("refreshObject")),
            ("objectName".into(), s(path)),
        ],
        TaskKind::AddObject { path, .. } => vec![
            ("name".into(), s("addObject")),
            ("objectName".into(), s(path)),
        ],
        TaskKind::DeleteObject { path, .. } => vec![
            ("name".into(), s("deleteObject")),
            ("objectName".into(), s(path)),
        ],
        TaskKind::Reboot => vec![("name".into(), s("reboot"))],
        TaskKind::FactoryReset => vec![("name".into(), s("factoryReset"))],
        TaskKind::Download {
            file_type,
            url,
            target_file_name,
            ..
        } => vec![
            ("name".into(), s("download")),
            ("fileType".into(), s(file_type)),
            ("fileName".into(), s(url.rsplit('/').next().unwrap_or(url))),
            ("targetFileName".into(), s(target_file_name)),
        ],
        TaskKind::Provisions { provisions } => vec![
            ("name".into(), s("provisions")),
            (
                "provisions".into(),
                Node::Arr(
                    provisions
                        .iter()
                        .map(|p| Node::Arr(p.iter().map(provision_arg).collect()))
                        .collect(),
                ),
            ),
        ],
        other => crate::rpcs::task_fields(other).unwrap_or_default(),
    };
    fields.push(("device".into(), s(t.device.as_str())));
    fields.push(("timestamp".into(), Node::Date(t.created_ms)));
    if let Some(e) = t.expiry_ms {
        fields.push(("expiry".into(), Node::Date(e)));
    }
    fields.push(("_id".into(), s(&task_id(t.id))));
    Node::Obj(fields)
}

/// One element of a `provisions` task's provision as it was posted.
fn provision_arg(a: &acs_store::ProvisionArg) -> Node {
    match a {
        acs_store::ProvisionArg::Null => Node::Null,
        acs_store::ProvisionArg::Bool(b) => Node::Bool(*b),
        acs_store::ProvisionArg::Number(n) => n.parse().map_or(Node::Null, Node::Num),
        acs_store::ProvisionArg::Text(t) => Node::Str(t.clone()),
    }
}

/// A fault document: `_id` is `<device>:<channel>`; CPE faults carry GenieACS's `detail` object.
pub fn fault(f: &FaultRecord) -> Node {
    let s = |v: &str| Node::Str(v.to_owned());
    let detail = match f.code.strip_prefix("cwmp.") {
        Some(code) => Node::Obj(vec![
            ("faultCode".into(), s(code)),
            ("faultString".into(), s(&f.message)),
            (
                "setParameterValuesFault".into(),
                if f.detail.is_empty() {
                    Node::Null
                } else {
                    s(&f.detail)
                },
            ),
        ]),
        None => s(&f.detail),
    };
    let channel = wire_channel(&f.channel);
    Node::Obj(vec![
        ("_id".into(), s(&format!("{}:{channel}", f.device))),
        ("device".into(), s(f.device.as_str())),
        ("channel".into(), s(&channel)),
        ("timestamp".into(), Node::Date(f.timestamp_ms)),
        ("code".into(), s(&f.code)),
        ("message".into(), s(&f.message)),
        ("detail".into(), detail),
        ("retries".into(), Node::Num(f64::from(f.retries))),
    ])
}

/// The store names a task's fault channel `task_<decimal id>`; GenieACS's clients know it as
/// `task_<task _id>`.
pub fn wire_channel(channel: &str) -> String {
    match channel
        .strip_prefix("task_")
        .and_then(|n| n.parse::<u64>().ok())
    {
        Some(id) => format!("task_{}", task_id(id)),
        None => channel.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_ids_round_trip_and_reject_foreign_ids() {
        assert_eq!(task_id(7), "000000000000000000000007");
        assert_eq!(parse_task_id(&task_id(u64::MAX)), Some(u64::MAX));
        assert_eq!(parse_task_id("6b02c9a40956924eeb54c0d6"), None);
        assert_eq!(parse_task_id("xyz"), None);
    }

    #[test]
    fn the_roots_listing_is_the_documents_timestamp_and_a_fractional_int_a_number() {
        let meta = DeviceMeta::new(
            acs_store::DeviceId::parse("A-B-C").expect("id"),
            Default::default(),
        );
        let mut tree = ParamTree::new();
        tree.insert("", acs_store::Param::object(None, 1_000));
        tree.insert(
            "VirtualParameters.rx",
            acs_store::Param::leaf(Some(Value::from_wire("int", "-19.52")), Some(false), 1),
        );
        let json: serde_json::Value =
            serde_json::from_str(&device(&meta, &tree).json()).expect("json");
        assert_eq!(json["_timestamp"], "1970-01-01T00:00:01.000Z");
        assert!(json.get("").is_none(), "{json}");
        assert_eq!(json["VirtualParameters"]["rx"]["_value"], -19.52);
    }

    #[test]
    fn numbers_print_like_javascript() {
        assert_eq!(Node::Num(300.0).json(), "300");
        assert_eq!(Node::Num(-1.5).json(), "-1.5");
        assert_eq!(Node::Str("a\"b".into()).json(), "\"a\\\"b\"");
    }
}
