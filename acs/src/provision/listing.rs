//! How an object is listed: one level (GetParameterNames with NextLevel true, then one level
//! further each round) or its whole subtree at once (NextLevel false).
//!
//! GenieACS decides it per listing by estimating how many one-level listings a walk down to
//! everything the declarations name below the object would take, doubling below every
//! wildcard: when the estimate stays under `2^(8 - depth)` it walks, otherwise it lists the
//! subtree. A few named paths are thus reached by a handful of small listings that store only
//! the objects on the way (a script's `InternetGatewayDevice.ManagementServer.X`), and a
//! refresh of a subtree (`Device.Hosts.*.*…`) by one. The device's stored tree depends on the
//! choice (a whole-subtree listing stores every name in it), so Fibreplane makes the same one.

use std::collections::BTreeMap;

use super::path::{self, Segment};

/// How much one wildcard level multiplies the listings below it (GenieACS's
/// `WILDCARD_MULTIPLIER`).
const WILDCARD_MULTIPLIER: usize = 2;
/// Below this depth the estimate stops descending (GenieACS's `UNDISCOVERED_DEPTH`).
const UNDISCOVERED_DEPTH: usize = 7;

/// The levels below an object that the declarations name, as a tree of segments (`*` for a
/// wildcard or an alias filter, which GenieACS discovers as a wildcard).
#[derive(Default)]
struct Trie {
    children: BTreeMap<String, Self>,
}

impl Trie {
    fn insert(&mut self, segs: &[Segment]) {
        let Some((first, rest)) = segs.split_first() else {
            return;
        };
        let key = match first {
            Segment::Name(n) => n.clone(),
            Segment::Any | Segment::Alias(_) => "*".to_owned(),
        };
        self.children.entry(key).or_default().insert(rest);
    }

    /// One-level listings a walk from this node takes: one here when something below is
    /// named, plus those of every child (twice those below a wildcard).
    fn estimate(&self, depth: usize) -> usize {
        if self.children.is_empty() {
            return 0;
        }
        if depth > UNDISCOVERED_DEPTH {
            return 1;
        }
        1 + self
            .children
            .iter()
            .map(|(k, child)| {
                let below = child.estimate(depth + 1);
                if k == "*" {
                    below.saturating_mul(WILDCARD_MULTIPLIER)
                } else {
                    below
                }
            })
            .fold(0usize, usize::saturating_add)
    }
}

/// Whether `object` (`""` for the root) is listed one level only, given the declarations'
/// patterns (those that do not pass below it do not count).
pub(super) fn one_level(object: &str, patterns: &[&[Segment]]) -> bool {
    let depth = if object.is_empty() {
        0
    } else {
        object.split('.').count()
    };
    let mut trie = Trie::default();
    for segs in patterns {
        if segs.len() > depth && path::matches(segs, object, true) {
            trie.insert(&segs[depth..]);
        }
    }
    let threshold = 1usize << 8usize.saturating_sub(depth);
    trie.estimate(depth) < threshold
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(patterns: &[&str]) -> Vec<Vec<Segment>> {
        patterns
            .iter()
            .map(|p| path::parse(p).expect("pattern"))
            .collect()
    }

    fn walks(object: &str, patterns: &[&str]) -> bool {
        let parsed = parsed(patterns);
        let refs: Vec<&[Segment]> = parsed.iter().map(Vec::as_slice).collect();
        one_level(object, &refs)
    }

    #[test]
    fn named_paths_are_walked_and_refreshed_subtrees_listed_whole() {
        // A handful of named leaves: a walk of a few one-level listings.
        assert!(walks(
            "InternetGatewayDevice",
            &[
                "InternetGatewayDevice.ManagementServer.ConnectionRequestUsername",
                "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID",
                "InternetGatewayDevice.LANDevice.*.WLANConfiguration.*.KeyPassphrase",
            ]
        ));
        // The root is always walked for a few paths.
        assert!(walks(
            "",
            &["Device.ManagementServer.URL", "*.DeviceInfo.*"]
        ));
        // A refresh declares every depth below the object with wildcards: the estimate
        // doubles at each and the whole subtree is listed at once.
        let refresh: Vec<String> = (1..=15)
            .map(|k| format!("Device{}", ".*".repeat(k)))
            .collect();
        let refresh: Vec<&str> = refresh.iter().map(String::as_str).collect();
        assert!(!walks("Device", &refresh));
        // Patterns elsewhere do not count.
        assert!(walks("Device.WiFi", &refresh[..0]));
    }
}
