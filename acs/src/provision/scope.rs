//! What part of a device's tree provisioning reads: declaration paths as store
//! [`TreeScope`]s, and the paths scripts were seen to read, learned so that the next session
//! of a scripted device reads only those (see `session/scripting.rs` for how a script that
//! reads outside its scope is re-run over the whole tree).
//!
//! Every pattern is taken as a subtree: a declared object's refresh reads what lies below it,
//! and the nodes above a match are selected anyway (the planner walks down to it). An alias
//! filter `[Key:Value]` reads every instance and each instance's `Key`.

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

use acs_store::{ScopeSegment, TreeScope};

use super::path::{self, Segment};

/// Most patterns learned from scripts before the scope is given up for whole-tree reads: a
/// script that builds paths from instance numbers or values could otherwise grow it forever.
pub const MAX_LEARNED: usize = 512;

/// The scope patterns a declaration path stands for: the path itself (aliases read as every
/// instance) and the key of each alias filter under its instances. `None` for an unparsable
/// pattern (the planner reports it; there is nothing to read for it).
fn scope_patterns(pattern: &str) -> Option<Vec<Vec<ScopeSegment>>> {
    let segs = path::parse(pattern).ok()?;
    let mut main = Vec::with_capacity(segs.len());
    let mut out = Vec::new();
    for seg in segs {
        match seg {
            Segment::Name(n) => main.push(ScopeSegment::Name(n)),
            Segment::Any => main.push(ScopeSegment::Any),
            Segment::Alias(pairs) => {
                main.push(ScopeSegment::Any);
                for (key, _) in pairs {
                    let mut k = main.clone();
                    k.extend(acs_store::scope_segments(&key));
                    out.push(k);
                }
            }
        }
    }
    out.push(main);
    Some(out)
}

/// Adds what reading `pattern` needs to `scope`.
pub fn add(scope: &mut TreeScope, pattern: &str) {
    for segs in scope_patterns(pattern).unwrap_or_default() {
        scope.add(segs, true);
    }
}

/// Whether a tree read with `scope` holds everything reading `pattern` needs.
pub fn covers(scope: &TreeScope, pattern: &str) -> bool {
    scope_patterns(pattern)
        .unwrap_or_default()
        .iter()
        .all(|segs| scope.covers(segs, true))
}

/// The patterns the scripts of one set of `provisions`/`virtual_parameters` documents were
/// seen to read, in this process. Shared by every session (the `Scripts` hold one).
#[derive(Debug, Default)]
pub struct Learned {
    /// `None` until a script has run over a whole tree: until then no scope is known.
    patterns: Mutex<Option<BTreeSet<String>>>,
}

impl Learned {
    /// Records patterns scripts read in a run over a whole tree or within their scope.
    pub fn record<'a>(&self, patterns: impl IntoIterator<Item = &'a str>) {
        let mut guard = self.patterns.lock().unwrap_or_else(PoisonError::into_inner);
        let set = guard.get_or_insert_with(BTreeSet::new);
        for p in patterns {
            if set.len() > MAX_LEARNED {
                break;
            }
            if !set.contains(p) {
                set.insert(p.to_owned());
            }
        }
    }

    /// Adds the learned patterns to `scope`; false when there are none yet, or too many, and
    /// the whole tree must be read.
    pub fn add_to(&self, scope: &mut TreeScope) -> bool {
        let guard = self.patterns.lock().unwrap_or_else(PoisonError::into_inner);
        match guard.as_ref() {
            Some(set) if set.len() <= MAX_LEARNED => {
                for p in set {
                    add(scope, p);
                }
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alias_reads_every_instance_and_its_key() {
        let mut scope = TreeScope::new();
        add(
            &mut scope,
            "Device.WiFi.SSID.[SSID:home,Enable:true].Status",
        );
        assert!(scope.selects("Device.WiFi.SSID.7.Status"));
        assert!(scope.selects("Device.WiFi.SSID.7.SSID"));
        assert!(scope.selects("Device.WiFi.SSID.7.Enable"));
        assert!(!scope.selects("Device.WiFi.SSID.7.BSSID"));
        assert!(covers(&scope, "Device.WiFi.SSID.[SSID:other].Status"));
        assert!(!covers(&scope, "Device.WiFi.SSID.[BSSID:x].Status"));
        assert!(covers(&scope, "Not a [ pattern"), "nothing to read for it");
    }

    #[test]
    fn nothing_is_known_until_a_script_has_run_and_too_much_gives_up() {
        let learned = Learned::default();
        let mut scope = TreeScope::new();
        assert!(!learned.add_to(&mut scope));
        learned.record(["Device.DeviceInfo.UpTime"]);
        assert!(learned.add_to(&mut scope));
        assert!(covers(&scope, "Device.DeviceInfo.UpTime"));
        let many: Vec<String> = (0..=MAX_LEARNED).map(|i| format!("Device.X.{i}")).collect();
        learned.record(many.iter().map(String::as_str));
        assert!(!learned.add_to(&mut TreeScope::new()));
    }
}
