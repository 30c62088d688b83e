//! Secrets at the type level, and the one constant-time comparison.
//!
//! Passwords, tokens and communities are [`Secret`]s: `Debug` and `Display` print `***`, so a
//! stray `tracing` field, a `{:?}` of a config struct or an error message cannot leak one. Every
//! comparison of something a peer presented with something secret goes through [`ct_eq`] (or
//! [`Secret::matches`]), so the time an answer takes does not tell how much of a guess was right.

use std::fmt;

use subtle::ConstantTimeEq as _;

/// Constant-time equality of two byte strings: the time depends only on the lengths (which are
/// not secret: a token's length is in the documentation), never on where the bytes differ.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    // `subtle` answers 0 for slices of different lengths without looking at their bytes.
    bool::from(a.ct_eq(b))
}

/// A secret string (a password, a bearer token, an SNMP community, a shared webhook secret).
///
/// Equality is constant-time. The value is reachable only through [`Secret::expose`], for the
/// few places that must use it (hashing, the wire).
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// Reads a secret from an environment variable; an unset or empty variable is `None`.
    pub fn from_env(var: &str) -> Option<Self> {
        std::env::var(var).ok().filter(|s| !s.is_empty()).map(Self)
    }

    /// The value itself, for the few places that must use it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is empty (an unset token, a missing password).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `presented` equals this secret, compared in constant time. An empty secret
    /// matches nothing, so an unset token can never be met by an empty credential.
    pub fn matches(&self, presented: &[u8]) -> bool {
        !self.0.is_empty() & ct_eq(self.0.as_bytes(), presented)
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        ct_eq(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s} {:?}", Some(&s)), "*** *** Some(***)");
        assert_eq!(s.expose(), "hunter2");
        let e = std::io::Error::other(format!("login with {s} refused"));
        assert!(!e.to_string().contains("hunter2"));
    }

    #[test]
    fn ct_eq_compares_contents_and_lengths() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(ct_eq(b"", b""));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        assert!(!ct_eq(b"ab", b"abc"));
    }

    #[test]
    fn matching_refuses_an_empty_secret() {
        let s = Secret::new("token");
        assert!(s.matches(b"token"));
        assert!(!s.matches(b"tokem"));
        assert!(!s.matches(b""));
        assert!(!Secret::default().matches(b""));
        assert!(Secret::default().is_empty() && !s.is_empty());
        assert_eq!(s, Secret::new("token"));
        assert_ne!(s, Secret::new("token2"));
    }

    #[test]
    fn from_env_treats_empty_as_missing() {
        // A variable name no other test or tool uses; set only here.
        let var = "FIBREPLANE_TYPES_TEST_SECRET_UNSET";
        assert!(Secret::from_env(var).is_none());
        assert!(Secret::from_env("PATH").is_some_and(|s| !s.is_empty()));
    }
}
