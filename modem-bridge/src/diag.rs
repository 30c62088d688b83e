//! The typed result of a diagnostic read, with field names after TR-181 where one exists, and
//! the pure mapping from the modem's DEV2_* answers to it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::OpticsUnits;
use crate::plan::{self, Section};
use crate::proto::dm::{Attrs, DmData};

/// What one object call produced: data, or the firmware's refusal code (9003: not for this
/// role; 9804: unknown object). A refusal leaves its section empty instead of failing the read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectResult {
    /// The answer.
    Data(DmData),
    /// `{"success":false,"errorcode":n}`.
    Refused(i64),
}

/// Every object a read fetched, by OID.
pub type Readout = BTreeMap<String, ObjectResult>;

/// A full or partial diagnostic read of one modem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ModemDiagnostics {
    /// `Device.DeviceInfo`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_info: Option<DeviceInfo>,
    /// The active WAN connection (`Device.IP.Interface` + `Device.PPP.Interface`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wan: Option<Wan>,
    /// The LAN bridge (`Device.IP.Interface.1`, `Device.DHCPv4.Server`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lan: Option<Lan>,
    /// `Device.WiFi.Radio` with their SSIDs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wi_fi: Option<Vec<WiFiRadio>>,
    /// `Device.Hosts.Host`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hosts: Option<Vec<Host>>,
    /// `Device.DeviceInfo.MemoryStatus`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_status: Option<MemoryStatus>,
    /// `Device.DeviceInfo.ProcessStatus`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_status: Option<ProcessStatus>,
    /// `Device.Optical.Interface.1` (+ TP-Link's `X_TP_GPON_Config`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optical: Option<Optical>,
    /// Objects the firmware refused, with their codes.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub refused: BTreeMap<String, i64>,
}

/// `Device.DeviceInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeviceInfo {
    /// `Manufacturer`.
    pub manufacturer: String,
    /// `ModelName`.
    pub model_name: String,
    /// `HardwareVersion`.
    pub hardware_version: String,
    /// `SoftwareVersion` (the firmware).
    pub software_version: String,
    /// `SerialNumber`.
    pub serial_number: String,
    /// `UpTime`, seconds.
    pub up_time: Option<u64>,
}

/// The first enabled WAN connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Wan {
    /// `Name` (e.g. `pppoe_gpon_3_3`).
    pub name: String,
    /// TP-Link's connection type (`PPPoE`, `IPoE`).
    pub connection_type: String,
    /// `ConnectionStatus` (`Connected`, `Disconnected`, …).
    pub connection_status: String,
    /// `MACAddress`.
    #[serde(rename = "MACAddress")]
    pub mac_address: String,
    /// `IPv4Address.1.IPAddress`.
    #[serde(rename = "IPv4Address")]
    pub ipv4_address: Option<String>,
    /// `IPv4Address.1.SubnetMask`.
    pub subnet_mask: Option<String>,
    /// `Routing.Router.1.IPv4Forwarding.{i}.GatewayIPAddress` of the default route.
    #[serde(rename = "DefaultGateway")]
    pub default_gateway: Option<String>,
    /// `DNS.Client.Server.{i}.DNSServer`.
    #[serde(rename = "DNSServers")]
    pub dns_servers: Vec<String>,
    /// `IPv6Address.1.IPAddress`, when the firmware reports it.
    #[serde(rename = "IPv6Address")]
    pub ipv6_address: Option<String>,
}

/// The LAN bridge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Lan {
    /// `MACAddress`.
    #[serde(rename = "MACAddress")]
    pub mac_address: String,
    /// `IPv4Address.1.IPAddress`.
    #[serde(rename = "IPAddress")]
    pub ip_address: String,
    /// `IPv4Address.1.SubnetMask`.
    pub subnet_mask: String,
    /// `DHCPv4.Server.Enable`.
    #[serde(rename = "DHCPServerEnable")]
    pub dhcp_server_enable: bool,
}

/// One radio (`Device.WiFi.Radio.{i}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WiFiRadio {
    /// `OperatingFrequencyBand` (`2.4GHz`, `5GHz`, `6GHz`).
    pub operating_frequency_band: String,
    /// `Enable`.
    pub enable: bool,
    /// `Status`.
    pub status: String,
    /// `Channel`.
    pub channel: Option<u32>,
    /// The band's primary network switch (`DEV2_ADT_WIFI_COMMON.primaryEnable`).
    pub primary_enable: Option<bool>,
    /// The band's guest network switch.
    pub guest_enable: Option<bool>,
    /// Active hosts associated on this band (from the host table).
    pub associated_device_number_of_entries: u32,
    /// `Device.WiFi.SSID.{i}` on this radio.
    #[serde(rename = "SSIDs")]
    pub ssids: Vec<WiFiSsid>,
}

/// One SSID (`Device.WiFi.SSID.{i}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WiFiSsid {
    /// `SSID`.
    #[serde(rename = "SSID")]
    pub ssid: String,
    /// `Enable`.
    pub enable: bool,
    /// `Status`.
    pub status: String,
    /// `BSSID`.
    #[serde(rename = "BSSID")]
    pub bssid: String,
}

/// One host (`Device.Hosts.Host.{i}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Host {
    /// `PhysAddress`.
    pub phys_address: String,
    /// `IPAddress`.
    #[serde(rename = "IPAddress")]
    pub ip_address: String,
    /// `HostName`.
    pub host_name: String,
    /// `Active`.
    pub active: bool,
    /// `Layer1Interface` in words, from `X_TP_LanConnType`.
    pub interface_type: String,
    /// `X_TP_LanConnType` as sent.
    #[serde(rename = "X_TP_LanConnType")]
    pub lan_conn_type: Option<u32>,
    /// `LeaseTimeRemaining`, seconds (`-1` for infinite).
    pub lease_time_remaining: Option<i64>,
}

/// `Device.DeviceInfo.MemoryStatus`, KiB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MemoryStatus {
    /// `Total`.
    pub total: u64,
    /// `Free`.
    pub free: u64,
}

/// `Device.DeviceInfo.ProcessStatus`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProcessStatus {
    /// `CPUUsage`, percent.
    #[serde(rename = "CPUUsage")]
    pub cpu_usage: u32,
}

/// The GPON transceiver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Optical {
    /// Link status: `Up` when the ONU is in operation state O5.
    pub status: String,
    /// TP-Link's PON state number (`5` = O5, operation).
    pub pon_state: Option<u32>,
    /// `PonType` (`GPON`).
    pub pon_type: String,
    /// Received power, dBm (TR-181 `OpticalSignalLevel` is in thousandths of dBm).
    pub optical_signal_level_dbm: Option<f64>,
    /// Transmitted power, dBm (TR-181 `TransmitOpticalLevel`).
    pub transmit_optical_level_dbm: Option<f64>,
    /// Transceiver temperature, °C.
    pub transceiver_temperature_c: Option<f64>,
    /// Supply voltage, V.
    pub supply_voltage_v: Option<f64>,
    /// Laser bias current, mA.
    pub bias_current_ma: Option<f64>,
    /// The raw integers as the firmware sent them, for re-scaling if the unit turns out wrong.
    pub raw: BTreeMap<String, String>,
}

fn get<'a>(a: &'a Attrs, k: &str) -> &'a str {
    a.get(k).map_or("", |s| s.trim())
}

fn opt(a: &Attrs, k: &str) -> Option<String> {
    Some(get(a, k)).filter(|s| !s.is_empty()).map(str::to_owned)
}

fn flag(a: &Attrs, k: &str) -> Option<bool> {
    match get(a, k) {
        "1" | "true" | "True" => Some(true),
        "0" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn num<T: std::str::FromStr>(a: &Attrs, k: &str) -> Option<T> {
    get(a, k).parse().ok()
}

/// The web UI's `X_TP_LanConnType` codes.
fn interface_type(code: Option<u32>) -> &'static str {
    match code {
        Some(0) => "Ethernet",
        Some(1 | 2) => "WiFi 2.4GHz",
        Some(3 | 4) => "WiFi 5GHz",
        Some(5 | 6) => "WiFi 6GHz",
        Some(8 | 9) => "WiFi IoT",
        Some(10) => "WiFi MLO",
        _ => "Unknown",
    }
}

/// The frequency band a host's connection type puts it on.
fn band_of(code: Option<u32>) -> Option<&'static str> {
    match code {
        Some(1 | 2) => Some("2.4GHz"),
        Some(3 | 4) => Some("5GHz"),
        Some(5 | 6) => Some("6GHz"),
        _ => None,
    }
}

struct View<'a>(&'a Readout);

impl View<'_> {
    fn entries(&self, call: plan::Call) -> Option<&[Attrs]> {
        match self.0.get(call.oid)? {
            ObjectResult::Data(d) => Some(d.entries()),
            ObjectResult::Refused(_) => None,
        }
    }
}

/// Maps the objects of a read to the sections asked for.
pub fn map(readout: &Readout, sections: &[Section], units: &OpticsUnits) -> ModemDiagnostics {
    let v = View(readout);
    let mut d = ModemDiagnostics {
        refused: readout
            .iter()
            .filter_map(|(k, r)| match r {
                ObjectResult::Refused(c) => Some((k.clone(), *c)),
                ObjectResult::Data(_) => None,
            })
            .collect(),
        ..Default::default()
    };
    let hosts = v.entries(plan::HOSTS).map(hosts);
    for s in sections {
        match s {
            Section::Device => {
                d.device_info = v.entries(plan::DEV_INFO).and_then(<[_]>::first).map(device)
            }
            Section::Wan => d.wan = v.entries(plan::WAN).and_then(wan),
            Section::Lan => d.lan = v.entries(plan::LAN).and_then(<[_]>::first).map(lan),
            Section::Wifi => d.wi_fi = wifi(&v, hosts.as_deref().unwrap_or_default()),
            Section::Hosts => d.hosts.clone_from(&hosts),
            Section::Resources => {
                d.memory_status = v.entries(plan::MEM).and_then(<[_]>::first).and_then(|a| {
                    Some(MemoryStatus {
                        total: num(a, "total")?,
                        free: num(a, "free")?,
                    })
                });
                d.process_status = v.entries(plan::PROC).and_then(<[_]>::first).and_then(|a| {
                    Some(ProcessStatus {
                        cpu_usage: num(a, "CPUUsage")?,
                    })
                });
            }
            Section::Optics => {
                d.optical = v
                    .entries(plan::OPTICS)
                    .and_then(<[_]>::first)
                    .map(|a| optical(a, units));
            }
        }
    }
    d
}

fn device(a: &Attrs) -> DeviceInfo {
    DeviceInfo {
        manufacturer: get(a, "manufacturer").to_owned(),
        model_name: get(a, "modelName").to_owned(),
        hardware_version: get(a, "hardwareVersion").to_owned(),
        software_version: get(a, "softwareVersion").to_owned(),
        serial_number: get(a, "serialNumber").to_owned(),
        up_time: num(a, "upTime"),
    }
}

fn wan(list: &[Attrs]) -> Option<Wan> {
    let a = list.iter().find(|a| flag(a, "enable") != Some(false))?;
    let ip = |k| opt(a, k).filter(|s| s != "0.0.0.0" && s != "::");
    Some(Wan {
        name: get(a, "name").to_owned(),
        connection_type: get(a, "connType").to_owned(),
        connection_status: get(a, "connStatusV4").to_owned(),
        mac_address: get(a, "MACAddr").to_owned(),
        ipv4_address: ip("connIPv4Address"),
        subnet_mask: ip("connIPv4SubnetMask"),
        default_gateway: ip("connIPv4Gateway"),
        dns_servers: get(a, "connIPv4DnsServer")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty() && *s != "0.0.0.0")
            .map(str::to_owned)
            .collect(),
        ipv6_address: ip("connIPv6Address"),
    })
}

fn lan(a: &Attrs) -> Lan {
    Lan {
        mac_address: get(a, "MACAddress").to_owned(),
        ip_address: get(a, "IPAddress").to_owned(),
        subnet_mask: get(a, "IPSubnetMask").to_owned(),
        dhcp_server_enable: flag(a, "DHCPv4Enable").unwrap_or(false),
    }
}

fn hosts(list: &[Attrs]) -> Vec<Host> {
    list.iter()
        .map(|a| {
            let code = num(a, "X_TP_LanConnType");
            Host {
                phys_address: get(a, "physAddress").to_ascii_uppercase(),
                ip_address: get(a, "IPAddress").to_owned(),
                host_name: get(a, "hostName").to_owned(),
                active: flag(a, "active").unwrap_or(false),
                interface_type: interface_type(code).to_owned(),
                lan_conn_type: code,
                lease_time_remaining: num(a, "leaseTimeRemaining"),
            }
        })
        .collect()
}

fn wifi(v: &View<'_>, hosts: &[Host]) -> Option<Vec<WiFiRadio>> {
    let radios = v.entries(plan::WIFI_RADIO)?;
    let common = v.entries(plan::WIFI_COMMON).unwrap_or_default();
    let ssids = v.entries(plan::WIFI_SSID).unwrap_or_default();
    let out = radios
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let band = get(r, "operatingFrequencyBand").to_owned();
            // `DEV2_ADT_WIFI_COMMON` is indexed by band: 0 = 2.4, 1 = 5, 2 = 6 GHz.
            let band_index = match band.as_str() {
                "2.4GHz" => Some(0),
                "5GHz" => Some(1),
                "6GHz" => Some(2),
                _ => None,
            };
            let c = band_index.and_then(|b| common.get(b));
            // An SSID's lowerLayers names its radio (`Device.WiFi.Radio.2.`).
            let radio_ref = format!("Device.WiFi.Radio.{}.", i + 1);
            WiFiRadio {
                enable: flag(r, "enable").unwrap_or(false),
                status: get(r, "status").to_owned(),
                channel: num(r, "channel"),
                primary_enable: c.and_then(|c| flag(c, "primaryEnable")),
                guest_enable: c.and_then(|c| flag(c, "guestEnable")),
                associated_device_number_of_entries: hosts
                    .iter()
                    .filter(|h| h.active && band_of(h.lan_conn_type) == Some(band.as_str()))
                    .count() as u32,
                ssids: ssids
                    .iter()
                    .filter(|s| {
                        get(s, "lowerLayers").trim_end_matches('.')
                            == radio_ref.trim_end_matches('.')
                    })
                    .map(|s| WiFiSsid {
                        ssid: get(s, "SSID").to_owned(),
                        enable: flag(s, "enable").unwrap_or(false),
                        status: get(s, "status").to_owned(),
                        bssid: get(s, "BSSID").to_owned(),
                    })
                    .collect(),
                operating_frequency_band: band,
            }
        })
        .collect();
    Some(out)
}

fn optical(a: &Attrs, units: &OpticsUnits) -> Optical {
    let raw_f = |k| num::<f64>(a, k);
    let pon_state = num(a, "status");
    let keys = [
        "RXPower",
        "TXPower",
        "transceiverTemperature",
        "supplyVottage",
        "biasCurrent",
        "status",
    ];
    Optical {
        status: if pon_state == Some(5) { "Up" } else { "Down" }.to_owned(),
        pon_state,
        pon_type: get(a, "ponType").to_owned(),
        optical_signal_level_dbm: raw_f("RXPower").and_then(|r| units.power.to_dbm(r)),
        transmit_optical_level_dbm: raw_f("TXPower").and_then(|r| units.power.to_dbm(r)),
        transceiver_temperature_c: raw_f("transceiverTemperature")
            .map(|r| round2(r / units.temperature_divisor)),
        supply_voltage_v: raw_f("supplyVottage").map(|r| round2(r / units.voltage_divisor)),
        bias_current_ma: raw_f("biasCurrent").map(|r| round2(r * units.bias_ua_per_unit / 1000.0)),
        raw: keys
            .iter()
            .filter_map(|k| Some(((*k).to_owned(), opt(a, k)?)))
            .collect(),
    }
}

/// Rounds to hundredths: the transceiver's resolution is coarser, and rounding keeps the JSON
/// readable and the two paths' answers byte-identical.
pub(crate) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
