//! `fibreplane.toml`: the configuration of `fibreplane run`, one section per component, every
//! scalar key overridable by an environment variable `FIBREPLANE_<SECTION>_<KEY>` (top-level
//! keys `FIBREPLANE_<KEY>`), e.g. `FIBREPLANE_HUB_LISTEN=0.0.0.0:8080`. Lists of tables (`[[olt]]`,
//! `[[modem.modems]]`) come from the file only.
//!
//! Secrets are never config values: each is read from a file named in the config, or from an
//! environment variable (`FIBREPLANE_TOKEN`, `FIBREPLANE_CPE_SECRET`, …), never from argv where
//! every local user can read it.

use acs::Secret;
use anyhow::{Context, bail};
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the store and uploaded files live.
    pub data_dir: PathBuf,
    /// `redb` (default) or `sled`.
    pub store: String,
    /// The TR-069 ACS.
    pub acs: AcsSection,
    /// The GenieACS-compatible NBI.
    pub nbi: NbiSection,
    /// The file server.
    pub fs: FsSection,
    /// The hub API.
    pub hub: HubSection,
    /// OLTs to poll (`[[olt]]`, the poller's own format).
    pub olt: Vec<olt_poller::OltEntry>,
    /// The modem bridge.
    pub modem: ModemSection,
    /// MQTT publishing of hub events.
    pub mqtt: MqttSection,
    /// The ERPNext-driven provisioner.
    pub provisioner: ProvisionerSection,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            store: "redb".into(),
            acs: AcsSection::default(),
            nbi: NbiSection::default(),
            fs: FsSection::default(),
            hub: HubSection::default(),
            olt: Vec::new(),
            modem: ModemSection::default(),
            mqtt: MqttSection::default(),
            provisioner: ProvisionerSection::default(),
        }
    }
}

/// `[provisioner]`: off unless `erp_url` is set.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProvisionerSection {
    /// Base URL of the ERPNext (Frappe) site, `https://` (or `http://`).
    pub erp_url: Option<String>,
    /// A PEM file of CAs trusted for ERPNext beside the system's roots (a private CA).
    pub erp_ca_file: Option<PathBuf>,
    /// API key of the integration user (its secret from `erp_api_secret_file` or
    /// `FIBREPLANE_ERP_API_SECRET`).
    pub erp_api_key: String,
    /// File with the API secret.
    pub erp_api_secret_file: Option<PathBuf>,
    /// How often ERPNext is polled for modified records, seconds.
    pub poll_interval_secs: u64,
    /// Push changed settings at once through a connection request (else at the next inform).
    pub push_on_change: bool,
}

impl Default for ProvisionerSection {
    fn default() -> Self {
        Self {
            erp_url: None,
            erp_ca_file: None,
            erp_api_key: String::new(),
            erp_api_secret_file: None,
            poll_interval_secs: 30,
            push_on_change: false,
        }
    }
}

/// `[acs]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AcsSection {
    /// CWMP listener.
    pub cwmp_listen: SocketAddr,
    /// `digest` or `none` (lab only).
    pub cpe_auth: String,
    /// File with the secret CPE passwords derive from (else `FIBREPLANE_CPE_SECRET`).
    pub cpe_secret_file: Option<PathBuf>,
    /// Concurrent sessions before 503.
    pub max_sessions: usize,
    /// A PEM file of CAs that signed CPE certificates, for `https://` connection requests.
    pub cr_tls_ca_file: Option<PathBuf>,
    /// Accept any CPE certificate on `https://` connection requests (logged at warn).
    pub cr_tls_skip_verify: bool,
    /// Session timeout, seconds.
    pub session_timeout_secs: u64,
    /// CWMP threads (0: one per two cores).
    pub cwmp_threads: usize,
    /// Discover a new device's whole tree.
    pub bootstrap_refresh: bool,
    /// GenieACS's `EXT_DIR`: the extensions scripts call with `ext()` (needs Node.js).
    pub ext_dir: Option<PathBuf>,
    /// Seconds a transfer the CPE accepted may go unreported before its task faults
    /// `timeout` (GenieACS's `cwmp.downloadTimeout`).
    pub download_timeout_secs: u64,
    /// Days an adoption admits its device without a verified password.
    pub adoption_window_days: u64,
    /// File of vendors' default CPE credentials (`OUI PRODUCTCLASS USERNAME [PASSWORD]` per
    /// line): a known CPE back with `0 BOOTSTRAP` and these is re-keyed.
    pub vendor_defaults_file: Option<PathBuf>,
}

impl Default for AcsSection {
    fn default() -> Self {
        Self {
            cwmp_listen: SocketAddr::from(([0, 0, 0, 0], 7547)),
            cpe_auth: "digest".into(),
            cpe_secret_file: None,
            max_sessions: 2048,
            cr_tls_ca_file: None,
            cr_tls_skip_verify: false,
            session_timeout_secs: 30,
            cwmp_threads: 0,
            bootstrap_refresh: true,
            ext_dir: None,
            download_timeout_secs: 3600,
            adoption_window_days: 14,
            vendor_defaults_file: None,
        }
    }
}

/// `[nbi]`: off unless `listen` is set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NbiSection {
    /// Listener (GenieACS uses 7557).
    pub listen: Option<SocketAddr>,
    /// File with the NBI token (else `FIBREPLANE_NBI_TOKEN`, else the hub's token).
    pub token_file: Option<PathBuf>,
}

/// `[fs]`: off unless `listen` is set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FsSection {
    /// Listener (GenieACS uses 7567).
    pub listen: Option<SocketAddr>,
    /// The URL CPEs fetch files from (default `http://<listen>`).
    pub url: Option<String>,
}

/// `[hub]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HubSection {
    /// The hub API listener.
    pub listen: SocketAddr,
    /// File with the staff bearer token (else `FIBREPLANE_TOKEN`).
    pub token_file: Option<PathBuf>,
    /// Reverse proxies whose forward-auth identity header is trusted.
    pub trusted_proxies: Vec<IpAddr>,
    /// The identity header a trusted proxy sets (oauth2-proxy, Authelia, …).
    pub forward_user_header: String,
    /// File with the HS256 key of technician tokens (else `FIBREPLANE_TECH_JWT_SECRET`).
    pub tech_jwt_secret_file: Option<PathBuf>,
    /// File with Uptime Kuma's shared secret (else `FIBREPLANE_KUMA_SECRET`).
    pub kuma_secret_file: Option<PathBuf>,
    /// A device is online for the ACS when it informed within this many seconds.
    pub online_within_secs: u64,
    /// The target of pings and traceroutes when a request names none (the ISP's gateway).
    pub ping_host: Option<String>,
    /// The URL CPEs reach this hub at, for speed tests against `/speedtest/*`.
    pub speedtest_url: Option<String>,
}

impl Default for HubSection {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            token_file: None,
            trusted_proxies: Vec::new(),
            forward_user_header: "X-Forwarded-User".into(),
            tech_jwt_secret_file: None,
            kuma_secret_file: None,
            online_within_secs: 900,
            ping_host: None,
            speedtest_url: None,
        }
    }
}

/// `[modem]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModemSection {
    /// `in_process` (the bridge runs inside the hub), `remote` (a `fibreplane modem serve` at
    /// `url`) or `off`.
    pub mode: String,
    /// The remote bridge's URL, `https://` (or `http://`).
    pub url: Option<String>,
    /// A PEM file of CAs trusted for the remote bridge beside the system's roots.
    pub ca_file: Option<PathBuf>,
    /// File with the remote bridge's token (else `FIBREPLANE_MODEM_TOKEN`).
    pub token_file: Option<PathBuf>,
    /// `auto` (native, Chromium on a protocol mismatch), `native` or `chromium`.
    pub path: String,
    /// The modems the bridge may reach (in process).
    pub modems: Vec<modem_bridge::ModemEntry>,
}

impl Default for ModemSection {
    fn default() -> Self {
        Self {
            mode: "off".into(),
            url: None,
            ca_file: None,
            token_file: None,
            path: "auto".into(),
            modems: Vec::new(),
        }
    }
}

/// `[mqtt]`: off unless `url` is set.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MqttSection {
    /// `mqtt://host[:port]` (1883), or `mqtts://host[:port]` (8883) for MQTT over TLS.
    pub url: Option<String>,
    /// A PEM file of CAs trusted for an `mqtts://` broker beside the system's roots.
    pub ca_file: Option<PathBuf>,
    /// Topic prefix: events go to `<prefix>/network`, `<prefix>/outages`,
    /// `<prefix>/device/<id>`.
    pub topic_prefix: String,
    /// Client id.
    pub client_id: String,
    /// User name, if the broker wants one (password from `password_file` or
    /// `FIBREPLANE_MQTT_PASSWORD`).
    pub username: Option<String>,
    /// File with the broker password.
    pub password_file: Option<PathBuf>,
}

impl Default for MqttSection {
    fn default() -> Self {
        Self {
            url: None,
            ca_file: None,
            topic_prefix: "fibreplane".into(),
            client_id: "fibreplane-hub".into(),
            username: None,
            password_file: None,
        }
    }
}

/// Reads a vendor defaults file (`acs.vendor_defaults_file`, `--vendor-defaults-file`); none
/// configured is none.
pub fn vendor_defaults(
    path: Option<&PathBuf>,
) -> anyhow::Result<Vec<acs::credentials::VendorDefault>> {
    use anyhow::Context as _;
    let Some(path) = path else {
        return Ok(Vec::new());
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    acs::credentials::parse_vendor_defaults(&text).with_context(|| format!("in {}", path.display()))
}

/// The names of a struct's fields, read from its `Deserialize` implementation (serde passes
/// them to `deserialize_struct`), so environment overrides follow the structs without a list.
fn field_names<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    struct Probe<'a>(&'a mut &'static [&'static str]);
    impl<'de> serde::Deserializer<'de> for Probe<'_> {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: serde::de::Visitor<'de>>(
            self,
            _: V,
        ) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("probe"))
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(serde::de::Error::custom("probe"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Probe(&mut fields));
    fields
}

/// Reads an environment value as TOML (numbers, booleans, arrays, quoted strings), else as a
/// plain string (addresses, paths, URLs).
fn env_value(raw: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

/// Applies `FIBREPLANE_*` overrides to a parsed file, from `env` (name, value) pairs.
fn apply_env(table: &mut toml::Table, env: &dyn Fn(&str) -> Option<String>) {
    let sections: [(&str, &[&str]); 7] = [
        ("provisioner", field_names::<ProvisionerSection>()),
        ("acs", field_names::<AcsSection>()),
        ("nbi", field_names::<NbiSection>()),
        ("fs", field_names::<FsSection>()),
        ("hub", field_names::<HubSection>()),
        ("modem", field_names::<ModemSection>()),
        ("mqtt", field_names::<MqttSection>()),
    ];
    for key in ["data_dir", "store"] {
        if let Some(v) = env(&format!("FIBREPLANE_{}", key.to_uppercase())) {
            table.insert(key.into(), env_value(&v));
        }
    }
    for (section, fields) in sections {
        for field in fields.iter().filter(|f| **f != "modems") {
            let name = format!(
                "FIBREPLANE_{}_{}",
                section.to_uppercase(),
                field.to_uppercase()
            );
            let Some(v) = env(&name) else { continue };
            let entry = table
                .entry(section)
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(t) = entry {
                t.insert((*field).to_owned(), env_value(&v));
            }
        }
    }
}

impl Config {
    /// Parses a config file's text with overrides from `env`.
    pub fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let mut table: toml::Table = toml::from_str(text).context("parsing the configuration")?;
        apply_env(&mut table, env);
        let config: Self = toml::Value::Table(table)
            .try_into()
            .context("reading the configuration")?;
        config.check()?;
        Ok(config)
    }

    /// Loads `path` (or only defaults and the environment when it is `None`).
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let text = match path {
            Some(p) => {
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?
            }
            None => String::new(),
        };
        Self::parse(&text, &|name| {
            std::env::var(name).ok().filter(|v| !v.is_empty())
        })
    }

    fn check(&self) -> anyhow::Result<()> {
        if !matches!(self.store.as_str(), "redb" | "sled") {
            bail!("store must be redb or sled, not {:?}", self.store);
        }
        if !matches!(self.acs.cpe_auth.as_str(), "digest" | "none") {
            bail!("acs.cpe_auth must be digest or none");
        }
        if !matches!(self.modem.mode.as_str(), "in_process" | "remote" | "off") {
            bail!("modem.mode must be in_process, remote or off");
        }
        if !matches!(self.modem.path.as_str(), "auto" | "native" | "chromium") {
            bail!("modem.path must be auto, native or chromium");
        }
        if self.modem.mode == "remote" && self.modem.url.is_none() {
            bail!("modem.mode = remote needs modem.url");
        }
        if self.mqtt.ca_file.is_some()
            && !self
                .mqtt
                .url
                .as_deref()
                .is_some_and(|u| u.starts_with("mqtts://"))
        {
            bail!("mqtt.ca_file needs an mqtts:// mqtt.url");
        }
        Ok(())
    }
}

/// Reads a secret from `file`, else from the environment variable `env`.
pub fn secret(file: Option<&PathBuf>, env: &str) -> anyhow::Result<Option<Secret>> {
    if let Some(path) = file {
        let s =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return Ok(Some(Secret::new(s.trim())));
    }
    Ok(std::env::var(env)
        .ok()
        .filter(|s| !s.is_empty())
        .map(Secret::new))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn a_file_and_the_environment_combine() {
        let text = r#"
            data_dir = "/var/lib/fp"
            [hub]
            listen = "0.0.0.0:9000"
            trusted_proxies = ["10.0.0.1"]
            [[olt]]
            id = "olt1"
            host = "127.0.0.1"
            version = "2c"
            community = { env = "OLT1_COMMUNITY" }
        "#;
        let env: HashMap<&str, &str> = HashMap::from([
            ("FIBREPLANE_HUB_LISTEN", "127.0.0.1:8181"),
            ("FIBREPLANE_ACS_MAX_SESSIONS", "17"),
            ("FIBREPLANE_ACS_BOOTSTRAP_REFRESH", "false"),
            ("FIBREPLANE_STORE", "sled"),
            ("FIBREPLANE_NBI_TOKEN", "not a config key"),
            ("FIBREPLANE_MQTT_URL", "mqtt://127.0.0.1:1883"),
        ]);
        let c = Config::parse(text, &|k| env.get(k).map(|v| (*v).to_owned())).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/fp"));
        assert_eq!(
            c.hub.listen.to_string(),
            "127.0.0.1:8181",
            "env wins over the file"
        );
        assert_eq!(c.hub.trusted_proxies.len(), 1);
        assert_eq!(c.acs.max_sessions, 17);
        assert!(!c.acs.bootstrap_refresh);
        assert_eq!(c.store, "sled");
        assert_eq!(c.mqtt.url.as_deref(), Some("mqtt://127.0.0.1:1883"));
        assert_eq!(c.olt.len(), 1);
        assert_eq!(c.acs.cwmp_listen.port(), 7547, "defaults fill the rest");
    }

    #[test]
    fn mistakes_are_named() {
        let none = |_: &str| None;
        for (text, why) in [
            ("[hub]\nlisten = 3", "hub"),
            ("[hubb]\nlisten = \"x\"", "hubb"),
            ("store = \"mongo\"", "store"),
            ("[modem]\nmode = \"remote\"", "modem.url"),
            ("[modem]\npath = \"firefox\"", "modem.path"),
            ("[mqtt]\nca_file = \"/ca.pem\"", "mqtts://"),
        ] {
            let err = format!("{:#}", Config::parse(text, &none).unwrap_err());
            assert!(err.contains(why), "{text}: {err}");
        }
    }

    #[test]
    fn the_example_configuration_parses() {
        let text = include_str!("../../fibreplane.example.toml");
        let c = Config::parse(text, &|_| None).unwrap();
        assert_eq!(c.olt.len(), 1);
        assert_eq!(c.hub.trusted_proxies.len(), 1);
        assert!(c.nbi.listen.is_some());
    }

    #[test]
    fn field_names_come_from_the_structs() {
        assert!(field_names::<HubSection>().contains(&"trusted_proxies"));
        assert!(field_names::<AcsSection>().contains(&"cwmp_listen"));
    }
}
