//! How a virtual CPE authenticates to the ACS.
//!
//! Passwords are either configured directly or derived per device from a fleet secret, the way
//! the ACS derives them (`hex(HMAC-SHA256(secret, username))`, first 20 characters), so that one
//! secret provisions thousands of distinct credentials.

use std::fmt;

/// Where a CPE's ACS password comes from. `Debug` never prints the secret.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// The same password for every CPE.
    Password(String),
    /// A fleet secret; each CPE's password is derived from it and the CPE's username.
    Secret(String),
    /// The CPE's own `ManagementServer.Username` and `Password`, read at the start of every
    /// session as a real CPE uses them: an ACS that sets them re-keys the CPE.
    Model,
}

impl Credential {
    /// The password for `username`.
    pub fn password_for(&self, username: &str) -> String {
        match self {
            Self::Password(p) => p.clone(),
            Self::Secret(s) => derive_password(s, username),
            // Resolved from the model before a session starts (`CpeAuth::with_credential`).
            Self::Model => String::new(),
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Password(_) => f.write_str("Password(***)"),
            Self::Secret(_) => f.write_str("Secret(***)"),
            Self::Model => f.write_str("Model"),
        }
    }
}

/// How the CPE authenticates its sessions to the ACS. The username is the device id
/// (`OUI-ProductClass-Serial`), or the model's `ManagementServer.Username` with
/// [`Credential::Model`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CpeAuth {
    /// No credentials: a 401 ends the session as failed.
    #[default]
    None,
    /// Answer Digest challenges (qop `auth`).
    Digest(Credential),
    /// Send Basic pre-emptively on every request (as genieacs-sim does).
    Basic(Credential),
}

impl CpeAuth {
    /// The credential, if any.
    pub fn credential(&self) -> Option<&Credential> {
        match self {
            Self::None => None,
            Self::Digest(c) | Self::Basic(c) => Some(c),
        }
    }

    /// The same scheme with another credential.
    pub fn with_credential(&self, credential: Credential) -> Self {
        match self {
            Self::None => Self::None,
            Self::Digest(_) => Self::Digest(credential),
            Self::Basic(_) => Self::Basic(credential),
        }
    }
}

pub use cwmp::auth::derive_password;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_passwords_match_rfc4231_and_hide_in_debug() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            derive_password("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a04"
        );
        let c = Credential::Secret("s3cret".into());
        assert_eq!(format!("{c:?}"), "Secret(***)");
        assert_eq!(c.password_for("a").len(), 20);
        assert_eq!(Credential::Password("p".into()).password_for("x"), "p");
    }
}
