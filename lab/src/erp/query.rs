//! Frappe's listing query parameters, evaluated over in-memory documents: `fields`, `filters`
//! (a JSON list of `[field, op, value]` or `[doctype, field, op, value]`, or a JSON object of
//! `field: value` / `field: [op, value]`), `order_by`, `limit_start` and `limit_page_length`
//! (default 20; 0 means no limit). Pure code: the HTTP layer turns its errors into Frappe's
//! `ValidationError` bodies.

use serde_json::{Map, Value as Json};
use std::cmp::Ordering;

/// A document: Frappe's field map.
pub type Doc = Map<String, Json>;

/// One condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    field: String,
    op: Op,
    value: Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Like,
    NotLike,
    In,
    NotIn,
    Is,
}

impl Op {
    fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "=" => Self::Eq,
            "!=" | "<>" => Self::Ne,
            ">" => Self::Gt,
            "<" => Self::Lt,
            ">=" => Self::Ge,
            "<=" => Self::Le,
            "like" => Self::Like,
            "not like" => Self::NotLike,
            "in" => Self::In,
            "not in" => Self::NotIn,
            "is" => Self::Is,
            _ => return None,
        })
    }
}

/// Parses the `filters` parameter.
pub fn parse_filters(text: &str) -> Result<Vec<Filter>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let json: Json = serde_json::from_str(text).map_err(|e| format!("filters: {e}"))?;
    let cond = |field: &Json, op: &str, value: &Json| -> Result<Filter, String> {
        Ok(Filter {
            field: field
                .as_str()
                .ok_or("filter field must be a string")?
                .to_owned(),
            op: Op::parse(op).ok_or_else(|| format!("unknown operator {op:?}"))?,
            value: value.clone(),
        })
    };
    match json {
        Json::Array(list) => list
            .iter()
            .map(|c| match c.as_array().map(Vec::as_slice) {
                Some([f, Json::String(op), v]) | Some([_, f, Json::String(op), v]) => {
                    cond(f, op, v)
                }
                _ => Err("a filter is [field, operator, value]".to_owned()),
            })
            .collect(),
        Json::Object(map) => map
            .iter()
            .map(|(k, v)| match v.as_array().map(Vec::as_slice) {
                Some([Json::String(op), value]) => cond(&Json::String(k.clone()), op, value),
                _ => cond(&Json::String(k.clone()), "=", v),
            })
            .collect(),
        _ => Err("filters must be a list or an object".into()),
    }
}

fn text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

/// Numbers compare as numbers, everything else as text (Frappe's datetimes sort as text).
fn compare(a: &Json, b: &Json) -> Ordering {
    let (ta, tb) = (text(a), text(b));
    match (ta.parse::<f64>(), tb.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.total_cmp(&y),
        _ => ta.cmp(&tb),
    }
}

/// SQL `LIKE` with `%` and `_`, case-insensitive as MariaDB's default collation.
fn like(value: &str, pattern: &str) -> bool {
    fn go(v: &[char], p: &[char]) -> bool {
        match p.split_first() {
            None => v.is_empty(),
            Some(('%', rest)) => (0..=v.len()).any(|i| go(&v[i..], rest)),
            Some(('_', rest)) => !v.is_empty() && go(&v[1..], rest),
            Some((c, rest)) => v.first() == Some(c) && go(&v[1..], rest),
        }
    }
    let v: Vec<char> = value.to_lowercase().chars().collect();
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    go(&v, &p)
}

fn list(v: &Json) -> Vec<String> {
    match v {
        Json::Array(a) => a.iter().map(text).collect(),
        other => text(other)
            .split(',')
            .map(|s| s.trim().to_owned())
            .collect(),
    }
}

impl Filter {
    /// Whether `doc` satisfies the condition (a missing field is `null`).
    pub fn matches(&self, doc: &Doc) -> bool {
        let field = doc.get(&self.field).unwrap_or(&Json::Null);
        let ord = || compare(field, &self.value);
        match self.op {
            Op::Eq => ord() == Ordering::Equal,
            Op::Ne => ord() != Ordering::Equal,
            Op::Gt => ord() == Ordering::Greater,
            Op::Lt => ord() == Ordering::Less,
            Op::Ge => ord() != Ordering::Less,
            Op::Le => ord() != Ordering::Greater,
            Op::Like => like(&text(field), &text(&self.value)),
            Op::NotLike => !like(&text(field), &text(&self.value)),
            Op::In => list(&self.value).contains(&text(field)),
            Op::NotIn => !list(&self.value).contains(&text(field)),
            Op::Is => {
                let set = !text(field).is_empty();
                match text(&self.value).as_str() {
                    "set" => set,
                    "not set" => !set,
                    _ => false,
                }
            }
        }
    }
}

/// Parses `order_by` (`modified desc`, `modified asc, name asc`; default `modified desc`).
pub fn parse_order(text: &str) -> Result<Vec<(String, bool)>, String> {
    let text = if text.trim().is_empty() {
        "modified desc"
    } else {
        text
    };
    text.split(',')
        .map(|part| {
            let mut words = part.split_whitespace();
            let field = words.next().ok_or("empty order_by term")?;
            // `tabService Equipment`.`modified` and similar qualified names keep the column.
            let field = field.rsplit('.').next().unwrap_or(field).trim_matches('`');
            let asc = match words.next().map(str::to_ascii_lowercase).as_deref() {
                None | Some("asc") => true,
                Some("desc") => false,
                Some(other) => return Err(format!("bad sort direction {other:?}")),
            };
            if !field
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                return Err(format!("bad order_by field {field:?}"));
            }
            Ok((field.to_owned(), asc))
        })
        .collect()
}

/// Sorts documents by the order terms.
pub fn sort(docs: &mut [&Doc], order: &[(String, bool)]) {
    docs.sort_by(|a, b| {
        for (field, asc) in order {
            let (x, y) = (
                a.get(field).unwrap_or(&Json::Null),
                b.get(field).unwrap_or(&Json::Null),
            );
            let o = compare(x, y);
            if o != Ordering::Equal {
                return if *asc { o } else { o.reverse() };
            }
        }
        Ordering::Equal
    });
}

/// Parses `fields` (default `["name"]`; `["*"]` is every field).
pub fn parse_fields(text: &str) -> Result<Option<Vec<String>>, String> {
    if text.trim().is_empty() {
        return Ok(Some(vec!["name".into()]));
    }
    let fields: Vec<String> = serde_json::from_str(text).map_err(|e| format!("fields: {e}"))?;
    if fields.iter().any(|f| f == "*") {
        return Ok(None);
    }
    Ok(Some(fields))
}

/// A document reduced to the requested fields (a field it lacks comes back as `null`).
pub fn project(doc: &Doc, fields: Option<&[String]>) -> Json {
    match fields {
        None => Json::Object(doc.clone()),
        Some(f) => Json::Object(
            f.iter()
                .map(|k| (k.clone(), doc.get(k).cloned().unwrap_or(Json::Null)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(v: Json) -> Doc {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn filters_in_every_shape() {
        let d = doc(
            json!({"name": "EQP-00001", "serial_no": "FPSIM1", "modified": "2026-01-02 00:00:00.000001"}),
        );
        for f in [
            r#"[["serial_no","=","FPSIM1"]]"#,
            r#"[["Service Equipment","serial_no","like","fpsim%"]]"#,
            r#"{"serial_no":"FPSIM1"}"#,
            r#"{"modified":[">=","2026-01-02 00:00:00"]}"#,
            r#"[["name","in",["EQP-00001","EQP-00002"]]]"#,
            r#"[["customer","is","not set"]]"#,
        ] {
            let parsed = parse_filters(f).unwrap();
            assert!(parsed.iter().all(|c| c.matches(&d)), "{f}");
        }
        assert!(!parse_filters(r#"[["serial_no","!=","FPSIM1"]]"#).unwrap()[0].matches(&d));
        assert!(parse_filters(r#"[["a","~","b"]]"#).is_err());
        assert!(parse_filters("[1]").is_err());
    }

    #[test]
    fn order_and_fields() {
        assert_eq!(
            parse_order("modified asc, name desc").unwrap(),
            vec![("modified".into(), true), ("name".into(), false)]
        );
        assert_eq!(parse_order("").unwrap(), vec![("modified".into(), false)]);
        assert!(parse_order("name; drop").is_err());
        assert_eq!(parse_fields("").unwrap(), Some(vec!["name".to_owned()]));
        assert_eq!(parse_fields(r#"["*"]"#).unwrap(), None);
    }
}
