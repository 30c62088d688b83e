//! The `GET /<collection>/` machinery: projection, sort, skip/limit, and GenieACS's exact body
//! framing (`"[\n" + doc + (",\n" + doc)* + "\n]"`, an empty result being `"[\n\n]"`).

use crate::doc::Node;
use crate::query::{Collection, QueryError};
use std::cmp::Ordering;

/// A `projection` parameter: comma-separated paths; `_id` is always included.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    paths: Vec<Vec<String>>,
}

impl Projection {
    /// Parses the parameter; empty means "everything".
    pub fn parse(text: &str) -> Self {
        let mut paths: Vec<Vec<String>> = text
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| p.split('.').map(str::to_owned).collect())
            .collect();
        // A path under another projected path adds nothing.
        paths.sort();
        paths.dedup_by(|b, a| b.starts_with(a));
        Self { paths }
    }

    /// Whether nothing is projected (the whole document is returned).
    pub fn is_all(&self) -> bool {
        self.paths.is_empty()
    }

    /// Whether a device's parameter tree is needed to answer.
    pub fn needs_tree(&self) -> bool {
        self.is_all() || self.paths.iter().any(|p| !p[0].starts_with('_'))
    }

    /// The projected document, keeping the document's own key order.
    pub fn apply(&self, doc: &Node) -> Node {
        if self.is_all() {
            return doc.clone();
        }
        let refs: Vec<&[String]> = self.paths.iter().map(Vec::as_slice).collect();
        project(doc, &refs, true)
    }
}

fn project(node: &Node, paths: &[&[String]], top: bool) -> Node {
    let Node::Obj(fields) = node else {
        return node.clone();
    };
    let mut out = Vec::new();
    for (k, v) in fields {
        if top && k == "_id" {
            out.push((k.clone(), v.clone()));
            continue;
        }
        let below: Vec<&[String]> = paths
            .iter()
            .filter(|p| p.first() == Some(k))
            .map(|p| &p[1..])
            .collect();
        if below.is_empty() {
            continue;
        }
        if below.iter().any(|p| p.is_empty()) {
            out.push((k.clone(), v.clone()));
        } else {
            out.push((k.clone(), project(v, &below, false)));
        }
    }
    Node::Obj(out)
}

/// A `sort` parameter: `{"field": 1 | -1, …}`.
#[derive(Debug, Clone, Default)]
pub struct Sort {
    keys: Vec<(Vec<String>, bool)>,
}

impl Sort {
    /// Parses the JSON; for devices, `._value` is appended as in queries.
    pub fn parse(text: &str, coll: Collection) -> Result<Self, QueryError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        let json: serde_json::Value =
            serde_json::from_str(text).map_err(|e| QueryError::Syntax(e.to_string()))?;
        let serde_json::Value::Object(map) = json else {
            return Err(QueryError::Invalid("sort is a JSON object".into()));
        };
        let mut keys = Vec::new();
        for (field, dir) in map {
            let mut path: Vec<String> = field.split('.').map(str::to_owned).collect();
            if coll == Collection::Devices && !path.last().is_some_and(|s| s.starts_with('_')) {
                path.push("_value".into());
            }
            let descending = dir.as_f64().is_some_and(|d| d < 0.0);
            keys.push((path, descending));
        }
        Ok(Self { keys })
    }

    /// Whether there is anything to sort by.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether sorting needs a device's parameter tree.
    pub fn needs_tree(&self) -> bool {
        self.keys.iter().any(|(p, _)| !p[0].starts_with('_'))
    }

    /// The values a document sorts by.
    pub fn key_of(&self, doc: &Node) -> Vec<Option<Node>> {
        self.keys
            .iter()
            .map(|(path, _)| {
                let mut node = doc;
                for seg in path {
                    node = node.get(seg)?;
                }
                Some(node.clone())
            })
            .collect()
    }

    /// Orders two documents' sort keys.
    pub fn compare(&self, a: &[Option<Node>], b: &[Option<Node>]) -> Ordering {
        for (i, (_, descending)) in self.keys.iter().enumerate() {
            let o = order(
                a.get(i).and_then(Option::as_ref),
                b.get(i).and_then(Option::as_ref),
            );
            let o = if *descending { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }
}

/// MongoDB's order across types: missing/null, numbers, strings, objects, arrays, booleans,
/// dates.
fn order(a: Option<&Node>, b: Option<&Node>) -> Ordering {
    fn rank(n: Option<&Node>) -> u8 {
        match n {
            None | Some(Node::Null) => 0,
            Some(Node::Num(_)) => 1,
            Some(Node::Str(_)) => 2,
            Some(Node::Obj(_)) => 3,
            Some(Node::Arr(_)) => 4,
            Some(Node::Bool(_)) => 5,
            Some(Node::Date(_)) => 6,
        }
    }
    match (a, b) {
        (Some(Node::Num(x)), Some(Node::Num(y))) => x.total_cmp(y),
        (Some(Node::Str(x)), Some(Node::Str(y))) => x.cmp(y),
        (Some(Node::Bool(x)), Some(Node::Bool(y))) => x.cmp(y),
        (Some(Node::Date(x)), Some(Node::Date(y))) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// Writes GenieACS's list framing around JSON documents, one chunk per document.
pub struct Framing {
    first: bool,
}

impl Framing {
    /// Starts a list.
    pub fn new() -> Self {
        Self { first: true }
    }

    /// The bytes that carry one more document.
    pub fn item(&mut self, json: &str) -> String {
        let sep = if self.first { "[\n" } else { ",\n" };
        self.first = false;
        format!("{sep}{json}")
    }

    /// The closing bytes.
    pub fn end(self) -> &'static str {
        if self.first { "[\n\n]" } else { "\n]" }
    }
}

impl Default for Framing {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(fields: &[(&str, Node)]) -> Node {
        Node::Obj(
            fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn framing_matches_genieacs() {
        let f = Framing::new();
        assert_eq!(f.end(), "[\n\n]");
        let mut f = Framing::new();
        let body = [f.item("{\"a\":1}"), f.item("{\"b\":2}")].concat() + f.end();
        assert_eq!(body, "[\n{\"a\":1},\n{\"b\":2}\n]");
    }

    #[test]
    fn projection_keeps_id_and_document_order() {
        let doc = obj(&[
            ("_id", Node::Str("d".into())),
            (
                "IGD",
                obj(&[
                    ("A", obj(&[("_value", Node::Num(1.0))])),
                    ("B", obj(&[("_value", Node::Num(2.0))])),
                ]),
            ),
            ("_lastInform", Node::Date(0)),
        ]);
        let p = Projection::parse("_lastInform,IGD.B,IGD.B._value");
        assert_eq!(
            p.apply(&doc).json(),
            "{\"_id\":\"d\",\"IGD\":{\"B\":{\"_value\":2}},\"_lastInform\":\"1970-01-01T00:00:00.000Z\"}"
        );
        assert!(p.needs_tree());
        assert!(!Projection::parse("_id,_tags").needs_tree());
    }

    #[test]
    fn sort_orders_like_mongodb() {
        let s = Sort::parse("{\"_lastInform\":-1}", Collection::Devices).unwrap();
        let a = s.key_of(&obj(&[("_lastInform", Node::Date(1))]));
        let b = s.key_of(&obj(&[("_lastInform", Node::Date(2))]));
        assert_eq!(s.compare(&a, &b), Ordering::Greater);
        assert!(Sort::parse("[1]", Collection::Devices).is_err());
    }
}
