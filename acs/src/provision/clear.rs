//! GenieACS's `clear(path, timestamp[, attributes])`: a script's way of forgetting what the ACS
//! knows of a part of the tree, so that declarations read it again.
//!
//! As GenieACS applies it after the run that called it (the call counts on the run's last
//! revision only): every node the pattern matches that was known before `timestamp` is
//! forgotten; with a `timestamp`, or an `object` attribute time, the nodes below the matches
//! known before the later of the two are forgotten too; and each attribute named, for a match
//! whose data is newer than the node time, is forgotten when read before its given time. An
//! `object` time later than a `value` time stands for it, as in GenieACS.
//!
//! Fibreplane keeps one time per node (when its value was read, or an object listed), so a
//! node's time stands for GenieACS's path time and its `value`/`writable` times alike. A node at
//! time 0 (an object an Inform showed, a leaf a listing named) holds nothing a clear could
//! forget: GenieACS times it at that Inform or listing, and its parent's listing, which a clear
//! does forget, is what vouches for it. A forgotten node goes with its subtree when nothing
//! below it is kept; an object that keeps newer children keeps its place with its listing
//! forgotten (time 0).

use std::collections::{BTreeMap, BTreeSet};

use acs_store::{Param, ParamTree};

use super::path;

/// What a clear changes in the tree: nodes rewritten, subtrees removed.
#[derive(Debug, Default, PartialEq)]
pub struct Cleared {
    /// Nodes kept with some of their data forgotten.
    pub set: Vec<(String, Param)>,
    /// Subtrees forgotten.
    pub remove: Vec<String>,
}

impl Cleared {
    /// Whether the clear changed nothing.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }

    /// Applies the change to `tree`.
    pub fn apply_to(&self, tree: &mut ParamTree) {
        for p in &self.remove {
            tree.remove_subtree(p);
        }
        for (p, n) in &self.set {
            tree.insert(p.clone(), n.clone());
        }
    }
}

/// What `clear(pattern, timestamp_ms, attributes)` does to `tree`.
pub fn clear(
    tree: &ParamTree,
    pattern: &str,
    timestamp_ms: i64,
    attributes: Option<&BTreeMap<String, f64>>,
) -> Cleared {
    let attr = |name: &str| {
        attributes
            .and_then(|a| a.get(name))
            .map(|t| *t as i64)
            .filter(|t| *t > 0)
    };
    let object = attr("object");
    let descendants = timestamp_ms.max(object.unwrap_or(0));
    let value = match (object, attr("value")) {
        (Some(o), v) if v.is_none_or(|v| o > v) => Some(o),
        (_, v) => v,
    };
    let writable = attr("writable");
    let notification = attr("notification").max(attr("accessList"));
    let older = |node: &Param, t: i64| node.timestamp_ms != 0 && t > node.timestamp_ms;
    let mut doomed: BTreeSet<&str> = BTreeSet::new();
    let mut edits: BTreeMap<&str, Param> = BTreeMap::new();
    let matched = path::expand(tree, pattern);
    for m in &matched {
        let Some((m, node)) = tree.iter_prefix(m).next() else {
            continue;
        };
        if older(node, timestamp_ms) {
            doomed.insert(m);
        } else if attributes.is_some() {
            let mut p = node.clone();
            if value.is_some_and(|t| older(node, t)) {
                p.value = None;
            }
            if writable.is_some_and(|t| older(node, t)) {
                p.writable = None;
            }
            if let (Some(t), Some(a)) = (notification, &p.attributes)
                && t > a.timestamp_ms
            {
                p.attributes = None;
            }
            if p != *node {
                edits.insert(m, p);
            }
        }
        if descendants > 0 {
            for (d, node) in tree.iter_prefix(m).skip(1) {
                if older(node, descendants) {
                    doomed.insert(d);
                }
            }
        }
    }
    let mut out = Cleared::default();
    let mut removed: Option<&str> = None;
    for &p in &doomed {
        if removed.is_some_and(|r| is_under(p, r)) {
            continue;
        }
        if tree
            .iter_prefix(p)
            .all(|(d, n)| doomed.contains(d) || n.timestamp_ms == 0 && d != p)
        {
            out.remove.push(p.to_owned());
            removed = Some(p);
        } else if let Some(node) = tree.get(p) {
            // Newer nodes below stay; the object itself is no longer known as listed.
            let mut kept = node.clone();
            kept.timestamp_ms = 0;
            kept.value = None;
            edits.insert(p, kept);
        }
    }
    out.set = edits
        .into_iter()
        .filter(|(p, _)| !out.remove.iter().any(|r| is_under(p, r)))
        .map(|(p, n)| (p.to_owned(), n))
        .collect();
    out
}

/// Whether `path` is `prefix` or below it.
fn is_under(path: &str, prefix: &str) -> bool {
    prefix.is_empty()
        || path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|r| r.starts_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use acs_store::Value;

    fn tree() -> ParamTree {
        let mut t = ParamTree::new();
        t.insert("Device", Param::object(Some(false), 100));
        t.insert("Device.WiFi", Param::object(Some(false), 100));
        t.insert("Device.WiFi.SSID", Param::object(Some(false), 100));
        t.insert("Device.WiFi.SSID.1", Param::object(Some(false), 100));
        let leaf = |v: &str, ts| Param::leaf(Some(Value::String(v.into())), Some(true), ts);
        t.insert("Device.WiFi.SSID.1.SSID", leaf("home", 100));
        t.insert("Device.WiFi.SSID.1.Enable", leaf("1", 500));
        t.insert("Device.DeviceInfo", Param::object(Some(false), 100));
        t.insert("Device.DeviceInfo.UpTime", leaf("5", 100));
        t.insert(
            "Device.DeviceInfo.Listed",
            Param::leaf(None, Some(false), 0),
        );
        t
    }

    #[test]
    fn nodes_known_before_the_time_are_forgotten_with_what_is_older_below() {
        let t = tree();
        // Everything under the SSID table older than 300 goes; Enable (read at 500) stays, so
        // the instance stays, with its listing forgotten.
        let c = clear(&t, "Device.WiFi.SSID", 300, None);
        assert_eq!(c.remove, vec!["Device.WiFi.SSID.1.SSID".to_owned()]);
        let kept: Vec<&str> = c.set.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(kept, vec!["Device.WiFi.SSID", "Device.WiFi.SSID.1"]);
        assert!(c.set.iter().all(|(_, n)| n.timestamp_ms == 0));
        // A time before everything forgets nothing; a later one takes the whole subtree, with
        // the leaf only its listing vouched for.
        assert!(clear(&t, "Device.WiFi", 50, None).is_empty());
        assert_eq!(
            clear(&t, "Device", 600, None).remove,
            vec!["Device".to_owned()]
        );
        // Wildcards match as declarations do.
        assert_eq!(
            clear(&t, "Device.*.UpTime", 200, None).remove,
            vec!["Device.DeviceInfo.UpTime".to_owned()]
        );
    }

    #[test]
    fn attributes_forget_only_what_was_read_before_their_time() {
        let t = tree();
        let attrs = BTreeMap::from([("value".to_owned(), 200.0)]);
        let c = clear(&t, "Device.WiFi.SSID.*.*", 0, Some(&attrs));
        assert!(c.remove.is_empty());
        assert_eq!(c.set.len(), 1, "{c:?}");
        assert_eq!(c.set[0].0, "Device.WiFi.SSID.1.SSID");
        assert_eq!(c.set[0].1.value, None);
        assert_eq!(c.set[0].1.writable, Some(true));
        // An object time later than the value time stands for it, and reaches below.
        let attrs = BTreeMap::from([("object".to_owned(), 700.0)]);
        let c = clear(&t, "Device.DeviceInfo", 0, Some(&attrs));
        assert_eq!(c.remove, vec!["Device.DeviceInfo.UpTime".to_owned()]);
    }
}
