//! The in-memory parameter tree of one device.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Value;

/// One node of a device's parameter tree: an object or a leaf parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    /// True for objects (paths that end with a dot on the wire).
    pub object: bool,
    /// Writability, when known (from GetParameterNames).
    pub writable: Option<bool>,
    /// The value, when read (leaves only).
    pub value: Option<Value>,
    /// When the value was read, or when an object's children were enumerated (ms since epoch).
    pub timestamp_ms: i64,
    /// The parameter's attributes (GetParameterAttributes), when they were ever read or set.
    /// Boxed: few parameters have them, and a tree holds thousands of nodes.
    pub attributes: Option<Box<Attributes>>,
}

/// A parameter's TR-069 attributes, as GetParameterAttributes reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attributes {
    /// 0 off, 1 passive, 2 active notification (3–6 in later amendments).
    pub notification: u8,
    /// Who besides the ACS may write the value (`Subscriber`), usually empty.
    pub access_list: Vec<String>,
    /// When they were read or set (ms since epoch).
    pub timestamp_ms: i64,
}

impl Param {
    /// An object node listed at `timestamp_ms`.
    pub fn object(writable: Option<bool>, timestamp_ms: i64) -> Self {
        Self {
            object: true,
            writable,
            value: None,
            timestamp_ms,
            attributes: None,
        }
    }

    /// A leaf with a value read (or written) at `timestamp_ms`.
    pub fn leaf(value: Option<Value>, writable: Option<bool>, timestamp_ms: i64) -> Self {
        Self {
            object: false,
            writable,
            value,
            timestamp_ms,
            attributes: None,
        }
    }
}

/// A device's parameters, ordered by path.
///
/// Object paths are stored without the trailing dot (`Device.WiFi`), as GenieACS does, so that an
/// object and its parameters sort together and a subtree is a contiguous range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParamTree {
    params: BTreeMap<String, Param>,
}

impl ParamTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The node at `path`.
    pub fn get(&self, path: &str) -> Option<&Param> {
        self.params.get(trim(path))
    }

    /// Inserts or replaces the node at `path`, returning the previous one.
    pub fn insert(&mut self, path: impl Into<String>, param: Param) -> Option<Param> {
        let mut path = path.into();
        if path.ends_with('.') {
            path.pop();
        }
        self.params.insert(path, param)
    }

    /// Removes the node at `path` only.
    pub fn remove(&mut self, path: &str) -> Option<Param> {
        self.params.remove(trim(path))
    }

    /// Removes `prefix` and every node below it; returns how many nodes went. An empty prefix
    /// removes everything.
    pub fn remove_subtree(&mut self, prefix: &str) -> usize {
        let doomed: Vec<String> = self
            .iter_prefix(prefix)
            .map(|(k, _)| k.to_owned())
            .collect();
        for key in &doomed {
            self.params.remove(key);
        }
        doomed.len()
    }

    /// All nodes in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Param)> + '_ {
        self.params.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// `prefix` and every node below it, in path order. `Device.WiFi` matches `Device.WiFi` and
    /// `Device.WiFi.SSID` but not `Device.WiFiX`; a trailing dot on `prefix` is ignored.
    pub fn iter_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a Param)> {
        let prefix = trim(prefix);
        self.params
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(move |(k, _)| k.starts_with(prefix))
            .filter(move |(k, _)| in_subtree(k, prefix))
            .map(|(k, v)| (k.as_str(), v))
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// True when there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }
}

impl FromIterator<(String, Param)> for ParamTree {
    fn from_iter<I: IntoIterator<Item = (String, Param)>>(iter: I) -> Self {
        let mut tree = Self::new();
        for (k, v) in iter {
            tree.insert(k, v);
        }
        tree
    }
}

/// True when `path` is `prefix` or below it (the caller has already checked `starts_with`).
pub(crate) fn in_subtree(path: &str, prefix: &str) -> bool {
    prefix.is_empty()
        || path.len() == prefix.len()
        || path.as_bytes().get(prefix.len()) == Some(&b'.')
}

/// Drops one trailing dot, so callers may pass wire-form object paths.
fn trim(path: &str) -> &str {
    path.strip_suffix('.').unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(v: i64) -> Param {
        Param {
            object: false,
            writable: Some(true),
            value: Some(Value::Int(v)),
            timestamp_ms: 1,
            attributes: None,
        }
    }

    #[test]
    fn subtree_ops_respect_segment_boundaries() {
        let mut t: ParamTree = [
            "Device.WiFi",
            "Device.WiFi.SSID",
            "Device.WiFiX",
            "Device.WiFi-",
        ]
        .iter()
        .enumerate()
        .map(|(i, p)| ((*p).to_owned(), leaf(i as i64)))
        .collect();
        let keys: Vec<&str> = t.iter_prefix("Device.WiFi.").map(|(k, _)| k).collect();
        assert_eq!(keys, ["Device.WiFi", "Device.WiFi.SSID"]);
        assert_eq!(t.remove_subtree("Device.WiFi"), 2);
        assert_eq!(t.len(), 2);
        assert!(t.get("Device.WiFiX").is_some());
        assert_eq!(t.remove_subtree(""), 2);
        assert!(t.is_empty());
    }
}
