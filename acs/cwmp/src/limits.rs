//! Resource limits applied while parsing peer input.
//!
//! Every envelope comes from a device we do not control, so the parser refuses work beyond these
//! bounds instead of trusting the peer to be reasonable. The defaults fit the largest real
//! responses we have seen (a full-tree GetParameterValuesResponse of a TR-181 router is about
//! 6,000 parameters and 1–2 MiB) with a wide margin.

/// Bounds on what [`crate::parse_envelope`] accepts. Exceeding any of them yields the matching
/// limit error of [`crate::ParseError`] (which maps to fault 8004 "Resources exceeded").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted envelope in bytes; checked before any parsing (default 8 MiB).
    pub max_body_bytes: usize,
    /// Deepest accepted element nesting, counting the Envelope as depth 1 (default 32).
    pub max_depth: usize,
    /// Most parameter entries (value, info, attribute structs and `string` names) (default 20,000).
    pub max_parameters: usize,
    /// Longest accepted text content or attribute value in bytes (default 64 KiB).
    pub max_string_len: usize,
    /// Most elements in one envelope (default 400,000).
    pub max_elements: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 8 * 1024 * 1024,
            max_depth: 32,
            max_parameters: 20_000,
            max_string_len: 64 * 1024,
            max_elements: 400_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documented_values() {
        let l = Limits::default();
        assert_eq!(l.max_body_bytes, 8 << 20);
        assert_eq!(l.max_depth, 32);
        assert_eq!(l.max_parameters, 20_000);
        assert_eq!(l.max_string_len, 65_536);
        assert_eq!(l.max_elements, 400_000);
    }
}
