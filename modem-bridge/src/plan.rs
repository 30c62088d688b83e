//! What a diagnostic read asks the modem for: the DEV2_* objects behind each section, with the
//! attributes wanted. Both paths (native and Chromium) run the same plan, so their answers are
//! mapped by the same code and can be compared field by field.

use serde::{Deserialize, Serialize};

use crate::proto::dm::Operation;

/// A part of the diagnostics, readable on its own through the service API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Section {
    /// Model, firmware, serial, uptime.
    Device,
    /// The WAN connection.
    Wan,
    /// The LAN bridge.
    Lan,
    /// Radios and SSIDs.
    Wifi,
    /// Connected hosts.
    Hosts,
    /// Memory and CPU.
    Resources,
    /// GPON optics.
    Optics,
}

impl Section {
    /// Every section, in report order.
    pub const ALL: [Self; 7] = [
        Self::Device,
        Self::Wan,
        Self::Lan,
        Self::Wifi,
        Self::Hosts,
        Self::Resources,
        Self::Optics,
    ];

    /// Parses a path segment (`optics`).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.name() == s)
    }

    /// The path segment.
    pub fn name(self) -> &'static str {
        match self {
            Self::Device => "device",
            Self::Wan => "wan",
            Self::Lan => "lan",
            Self::Wifi => "wifi",
            Self::Hosts => "hosts",
            Self::Resources => "resources",
            Self::Optics => "optics",
        }
    }

    /// The calls this section needs.
    pub fn calls(self) -> &'static [Call] {
        match self {
            Self::Device => &[DEV_INFO],
            Self::Wan => &[WAN],
            Self::Lan => &[LAN],
            // Per-radio client counts come from the host table.
            Self::Wifi => &[WIFI_COMMON, WIFI_RADIO, WIFI_SSID, HOSTS],
            Self::Hosts => &[HOSTS],
            Self::Resources => &[MEM, PROC],
            Self::Optics => &[OPTICS],
        }
    }
}

/// One data-model read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    /// The object.
    pub oid: &'static str,
    /// `go` or `gl`.
    pub op: Operation,
    /// Attributes asked for.
    pub attrs: &'static [&'static str],
}

const fn call(oid: &'static str, op: Operation, attrs: &'static [&'static str]) -> Call {
    Call { oid, op, attrs }
}

/// Device identity and uptime (the WAN object has no uptime on the XX230v).
pub const DEV_INFO: Call = call(
    "DEV2_DEV_INFO",
    Operation::Go,
    &[
        "manufacturer",
        "modelName",
        "hardwareVersion",
        "softwareVersion",
        "serialNumber",
        "upTime",
    ],
);
/// WAN connections; the first enabled one is reported. `connIPv6Address` is not in the published
/// field list and is read when the firmware has it.
pub const WAN: Call = call(
    "DEV2_ADT_WAN",
    Operation::Gl,
    &[
        "enable",
        "name",
        "connType",
        "connStatusV4",
        "MACAddr",
        "connIPv4Address",
        "connIPv4SubnetMask",
        "connIPv4Gateway",
        "connIPv4DnsServer",
        "connIPv6Address",
    ],
);
/// The LAN bridge.
pub const LAN: Call = call(
    "DEV2_ADT_LAN",
    Operation::Gl,
    &["MACAddress", "IPAddress", "IPSubnetMask", "DHCPv4Enable"],
);
/// Per-band switches (list index 0/1/2 = 2.4/5/6 GHz).
pub const WIFI_COMMON: Call = call(
    "DEV2_ADT_WIFI_COMMON",
    Operation::Gl,
    &["primaryEnable", "guestEnable", "ioTssidEnable", "mloEnable"],
);
/// Radios (TR-181 `Device.WiFi.Radio`).
pub const WIFI_RADIO: Call = call(
    "DEV2_WIFI_RADIO",
    Operation::Gl,
    &["enable", "status", "channel", "operatingFrequencyBand"],
);
/// SSIDs (TR-181 `Device.WiFi.SSID`); `lowerLayers` names the radio.
pub const WIFI_SSID: Call = call(
    "DEV2_WIFI_SSID",
    Operation::Gl,
    &["enable", "status", "SSID", "BSSID", "lowerLayers"],
);
/// Connected hosts.
pub const HOSTS: Call = call(
    "DEV2_HOST_ENTRY",
    Operation::Gl,
    &[
        "active",
        "X_TP_LanConnType",
        "physAddress",
        "IPAddress",
        "hostName",
        "leaseTimeRemaining",
    ],
);
/// Memory in KiB.
pub const MEM: Call = call("DEV2_MEM_STATUS", Operation::Go, &["total", "free"]);
/// CPU use in percent (the Python client divides by 100 for a fraction).
pub const PROC: Call = call("DEV2_PROC_STATUS", Operation::Go, &["CPUUsage"]);
/// GPON transceiver readings.
pub const OPTICS: Call = call(
    "DEV2_OPTC_GPON_CFG",
    Operation::Gl,
    &[
        "RXPower",
        "TXPower",
        "transceiverTemperature",
        "supplyVottage",
        "biasCurrent",
        "status",
        "ponType",
        "xponStatus",
    ],
);

/// The distinct calls of several sections, each once, in a stable order.
pub fn calls_for(sections: &[Section]) -> Vec<Call> {
    let mut out: Vec<Call> = Vec::new();
    for s in sections {
        for c in s.calls() {
            if !out.iter().any(|o| o.oid == c.oid) {
                out.push(*c);
            }
        }
    }
    out
}
