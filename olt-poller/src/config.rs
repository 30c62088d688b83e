//! Configuration: the OLT list (TOML), credentials as secrets, thresholds.
//!
//! Secrets never sit in the file itself: a community or v3 password is named by an environment
//! variable (`community_env`) or a file (`community_file`), resolved when the config loads.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::OltError;
use crate::model::OltId;
use crate::session::SnmpTarget;

// Communities and v3 passwords are the workspace's one `Secret` type (printed as `***`).
pub use fibreplane_types::Secret;

/// SNMPv3 authentication protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthProtocol {
    /// HMAC-SHA-96 (usmHMACSHAAuthProtocol).
    Sha1,
    /// HMAC-SHA-256 (RFC 7860).
    Sha256,
}

/// SNMPv3 privacy protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrivProtocol {
    /// AES-128-CFB (RFC 3826).
    Aes128,
}

/// SNMPv3 USM credentials.
#[derive(Debug, Clone)]
pub struct V3Credentials {
    /// USM user name.
    pub user: String,
    /// Authentication protocol.
    pub auth: AuthProtocol,
    /// Authentication password.
    pub auth_password: Secret,
    /// Privacy protocol and password (authPriv), or none (authNoPriv).
    pub privacy: Option<(PrivProtocol, Secret)>,
}

/// How the poller authenticates to an OLT.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// SNMPv2c community.
    V2c {
        /// The community.
        community: Secret,
    },
    /// SNMPv3 USM.
    V3(V3Credentials),
}

/// Where a secret comes from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    /// An environment variable holding it.
    pub env: Option<String>,
    /// A file holding it (trailing newline trimmed).
    pub file: Option<PathBuf>,
}

impl SecretRef {
    /// Reads the secret; exactly one source must be set and non-empty.
    pub fn resolve(&self, what: &str) -> Result<Secret, OltError> {
        let v = match (&self.env, &self.file) {
            (Some(var), None) => std::env::var(var).map_err(|_| {
                OltError::Config(format!("{what}: environment variable {var} is not set"))
            })?,
            (None, Some(path)) => std::fs::read_to_string(path)
                .map_err(|e| OltError::Config(format!("{what}: reading {}: {e}", path.display())))?
                .trim_end_matches(['\r', '\n'])
                .to_owned(),
            _ => {
                return Err(OltError::Config(format!(
                    "{what}: give exactly one of env, file"
                )));
            }
        };
        if v.is_empty() {
            return Err(OltError::Config(format!("{what} is empty")));
        }
        Ok(Secret::new(v))
    }
}

/// One OLT as written in the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OltEntry {
    /// Unique name.
    pub id: String,
    /// Address.
    pub host: IpAddr,
    /// UDP port.
    #[serde(default = "default_port")]
    pub port: u16,
    /// `2c` or `3`.
    pub version: String,
    /// v2c community.
    pub community: Option<SecretRef>,
    /// v3 user.
    pub user: Option<String>,
    /// v3 authentication protocol.
    pub auth_protocol: Option<AuthProtocol>,
    /// v3 authentication password.
    pub auth_password: Option<SecretRef>,
    /// v3 privacy protocol.
    pub priv_protocol: Option<PrivProtocol>,
    /// v3 privacy password.
    pub priv_password: Option<SecretRef>,
    /// Vendor profile name, a profile file path, or `auto` (by sysObjectID).
    #[serde(default = "auto")]
    pub vendor: String,
    /// Firmware state map (ZTE: `v2` or `mib`); default: the profile's.
    pub firmware: Option<String>,
    /// Poll interval in seconds.
    #[serde(default = "default_interval")]
    pub interval_secs: u64,
    /// Per-request timeout in milliseconds.
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// Retries per request.
    #[serde(default = "default_retries")]
    pub retries: u32,
}

fn default_port() -> u16 {
    161
}
fn auto() -> String {
    "auto".into()
}
fn default_interval() -> u64 {
    60
}
fn default_timeout() -> u64 {
    2000
}
fn default_retries() -> u32 {
    2
}

/// A resolved OLT configuration.
#[derive(Debug, Clone)]
pub struct OltConfig {
    /// Its name.
    pub id: OltId,
    /// How to reach it.
    pub target: SnmpTarget,
    /// Vendor profile choice.
    pub vendor: VendorChoice,
    /// Firmware state map name.
    pub firmware: Option<String>,
    /// Poll interval.
    pub interval: Duration,
}

/// Which vendor profile to use.
#[derive(Debug, Clone)]
pub enum VendorChoice {
    /// Detect by sysObjectID among the built-in profiles.
    Auto,
    /// This profile (a built-in one or one loaded from a file).
    Fixed(Box<crate::profile::Profile>),
}

impl VendorChoice {
    /// Parses `auto`, a built-in name, or a path to a profile file.
    pub fn parse(s: &str) -> Result<Self, OltError> {
        if s == "auto" {
            return Ok(Self::Auto);
        }
        if s.ends_with(".toml") {
            return Ok(Self::Fixed(Box::new(crate::profile::Profile::from_file(
                Path::new(s),
            )?)));
        }
        Ok(Self::Fixed(Box::new(
            crate::profile::Profile::builtin_named(s)?,
        )))
    }
}

/// The config file: `[[olt]]` entries.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    olt: Vec<OltEntry>,
}

impl OltEntry {
    /// Resolves secrets and the vendor profile.
    pub fn resolve(&self) -> Result<OltConfig, OltError> {
        let what = |f: &str| format!("OLT {}: {f}", self.id);
        let credentials = match self.version.as_str() {
            "2c" | "v2c" => Credentials::V2c {
                community: self
                    .community
                    .as_ref()
                    .ok_or_else(|| OltError::Config(what("v2c needs community")))?
                    .resolve(&what("community"))?,
            },
            "3" | "v3" => {
                let user = self
                    .user
                    .clone()
                    .ok_or_else(|| OltError::Config(what("v3 needs user")))?;
                let auth_password = self
                    .auth_password
                    .as_ref()
                    .ok_or_else(|| {
                        OltError::Config(what("v3 needs auth_password (authNoPriv or authPriv)"))
                    })?
                    .resolve(&what("auth_password"))?;
                let privacy = match (&self.priv_password, self.priv_protocol) {
                    (Some(p), proto) => Some((
                        proto.unwrap_or(PrivProtocol::Aes128),
                        p.resolve(&what("priv_password"))?,
                    )),
                    (None, Some(_)) => {
                        return Err(OltError::Config(what(
                            "priv_protocol without priv_password",
                        )));
                    }
                    (None, None) => None,
                };
                Credentials::V3(V3Credentials {
                    user,
                    auth: self.auth_protocol.unwrap_or(AuthProtocol::Sha1),
                    auth_password,
                    privacy,
                })
            }
            v => {
                return Err(OltError::Config(what(&format!(
                    "unsupported SNMP version {v:?}"
                ))));
            }
        };
        if self.interval_secs == 0 || self.timeout_ms == 0 {
            return Err(OltError::Config(what(
                "interval and timeout must be positive",
            )));
        }
        Ok(OltConfig {
            id: OltId::new(self.id.clone())?,
            target: SnmpTarget {
                addr: SocketAddr::new(self.host, self.port),
                credentials,
                timeout: Duration::from_millis(self.timeout_ms),
                retries: self.retries,
            },
            vendor: VendorChoice::parse(&self.vendor)?,
            firmware: self.firmware.clone(),
            interval: Duration::from_secs(self.interval_secs),
        })
    }
}

/// Parses a TOML OLT list and resolves every entry; duplicate ids are refused.
pub fn parse_config(text: &str) -> Result<Vec<OltConfig>, OltError> {
    let f: FileConfig = toml::from_str(text).map_err(|e| OltError::Config(e.to_string()))?;
    let mut out: Vec<OltConfig> = Vec::with_capacity(f.olt.len());
    for e in &f.olt {
        let c = e.resolve()?;
        if out.iter().any(|o| o.id == c.id) {
            return Err(OltError::Config(format!("duplicate OLT id {}", c.id)));
        }
        out.push(c);
    }
    Ok(out)
}

/// Optical alarm thresholds on the ONU's receive level, with hysteresis: a level enters
/// warning at or below `warning_dbm` and leaves it only above `warning_dbm + hysteresis_db`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpticalThresholds {
    /// Warning level (dBm).
    pub warning_dbm: f64,
    /// Critical level (dBm).
    pub critical_dbm: f64,
    /// Hysteresis (dB).
    pub hysteresis_db: f64,
}

impl Default for OpticalThresholds {
    fn default() -> Self {
        Self {
            warning_dbm: -27.0,
            critical_dbm: -30.0,
            hysteresis_db: 1.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_print_redacted_and_come_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c");
        std::fs::write(&f, "s3cret\n").unwrap();
        let text = format!(
            "[[olt]]\nid = \"a\"\nhost = \"127.0.0.1\"\nversion = \"2c\"\nvendor = \"huawei\"\ncommunity = {{ file = {:?} }}\n",
            f.display().to_string()
        );
        let cfg = parse_config(&text).unwrap();
        let dbg = format!("{cfg:?}");
        assert!(!dbg.contains("s3cret"), "{dbg}");
        match &cfg[0].target.credentials {
            Credentials::V2c { community } => assert_eq!(community.expose(), "s3cret"),
            Credentials::V3(_) => panic!("v2c expected"),
        }
    }

    #[test]
    fn v3_entries_resolve_with_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let (a, p) = (dir.path().join("a"), dir.path().join("p"));
        std::fs::write(&a, "auth-pass-1").unwrap();
        std::fs::write(&p, "priv-pass-1").unwrap();
        let text = format!(
            "[[olt]]\nid = \"zte-1\"\nhost = \"127.0.0.1\"\nport = 1161\nversion = \"3\"\nuser = \"ops\"\n\
             auth_protocol = \"sha256\"\nauth_password = {{ file = {:?} }}\npriv_password = {{ file = {:?} }}\n\
             vendor = \"zte\"\nfirmware = \"mib\"\ninterval_secs = 300\n",
            a.display().to_string(),
            p.display().to_string()
        );
        let cfg = parse_config(&text).unwrap();
        let c = &cfg[0];
        assert_eq!(c.target.addr.port(), 1161);
        assert_eq!(c.interval, Duration::from_secs(300));
        assert_eq!(c.firmware.as_deref(), Some("mib"));
        match &c.target.credentials {
            Credentials::V3(v) => {
                assert_eq!(v.auth, AuthProtocol::Sha256);
                assert_eq!(v.auth_password.expose(), "auth-pass-1");
                assert_eq!(v.privacy.as_ref().unwrap().0, PrivProtocol::Aes128);
            }
            Credentials::V2c { .. } => panic!("v3 expected"),
        }
        let dup = format!("{text}{text}");
        assert!(
            parse_config(&dup)
                .unwrap_err()
                .to_string()
                .contains("duplicate")
        );
    }

    #[test]
    fn bad_configs_say_why() {
        let e = parse_config("[[olt]]\nid = \"a\"\nhost = \"127.0.0.1\"\nversion = \"2c\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("community"), "{e}");
        let e = parse_config(
            "[[olt]]\nid = \"a\"\nhost = \"127.0.0.1\"\nversion = \"1\"\ncommunity = { env = \"X\" }\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("version"), "{e}");
        let e = parse_config(
            "[[olt]]\nid = \"a\"\nhost = \"127.0.0.1\"\nversion = \"2c\"\ncommunity = { env = \"FIBREPLANE_TEST_UNSET_VAR\" }\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("FIBREPLANE_TEST_UNSET_VAR"), "{e}");
    }
}
