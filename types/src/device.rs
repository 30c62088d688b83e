//! A CPE's identity as the ACS, the store, the NBI and the hub name it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A validated device id in the GenieACS charset (`[A-Za-z0-9_%-]`, 1-256 bytes), GenieACS's
/// `<OUI>-<ProductClass>-<Serial>` with escaping.
///
/// The charset matters beyond compatibility: it never contains a NUL byte, which the store's key
/// encoding relies on, and it is safe in NBI URL path segments without further escaping.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DeviceId(String);

impl DeviceId {
    /// Longest id accepted: anything longer is far more likely garbage from a misbehaving CPE
    /// than a real id.
    pub const MAX_LEN: usize = 256;

    /// Parses and validates a device id.
    pub fn parse(s: &str) -> Result<Self, InvalidDeviceId> {
        let ok = !s.is_empty()
            && s.len() <= Self::MAX_LEN
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'%' | b'-'));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            // Enough of the input to recognise it, never an unbounded copy of peer input.
            Err(InvalidDeviceId(s.chars().take(300).collect()))
        }
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for DeviceId {
    type Error = InvalidDeviceId;
    fn try_from(s: String) -> Result<Self, InvalidDeviceId> {
        Self::parse(&s)
    }
}

impl From<DeviceId> for String {
    fn from(id: DeviceId) -> Self {
        id.0
    }
}

/// A string that is not a device id (empty, too long, or outside `[A-Za-z0-9_%-]`); holds the
/// start of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidDeviceId(pub String);

impl fmt::Display for InvalidDeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid device id {:?}: must be 1-256 bytes of [A-Za-z0-9_%-]",
            self.0
        )
    }
}

impl std::error::Error for InvalidDeviceId {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_id_charset() {
        assert!(DeviceId::parse("202BC1-Device2-22B1%2D0001_x").is_ok());
        assert!(DeviceId::parse("").is_err());
        assert!(DeviceId::parse("a b").is_err());
        assert!(DeviceId::parse("a.b").is_err());
        assert!(DeviceId::parse("a\0b").is_err());
        assert!(DeviceId::parse(&"a".repeat(256)).is_ok());
        assert!(DeviceId::parse(&"a".repeat(257)).is_err());
    }

    #[test]
    fn errors_hold_a_bounded_prefix() {
        let long = "é".repeat(1000);
        let e = DeviceId::parse(&long).unwrap_err();
        assert_eq!(e.0.chars().count(), 300);
        assert!(e.to_string().starts_with("invalid device id \"éé"));
    }

    #[test]
    fn serde_is_a_validated_string() {
        let id = DeviceId::parse("A-B-C").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"A-B-C\"");
        assert_eq!(serde_json::from_str::<DeviceId>("\"A-B-C\"").unwrap(), id);
        assert!(serde_json::from_str::<DeviceId>("\"a b\"").is_err());
    }
}
