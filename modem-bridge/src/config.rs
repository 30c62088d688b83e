//! Configuration: per-model protocol profiles, optical units, modem identities and the
//! allow-list the service API resolves modem ids against.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::Secret;
use crate::error::BridgeError;
use crate::proto::cipher::CipherVariant;

/// How a firmware encodes optical power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PowerUnit {
    /// Units of 0.1 µW (SFF-8472 style): `dBm = 10·log10(raw / 10000)`. The community code for
    /// this family and the XX230v's TR-069 model use it; it is not yet checked against an XX230v's
    /// own status page (see the tplink-ex note), so it is a setting, not a constant.
    #[default]
    TenthMicrowatt,
    /// Tenths of dBm with the sign dropped: `dBm = -raw / 10` (another public script's reading).
    NegTenthDbm,
}

impl PowerUnit {
    /// Converts a raw reading; `None` when the value has no dBm (zero power).
    pub fn to_dbm(self, raw: f64) -> Option<f64> {
        let dbm = match self {
            Self::TenthMicrowatt if raw > 0.0 => 10.0 * (raw / 10_000.0).log10(),
            Self::TenthMicrowatt => return None,
            Self::NegTenthDbm => -raw / 10.0,
        };
        dbm.is_finite().then(|| crate::diag::round2(dbm))
    }
}

/// Scales of the transceiver's raw integers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OpticsUnits {
    /// Rx/Tx power encoding.
    pub power: PowerUnit,
    /// Raw temperature per °C (256: SFF-8472's 1/256 °C).
    pub temperature_divisor: f64,
    /// Raw voltage per V (1000: millivolts, as the note reads the XX230v).
    pub voltage_divisor: f64,
    /// Microamps per raw bias unit (2: SFF-8472's 2 µA).
    pub bias_ua_per_unit: f64,
}

impl Default for OpticsUnits {
    fn default() -> Self {
        Self {
            power: PowerUnit::TenthMicrowatt,
            temperature_divisor: 256.0,
            voltage_divisor: 1000.0,
            bias_ua_per_unit: 2.0,
        }
    }
}

/// What the bridge must know about a model's firmware. Chosen per model, never probed: a wrong
/// guess costs a counted failed login.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ModemProfile {
    /// The AES variant.
    pub cipher: CipherVariant,
    /// Optical units.
    pub optics: OpticsUnits,
}

impl ModemProfile {
    /// The TP-Link XX230v as Gigafibre deploys it (CBC firmware).
    pub fn xx230v() -> Self {
        Self::default()
    }
}

/// The web UI account a read logs in with. The password never appears in `Debug`.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// `user` on EX firmware (`admin` is refused there).
    pub username: String,
    /// The password.
    pub password: Secret,
}

/// One modem the bridge may talk to.
#[derive(Debug, Clone)]
pub struct ModemTarget {
    /// Its web UI address (plain HTTP).
    pub addr: SocketAddr,
    /// Its firmware profile.
    pub profile: ModemProfile,
    /// The login.
    pub credentials: Credentials,
}

/// A modem id from the allow-list: `[A-Za-z0-9_.-]{1,64}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ModemId(String);

impl ModemId {
    /// Validates an id.
    pub fn new(s: &str) -> Result<Self, BridgeError> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(BridgeError::UnknownModem(s.chars().take(64).collect()))
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ModemId {
    type Error = BridgeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(&s)
    }
}

impl From<ModemId> for String {
    fn from(id: ModemId) -> Self {
        id.0
    }
}

impl std::fmt::Display for ModemId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One allow-list entry as written in the service's JSON file. The password is named by an
/// environment variable or a file (one of the two), never written in the allow-list itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModemEntry {
    /// The id the hub uses.
    pub id: ModemId,
    /// `IP:port` of the web UI.
    pub address: SocketAddr,
    /// Web UI username.
    #[serde(default = "default_user")]
    pub username: String,
    /// Environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// File holding the password (trailing newline ignored).
    #[serde(default)]
    pub password_file: Option<std::path::PathBuf>,
    /// Firmware profile.
    #[serde(default)]
    pub profile: ModemProfile,
}

fn default_user() -> String {
    "user".into()
}

impl ModemEntry {
    /// Resolves the entry into a target, reading the password from the environment.
    pub fn target(&self) -> Result<ModemTarget, BridgeError> {
        let password = match (&self.password_env, &self.password_file) {
            (Some(var), None) => Secret::from_env(var).ok_or_else(|| {
                BridgeError::Config(format!("{var} is not set (password of modem {})", self.id))
            })?,
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    BridgeError::Config(format!("password file of modem {}: {e}", self.id))
                })?;
                Secret::new(text.trim_end_matches(['\r', '\n']))
            }
            _ => {
                return Err(BridgeError::Config(format!(
                    "modem {} needs exactly one of password_env and password_file",
                    self.id
                )));
            }
        };
        Ok(ModemTarget {
            addr: self.address,
            profile: self.profile.clone(),
            credentials: Credentials {
                username: self.username.clone(),
                password,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_units_convert_the_fixture_levels() {
        // The XX230v fixture reads RXPower 5624 and TXPower 14880.
        assert_eq!(PowerUnit::TenthMicrowatt.to_dbm(5624.0), Some(-2.5));
        assert_eq!(PowerUnit::TenthMicrowatt.to_dbm(14880.0), Some(1.73));
        assert_eq!(PowerUnit::TenthMicrowatt.to_dbm(0.0), None);
        assert_eq!(PowerUnit::NegTenthDbm.to_dbm(215.0), Some(-21.5));
    }

    #[test]
    fn modem_ids_are_restricted() {
        assert!(ModemId::new("fpsim-00000001").is_ok());
        for bad in ["", "a/b", "127.0.0.1:80/x", &"x".repeat(65), "ü"] {
            assert!(ModemId::new(bad).is_err(), "{bad}");
        }
    }
}
