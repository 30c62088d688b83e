//! The typed result of a diagnostic read, with field names after TR-181 where one exists, and
//! the pure mapping from the modem's DEV2_* answers to it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::proto::dm::DmData;

mod map;

pub use map::map;
pub(crate) use map::round2;

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
