//! Presets with GenieACS's semantics, turned into declarations for the provisioning planner
//! (`provision.rs`): which presets apply to an Inform (events, precondition), in weight order,
//! and what they declare (values, refreshes, tags).
//!
//! Presets are the documents the NBI stores in the `presets` collection, in the shape GenieACS
//! NBI clients send (`{weight, channel, events, precondition, configurations}`) or the shape its
//! UI writes (`provision` + `provisionArgs`, `events` as a comma-separated string).
//!
//! Supported: `value`, `age`, `add_tag`, `delete_tag`, and the built-in provisions `value`,
//! `refresh` and `tag`. Preconditions in the legacy JSON query form. Anything else (GenieACS's
//! expression preconditions, custom script provisions, `add_object`) makes the preset fail with
//! a fault on its channel that says so, rather than being silently ignored.

use crate::genie::query::{Collection, Query};
use crate::provision::Declaration;
use serde_json::Value as Json;

/// The store collection holding presets.
pub const COLLECTION: &str = "presets";
/// Preset evaluation cycles in one session before `preset_loop` (GenieACS's `MAX_CYCLES`).
pub const MAX_CYCLES: u32 = 4;
/// GenieACS's `cwmp.retryDelay`: a faulted channel waits this long, doubled per retry.
pub const RETRY_DELAY_MS: i64 = 300_000;

/// How long a channel that faulted `retries` times before waits: 300 s × 2^retries (capped at
/// 2^16, about seven months).
pub fn retry_delay_ms(retries: u32) -> i64 {
    RETRY_DELAY_MS.saturating_mul(1i64 << retries.min(16))
}

/// One preset, parsed.
#[derive(Debug, Clone)]
pub struct Preset {
    /// Its name (`_id`).
    pub name: String,
    /// Lower weights apply first.
    pub weight: f64,
    /// The channel its faults are recorded on.
    pub channel: String,
    /// Event codes that must be present (`true`) or absent (`false`) in the Inform.
    pub events: Vec<(String, bool)>,
    /// The device must match this query.
    pub precondition: Option<Query>,
    /// What it declares.
    pub configurations: Vec<Configuration>,
    /// Why the preset cannot run, if something in it is not supported.
    pub unsupported: Option<String>,
}

/// One configuration of a preset.
#[derive(Debug, Clone, PartialEq)]
pub enum Configuration {
    /// The parameter(s) at `path` must hold `value`.
    Value {
        /// A path pattern.
        path: String,
        /// The value as JSON (its type picks the XSD type when the device reports none).
        value: Json,
    },
    /// The values at `path` must be at most `age_secs` old.
    Refresh {
        /// A path pattern.
        path: String,
        /// Most age in seconds.
        age_secs: i64,
    },
    /// Add (true) or remove (false) a tag.
    Tag {
        /// The tag.
        tag: String,
        /// Add or remove.
        add: bool,
    },
}

fn string(v: Option<&Json>) -> Option<String> {
    v.and_then(Json::as_str).map(str::to_owned)
}

/// Parses a stored preset document.
pub fn parse(name: &str, doc: &Json) -> Preset {
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
        Some(Json::String(s)) => match Query::parse(s, Collection::Devices) {
            Ok(q) => Some(q),
            Err(_) => {
                fail(format!(
                    "precondition {s:?} is not a JSON query; GenieACS expressions are not supported yet"
                ));
                None
            }
        },
        Some(q @ Json::Object(_)) => match Query::from_json(q, Collection::Devices) {
            Ok(q) => Some(q),
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
    let mut configurations = Vec::new();
    let ui_form = doc.get("provision").map(|p| {
        serde_json::json!([{"type": "provision", "name": p, "args": doc.get("provisionArgs").cloned().unwrap_or(Json::Null)}])
    });
    let list = doc
        .get("configurations")
        .and_then(Json::as_array)
        .cloned()
        .or_else(|| ui_form.and_then(|f| f.as_array().cloned()))
        .unwrap_or_default();
    for c in &list {
        let ty = c.get("type").and_then(Json::as_str).unwrap_or("");
        let path = string(c.get("name"));
        match (ty, path) {
            ("value", Some(path)) => configurations.push(Configuration::Value {
                path,
                value: c.get("value").cloned().unwrap_or(Json::Null),
            }),
            ("age", Some(path)) => configurations.push(Configuration::Refresh {
                path,
                age_secs: c.get("age").and_then(Json::as_i64).unwrap_or(0),
            }),
            ("add_tag" | "delete_tag", _) => match string(c.get("tag")) {
                Some(tag) => configurations.push(Configuration::Tag {
                    tag,
                    add: ty == "add_tag",
                }),
                None => fail(format!("{ty} without a tag")),
            },
            ("provision", Some(name)) => {
                let args = match c.get("args") {
                    Some(Json::Array(a)) => a.clone(),
                    Some(Json::String(s)) => s
                        .split(',')
                        .map(|a| Json::String(a.trim().to_owned()))
                        .collect(),
                    _ => Vec::new(),
                };
                match builtin(&name, &args) {
                    Some(conf) => configurations.push(conf),
                    None => fail(format!(
                        "provision {name:?} needs the script engine, which this version lacks"
                    )),
                }
            }
            (other, _) => fail(format!("configuration type {other:?} is not supported yet")),
        }
    }
    Preset {
        name: name.to_owned(),
        weight: doc.get("weight").and_then(Json::as_f64).unwrap_or(0.0),
        channel: string(doc.get("channel")).unwrap_or_else(|| "default".into()),
        events,
        precondition,
        configurations,
        unsupported,
    }
}

/// GenieACS's built-in provisions that map onto declarations.
fn builtin(name: &str, args: &[Json]) -> Option<Configuration> {
    let arg = |i: usize| args.get(i).and_then(Json::as_str).map(str::to_owned);
    match name {
        "value" => Some(Configuration::Value {
            path: arg(0)?,
            value: args.get(1).cloned().unwrap_or(Json::Null),
        }),
        "refresh" => Some(Configuration::Refresh {
            path: arg(0)?,
            age_secs: args
                .get(1)
                .and_then(|a| a.as_i64().or_else(|| a.as_str()?.parse().ok()))
                .unwrap_or(0),
        }),
        "tag" => Some(Configuration::Tag {
            tag: arg(0)?,
            add: args
                .get(1)
                .is_none_or(|v| v.as_bool().unwrap_or(v.as_str() != Some("false"))),
        }),
        _ => None,
    }
}

/// The presets, split so that a session reads only those that can apply to its device.
///
/// A preset whose precondition names device ids (`{"_id": "…"}`, `$in`, or such a conjunct) can
/// apply only to those devices: it is filed under each of them. Per-device presets are how the
/// provisioner installs one customer's settings, and with thousands of them a session must not
/// look at every one (GenieACS evaluates all presets at every Inform, genieacs/genieacs#299).
#[derive(Debug, Default)]
pub struct PresetSet {
    /// Presets that may apply to any device, in application order.
    global: Vec<Preset>,
    /// Presets that can apply only to the device they are filed under, in application order.
    by_device: std::collections::HashMap<String, Vec<Preset>>,
}

impl PresetSet {
    /// Files each preset under the devices its precondition names, or globally.
    pub fn new(presets: Vec<Preset>) -> Self {
        let mut set = Self::default();
        for p in sorted(presets) {
            let Some(crate::genie::query::Plan::Ids(ids)) =
                p.precondition.as_ref().map(Query::plan)
            else {
                set.global.push(p);
                continue;
            };
            for id in ids {
                set.by_device.entry(id).or_default().push(p.clone());
            }
        }
        set
    }

    /// Whether there are no presets at all.
    pub fn is_empty(&self) -> bool {
        self.global.is_empty() && self.by_device.is_empty()
    }

    /// How many presets there are (a preset naming several devices counts once per device).
    pub fn len(&self) -> usize {
        self.global.len() + self.by_device.values().map(Vec::len).sum::<usize>()
    }

    /// The presets that may apply to `device`, in application order.
    pub fn for_device(&self, device: &str) -> Vec<&Preset> {
        let own = self.by_device.get(device).map_or(&[][..], Vec::as_slice);
        if own.is_empty() {
            return self.global.iter().collect();
        }
        let mut all: Vec<&Preset> = self.global.iter().chain(own).collect();
        all.sort_by(|a, b| order(a, b));
        all
    }
}

fn order(a: &Preset, b: &Preset) -> std::cmp::Ordering {
    a.weight
        .total_cmp(&b.weight)
        .then_with(|| a.name.cmp(&b.name))
}

/// Presets in application order: weight, then name.
pub fn sorted(mut presets: Vec<Preset>) -> Vec<Preset> {
    presets.sort_by(order);
    presets
}

impl Preset {
    /// Whether the Inform's events allow this preset.
    pub fn events_match(&self, events: &[String]) -> bool {
        self.events
            .iter()
            .all(|(code, present)| events.iter().any(|e| e == code) == *present)
    }

    /// The declarations of its value and refresh configurations at `now_ms`; `xsd_type` gives
    /// the device's type of a path when it reports one.
    pub fn declarations(
        &self,
        now_ms: i64,
        xsd_type: &dyn Fn(&str) -> Option<String>,
    ) -> Vec<Declaration> {
        self.configurations
            .iter()
            .filter_map(|c| match c {
                Configuration::Value { path, value } => {
                    let (text, json_type) = match value {
                        Json::String(s) => (s.clone(), "string"),
                        Json::Bool(b) => (b.to_string(), "boolean"),
                        Json::Number(n) if n.as_u64().is_some() => (n.to_string(), "unsignedInt"),
                        Json::Number(n) => (n.to_string(), "int"),
                        _ => return None,
                    };
                    let ty = xsd_type(path).unwrap_or_else(|| json_type.to_owned());
                    let mut d = Declaration::new(path.clone());
                    d.value = Some((text, ty));
                    Some(d)
                }
                Configuration::Refresh { path, age_secs } => {
                    let mut d = Declaration::new(path.clone());
                    d.value_fresh_ms = Some(now_ms - age_secs.saturating_mul(1000));
                    Some(d)
                }
                Configuration::Tag { .. } => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nbi_and_ui_shapes_parse() {
        let p = parse(
            "wifi",
            &json!({"weight": 2, "channel": "wifi", "events": {"0 BOOTSTRAP": true, "1 BOOT": false},
                    "precondition": "{\"_tags\":\"vip\"}",
                    "configurations": [{"type": "value", "name": "Device.WiFi.SSID.1.SSID", "value": "G"},
                                       {"type": "add_tag", "tag": "configured"}]}),
        );
        assert_eq!(p.channel, "wifi");
        assert!(p.unsupported.is_none(), "{:?}", p.unsupported);
        assert!(p.precondition.is_some());
        assert!(p.events_match(&["0 BOOTSTRAP".into()]));
        assert!(!p.events_match(&["0 BOOTSTRAP".into(), "1 BOOT".into()]));
        assert_eq!(p.configurations.len(), 2);
        let ui = parse(
            "r",
            &json!({"provision": "refresh", "provisionArgs": "Device.DeviceInfo, 3600", "events": "2 PERIODIC,-1 BOOT"}),
        );
        assert_eq!(
            ui.configurations,
            vec![Configuration::Refresh {
                path: "Device.DeviceInfo".into(),
                age_secs: 3600
            }]
        );
        assert_eq!(
            ui.events,
            vec![("2 PERIODIC".into(), true), ("1 BOOT".into(), false)]
        );
    }

    #[test]
    fn unsupported_parts_are_named_not_ignored() {
        for (doc, why) in [
            (
                json!({"precondition": "Tags.vip IS NOT NULL", "configurations": []}),
                "expressions",
            ),
            (
                json!({"configurations": [{"type": "provision", "name": "inform"}]}),
                "script engine",
            ),
            (
                json!({"configurations": [{"type": "add_object", "name": "X"}]}),
                "add_object",
            ),
        ] {
            let p = parse("p", &doc);
            assert!(
                p.unsupported.as_deref().is_some_and(|u| u.contains(why)),
                "{doc}: {:?}",
                p.unsupported
            );
        }
    }

    #[test]
    fn presets_naming_devices_are_seen_only_by_those_devices() {
        let set = PresetSet::new(vec![
            parse("all", &json!({"weight": 1, "configurations": []})),
            parse(
                "one",
                &json!({"weight": 0, "precondition": "{\"_id\":\"A-B-1\"}", "configurations": []}),
            ),
            parse(
                "two",
                &json!({"weight": 2, "precondition": {"_id": {"$in": ["A-B-1", "A-B-2"]}, "_tags": "x"}, "configurations": []}),
            ),
        ]);
        let names =
            |d: &str| -> Vec<String> { set.for_device(d).iter().map(|p| p.name.clone()).collect() };
        assert_eq!(names("A-B-1"), ["one", "all", "two"]);
        assert_eq!(names("A-B-2"), ["all", "two"]);
        assert_eq!(names("A-B-3"), ["all"]);
        assert_eq!(set.len(), 4);
        assert!(!set.is_empty() && PresetSet::new(Vec::new()).is_empty());
    }

    #[test]
    fn a_faulted_channel_waits_300_s_doubled_per_retry() {
        assert_eq!(retry_delay_ms(0), 300_000);
        assert_eq!(retry_delay_ms(3), 2_400_000);
        assert_eq!(retry_delay_ms(u32::MAX), 300_000 << 16);
    }

    #[test]
    fn values_take_the_device_type_and_refreshes_an_age() {
        let p = parse(
            "p",
            &json!({"configurations": [{"type": "value", "name": "A.B", "value": 300},
                                       {"type": "age", "name": "A.C", "age": 60}]}),
        );
        let d = p.declarations(100_000, &|path| {
            (path == "A.B").then(|| "unsignedInt".to_owned())
        });
        assert_eq!(d[0].value, Some(("300".into(), "unsignedInt".into())));
        assert_eq!(d[1].value_fresh_ms, Some(40_000));
        let order: Vec<String> = sorted(vec![
            parse("b", &json!({"weight": 1})),
            parse("a", &json!({"weight": 1})),
            parse("c", &json!({"weight": 0})),
        ])
        .into_iter()
        .map(|p| p.name)
        .collect();
        assert_eq!(order, ["c", "a", "b"]);
    }
}
