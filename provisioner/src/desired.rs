//! The desired state of one device: which parameters of *its* data model carry the customer's
//! WiFi and SIP settings, found in the device's own tree (as the ACS discovered it), and the
//! GenieACS preset that installs them through the ACS's declarative engine.
//!
//! - TR-181 (`Device.`): each radio's primary SSID (the lowest-numbered `WiFi.SSID` whose
//!   `LowerLayers` is the radio) gets the SSID, and the `WiFi.AccessPoint` whose `SSIDReference`
//!   names it gets `Security.KeyPassphrase`.
//! - TR-098 (`InternetGatewayDevice.`): the lowest `LANDevice.1.WLANConfiguration` per
//!   `OperatingFrequencyBand` (instance 1 when bands are not reported) gets `SSID` and
//!   `PreSharedKey.1.KeyPassphrase` (or `KeyPassphrase`).
//! - SIP: TR-104 v2 `Services.VoiceService.{i}.SIP.Client.{i}` (`AuthUserName`, `AuthPassword`,
//!   its `Network`'s `RegistrarServer`) when present; else TR-104 v1
//!   `VoiceProfile.{i}.Line.{i}.SIP` credentials and `VoiceProfile.{i}.SIP.RegistrarServer`,
//!   under `Services.VoiceService` or, where the standard tree lacks them, TP-Link's
//!   `X_TP_Services.VoiceService` (the XX230v keeps its SIP account only there).

use crate::error::ProvisionError;
use crate::model::Equipment;
use acs::Secret;
use acs::store::ParamTree;
use serde_json::{Value as Json, json};

/// One parameter the device must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// Full parameter path.
    pub path: String,
    /// The value; secrets stay wrapped.
    pub value: Value,
}

/// A setting's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Readable back from the device (SSID, user name, registrar).
    Plain(String),
    /// A password: the device reads it back empty, so its confirmation is the accepted SPV.
    Secret(Secret),
}

impl Value {
    fn text(&self) -> &str {
        match self {
            Self::Plain(s) => s,
            Self::Secret(s) => s.expose(),
        }
    }
}

/// Everything one device must hold for its customer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desired {
    /// The settings, in the order they are declared.
    pub settings: Vec<Setting>,
}

/// Why a desired state could not be built yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// The tree has not been discovered under these paths; refresh them and try again.
    Refresh(Vec<String>),
}

impl Desired {
    /// The paths whose values can be read back, with the value expected.
    pub fn readable(&self) -> Vec<(String, String)> {
        self.settings
            .iter()
            .filter_map(|s| match &s.value {
                Value::Plain(v) => Some((s.path.clone(), v.clone())),
                Value::Secret(_) => None,
            })
            .collect()
    }

    /// Every path (no values), for audit records.
    pub fn paths(&self) -> Vec<String> {
        self.settings.iter().map(|s| s.path.clone()).collect()
    }

    /// The per-device preset: it names only this device, so the ACS files it under the device
    /// and no other session ever reads it.
    pub fn preset(&self, device: &str, channel: &str) -> Vec<u8> {
        let configurations: Vec<Json> = self
            .settings
            .iter()
            .map(|s| json!({"type": "value", "name": s.path, "value": s.value.text()}))
            .collect();
        json!({
            "weight": 0,
            "channel": channel,
            // The CPE keeps this key with the settings; the ACS reports it at convergence.
            "parameterKey": channel,
            "events": {},
            "precondition": {"_id": device},
            "configurations": configurations,
        })
        .to_string()
        .into_bytes()
    }
}

/// Builds the desired state of a device whose data model root is `root` and whose known tree is
/// `tree`. `Err(Ok(Missing))` asks for a refresh; `Err(Err(_))` is a device that cannot take the
/// record's settings.
pub fn build(
    root: &str,
    tree: &ParamTree,
    e: &Equipment,
) -> Result<Desired, Result<Missing, ProvisionError>> {
    let known = |p: &str| tree.get(p).is_some();
    if !known(&format!("{root}.DeviceInfo")) {
        return Err(Ok(Missing::Refresh(vec![format!("{root}.")])));
    }
    let mut settings = Vec::new();
    if let Some(w) = &e.wifi {
        let pairs = if root == "InternetGatewayDevice" {
            tr098_wifi(tree)
        } else {
            tr181_wifi(tree, root)
        };
        if pairs.is_empty() {
            return Err(Err(ProvisionError::DataModel(
                "no WiFi SSID/passphrase parameters in the device's tree".into(),
            )));
        }
        for (ssid, key) in pairs {
            settings.push(Setting {
                path: ssid,
                value: Value::Plain(w.ssid.clone()),
            });
            settings.push(Setting {
                path: key,
                value: Value::Secret(w.passphrase.clone()),
            });
        }
    }
    if let Some(s) = &e.sip {
        let Some(paths) = sip_paths(tree, root) else {
            return Err(Err(ProvisionError::DataModel(
                "no SIP client in the device's tree".into(),
            )));
        };
        settings.push(Setting {
            path: paths.user,
            value: Value::Plain(s.username.clone()),
        });
        settings.push(Setting {
            path: paths.password,
            value: Value::Secret(s.password.clone()),
        });
        if !s.registrar.is_empty() {
            let Some(reg) = paths.registrar else {
                return Err(Err(ProvisionError::DataModel(
                    "no SIP registrar parameter in the device's tree".into(),
                )));
            };
            settings.push(Setting {
                path: reg,
                value: Value::Plain(s.registrar.clone()),
            });
        }
    }
    Ok(Desired { settings })
}

/// Instance numbers directly below `table` (`Device.WiFi.SSID` → 1, 2, …), ascending.
fn instances(tree: &ParamTree, table: &str) -> Vec<u32> {
    let prefix = format!("{table}.");
    let mut out: Vec<u32> = tree
        .iter_prefix(table)
        .filter_map(|(p, _)| p.strip_prefix(&prefix)?.split('.').next()?.parse().ok())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

fn text(tree: &ParamTree, path: &str) -> Option<String> {
    Some(tree.get(path)?.value.as_ref()?.text().into_owned())
}

/// A reference as TR-181 writes it, with or without the trailing dot.
fn refers(value: &str, object: &str) -> bool {
    value.trim_end_matches('.') == object
}

fn tr181_wifi(tree: &ParamTree, root: &str) -> Vec<(String, String)> {
    let ssids = instances(tree, &format!("{root}.WiFi.SSID"));
    let aps = instances(tree, &format!("{root}.WiFi.AccessPoint"));
    let mut out = Vec::new();
    for r in instances(tree, &format!("{root}.WiFi.Radio")) {
        let radio = format!("{root}.WiFi.Radio.{r}");
        let Some(ssid) = ssids.iter().find(|&&s| {
            text(tree, &format!("{root}.WiFi.SSID.{s}.LowerLayers"))
                .is_some_and(|v| refers(&v, &radio))
        }) else {
            continue;
        };
        let ssid_obj = format!("{root}.WiFi.SSID.{ssid}");
        let Some(ap) = aps.iter().find(|&&a| {
            text(tree, &format!("{root}.WiFi.AccessPoint.{a}.SSIDReference"))
                .is_some_and(|v| refers(&v, &ssid_obj))
        }) else {
            continue;
        };
        let key = format!("{root}.WiFi.AccessPoint.{ap}.Security.KeyPassphrase");
        if tree.get(&key).is_some() {
            out.push((format!("{ssid_obj}.SSID"), key));
        }
    }
    out
}

fn tr098_wifi(tree: &ParamTree) -> Vec<(String, String)> {
    let table = "InternetGatewayDevice.LANDevice.1.WLANConfiguration";
    let mut bands: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for i in instances(tree, table) {
        let obj = format!("{table}.{i}");
        let band = text(tree, &format!("{obj}.OperatingFrequencyBand")).unwrap_or_default();
        if (band.is_empty() && !out.is_empty()) || bands.contains(&band) {
            continue;
        }
        let psk = format!("{obj}.PreSharedKey.1.KeyPassphrase");
        let key = if tree.get(&psk).is_some() {
            psk
        } else {
            format!("{obj}.KeyPassphrase")
        };
        if tree.get(&format!("{obj}.SSID")).is_some() && tree.get(&key).is_some() {
            bands.push(band);
            out.push((format!("{obj}.SSID"), key));
        }
    }
    out
}

struct SipPaths {
    user: String,
    password: String,
    registrar: Option<String>,
}

fn sip_paths(tree: &ParamTree, root: &str) -> Option<SipPaths> {
    let present = |p: &str| tree.get(p).is_some().then(|| p.to_owned());
    // TR-104 v2: SIP.Client, with the registrar on the client's network.
    for v in instances(tree, &format!("{root}.Services.VoiceService")) {
        let sip = format!("{root}.Services.VoiceService.{v}.SIP");
        if let Some(c) = instances(tree, &format!("{sip}.Client")).first() {
            let client = format!("{sip}.Client.{c}");
            let network = text(tree, &format!("{client}.Network"))
                .filter(|n| !n.is_empty())
                .map(|n| n.trim_end_matches('.').to_owned())
                .or_else(|| {
                    instances(tree, &format!("{sip}.Network"))
                        .first()
                        .map(|n| format!("{sip}.Network.{n}"))
                });
            return Some(SipPaths {
                user: present(&format!("{client}.AuthUserName"))?,
                password: present(&format!("{client}.AuthPassword"))?,
                registrar: network.and_then(|n| present(&format!("{n}.RegistrarServer"))),
            });
        }
    }
    // TR-104 v1 line credentials, standard tree first, then TP-Link's own.
    for services in ["Services", "X_TP_Services"] {
        let vs = format!("{root}.{services}.VoiceService");
        for v in instances(tree, &vs) {
            let profiles = format!("{vs}.{v}.VoiceProfile");
            for p in instances(tree, &profiles) {
                let profile = format!("{profiles}.{p}");
                for l in instances(tree, &format!("{profile}.Line")) {
                    let line = format!("{profile}.Line.{l}.SIP");
                    if let (Some(user), Some(password)) = (
                        present(&format!("{line}.AuthUserName")),
                        present(&format!("{line}.AuthPassword")),
                    ) {
                        return Some(SipPaths {
                            user,
                            password,
                            registrar: present(&format!("{profile}.SIP.RegistrarServer")),
                        });
                    }
                }
            }
        }
    }
    None
}
