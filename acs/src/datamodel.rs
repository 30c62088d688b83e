//! Which data model a device speaks, and reading typed facts out of its stored tree.
//!
//! Used by the sans-IO diagnostics and summary cores: they never see the store, only a
//! [`ParamTree`] and a device's root. Reading is total: a missing node, an object where a leaf
//! was expected or a value of the wrong shape is `None`, never a panic (a CPE's tree is peer
//! input).

use acs_store::{DeviceMeta, Param, ParamTree};
use serde::Serialize;
use std::borrow::Cow;

/// The two CWMP data-model families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataModel {
    /// TR-181 Device:2, root `Device`.
    Tr181,
    /// TR-098 InternetGatewayDevice:1, root `InternetGatewayDevice`.
    Tr098,
}

impl DataModel {
    /// The model of a root object name; `None` for anything else.
    pub fn from_root(root: &str) -> Option<Self> {
        match root {
            "Device" => Some(Self::Tr181),
            "InternetGatewayDevice" => Some(Self::Tr098),
            _ => None,
        }
    }

    /// The model of a device: its recorded root, else the first segment of its tree's paths.
    pub fn of(meta: Option<&DeviceMeta>, tree: &ParamTree) -> Option<Self> {
        if let Some(m) = meta.and_then(|m| Self::from_root(&m.root)) {
            return Some(m);
        }
        tree.iter()
            .find_map(|(path, _)| Self::from_root(path.split('.').next().unwrap_or("")))
    }

    /// The root object name.
    pub fn root(self) -> &'static str {
        match self {
            Self::Tr181 => "Device",
            Self::Tr098 => "InternetGatewayDevice",
        }
    }
}

/// Read access to a tree with the conversions CPE values need.
#[derive(Debug, Clone, Copy)]
pub(crate) struct View<'a> {
    tree: &'a ParamTree,
}

impl<'a> View<'a> {
    pub(crate) fn new(tree: &'a ParamTree) -> Self {
        Self { tree }
    }

    /// A leaf that has a value.
    pub(crate) fn leaf(&self, path: &str) -> Option<&'a Param> {
        self.tree
            .get(path)
            .filter(|p| !p.object && p.value.is_some())
    }

    /// Whether an object or parameter exists at `path`.
    pub(crate) fn exists(&self, path: &str) -> bool {
        self.tree.get(path).is_some()
    }

    /// The text of a leaf.
    pub(crate) fn text(&self, path: &str) -> Option<Cow<'a, str>> {
        self.leaf(path)?.value.as_ref().map(acs_store::Value::text)
    }

    /// The text of a leaf, trimmed, unless it is empty.
    pub(crate) fn nonempty(&self, path: &str) -> Option<String> {
        let t = self.text(path)?;
        let t = t.trim();
        (!t.is_empty()).then(|| t.to_owned())
    }

    /// When the leaf was read (ms since the epoch).
    pub(crate) fn stamp(&self, path: &str) -> Option<i64> {
        self.leaf(path).map(|p| p.timestamp_ms)
    }

    /// A leaf read as an unsigned number.
    pub(crate) fn u64(&self, path: &str) -> Option<u64> {
        parse_u64(&self.text(path)?)
    }

    /// The instance numbers directly below a multi-instance table, in numeric order.
    pub(crate) fn instances(&self, table: &str) -> Vec<u32> {
        let table = table.trim_end_matches('.');
        let prefix = format!("{table}.");
        let mut out: Vec<u32> = self
            .tree
            .iter_prefix(table)
            .filter_map(|(path, _)| {
                let rest = path.strip_prefix(&prefix)?;
                let seg = rest.split('.').next()?;
                let digits = !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit());
                digits.then(|| seg.parse().ok()).flatten()
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The root object exists, so the tree was discovered rather than only informed.
    pub(crate) fn discovered(&self, model: DataModel) -> bool {
        // Listed, not only known from an Inform's parameter paths (timestamp 0).
        self.tree
            .get(model.root())
            .is_some_and(|p| p.object && p.timestamp_ms > 0)
    }
}

/// An unsigned number as CPEs write it (surrounding blanks tolerated).
pub(crate) fn parse_u64(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// A boolean as CPEs write it: `true`/`false`, `1`/`0`, and the `Enabled`/`Disabled` strings some
/// vendor objects use (the XX230v's voice lines).
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "enabled" | "enable" | "on" | "yes" => Some(true),
        "false" | "0" | "disabled" | "disable" | "off" | "no" => Some(false),
        _ => None,
    }
}

/// A path reference as CPEs write it (`Device.IP.Interface.6.`), without the trailing dot.
pub(crate) fn reference(text: &str) -> Option<&str> {
    let t = text.trim().trim_end_matches('.');
    (!t.is_empty()).then_some(t)
}

/// The comma-separated references of a `LowerLayers`-style list.
pub(crate) fn references(text: &str) -> Vec<&str> {
    text.split(',').filter_map(reference).collect()
}

/// Addresses from a comma-separated list, without blanks and the unset `0.0.0.0`.
pub(crate) fn addresses(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty() && *a != "0.0.0.0" && *a != "::")
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use acs_store::Value;

    fn tree(rows: &[(&str, Option<&str>)]) -> ParamTree {
        rows.iter()
            .map(|(p, v)| {
                let param = match v {
                    Some(v) => Param::leaf(Some(Value::String((*v).into())), None, 7),
                    None => Param::object(None, 7),
                };
                ((*p).to_owned(), param)
            })
            .collect()
    }

    #[test]
    fn instances_are_numeric_and_direct() {
        let t = tree(&[
            ("Device.WiFi.SSID", None),
            ("Device.WiFi.SSID.10", None),
            ("Device.WiFi.SSID.10.SSID", Some("a")),
            ("Device.WiFi.SSID.2.SSID", Some("b")),
            ("Device.WiFi.SSIDNumberOfEntries", Some("2")),
            ("Device.WiFi.SSID.x.SSID", Some("c")),
        ]);
        let v = View::new(&t);
        assert_eq!(v.instances("Device.WiFi.SSID."), vec![2, 10]);
        assert_eq!(v.text("Device.WiFi.SSID.2.SSID").as_deref(), Some("b"));
        assert_eq!(v.text("Device.WiFi.SSID.10"), None, "an object has no text");
        assert_eq!(v.stamp("Device.WiFi.SSID.2.SSID"), Some(7));
        assert_eq!(DataModel::of(None, &t).map(DataModel::root), Some("Device"));
    }

    #[test]
    fn cpe_values_are_read_leniently() {
        assert_eq!(parse_bool("Enabled"), Some(true));
        assert_eq!(parse_bool(" 0 "), Some(false));
        assert_eq!(parse_bool("maybe"), None);
        assert_eq!(parse_u64(" 42"), Some(42));
        assert_eq!(parse_u64("-1"), None);
        assert_eq!(
            references("Device.Ethernet.Interface.1., Device.WiFi.SSID.1.,"),
            vec!["Device.Ethernet.Interface.1", "Device.WiFi.SSID.1"]
        );
        assert_eq!(addresses("192.168.88.1,0.0.0.0, "), vec!["192.168.88.1"]);
    }
}
