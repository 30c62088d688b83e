//! ONU optical levels, whatever object and unit the vendor uses.
//!
//! Where the levels live and in which unit is data: [`PROFILES`], tried in order (a vendor
//! object before the standard one, because firmware such as the XX230v's fills the vendor object
//! and leaves the standard levels at 0). Units are per profile, never assumed.

use super::{Fact, Reader};
use crate::datamodel::{DataModel, View};
use serde::Serialize;

/// Most concrete objects one profile's pattern may expand to in a tree.
const MAX_EXPANSION: usize = 64;

/// How a vendor writes an optical power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PowerUnit {
    /// dBm as a decimal number.
    Dbm,
    /// Integer tenths of a dBm.
    DeciDbm,
    /// Integer thousandths of a dBm (TR-181 `Dbm1000`).
    MilliDbm,
    /// Integer tenths of a µW: dBm = 10·log10(v / 10000).
    TenthMicrowatt,
}

impl PowerUnit {
    /// The power in dBm, rounded to 0.01 dB; `None` when the text is not a reading.
    pub fn to_dbm(self, raw: &str) -> Option<f64> {
        let raw = raw.trim();
        let dbm = match self {
            Self::Dbm => raw.parse::<f64>().ok()?,
            Self::DeciDbm => raw.parse::<i64>().ok()? as f64 / 10.0,
            Self::MilliDbm => raw.parse::<i64>().ok()? as f64 / 1000.0,
            Self::TenthMicrowatt => {
                let v = raw.parse::<f64>().ok()?;
                if v <= 0.0 {
                    return None;
                }
                10.0 * (v / 10_000.0).log10()
            }
        };
        dbm.is_finite().then(|| (dbm * 100.0).round() / 100.0)
    }
}

/// Where one kind of device reports its optical levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OpticalProfile {
    /// A short name, shown in the summary.
    pub name: &'static str,
    /// The data model whose tree holds it.
    pub model: DataModel,
    /// The object holding the levels; `{i}` stands for any instance number.
    pub object: &'static str,
    /// Received power leaf.
    pub rx: &'static str,
    /// Transmitted power leaf.
    pub tx: &'static str,
    /// Their unit.
    pub unit: PowerUnit,
    /// Whether a reading of exactly 0 means "not reported" (a real ONU never receives 0 dBm).
    pub zero_is_unset: bool,
    /// Where the path and unit come from.
    pub source: &'static str,
}

/// The known profiles, in the order they are tried.
pub const PROFILES: &[OpticalProfile] = &[
    OpticalProfile {
        name: "tplink_gpon",
        model: DataModel::Tr181,
        object: "Device.Optical.Interface.{i}.X_TP_GPON_Config",
        rx: "RXPower",
        tx: "TXPower",
        unit: PowerUnit::TenthMicrowatt,
        zero_is_unset: true,
        source: "XX230v dump; unit as rilpires/flashman tplink-xx230v.js (unconfirmed on a unit)",
    },
    OpticalProfile {
        name: "tr181_optical",
        model: DataModel::Tr181,
        object: "Device.Optical.Interface.{i}",
        rx: "OpticalSignalLevel",
        tx: "TransmitOpticalLevel",
        unit: PowerUnit::MilliDbm,
        zero_is_unset: true,
        source: "TR-181 Dbm1000",
    },
    OpticalProfile {
        name: "tr181_xpon",
        model: DataModel::Tr181,
        object: "Device.XPON.ONU.{i}.ANI.{i}.Transceiver.{i}",
        rx: "RxPower",
        tx: "TxPower",
        unit: PowerUnit::DeciDbm,
        zero_is_unset: false,
        source: "TR-181 2.17 XPON, 0.1 dBm",
    },
    OpticalProfile {
        name: "huawei_gpon",
        model: DataModel::Tr098,
        object: "InternetGatewayDevice.WANDevice.{i}.X_GponInterafceConfig",
        rx: "RXPower",
        tx: "TXPower",
        unit: PowerUnit::Dbm,
        zero_is_unset: false,
        source: "rilpires/flashman huawei-*.js (no conversion)",
    },
    OpticalProfile {
        name: "zte_gpon",
        model: DataModel::Tr098,
        object: "InternetGatewayDevice.WANDevice.{i}.X_ZTE-COM_WANPONInterfaceConfig",
        rx: "RXPower",
        tx: "TXPower",
        unit: PowerUnit::TenthMicrowatt,
        zero_is_unset: true,
        source: "rilpires/flashman zte-f660.js: 10·log10(v·0.0001)",
    },
    OpticalProfile {
        name: "nokia_alu",
        model: DataModel::Tr098,
        object: "InternetGatewayDevice.X_ALU_OntOpticalParam",
        rx: "RXPower",
        tx: "TXPower",
        unit: PowerUnit::Dbm,
        zero_is_unset: false,
        source: "rilpires/flashman nokia-g2425.js, nokia-g1425ga.js, nokia-g120w-f.js: \
                 parseFloat, no conversion",
    },
    OpticalProfile {
        name: "fiberhome_gpon",
        model: DataModel::Tr098,
        object: "InternetGatewayDevice.WANDevice.{i}.X_FH_GponInterfaceConfig",
        rx: "RXPower",
        tx: "TXPower",
        unit: PowerUnit::Dbm,
        zero_is_unset: false,
        source: "rilpires/flashman fiberhome-hg6145f.js, fiberhome-hg6245d.js: parseFloat, \
                 no conversion",
    },
    OpticalProfile {
        name: "cmcc_gpon",
        model: DataModel::Tr098,
        object: "InternetGatewayDevice.WANDevice.{i}.X_CMCC_GponInterfaceConfig",
        rx: "RXPower",
        tx: "TXPower",
        unit: PowerUnit::TenthMicrowatt,
        zero_is_unset: true,
        source: "China Mobile firmware (Nokia G-140W-C, G-1426-MA; ZTE F673): rilpires/flashman \
                 nokia-g140w.js, nokia-g1426ma.js, zte-f673.js: 10·log10(v·0.0001)",
    },
    OpticalProfile {
        name: "ctcom_gpon",
        model: DataModel::Tr098,
        object: "InternetGatewayDevice.WANDevice.{i}.X_CT-COM_GponInterfaceConfig",
        rx: "RXPower",
        tx: "TXPower",
        unit: PowerUnit::TenthMicrowatt,
        zero_is_unset: true,
        source: "China Telecom firmware (Raisecom HT803G, Cianet GW24AC and other ODM ONTs): \
                 rilpires/flashman raisecom-ht803g-rev-t.js, cianet-gw24ac.js: \
                 10·log10(v·0.0001)",
    },
];

/// Optical levels of the ONU.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Optics {
    /// The profile that matched.
    pub profile: String,
    /// The object the levels were read from.
    pub interface: String,
    /// Received power, dBm.
    pub rx_dbm: Option<Fact<f64>>,
    /// Transmitted power, dBm.
    pub tx_dbm: Option<Fact<f64>>,
    /// Received power as the CPE wrote it.
    pub rx_raw: Option<Fact<String>>,
    /// Transmitted power as the CPE wrote it.
    pub tx_raw: Option<Fact<String>>,
    /// The object's `Status`, when it has one.
    pub status: Option<Fact<String>>,
}

/// The concrete objects a pattern stands for in this tree.
fn expand(view: &View<'_>, pattern: &str, out: &mut Vec<String>) {
    if out.len() >= MAX_EXPANSION {
        return;
    }
    let Some((prefix, rest)) = pattern.split_once(".{i}") else {
        if view.exists(pattern) {
            out.push(pattern.to_owned());
        }
        return;
    };
    for n in view.instances(prefix) {
        expand(view, &format!("{prefix}.{n}{rest}"), out);
    }
}

/// A level in dBm, unless the profile's unit cannot read it.
fn level(
    r: &mut Reader<'_>,
    path: &str,
    p: &OpticalProfile,
) -> (Option<Fact<f64>>, Option<Fact<String>>) {
    let Some(raw) = r.text(path) else {
        return (None, None);
    };
    let unset = p.zero_is_unset && raw.value.trim().parse::<f64>() == Ok(0.0);
    let dbm = if unset {
        None
    } else {
        p.unit.to_dbm(&raw.value)
    };
    (dbm.map(|d| raw.clone().map(|_| d)), Some(raw))
}

/// Reads the levels with the first profile that has a reading in this tree.
pub(super) fn optics(r: &mut Reader<'_>, model: DataModel) -> Option<Optics> {
    let view = r.view;
    for p in PROFILES.iter().filter(|p| p.model == model) {
        let mut objects = Vec::new();
        expand(&view, p.object, &mut objects);
        for object in objects {
            let rx_path = format!("{object}.{}", p.rx);
            let tx_path = format!("{object}.{}", p.tx);
            let (rx_dbm, rx_raw) = level(r, &rx_path, p);
            let (tx_dbm, tx_raw) = level(r, &tx_path, p);
            if rx_dbm.is_none() && tx_dbm.is_none() {
                continue;
            }
            return Some(Optics {
                profile: p.name.to_owned(),
                status: r.text(&format!("{object}.Status")),
                interface: object,
                rx_dbm,
                tx_dbm,
                rx_raw,
                tx_raw,
            });
        }
    }
    None
}

/// The objects to refresh when a device's optics are missing: each profile's object up to its
/// first instance number.
pub(super) fn candidates(model: DataModel) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in PROFILES.iter().filter(|p| p.model == model) {
        let object = p.object.split(".{i}").next().unwrap_or(p.object);
        // Several profiles live under the same object (`WANDevice`); it is refreshed once.
        if !out.iter().any(|o| o == object) {
            out.push(object.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_unit_converts_to_dbm() {
        assert_eq!(PowerUnit::TenthMicrowatt.to_dbm("5624"), Some(-2.5));
        assert_eq!(PowerUnit::TenthMicrowatt.to_dbm("14880"), Some(1.73));
        assert_eq!(PowerUnit::TenthMicrowatt.to_dbm("0"), None);
        assert_eq!(PowerUnit::MilliDbm.to_dbm("-18450"), Some(-18.45));
        assert_eq!(PowerUnit::DeciDbm.to_dbm("-215"), Some(-21.5));
        assert_eq!(PowerUnit::Dbm.to_dbm(" -19.52 "), Some(-19.52));
        assert_eq!(PowerUnit::Dbm.to_dbm("NaN"), None);
        assert_eq!(PowerUnit::Dbm.to_dbm("inf"), None);
        assert_eq!(PowerUnit::MilliDbm.to_dbm("-1.5"), None);
    }

    #[test]
    fn candidates_stop_at_the_first_instance() {
        assert_eq!(
            candidates(DataModel::Tr181),
            ["Device.Optical.Interface", "Device.XPON.ONU"]
        );
        assert_eq!(
            candidates(DataModel::Tr098),
            [
                "InternetGatewayDevice.WANDevice",
                "InternetGatewayDevice.X_ALU_OntOpticalParam"
            ]
        );
    }
}
