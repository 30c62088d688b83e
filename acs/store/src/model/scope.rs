//! Scoped tree reads: which nodes of a device's tree a caller needs, when it does not need all
//! of them.
//!
//! A session that runs a script over a device with thousands of parameters reads a handful of
//! them; decoding the whole stored tree for it costs more than the rest of the session (see
//! `benches/README.md`, "Scripts in sessions"). A [`TreeScope`] names the handful as path
//! patterns, and [`crate::StoreReader::get_tree_scoped`] returns only the nodes they select.

use std::collections::BTreeSet;

/// One segment of a scope pattern.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScopeSegment {
    /// Any name or instance number (`*`).
    Any,
    /// This name or instance number.
    Name(String),
}

/// A scope pattern: segments, and whether the nodes below its matches are selected too.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Pattern {
    segs: Vec<ScopeSegment>,
    subtree: bool,
}

/// The nodes of a tree a scoped read returns: every node a pattern matches, every node above
/// such a match (the objects a path walk passes through) and, for a subtree pattern, every node
/// below one.
///
/// Patterns are kept sorted and deduplicated, so two scopes with the same patterns have the
/// same [`TreeScope::key`] whatever order they were added in (the store caches the ids a scope
/// selects by that key).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeScope {
    patterns: BTreeSet<Pattern>,
}

impl TreeScope {
    /// A scope selecting nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the nodes `segs` matches and the nodes above them; with `subtree`, the nodes below
    /// them too. An empty pattern with `subtree` selects the whole tree.
    pub fn add(&mut self, segs: Vec<ScopeSegment>, subtree: bool) {
        self.patterns.insert(Pattern { segs, subtree });
    }

    /// Adds a dotted pattern (`*` for any segment, a trailing dot ignored).
    pub fn add_dotted(&mut self, pattern: &str, subtree: bool) {
        self.add(segments(pattern), subtree);
    }

    /// Whether the scope selects nothing.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Number of patterns.
    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    /// Whether the node at `path` is selected.
    pub fn selects(&self, path: &str) -> bool {
        let path = path.strip_suffix('.').unwrap_or(path);
        self.patterns.iter().any(|p| {
            let mut names = if path.is_empty() {
                None
            } else {
                Some(path.split('.'))
            }
            .into_iter()
            .flatten();
            let mut segs = p.segs.iter();
            loop {
                match (names.next(), segs.next()) {
                    // The path ended at or above the pattern's end: a match or an ancestor.
                    (None, _) => return true,
                    // The path goes on below a match.
                    (Some(_), None) => return p.subtree,
                    (Some(n), Some(ScopeSegment::Name(s))) if n != s => return false,
                    (Some(_), Some(_)) => {}
                }
            }
        })
    }

    /// Whether every node `segs` can match, and every node above one, is selected (and, with
    /// `subtree`, every node below one): a reader of the scoped tree sees there exactly what
    /// the whole tree holds.
    pub fn covers(&self, segs: &[ScopeSegment], subtree: bool) -> bool {
        self.patterns.iter().any(|p| {
            let shared = segs.len().min(p.segs.len());
            let fits =
                segs[..shared]
                    .iter()
                    .zip(&p.segs[..shared])
                    .all(|(want, have)| match have {
                        ScopeSegment::Any => true,
                        ScopeSegment::Name(h) => matches!(want, ScopeSegment::Name(w) if w == h),
                    });
            let deep_enough = if subtree {
                p.subtree && p.segs.len() <= segs.len()
            } else {
                segs.len() <= p.segs.len() || p.subtree
            };
            fits && deep_enough
        })
    }

    /// A canonical text of the patterns: equal for equal scopes.
    pub fn key(&self) -> String {
        let mut out = String::new();
        for p in &self.patterns {
            out.push(if p.subtree { '+' } else { '=' });
            for (i, s) in p.segs.iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                match s {
                    ScopeSegment::Any => out.push('*'),
                    ScopeSegment::Name(n) => out.push_str(n),
                }
            }
            out.push('\n');
        }
        out
    }
}

/// The segments of a dotted pattern.
pub fn segments(pattern: &str) -> Vec<ScopeSegment> {
    let pattern = pattern.strip_suffix('.').unwrap_or(pattern);
    if pattern.is_empty() {
        return Vec::new();
    }
    pattern
        .split('.')
        .map(|s| match s {
            "*" => ScopeSegment::Any,
            n => ScopeSegment::Name(n.to_owned()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(patterns: &[(&str, bool)]) -> TreeScope {
        let mut s = TreeScope::new();
        for (p, sub) in patterns {
            s.add_dotted(p, *sub);
        }
        s
    }

    #[test]
    fn a_node_pattern_selects_its_matches_and_their_ancestors_only() {
        let s = scope(&[("Device.WiFi.SSID.*.SSID", false)]);
        for yes in [
            "Device",
            "Device.WiFi",
            "Device.WiFi.SSID",
            "Device.WiFi.SSID.1",
            "Device.WiFi.SSID.2.SSID",
        ] {
            assert!(s.selects(yes), "{yes}");
        }
        for no in [
            "Device.WiFi.Radio",
            "Device.WiFi.SSID.1.Enable",
            "Device.WiFi.SSID.1.SSID.X",
            "InternetGatewayDevice",
            "Device.WiFiX",
        ] {
            assert!(!s.selects(no), "{no}");
        }
    }

    #[test]
    fn a_subtree_pattern_selects_what_lies_below_its_matches() {
        let s = scope(&[("Device.Hosts.Host.*", true)]);
        assert!(s.selects("Device.Hosts.Host.3.IPAddress"));
        assert!(s.selects("Device.Hosts"));
        assert!(!s.selects("Device.Hosts.HostNumberOfEntries"));
        let all = scope(&[("", true)]);
        assert!(all.selects("Anything.At.All"));
    }

    #[test]
    fn coverage_is_judged_on_patterns_not_paths() {
        let s = scope(&[
            ("Device.WiFi.SSID.*.SSID", false),
            ("VirtualParameters", true),
        ]);
        let covers = |p: &str, sub: bool| s.covers(&segments(p), sub);
        assert!(covers("Device.WiFi.SSID.2.SSID", false));
        assert!(covers("Device.WiFi.SSID.*", false));
        assert!(covers("Device.WiFi", false));
        assert!(covers("VirtualParameters.rx", false));
        assert!(covers("VirtualParameters.rx", true));
        assert!(!covers("Device.WiFi.SSID.*.Enable", false));
        assert!(!covers("Device.WiFi.SSID.*", true));
        assert!(
            !covers("Device.*.SSID.1.SSID", false),
            "a wildcard where the scope names"
        );
        assert!(!covers("Device.WiFi.SSID.1.SSID.X", false));
    }

    #[test]
    fn the_key_does_not_depend_on_the_order_of_patterns() {
        let a = scope(&[("A.B", false), ("C.*", true)]);
        let b = scope(&[("C.*", true), ("A.B", false), ("A.B", false)]);
        assert_eq!(a.key(), b.key());
        assert_eq!(a.len(), 2);
        assert_ne!(a.key(), scope(&[("A.B", true), ("C.*", true)]).key());
    }
}
