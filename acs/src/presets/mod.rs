//! Presets with GenieACS's semantics, turned into declarations for the provisioning planner
//! (`provision/`): which presets apply to an Inform (events, schedule, precondition), in weight
//! order, and what they declare.
//!
//! Presets are the documents the NBI stores in the `presets` collection (parsed by `parse.rs`).
//! Supported: the `value`, `age`, `add_tag`, `delete_tag`, `add_object` and `delete_object`
//! configurations; the built-in provisions `value` (values and the `notification`/`accessList`
//! attributes), `refresh`, `tag`, `instances`, `reboot`, `reset` and `download`; preconditions
//! as GenieACS expressions or legacy JSON queries; cron schedules. Custom script provisions are
//! run by the session from the `provisions` documents (`provision::script`).

mod parse;

use crate::genie::expr::Expr;
use crate::genie::query::Query;
use crate::genie::schedule::Schedule;
use crate::provision::{self, Declaration};
use acs_store::ParamTree;
pub(crate) use parse::builtin;
pub use parse::parse;
use serde_json::Value as Json;

/// The store collection holding presets.
pub const COLLECTION: &str = "presets";
/// The store collection of legacy objects that `add_object` configurations name.
pub const OBJECTS: &str = "objects";
/// The store collection of provision scripts (`{_id, script}`).
pub const PROVISIONS: &str = "provisions";
/// The store collection of virtual-parameter scripts (`{_id, script}`).
pub const VIRTUAL_PARAMETERS: &str = "virtual_parameters";

/// The scripts of a collection's documents (`{_id, script}`); documents that are not JSON or
/// have no script are logged and skipped.
pub fn scripts(
    docs: &[(String, Vec<u8>)],
) -> std::collections::HashMap<String, std::sync::Arc<script::Script>> {
    docs.iter()
        .filter_map(|(name, bytes)| {
            let doc: Json = serde_json::from_slice(bytes)
                .inspect_err(|e| tracing::warn!(script = %name, error = %e, "script document is not JSON; skipped"))
                .ok()?;
            let Some(src) = doc.get("script").and_then(Json::as_str) else {
                tracing::warn!(script = %name, "script document has no script; skipped");
                return None;
            };
            Some((name.clone(), std::sync::Arc::new(script::Script::new(name.clone(), src))))
        })
        .collect()
}
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
    /// The device must match this.
    pub precondition: Option<Precondition>,
    /// The preset applies only while this schedule is active.
    pub schedule: Option<Schedule>,
    /// What it declares.
    pub configurations: Vec<Configuration>,
    /// Why the preset cannot run, if something in it is not supported.
    pub unsupported: Option<String>,
    /// The ParameterKey its SetParameterValues carry (a Fibreplane extension, `parameterKey`;
    /// GenieACS sends none), so the CPE's next Inform confirms which settings it holds.
    pub parameter_key: Option<String>,
}

/// A preset's precondition.
#[derive(Debug, Clone)]
pub enum Precondition {
    /// A legacy Mongo-like query over the device document.
    Query(Query),
    /// A GenieACS expression over the device's parameters and pseudo-parameters.
    Expr(Expr),
}

/// An instance count for the `instances` built-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// Exactly this many.
    Exact(usize),
    /// This many more (or fewer) than there are now.
    Relative(i64),
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
    /// The parameter(s) at `path` must have these attributes.
    Attribute {
        /// A path pattern.
        path: String,
        /// The notification attribute.
        notification: Option<u8>,
        /// The access list.
        access_list: Option<Vec<String>>,
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
    /// The object pattern must have this many instances.
    Instances {
        /// An object pattern ending in `*` or an alias filter.
        path: String,
        /// How many.
        count: Count,
    },
    /// A legacy `add_object` (present) or `delete_object` (absent): the instance of `path`
    /// whose keys hold these values, with these other values.
    Object {
        /// The table.
        path: String,
        /// Alias keys and values.
        keys: Vec<(String, String)>,
        /// Other parameters of the instance.
        values: Vec<(String, Json)>,
        /// Whether the instance must exist or not.
        present: bool,
    },
    /// Reboot (once per session in which the preset applies).
    Reboot,
    /// Reset to factory defaults (once per session in which the preset applies).
    FactoryReset,
    /// A custom provision: the script of this name in the `provisions` documents, with these
    /// arguments (GenieACS's `args`).
    Script {
        /// The provision's name.
        name: String,
        /// Its arguments.
        args: Vec<Json>,
    },
    /// Download a file from the file server, once per file name and type.
    Download {
        /// TR-069 file type.
        file_type: String,
        /// The file's name on the file server.
        file_name: String,
        /// The name on the CPE.
        target_file_name: String,
    },
}

impl Configuration {
    /// Whether it is a `value` or refresh of `VirtualParameters.*`, which their scripts answer.
    pub fn names_virtual(&self) -> bool {
        match self {
            Self::Value { path, .. } | Self::Refresh { path, .. } => {
                provision::vparam::is_virtual(path)
            }
            _ => false,
        }
    }

    /// A `value` or refresh of a virtual parameter as the script pass's declaration at
    /// `now_ms`; `None` for any other configuration.
    pub fn virtual_request(&self, now_ms: i64) -> Option<script::Declaration> {
        if !self.names_virtual() {
            return None;
        }
        match self {
            Self::Value { path, value } => Some(provision::vparam::value_request(path, value)),
            Self::Refresh { path, age_secs } => Some(provision::vparam::refresh_request(
                path,
                now_ms - age_secs.saturating_mul(1000),
            )),
            _ => None,
        }
    }
}

/// The deepest path a refresh of an object reads (GenieACS's `MAX_DEPTH`).
const REFRESH_DEPTH: usize = 16;

/// The presets, split so that a session reads only those that can apply to its device.
///
/// A preset whose precondition names device ids (`{"_id": "…"}`, `$in`, or such a conjunct) can
/// apply only to those devices: it is filed under each of them. Per-device presets are how the
/// provisioner installs one customer's settings, and with thousands of them a session must not
/// look at every one (GenieACS evaluates all presets at every Inform, genieacs/genieacs#299).
#[derive(Debug, Default)]
pub struct PresetSet {
    /// The provision and virtual-parameter scripts presets and declarations name.
    pub scripts: std::sync::Arc<provision::script::Scripts>,
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
            let Some(Precondition::Query(q)) = &p.precondition else {
                set.global.push(p);
                continue;
            };
            let crate::genie::query::Plan::Ids(ids) = q.plan() else {
                set.global.push(p);
                continue;
            };
            for id in ids {
                set.by_device.entry(id).or_default().push(p.clone());
            }
        }
        set
    }

    /// The same presets with these scripts.
    pub fn with_scripts(mut self, scripts: provision::script::Scripts) -> Self {
        self.scripts = std::sync::Arc::new(scripts);
        self
    }

    /// Whether any provision or virtual-parameter script is stored (a `provisions` task or a
    /// declaration may run one even when no preset exists).
    pub fn has_scripts(&self) -> bool {
        !self.scripts.provisions.is_empty() || !self.scripts.virtual_parameters.is_empty()
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

/// A declared value as text and the XSD type its JSON type implies.
pub(crate) fn json_value(value: &Json) -> Option<(String, &'static str)> {
    Some(match value {
        Json::String(s) => (s.clone(), "string"),
        Json::Bool(b) => (b.to_string(), "boolean"),
        Json::Number(n) if n.as_u64().is_some() => (n.to_string(), "unsignedInt"),
        Json::Number(n) => (n.to_string(), "int"),
        // GenieACS's `[value, type]` pair: the caller takes the type from the pair.
        Json::Array(pair) => match pair.as_slice() {
            [v, Json::String(_)] => json_value(v)?,
            _ => return None,
        },
        _ => return None,
    })
}

impl Preset {
    /// Whether the Inform's events allow this preset.
    pub fn events_match(&self, events: &[String]) -> bool {
        self.events
            .iter()
            .all(|(code, present)| events.iter().any(|e| e == code) == *present)
    }

    /// Whether its schedule (if any) is active at `now_ms`.
    pub fn scheduled(&self, now_ms: i64) -> bool {
        self.schedule.as_ref().is_none_or(|s| s.active(now_ms))
    }

    /// The parameter paths its precondition reads (fetched before it is evaluated, as GenieACS
    /// does); only expressions name parameters this way.
    pub fn precondition_params(&self) -> Vec<&str> {
        match &self.precondition {
            Some(Precondition::Expr(e)) => e
                .params()
                .into_iter()
                .filter(|p| {
                    !["DeviceID.", "Tags.", "Events."]
                        .iter()
                        .any(|pre| p.starts_with(pre))
                        && !p.contains('*')
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The declarations of its configurations at `now_ms`, given the known tree (for the
    /// device's XSD types, whether a refreshed path is an object, and relative counts).
    pub fn declarations(&self, now_ms: i64, tree: &ParamTree) -> Vec<Declaration> {
        let type_of = |path: &str| -> Option<String> {
            let first = provision::expand(tree, path).into_iter().next()?;
            Some(tree.get(&first)?.value.as_ref()?.xsd_type().to_owned())
        };
        let value = |path: &str, v: &Json| -> Option<Declaration> {
            let (text, json_type) = json_value(v)?;
            let explicit = match v {
                Json::Array(pair) => pair
                    .get(1)
                    .and_then(Json::as_str)
                    .map(|t| t.trim_start_matches("xsd:").to_owned()),
                _ => None,
            };
            // Without an explicit type the device's decides, as in GenieACS (which converts
            // an untyped value to the parameter's type when it writes): when the tree does not
            // know it yet, `~` marks the JSON type as a fallback the planner replaces once the
            // parameter has been read.
            let ty = explicit
                .or_else(|| type_of(path))
                .unwrap_or_else(|| format!("{}{json_type}", provision::UNTYPED));
            let mut d = Declaration::new(path);
            d.value = Some((text, ty));
            Some(d)
        };
        let at = |path: String, ms: i64| {
            let mut d = Declaration::new(path);
            d.value = Some((ms.to_string(), "dateTime".into()));
            d
        };
        let action = |path: String| at(path, now_ms);
        let once = |path: String| at(path, 1);
        let mut out = Vec::new();
        for c in &self.configurations {
            if c.names_virtual() {
                // The session's script pass answers these (`virtual_requests`), not the CPE.
                continue;
            }
            match c {
                Configuration::Value { path, value: v } => out.extend(value(path, v)),
                Configuration::Attribute {
                    path,
                    notification,
                    access_list,
                } => {
                    let mut d = Declaration::new(path.clone());
                    d.notification = *notification;
                    d.access_list.clone_from(access_list);
                    out.push(d);
                }
                Configuration::Refresh { path, age_secs } => {
                    let fresh = now_ms - age_secs.saturating_mul(1000);
                    let object = tree.get(path).is_some_and(|n| n.object);
                    if object {
                        // The object's names and every value below it, at every depth, as
                        // GenieACS's `refresh` declares them (to its path depth limit).
                        let base = path.trim_end_matches('.');
                        let depth = base.split('.').count();
                        for k in 1..=REFRESH_DEPTH.saturating_sub(depth) {
                            let mut d = Declaration::new(format!("{base}{}", ".*".repeat(k)));
                            if k == 1 {
                                d.path_fresh_ms = Some(fresh);
                            }
                            d.value_fresh_ms = Some(fresh);
                            out.push(d);
                        }
                    } else {
                        let mut d = Declaration::new(path.clone());
                        d.value_fresh_ms = Some(fresh);
                        out.push(d);
                    }
                }
                Configuration::Tag { .. } => {}
                Configuration::Instances { path, count } => {
                    let n = match count {
                        Count::Exact(n) => *n,
                        Count::Relative(delta) => {
                            let now = provision::expand(tree, path).len() as i64;
                            usize::try_from(now.saturating_add(*delta).max(0)).unwrap_or(0)
                        }
                    };
                    let mut d = Declaration::new(path.clone());
                    d.instances = Some((n, n));
                    out.push(d);
                }
                Configuration::Object {
                    path,
                    keys,
                    values,
                    present,
                } => {
                    let alias = keys
                        .iter()
                        .map(|(k, v)| format!("{k}:{v}"))
                        .collect::<Vec<_>>()
                        .join(",");
                    let instance = format!("{path}.[{alias}]");
                    let mut d = Declaration::new(instance.clone());
                    d.instances = Some(if *present { (1, 1) } else { (0, 0) });
                    out.push(d);
                    if *present {
                        for (k, v) in values {
                            out.extend(value(&format!("{instance}.{k}"), v));
                        }
                    }
                }
                Configuration::Reboot => out.push(action(provision::REBOOT.into())),
                Configuration::FactoryReset => out.push(action(provision::FACTORY_RESET.into())),
                // Presets run at every matching Inform: a declared download is done once per
                // file (time 1, like any recorded attempt), not once per session.
                Configuration::Download {
                    file_type,
                    file_name,
                    target_file_name,
                } => out.push(once(format!(
                    "{}.[FileType:{file_type},FileName:{file_name},TargetFileName:{target_file_name}].Download",
                    provision::DOWNLOADS
                ))),
                // Scripts declare while they run, in the session (`provision::script::Pass`).
                Configuration::Script { .. } => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use acs_store::{Param, Value};
    use serde_json::json;

    fn no_objects(_: &str) -> Option<Json> {
        None
    }

    fn p(name: &str, doc: &Json) -> Preset {
        parse(name, doc, &no_objects)
    }

    #[test]
    fn nbi_and_ui_shapes_parse() {
        let preset = p(
            "wifi",
            &json!({"weight": 2, "channel": "wifi", "events": {"0 BOOTSTRAP": true, "1 BOOT": false},
                    "precondition": "{\"_tags\":\"vip\"}",
                    "configurations": [{"type": "value", "name": "Device.WiFi.SSID.1.SSID", "value": "G"},
                                       {"type": "add_tag", "tag": "configured"}]}),
        );
        assert_eq!(preset.channel, "wifi");
        assert!(preset.unsupported.is_none(), "{:?}", preset.unsupported);
        assert!(matches!(preset.precondition, Some(Precondition::Query(_))));
        assert!(preset.events_match(&["0 BOOTSTRAP".into()]));
        assert!(!preset.events_match(&["0 BOOTSTRAP".into(), "1 BOOT".into()]));
        assert_eq!(preset.configurations.len(), 2);
        let ui = p(
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
    fn expressions_schedules_and_every_builtin_parse() {
        let preset = p(
            "all",
            &json!({"precondition": "DeviceID.ProductClass = \"Device2\" AND Tags.vip IS NULL",
                    "schedule": "3600 0 0 2 * * *",
                    "configurations": [
                        {"type": "provision", "name": "instances", "args": ["Device.X.*", "+1"]},
                        {"type": "provision", "name": "value", "args": ["Device.A", "notification", 2]},
                        {"type": "provision", "name": "value", "args": ["Device.A", "accessList", ["Subscriber"]]},
                        {"type": "provision", "name": "reboot"},
                        {"type": "provision", "name": "reset"},
                        {"type": "provision", "name": "download", "args": ["1 Firmware Upgrade Image", "fw.bin"]}]}),
        );
        assert!(preset.unsupported.is_none(), "{:?}", preset.unsupported);
        assert!(matches!(preset.precondition, Some(Precondition::Expr(_))));
        assert!(preset.schedule.is_some());
        assert_eq!(
            preset.configurations[0],
            Configuration::Instances {
                path: "Device.X.*".into(),
                count: Count::Relative(1)
            }
        );
        assert_eq!(
            preset.configurations[1],
            Configuration::Attribute {
                path: "Device.A".into(),
                notification: Some(2),
                access_list: None
            }
        );
        assert_eq!(
            preset.configurations[2],
            Configuration::Attribute {
                path: "Device.A".into(),
                notification: None,
                access_list: Some(vec!["Subscriber".into()])
            }
        );
        let decls = preset.declarations(5_000, &ParamTree::new());
        let paths: Vec<&str> = decls.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "Device.X.*",
                "Device.A",
                "Device.A",
                "Reboot",
                "FactoryReset",
                "Downloads.[FileType:1 Firmware Upgrade Image,FileName:fw.bin,TargetFileName:].Download"
            ]
        );
        assert_eq!(
            decls[0].instances,
            Some((1, 1)),
            "one more than the none there are"
        );
        assert_eq!(decls[3].value, Some(("5000".into(), "dateTime".into())));
    }

    #[test]
    fn legacy_objects_become_alias_instances_with_values() {
        let objects = |name: &str| {
            (name == "guest").then(
                || json!({"_id": "guest", "_keys": ["SSID"], "SSID": "Guest", "Enable": true}),
            )
        };
        let preset = parse(
            "o",
            &json!({"configurations": [{"type": "add_object", "name": "Device.WiFi.SSID", "object": "guest"},
                                       {"type": "delete_object", "name": "Device.WiFi.SSID", "object": "guest"}]}),
            &objects,
        );
        assert!(preset.unsupported.is_none(), "{:?}", preset.unsupported);
        let decls = preset.declarations(1, &ParamTree::new());
        assert_eq!(decls[0].path, "Device.WiFi.SSID.[SSID:Guest]");
        assert_eq!(decls[0].instances, Some((1, 1)));
        assert_eq!(decls[1].path, "Device.WiFi.SSID.[SSID:Guest].Enable");
        // Untyped and not known yet: the device's type will decide, boolean failing that.
        assert_eq!(decls[1].value, Some(("true".into(), "~boolean".into())));
        assert_eq!(decls[2].instances, Some((0, 0)));
        let missing = p(
            "m",
            &json!({"configurations": [{"type": "add_object", "name": "X", "object": "nope"}]}),
        );
        assert!(missing.unsupported.unwrap().contains("no object"));
    }

    #[test]
    fn custom_provisions_are_scripts_with_their_arguments() {
        let preset = p(
            "p",
            &json!({"configurations": [{"type": "provision", "name": "inform", "args": ["x", 2]}]}),
        );
        assert!(preset.unsupported.is_none(), "{:?}", preset.unsupported);
        assert_eq!(
            preset.configurations,
            vec![Configuration::Script {
                name: "inform".into(),
                args: vec![json!("x"), json!(2)],
            }]
        );
    }

    #[test]
    fn unsupported_parts_are_named_not_ignored() {
        for (doc, why) in [
            (
                json!({"precondition": "Tags.vip IS IS", "configurations": []}),
                "precondition",
            ),
            (
                json!({"configurations": [{"type": "frobnicate", "name": "X"}]}),
                "frobnicate",
            ),
            (
                json!({"schedule": "every day", "configurations": []}),
                "schedule",
            ),
            (
                json!({"configurations": [{"type": "provision", "name": "instances", "args": ["X.*", "many"]}]}),
                "bad count",
            ),
        ] {
            let preset = p("p", &doc);
            assert!(
                preset
                    .unsupported
                    .as_deref()
                    .is_some_and(|u| u.contains(why)),
                "{doc}: {:?}",
                preset.unsupported
            );
        }
    }

    #[test]
    fn presets_naming_devices_are_seen_only_by_those_devices() {
        let set = PresetSet::new(vec![
            p("all", &json!({"weight": 1, "configurations": []})),
            p(
                "one",
                &json!({"weight": 0, "precondition": "{\"_id\":\"A-B-1\"}", "configurations": []}),
            ),
            p(
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
        let preset = p(
            "p",
            &json!({"configurations": [{"type": "value", "name": "A.B", "value": 300},
                                       {"type": "age", "name": "A.C", "age": 60},
                                       {"type": "age", "name": "A", "age": 60},
                                       {"type": "value", "name": "A.D", "value": ["7", "xsd:int"]}]}),
        );
        let mut tree = ParamTree::new();
        tree.insert("A", Param::object(Some(false), 1));
        tree.insert(
            "A.B",
            Param::leaf(Some(Value::UnsignedInt(1)), Some(true), 1),
        );
        let d = preset.declarations(100_000, &tree);
        assert_eq!(d[0].value, Some(("300".into(), "unsignedInt".into())));
        assert_eq!(d[1].value_fresh_ms, Some(40_000));
        assert_eq!(
            (d[2].path.as_str(), d[2].path_fresh_ms, d[2].value_fresh_ms),
            ("A.*", Some(40_000), Some(40_000)),
            "an object is listed again, and its values read"
        );
        // Every depth below it, to GenieACS's limit of 16 segments.
        let deeper: Vec<&str> = d[3..]
            .iter()
            .map(|d| d.path.as_str())
            .take_while(|p| p.starts_with("A.*"))
            .collect();
        assert_eq!(deeper.len(), 14);
        assert_eq!(deeper[0], "A.*.*");
        assert!(
            d[3..17]
                .iter()
                .all(|d| d.value_fresh_ms == Some(40_000) && d.path_fresh_ms.is_none())
        );
        assert_eq!(d[17].value, Some(("7".into(), "int".into())));
        let order: Vec<String> = sorted(vec![
            p("b", &json!({"weight": 1})),
            p("a", &json!({"weight": 1})),
            p("c", &json!({"weight": 0})),
        ])
        .into_iter()
        .map(|p| p.name)
        .collect();
        assert_eq!(order, ["c", "a", "b"]);
    }
}
