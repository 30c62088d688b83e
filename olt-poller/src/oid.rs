//! Object identifiers as owned `u32` sub-identifiers.
//!
//! Huawei PON ifIndexes (4194304000 and up) exceed 2^31, so every sub-identifier is a `u32`, never
//! an `i32`; anything larger than `u32::MAX` is refused rather than truncated.

use std::fmt;
use std::str::FromStr;

use crate::error::OltError;

/// Longest OID accepted from a peer or a profile (RFC 2578 caps OIDs at 128 sub-identifiers).
pub(crate) const MAX_OID_LEN: usize = 128;

/// An SNMP object identifier.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Oid(Vec<u32>);

impl Oid {
    /// Builds an OID from sub-identifiers; refuses empty or over-long ones.
    pub fn new(parts: Vec<u32>) -> Result<Self, OltError> {
        if parts.is_empty() || parts.len() > MAX_OID_LEN {
            return Err(OltError::BadOid(format!("{} sub-identifiers", parts.len())));
        }
        Ok(Self(parts))
    }

    /// The sub-identifiers.
    pub fn parts(&self) -> &[u32] {
        &self.0
    }

    /// Whether `self` lies strictly inside the subtree rooted at `prefix`.
    pub fn is_under(&self, prefix: &Self) -> bool {
        self.0.len() > prefix.0.len() && self.0.starts_with(&prefix.0)
    }

    /// The sub-identifiers after `prefix`, if `self` is inside its subtree.
    pub fn suffix(&self, prefix: &Self) -> Option<&[u32]> {
        self.is_under(prefix).then(|| &self.0[prefix.0.len()..])
    }

    /// `self` followed by more sub-identifiers.
    pub fn child(&self, more: &[u32]) -> Self {
        let mut v = self.0.clone();
        v.extend_from_slice(more);
        Self(v)
    }

    /// Converts to the `snmp2` (asn1-rs) representation for a request.
    pub(crate) fn to_snmp2(&self) -> Result<snmp2::Oid<'static>, OltError> {
        let parts: Vec<u64> = self.0.iter().map(|&p| u64::from(p)).collect();
        snmp2::Oid::from(&parts).map_err(|_| OltError::BadOid(self.to_string()))
    }

    /// Converts from a peer's OID; a sub-identifier above `u32::MAX` is a peer error.
    pub(crate) fn from_snmp2(oid: &snmp2::Oid<'_>) -> Result<Self, OltError> {
        let iter = oid
            .iter()
            .ok_or_else(|| OltError::BadOid("sub-identifier wider than 64 bits".into()))?;
        let mut parts = Vec::new();
        for p in iter {
            if parts.len() == MAX_OID_LEN {
                return Err(OltError::BadOid("too many sub-identifiers".into()));
            }
            parts.push(
                u32::try_from(p).map_err(|_| OltError::BadOid(format!("sub-identifier {p}")))?,
            );
        }
        Self::new(parts)
    }
}

impl FromStr for Oid {
    type Err = OltError;

    /// Parses dotted decimal, with or without a leading dot.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.strip_prefix('.').unwrap_or(s);
        let parts = t
            .split('.')
            .map(|p| {
                p.parse::<u32>()
                    .map_err(|_| OltError::BadOid(format!("{s:?}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(parts)
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oid({self})")
    }
}

impl serde::Serialize for Oid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Oid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_u32_indexes() {
        let o: Oid = ".1.3.6.1.4.1.2011.6.128.1.1.2.46.1.15.4194312192.0"
            .parse()
            .unwrap();
        assert_eq!(o.parts()[15], 4_194_312_192);
        assert_eq!(
            o.to_string(),
            "1.3.6.1.4.1.2011.6.128.1.1.2.46.1.15.4194312192.0"
        );
        let back = Oid::from_snmp2(&o.to_snmp2().unwrap()).unwrap();
        assert_eq!(back, o);
    }

    #[test]
    fn refuses_bad_text() {
        assert!("".parse::<Oid>().is_err());
        assert!("1.3.x".parse::<Oid>().is_err());
        assert!("1.3.4294967296".parse::<Oid>().is_err());
        assert!("1..3".parse::<Oid>().is_err());
    }

    #[test]
    fn subtree_membership() {
        let root: Oid = "1.3.6.1.2.1.31.1.1.1.1".parse().unwrap();
        let row = root.child(&[4_194_304_000]);
        assert!(row.is_under(&root));
        assert!(!root.is_under(&root));
        assert_eq!(row.suffix(&root), Some(&[4_194_304_000u32][..]));
        assert_eq!(root.suffix(&row), None);
    }
}
