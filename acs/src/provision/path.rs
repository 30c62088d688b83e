//! Path patterns of declarations: literal segments, `*` (any instance) and GenieACS's alias
//! filters `[Key:Value,…]` (the instances whose `Key` parameters hold those values), and their
//! expansion against the known tree.

use acs_store::{ParamTree, Value};

/// Most segments a pattern may have (GenieACS's `MAX_DEPTH` is 16; TR-181 paths stay below).
pub const MAX_SEGMENTS: usize = 32;

/// One segment of a path pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A literal name or instance number.
    Name(String),
    /// `*`: every instance.
    Any,
    /// `[Key:Value,…]`: the instances whose `Key` (a relative path) holds `Value`, for each pair.
    Alias(Vec<(String, String)>),
}

/// Why a pattern cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid path pattern {pattern:?}: {why}")]
pub struct PatternError {
    /// The pattern.
    pub pattern: String,
    /// What is wrong with it.
    pub why: &'static str,
}

/// Splits a pattern into segments; dots inside an alias filter belong to the filter.
pub fn parse(pattern: &str) -> Result<Vec<Segment>, PatternError> {
    let err = |why| PatternError {
        pattern: pattern.to_owned(),
        why,
    };
    let trimmed = pattern.strip_suffix('.').unwrap_or(pattern);
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let mut rest = trimmed;
    loop {
        if out.len() >= MAX_SEGMENTS {
            return Err(err("too many segments"));
        }
        let (seg, tail) = if let Some(inner) = rest.strip_prefix('[') {
            let end = inner
                .find(']')
                .ok_or_else(|| err("unclosed alias filter"))?;
            let filter = &inner[..end];
            let after = &inner[end + 1..];
            // `[]` (an alias filter with no keys) is GenieACS's spelling of every instance.
            if filter.trim().is_empty() {
                out.push(Segment::Any);
                if after.is_empty() {
                    return Ok(out);
                }
                rest = after
                    .strip_prefix('.')
                    .ok_or_else(|| err("junk after alias filter"))?;
                continue;
            }
            let mut pairs = Vec::new();
            for pair in filter.split(',') {
                let (k, v) = pair
                    .split_once(':')
                    .ok_or_else(|| err("alias without ':'"))?;
                if k.trim().is_empty() {
                    return Err(err("alias with an empty key"));
                }
                pairs.push((k.trim().to_owned(), v.to_owned()));
            }
            (Segment::Alias(pairs), after)
        } else {
            let end = rest.find('.').unwrap_or(rest.len());
            let name = &rest[..end];
            if name.is_empty() {
                return Err(err("empty segment"));
            }
            if name.contains(['[', ']']) {
                return Err(err("misplaced bracket"));
            }
            let seg = if name == "*" {
                Segment::Any
            } else {
                Segment::Name(name.to_owned())
            };
            (seg, &rest[end..])
        };
        out.push(seg);
        if tail.is_empty() {
            return Ok(out);
        }
        rest = tail
            .strip_prefix('.')
            .ok_or_else(|| err("junk after alias filter"))?;
        if rest.is_empty() {
            return Err(err("empty segment"));
        }
    }
}

/// Joins a base path and a child name.
pub fn join(base: &str, seg: &str) -> String {
    if base.is_empty() {
        seg.to_owned()
    } else {
        format!("{base}.{seg}")
    }
}

/// The direct children of an object in the known tree (the root, `""`, is nobody's child: its
/// node only records when the root was listed).
pub fn children(tree: &ParamTree, object: &str) -> Vec<String> {
    let depth = if object.is_empty() {
        1
    } else {
        object.split('.').count() + 1
    };
    tree.iter_prefix(object)
        .map(|(p, _)| p)
        .filter(|p| !p.is_empty() && p.split('.').count() == depth)
        .map(str::to_owned)
        .collect()
}

/// Whether the instance at `path` holds every alias value.
pub fn alias_matches(tree: &ParamTree, path: &str, pairs: &[(String, String)]) -> bool {
    pairs.iter().all(|(k, v)| {
        tree.get(&join(path, k))
            .and_then(|p| p.value.as_ref())
            .is_some_and(|have| same_value(have, v))
    })
}

/// Whether a stored value equals a declared text (booleans compare as GenieACS's `true`/`1`).
pub fn same_value(v: &Value, want: &str) -> bool {
    match v {
        Value::Boolean(b) => matches!((b, want), (true, "true" | "1") | (false, "false" | "0")),
        other => other.text() == want,
    }
}

/// Each segment's set of matching paths, level by level: `levels[i]` holds the paths that match
/// the first `i` segments (`levels[0]` is the root, `""`). Literal segments are kept even when
/// the tree does not know them yet (a declared leaf the device never reported may exist), except
/// at the last level, where only known nodes remain.
pub fn levels(tree: &ParamTree, segs: &[Segment]) -> Vec<Vec<String>> {
    let mut levels = vec![vec![String::new()]];
    for (i, seg) in segs.iter().enumerate() {
        let mut next = Vec::new();
        for base in &levels[i] {
            match seg {
                Segment::Any => next.extend(children(tree, base)),
                Segment::Alias(pairs) => next.extend(
                    children(tree, base)
                        .into_iter()
                        .filter(|c| alias_matches(tree, c, pairs)),
                ),
                Segment::Name(n) => {
                    let p = join(base, n);
                    if i + 1 < segs.len() || tree.get(&p).is_some() {
                        next.push(p);
                    }
                }
            }
        }
        levels.push(next);
    }
    levels
}

/// The concrete paths a pattern covers in the known tree (objects and leaves alike). A pattern
/// that does not parse covers nothing.
pub fn expand(tree: &ParamTree, pattern: &str) -> Vec<String> {
    let Ok(segs) = parse(pattern) else {
        return Vec::new();
    };
    let mut found = levels(tree, &segs).pop().unwrap_or_default();
    found.retain(|p| tree.get(p).is_some());
    found
}

/// Whether a concrete path matches pattern segments (`*` and alias filters match any one
/// segment: whether the instance holds the keys is not known from the path). With `prefix`,
/// the path may also stop above the pattern's end.
pub fn matches(segs: &[Segment], path: &str, prefix: bool) -> bool {
    let path = path.trim_end_matches('.');
    let parts: Vec<&str> = if path.is_empty() {
        Vec::new()
    } else {
        path.split('.').collect()
    };
    if parts.len() > segs.len() || (!prefix && parts.len() != segs.len()) {
        return false;
    }
    parts.iter().zip(segs).all(|(p, s)| match s {
        Segment::Name(n) => n == p,
        Segment::Any | Segment::Alias(_) => true,
    })
}

/// The instance number at the end of a path (0 if it is not a number).
pub fn instance_number(path: &str) -> u64 {
    path.rsplit('.')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_split_on_dots_outside_alias_filters() {
        assert_eq!(
            parse("Device.WiFi.SSID.[SSID:Guest,X_Vendor.Mode:a:b].Enable").unwrap(),
            vec![
                Segment::Name("Device".into()),
                Segment::Name("WiFi".into()),
                Segment::Name("SSID".into()),
                Segment::Alias(vec![
                    ("SSID".into(), "Guest".into()),
                    ("X_Vendor.Mode".into(), "a:b".into())
                ]),
                Segment::Name("Enable".into()),
            ]
        );
        assert_eq!(
            parse("Device.WiFi.SSID.*.").unwrap().last(),
            Some(&Segment::Any)
        );
        assert_eq!(parse("A.[].B").unwrap()[1], Segment::Any);
        for bad in [
            "Device..X",
            "Device.[SSID",
            "Device.[:x]",
            "Device.[a]",
            "Device.[a:b]x",
            "A.b]c",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let deep = vec!["a"; MAX_SEGMENTS + 1].join(".");
        assert!(parse(&deep).is_err());
    }
}
