//! What a declaration of `VirtualParameters.<name>` asks of that virtual parameter's script, as
//! GenieACS decides it: first a *get* run when the declaration wants `value` or `writable`
//! fresher than the stored node has them; then, once those are known, a *set* run when the
//! declaration sets a value, the parameter is writable and holds a value, and the value asked
//! differs from the stored one. A read-only or never-computed virtual parameter is not set
//! (GenieACS writes nothing and raises no fault; nor does this).
//!
//! The arguments are GenieACS's four: `[declared timestamps, declared values, current
//! timestamps, current values]`, the current ones covering every attribute the stored node has
//! (`object`, `writable`, `value`). Pure: no script runs here.

use acs_store::{Param, Value};
use script::Declaration;
use serde_json::{Map, Value as Json, json};

/// Whether a path is `VirtualParameters` or below it: the scripts' to answer, never the CPE's.
pub fn is_virtual(path: &str) -> bool {
    path.strip_prefix(super::script::VIRTUAL)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// A `value` on a virtual parameter as the declaration GenieACS's `value` built-in makes: read
/// the value if unknown, then set it (`[value]` or `[value, type]`).
pub fn value_request(path: &str, value: &Json) -> Declaration {
    let wanted = match value {
        Json::Array(_) => value.clone(),
        other => json!([other]),
    };
    Declaration {
        path: path.to_owned(),
        path_get: 1.0,
        path_set: None,
        attr_get: [("value".to_owned(), 1.0)].into_iter().collect(),
        attr_set: [("value".to_owned(), wanted)].into_iter().collect(),
        defer: true,
    }
}

/// A `refresh` of virtual parameters (one, or all of them for the object) as the declaration
/// GenieACS's `refresh` built-in makes: `value` wanted as of `fresh_ms`, `writable` known.
pub fn refresh_request(path: &str, fresh_ms: i64) -> Declaration {
    let path = match path.trim_end_matches('.') {
        super::script::VIRTUAL => format!("{}.*", super::script::VIRTUAL),
        p => p.to_owned(),
    };
    Declaration {
        path,
        path_get: 1.0,
        path_set: None,
        attr_get: [
            ("writable".to_owned(), 1.0),
            ("value".to_owned(), fresh_ms as f64),
        ]
        .into_iter()
        .collect(),
        attr_set: Default::default(),
        defer: true,
    }
}

/// The arguments of the get run the declaration needs on the stored node `current`, if any.
pub fn get_args(d: &Declaration, current: Option<&Param>) -> Option<Json> {
    let mut declared = Map::new();
    for (attr, t) in &d.attr_get {
        if attr != "value" && attr != "writable" {
            continue;
        }
        let known = current.is_some_and(|c| {
            let has = match attr.as_str() {
                "value" => c.value.is_some(),
                _ => c.writable.is_some(),
            };
            has && *t <= c.timestamp_ms as f64
        });
        if !known {
            declared.insert(attr.clone(), json!(t));
        }
    }
    if declared.is_empty() {
        return None;
    }
    let (ts, values) = current_attributes(current);
    Some(json!([declared, {}, ts, values]))
}

/// The arguments of the set run the declaration asks for on the stored node `current`, if
/// any: only a writable virtual parameter with a value is set, and only to a different value.
/// A `deferred` declaration (its scripts have not all completed) sets nothing yet.
pub fn set_args(d: &Declaration, deferred: bool, current: Option<&Param>) -> Option<Json> {
    if deferred {
        return None;
    }
    let wanted = d.attr_set.get("value").filter(|v| !v.is_null())?;
    let c = current?;
    if c.writable != Some(true) {
        return None;
    }
    let (have, have_type) = script_value(c.value.as_ref()?);
    let (raw, given) = match wanted {
        Json::Array(pair) => (
            pair.first().cloned().unwrap_or(Json::Null),
            pair.get(1).and_then(Json::as_str).map(str::to_owned),
        ),
        other => (other.clone(), None),
    };
    let ty = given.unwrap_or_else(|| have_type.clone());
    let v = sanitize(raw, &ty);
    if same_value(&v, &have) && ty == have_type {
        return None;
    }
    let (ts, values) = current_attributes(Some(c));
    Some(json!([{}, {"value": [v, ty]}, ts, values]))
}

/// Every attribute the stored node has, with its time and value, as GenieACS hands them over.
fn current_attributes(current: Option<&Param>) -> (Map<String, Json>, Map<String, Json>) {
    let (mut ts, mut values) = (Map::new(), Map::new());
    if let Some(c) = current {
        let t = json!(c.timestamp_ms);
        ts.insert("object".into(), t.clone());
        values.insert("object".into(), json!(c.object));
        if let Some(w) = c.writable {
            ts.insert("writable".into(), t.clone());
            values.insert("writable".into(), json!(w));
        }
        if let Some(v) = &c.value {
            let (j, ty) = script_value(v);
            ts.insert("value".into(), t);
            values.insert("value".into(), json!([j, ty]));
        }
    }
    (ts, values)
}

/// A stored value as a script sees it: booleans and numbers typed, dates as milliseconds.
fn script_value(v: &Value) -> (Json, String) {
    let j = match v {
        Value::Boolean(b) => Json::Bool(*b),
        Value::Int(n) | Value::Long(n) => json!(n),
        Value::UnsignedInt(n) | Value::UnsignedLong(n) => json!(n),
        Value::DateTime(s) => crate::genie::date::parse(s).map_or_else(|| json!(s), |ms| json!(ms)),
        other => Json::String(other.text().into_owned()),
    };
    (j, format!("xsd:{}", v.xsd_type()))
}

/// GenieACS's `sanitizeParameterValue`: the value converted to what its type says — a boolean
/// from `true`/`1`/`false`/`0` (and their capitalised spellings), an integer (leading digits,
/// as JavaScript's `parseInt`) for `int` and `unsignedInt`, milliseconds for `dateTime` — or
/// else its text.
pub fn sanitize(v: Json, ty: &str) -> Json {
    let text = |v: &Json| match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    };
    match ty {
        "xsd:boolean" => match &v {
            Json::Bool(_) => v,
            other => match text(other).as_str() {
                "true" | "TRUE" | "True" | "1" => Json::Bool(true),
                "false" | "FALSE" | "False" | "0" => Json::Bool(false),
                s => Json::String(s.to_owned()),
            },
        },
        "xsd:int" | "xsd:unsignedInt" => match &v {
            Json::Number(_) => v,
            other => {
                let s = text(other);
                parse_int(&s).map_or(Json::String(s), |n| json!(n))
            }
        },
        "xsd:dateTime" => match &v {
            Json::Number(_) => v,
            other => {
                let s = text(other);
                s.trim()
                    .parse::<f64>()
                    .ok()
                    .or_else(|| crate::genie::date::parse(&s).map(|ms| ms as f64))
                    .map_or(Json::String(s), |n| json!(n))
            }
        },
        _ => Json::String(text(&v)),
    }
}

/// JavaScript's `parseInt` in base 10: optional sign and the leading digits after leading
/// white space.
fn parse_int(s: &str) -> Option<i64> {
    let t = s.trim_start();
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'-') => (-1, &t[1..]),
        Some(b'+') => (1, &t[1..]),
        _ => (1, t),
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse::<i64>().ok().map(|n| sign * n)
}

/// Whether two script values are the same (numbers compared as numbers).
fn same_value(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(get: &[(&str, f64)], set: Option<Json>) -> Declaration {
        Declaration {
            path: "VirtualParameters.User".into(),
            path_get: 1.0,
            path_set: None,
            attr_get: get.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
            attr_set: set.into_iter().map(|v| ("value".to_owned(), v)).collect(),
            defer: false,
        }
    }

    fn stored(value: &str, writable: bool) -> Param {
        Param::leaf(Some(Value::String(value.into())), Some(writable), 1_000)
    }

    #[test]
    fn a_value_never_computed_is_read_first_and_not_set() {
        let d = decl(&[("value", 1.0)], Some(json!(["bob"])));
        assert_eq!(
            get_args(&d, None),
            Some(json!([{"value": 1.0}, {}, {}, {}]))
        );
        assert_eq!(set_args(&d, false, None), None);
    }

    #[test]
    fn a_writable_value_is_set_with_the_current_type_and_attributes() {
        let d = decl(&[("value", 1.0)], Some(json!(["bob"])));
        let c = stored("alice", true);
        assert_eq!(get_args(&d, Some(&c)), None);
        assert_eq!(
            set_args(&d, false, Some(&c)),
            Some(json!([
                {},
                {"value": ["bob", "xsd:string"]},
                {"object": 1000, "writable": 1000, "value": 1000},
                {"object": false, "writable": true, "value": ["alice", "xsd:string"]}
            ]))
        );
        // The value it already has is not set again.
        assert_eq!(
            set_args(&decl(&[], Some(json!("alice"))), false, Some(&c)),
            None
        );
    }

    #[test]
    fn a_read_only_or_valueless_virtual_parameter_is_not_set() {
        let d = decl(&[], Some(json!("bob")));
        assert_eq!(set_args(&d, false, Some(&stored("alice", false))), None);
        let no_value = Param::leaf(None, Some(true), 1_000);
        assert_eq!(set_args(&d, false, Some(&no_value)), None);
        assert_eq!(set_args(&d, true, Some(&stored("alice", true))), None);
    }

    #[test]
    fn a_stale_value_is_read_again() {
        let c = stored("alice", true);
        let fresh = decl(&[("value", 1_000.0), ("writable", 5.0)], None);
        assert_eq!(get_args(&fresh, Some(&c)), None);
        let stale = decl(&[("value", 2_000.0), ("notification", 9e12)], None);
        let args = get_args(&stale, Some(&c)).expect("get");
        assert_eq!(args[0], json!({"value": 2_000.0}));
    }

    #[test]
    fn values_and_refreshes_become_genieacs_declarations() {
        assert!(is_virtual("VirtualParameters") && is_virtual("VirtualParameters.X"));
        assert!(!is_virtual("VirtualParametersX") && !is_virtual("Device.X"));
        let all = refresh_request("VirtualParameters.", 5_000);
        assert_eq!(all.path, "VirtualParameters.*");
        assert_eq!(all.attr_get.get("value"), Some(&5_000.0));
        assert!(all.attr_set.is_empty());
        let d = value_request("VirtualParameters.N", &json!(42));
        assert_eq!(d.attr_set.get("value"), Some(&json!([42])));
        assert_eq!(d.attr_get.get("value"), Some(&1.0));
    }

    #[test]
    fn values_are_sanitised_as_genieacs_does() {
        assert_eq!(sanitize(json!("True"), "xsd:boolean"), json!(true));
        assert_eq!(sanitize(json!(0), "xsd:boolean"), json!(false));
        assert_eq!(sanitize(json!("maybe"), "xsd:boolean"), json!("maybe"));
        assert_eq!(sanitize(json!(" 42px"), "xsd:int"), json!(42));
        assert_eq!(sanitize(json!("-7"), "xsd:unsignedInt"), json!(-7));
        assert_eq!(sanitize(json!("x"), "xsd:int"), json!("x"));
        assert_eq!(sanitize(json!(5), "xsd:string"), json!("5"));
        assert_eq!(sanitize(json!(true), "xsd:string"), json!("true"));
        assert_eq!(
            sanitize(json!("1970-01-01T00:00:01.000Z"), "xsd:dateTime"),
            json!(1000.0)
        );
        // A number typed as int compares equal to the stored integer.
        let c = Param::leaf(Some(Value::Int(5)), Some(true), 1);
        assert_eq!(
            set_args(&decl(&[], Some(json!("5"))), false, Some(&c)),
            None
        );
        assert!(set_args(&decl(&[], Some(json!("6"))), false, Some(&c)).is_some());
    }
}
