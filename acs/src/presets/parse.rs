//! Reading preset documents: the shape GenieACS NBI clients send (`{weight, channel, events,
//! precondition, schedule, configurations}`) and the shape its UI writes (`provision` +
//! `provisionArgs`, `events` as a comma-separated string), into [`Preset`]s.

use super::{Configuration, Count, Precondition, Preset};
use crate::genie::expr::Expr;
use crate::genie::query::{Collection, Query};
use crate::genie::schedule::Schedule;
use serde_json::Value as Json;

fn string(v: Option<&Json>) -> Option<String> {
    v.and_then(Json::as_str).map(str::to_owned)
}

/// A JSON argument as text (GenieACS's UI sends every argument as a string).
fn text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Parses a stored preset document. `objects` looks up a document of the legacy `objects`
/// collection by name (for `add_object`/`delete_object` configurations).
pub fn parse(name: &str, doc: &Json, objects: &dyn Fn(&str) -> Option<Json>) -> Preset {
    let mut unsupported = None;
    let mut fail = |why: String| {
        unsupported.get_or_insert(why);
    };
    let events = match doc.get("events") {
        Some(Json::Object(m)) => m
            .iter()
            .map(|(k, v)| (k.clone(), v.as_bool().unwrap_or(true)))
            .collect(),
        Some(Json::String(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|e| match e.strip_prefix('-') {
                Some(absent) => (absent.to_owned(), false),
                None => (e.to_owned(), true),
            })
            .collect(),
        _ => Vec::new(),
    };
    let precondition = match doc.get("precondition") {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) if s.trim().is_empty() => None,
        // GenieACS reads a string as an expression first, then as a legacy JSON query.
        Some(Json::String(s)) => match Expr::parse(s) {
            Ok(e) => Some(Precondition::Expr(e)),
            Err(expr_err) => match Query::parse(s, Collection::Devices) {
                Ok(q) => Some(Precondition::Query(q)),
                Err(_) => {
                    fail(format!("precondition {s:?}: {expr_err}"));
                    None
                }
            },
        },
        Some(q @ Json::Object(_)) => match Query::from_json(q, Collection::Devices) {
            Ok(q) => Some(Precondition::Query(q)),
            Err(e) => {
                fail(format!("precondition: {e}"));
                None
            }
        },
        Some(_) => {
            fail("precondition must be a string".into());
            None
        }
    };
    let schedule = match doc.get("schedule") {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) if s.trim().is_empty() => None,
        Some(Json::String(s)) => match Schedule::parse(s) {
            Ok(sch) => Some(sch),
            Err(e) => {
                fail(e.to_string());
                None
            }
        },
        Some(_) => {
            fail("schedule must be a string".into());
            None
        }
    };
    let ui_form = doc.get("provision").map(|p| {
        serde_json::json!([{"type": "provision", "name": p, "args": doc.get("provisionArgs").cloned().unwrap_or(Json::Null)}])
    });
    let list = doc
        .get("configurations")
        .and_then(Json::as_array)
        .cloned()
        .or_else(|| ui_form.and_then(|f| f.as_array().cloned()))
        .unwrap_or_default();
    let mut configurations = Vec::new();
    for c in &list {
        match configuration(c, objects) {
            Ok(mut found) => configurations.append(&mut found),
            Err(why) => fail(why),
        }
    }
    Preset {
        name: name.to_owned(),
        weight: doc.get("weight").and_then(Json::as_f64).unwrap_or(0.0),
        channel: string(doc.get("channel")).unwrap_or_else(|| "default".into()),
        events,
        precondition,
        schedule,
        configurations,
        unsupported,
        // CWMP caps a ParameterKey at 32 characters.
        parameter_key: string(doc.get("parameterKey")).filter(|k| !k.is_empty() && k.len() <= 32),
    }
}

/// One entry of `configurations`.
fn configuration(
    c: &Json,
    objects: &dyn Fn(&str) -> Option<Json>,
) -> Result<Vec<Configuration>, String> {
    let ty = c.get("type").and_then(Json::as_str).unwrap_or("");
    let name = string(c.get("name"));
    Ok(match (ty, name) {
        ("value", Some(path)) => vec![Configuration::Value {
            path,
            value: c.get("value").cloned().unwrap_or(Json::Null),
        }],
        ("age", Some(path)) => vec![Configuration::Refresh {
            path,
            age_secs: c
                .get("age")
                .and_then(|a| a.as_i64().or_else(|| a.as_str()?.trim().parse().ok()))
                .unwrap_or(0),
        }],
        ("add_tag" | "delete_tag", _) => {
            let tag = string(c.get("tag")).ok_or_else(|| format!("{ty} without a tag"))?;
            vec![Configuration::Tag {
                tag,
                add: ty == "add_tag",
            }]
        }
        ("add_object" | "delete_object", Some(path)) => {
            let object =
                string(c.get("object")).ok_or_else(|| format!("{ty} without an object"))?;
            let doc = objects(&object).ok_or_else(|| format!("{ty}: no object {object:?}"))?;
            vec![legacy_object(&path, &doc, ty == "add_object")?]
        }
        ("provision", Some(name)) => {
            let args = match c.get("args") {
                Some(Json::Array(a)) => a.clone(),
                Some(Json::String(s)) if s.trim().is_empty() => Vec::new(),
                Some(Json::String(s)) => s
                    .split(',')
                    .map(|a| Json::String(a.trim().to_owned()))
                    .collect(),
                _ => Vec::new(),
            };
            vec![builtin(&name, &args)?]
        }
        (other, _) => return Err(format!("configuration type {other:?} is not supported")),
    })
}

/// A legacy `objects` document: its `_keys` name the alias keys; every other field is a value
/// the instance must hold.
fn legacy_object(path: &str, doc: &Json, present: bool) -> Result<Configuration, String> {
    let Json::Object(fields) = doc else {
        return Err("an object document must be a JSON object".into());
    };
    let key_names: Vec<&str> = fields
        .get("_keys")
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    let (mut keys, mut values) = (Vec::new(), Vec::new());
    for (k, v) in fields.iter().filter(|(k, _)| !k.starts_with('_')) {
        if key_names.contains(&k.as_str()) {
            keys.push((
                k.clone(),
                text(v).ok_or_else(|| format!("key {k} is not a value"))?,
            ));
        } else {
            values.push((k.clone(), v.clone()));
        }
    }
    Ok(Configuration::Object {
        path: path.trim_end_matches('.').to_owned(),
        keys,
        values,
        present,
    })
}

/// GenieACS's built-in provisions; any other name is a custom script provision, run from the
/// `provisions` documents (`provision::script`).
pub(crate) fn builtin(name: &str, args: &[Json]) -> Result<Configuration, String> {
    let arg = |i: usize| args.get(i).and_then(text);
    let need = |i: usize, what: &str| arg(i).ok_or_else(|| format!("{name}: missing {what}"));
    Ok(match name {
        "value" if args.len() >= 3 => {
            let path = need(0, "path")?;
            match need(1, "attribute")?.as_str() {
                "value" => Configuration::Value {
                    path,
                    value: args[2].clone(),
                },
                "notification" => Configuration::Attribute {
                    path,
                    notification: Some(
                        arg(2)
                            .and_then(|n| n.parse().ok())
                            .ok_or("value: notification must be 0-6")?,
                    ),
                    access_list: None,
                },
                "accessList" => Configuration::Attribute {
                    path,
                    notification: None,
                    access_list: Some(match &args[2] {
                        Json::Array(a) => a.iter().filter_map(text).collect(),
                        other => text(other)
                            .unwrap_or_default()
                            .split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned)
                            .collect(),
                    }),
                },
                other => return Err(format!("value: attribute {other:?} cannot be declared")),
            }
        }
        "value" => Configuration::Value {
            path: need(0, "path")?,
            value: args.get(1).cloned().unwrap_or(Json::Null),
        },
        "refresh" => Configuration::Refresh {
            path: need(0, "path")?,
            age_secs: arg(1).and_then(|a| a.trim().parse().ok()).unwrap_or(0),
        },
        "tag" => Configuration::Tag {
            tag: need(0, "tag")?,
            add: args
                .get(1)
                .is_none_or(|v| v.as_bool().unwrap_or(v.as_str() != Some("false"))),
        },
        "instances" => {
            let count = need(1, "count")?;
            let count = count.trim();
            let parsed = if count.starts_with(['+', '-']) {
                count.parse().ok().map(Count::Relative)
            } else {
                count.parse().ok().map(Count::Exact)
            };
            Configuration::Instances {
                path: need(0, "path")?,
                count: parsed.ok_or_else(|| format!("instances: bad count {count:?}"))?,
            }
        }
        "reboot" => Configuration::Reboot,
        "reset" => Configuration::FactoryReset,
        "download" => Configuration::Download {
            file_type: need(0, "file type")?,
            file_name: need(1, "file name")?,
            target_file_name: arg(2).unwrap_or_default(),
        },
        _ => Configuration::Script {
            name: name.to_owned(),
            args: args.to_vec(),
        },
    })
}
