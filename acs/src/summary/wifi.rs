//! Wi-Fi (TR-181 radios, SSIDs and access points; TR-098 `WLANConfiguration`s, which are both)
//! and the hosts the device knows, with how each is connected.

use super::{Fact, Reader};
use crate::datamodel::{DataModel, reference, references};
use acs_store::normalize_mac;
use serde::Serialize;
use std::collections::HashMap;

/// Radios and SSIDs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Wifi {
    /// Radios (TR-098: one per band, from its first `WLANConfiguration`).
    pub radios: Vec<Radio>,
    /// SSIDs.
    pub ssids: Vec<Ssid>,
}

/// One radio.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Radio {
    /// The radio (TR-098: the `WLANConfiguration`) object.
    pub path: String,
    /// `2.4GHz`, `5GHz` or `6GHz`.
    pub band: Option<Fact<String>>,
    /// The channel (0: not chosen yet).
    pub channel: Option<Fact<u64>>,
    /// Whether the channel is chosen automatically.
    pub auto_channel: Option<Fact<bool>>,
    /// Whether the radio is on.
    pub enabled: Option<Fact<bool>>,
    /// `OperatingStandards` (TR-098 `Standard`), e.g. `b,g,n,ax`.
    pub standards: Option<Fact<String>>,
}

/// One SSID.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ssid {
    /// The SSID (TR-098: `WLANConfiguration`) object.
    pub path: String,
    /// The network name.
    pub ssid: Option<Fact<String>>,
    /// The band of its radio.
    pub band: Option<Fact<String>>,
    /// Whether it is on: the SSID's `Enable`, or its access point's when that is off.
    pub enabled: Option<Fact<bool>>,
    /// `Status`.
    pub status: Option<Fact<String>>,
    /// `BSSID`.
    pub bssid: Option<Fact<String>>,
    /// Associated clients.
    pub clients: Option<Fact<u64>>,
}

/// One host on the LAN.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Host {
    /// The host object.
    pub path: String,
    /// `HostName`.
    pub name: Option<Fact<String>>,
    /// MAC address, `AA:BB:CC:DD:EE:FF`.
    pub mac: Option<Fact<String>>,
    /// IP address.
    pub ip: Option<Fact<String>>,
    /// `Wi-Fi`, `Ethernet` or the CPE's own word.
    pub interface: Option<Fact<String>>,
    /// Whether it is connected now.
    pub active: Option<Fact<bool>>,
}

/// Reads radios and SSIDs.
pub(super) fn wifi(r: &mut Reader<'_>, model: DataModel) -> Wifi {
    match model {
        DataModel::Tr181 => wifi_181(r),
        DataModel::Tr098 => wifi_098(r),
    }
}

fn wifi_181(r: &mut Reader<'_>) -> Wifi {
    let view = r.view;
    let radios = view
        .instances("Device.WiFi.Radio")
        .into_iter()
        .map(|i| {
            let p = format!("Device.WiFi.Radio.{i}");
            Radio {
                band: r.text(&format!("{p}.OperatingFrequencyBand")),
                channel: r.u64(&format!("{p}.Channel")),
                auto_channel: r.bool(&format!("{p}.AutoChannelEnable")),
                enabled: r.bool(&format!("{p}.Enable")),
                standards: r.text(&format!("{p}.OperatingStandards")),
                path: p,
            }
        })
        .collect();
    let aps: Vec<(String, String)> = view
        .instances("Device.WiFi.AccessPoint")
        .into_iter()
        .filter_map(|i| {
            let ap = format!("Device.WiFi.AccessPoint.{i}");
            let ssid = view.text(&format!("{ap}.SSIDReference"))?;
            Some((ap, reference(&ssid)?.to_owned()))
        })
        .collect();
    let mut ssids = Vec::new();
    for i in view.instances("Device.WiFi.SSID") {
        let p = format!("Device.WiFi.SSID.{i}");
        let radio = view.text(&format!("{p}.LowerLayers")).and_then(|t| {
            references(&t)
                .into_iter()
                .find(|l| l.starts_with("Device.WiFi.Radio."))
                .map(str::to_owned)
        });
        let mut s = Ssid {
            ssid: r.text(&format!("{p}.SSID")),
            band: radio.and_then(|radio| r.text(&format!("{radio}.OperatingFrequencyBand"))),
            enabled: r.bool(&format!("{p}.Enable")),
            status: r.text(&format!("{p}.Status")),
            bssid: r.text(&format!("{p}.BSSID")),
            clients: None,
            path: p.clone(),
        };
        for (ap, _) in aps.iter().filter(|(_, ssid)| *ssid == p) {
            let ap_on = r.bool(&format!("{ap}.Enable"));
            if s.enabled.as_ref().is_some_and(|e| e.value)
                && ap_on.as_ref().is_some_and(|e| !e.value)
            {
                s.enabled = ap_on;
            }
            let n = r
                .u64(&format!("{ap}.AssociatedDeviceNumberOfEntries"))
                .or_else(|| count(r, &format!("{ap}.AssociatedDevice"), "MACAddress"));
            s.clients = match (s.clients.take(), n) {
                (Some(a), Some(b)) => Some(a.map(|x| x + b.value)),
                (a, b) => a.or(b),
            };
        }
        ssids.push(s);
    }
    Wifi { radios, ssids }
}

/// The number of instances of `table`, as a fact dated by their `leaf`s.
fn count(r: &mut Reader<'_>, table: &str, leaf: &str) -> Option<Fact<u64>> {
    let ids = r.view.instances(table);
    let first = format!("{table}.{}.{leaf}", ids.first()?);
    r.text(&first).map(|f| f.map(|_| ids.len() as u64))
}

/// A TR-098 WLAN's band: a vendor's `OperatingFrequencyBand`, else its channel, else the
/// channels it may use, else its standard.
fn band_098(r: &mut Reader<'_>, p: &str) -> Option<Fact<String>> {
    if let Some(b) = r.text(&format!("{p}.OperatingFrequencyBand")) {
        return Some(b);
    }
    let by_channel = |c: u64| match c {
        1..=14 => Some("2.4GHz"),
        32..=177 => Some("5GHz"),
        _ => None,
    };
    if let Some(c) = r.u64(&format!("{p}.Channel"))
        && let Some(b) = by_channel(c.value)
    {
        return Some(c.map(|_| b.to_owned()));
    }
    if let Some(f) = r.text(&format!("{p}.PossibleChannels")) {
        let first: String = f.value.chars().take_while(char::is_ascii_digit).collect();
        if let Some(b) = first.parse().ok().and_then(by_channel) {
            return Some(f.map(|_| b.to_owned()));
        }
    }
    let std = r.text(&format!("{p}.Standard"))?;
    let s = std.value.to_ascii_lowercase();
    let band = if s.contains('b') || s.contains('g') {
        "2.4GHz"
    } else if s.contains('a') {
        "5GHz"
    } else {
        return None;
    };
    Some(std.map(|_| band.to_owned()))
}

fn wifi_098(r: &mut Reader<'_>) -> Wifi {
    let view = r.view;
    let mut wifi = Wifi::default();
    for l in view.instances("InternetGatewayDevice.LANDevice") {
        let table = format!("InternetGatewayDevice.LANDevice.{l}.WLANConfiguration");
        for w in view.instances(&table) {
            let p = format!("{table}.{w}");
            let band = band_098(r, &p);
            let clients = r.u64(&format!("{p}.TotalAssociations")).or_else(|| {
                count(
                    r,
                    &format!("{p}.AssociatedDevice"),
                    "AssociatedDeviceMACAddress",
                )
            });
            let known = |b: &Fact<String>| {
                wifi.radios
                    .iter()
                    .any(|x| x.band.as_ref().is_some_and(|y| y.value == b.value))
            };
            if let Some(b) = band.as_ref().filter(|b| !known(b)) {
                wifi.radios.push(Radio {
                    band: Some(b.clone()),
                    channel: r.u64(&format!("{p}.Channel")),
                    auto_channel: r.bool(&format!("{p}.AutoChannelEnable")),
                    enabled: r.bool(&format!("{p}.RadioEnabled")),
                    standards: r.text(&format!("{p}.Standard")),
                    path: p.clone(),
                });
            }
            wifi.ssids.push(Ssid {
                ssid: r.text(&format!("{p}.SSID")),
                band,
                enabled: r.bool(&format!("{p}.Enable")),
                status: r.text(&format!("{p}.Status")),
                bssid: r.text(&format!("{p}.BSSID")),
                clients,
                path: p,
            });
        }
    }
    wifi
}

/// The CPE's word for a link type, in the summary's (`Wi-Fi`, `Ethernet`).
fn link_name(t: &str) -> String {
    match t.trim().to_ascii_lowercase().as_str() {
        "802.11" | "wi-fi" | "wifi" | "wlan" | "wireless" => "Wi-Fi".to_owned(),
        "ethernet" => "Ethernet".to_owned(),
        _ => t.trim().to_owned(),
    }
}

/// The link type an interface path stands for.
fn link_of(path: &str) -> Option<&'static str> {
    if path.starts_with("Device.WiFi.") || path.contains(".WLANConfiguration.") {
        Some("Wi-Fi")
    } else if path.starts_with("Device.Ethernet.") || path.contains(".LANEthernetInterfaceConfig.")
    {
        Some("Ethernet")
    } else {
        None
    }
}

/// Wi-Fi clients by MAC, with the parameter that lists each.
fn associated(r: &Reader<'_>, model: DataModel) -> HashMap<String, String> {
    let view = r.view;
    let mut out = HashMap::new();
    let tables: Vec<(String, &str)> = match model {
        DataModel::Tr181 => view
            .instances("Device.WiFi.AccessPoint")
            .into_iter()
            .map(|i| {
                (
                    format!("Device.WiFi.AccessPoint.{i}.AssociatedDevice"),
                    "MACAddress",
                )
            })
            .collect(),
        DataModel::Tr098 => view
            .instances("InternetGatewayDevice.LANDevice")
            .into_iter()
            .flat_map(|l| {
                let t = format!("InternetGatewayDevice.LANDevice.{l}.WLANConfiguration");
                view.instances(&t).into_iter().map(move |w| {
                    (
                        format!("{t}.{w}.AssociatedDevice"),
                        "AssociatedDeviceMACAddress",
                    )
                })
            })
            .collect(),
    };
    for (table, leaf) in tables {
        for i in view.instances(&table) {
            let path = format!("{table}.{i}.{leaf}");
            if let Some(mac) = view.text(&path).and_then(|m| normalize_mac(&m)) {
                out.insert(mac, path);
            }
        }
    }
    out
}

/// Reads the hosts table(s).
pub(super) fn hosts(r: &mut Reader<'_>, model: DataModel) -> Vec<Host> {
    let view = r.view;
    let wifi_macs = associated(r, model);
    let tables: Vec<String> = match model {
        DataModel::Tr181 => vec!["Device.Hosts.Host".to_owned()],
        DataModel::Tr098 => view
            .instances("InternetGatewayDevice.LANDevice")
            .into_iter()
            .map(|l| format!("InternetGatewayDevice.LANDevice.{l}.Hosts.Host"))
            .collect(),
    };
    let (mac_leaf, layer_leaf) = match model {
        DataModel::Tr181 => ("PhysAddress", "Layer1Interface"),
        DataModel::Tr098 => ("MACAddress", "Layer2Interface"),
    };
    let mut out = Vec::new();
    for table in tables {
        for i in view.instances(&table) {
            let p = format!("{table}.{i}");
            let mac = r.text(&format!("{p}.{mac_leaf}")).map(|f| {
                let norm = normalize_mac(&f.value);
                f.map(|raw| norm.unwrap_or_else(|| raw.to_ascii_uppercase()))
            });
            let mut interface = r
                .text(&format!("{p}.InterfaceType"))
                .map(|f| f.map(|t| link_name(&t)));
            if interface.is_none()
                && let Some(l) = r.text(&format!("{p}.{layer_leaf}"))
                && let Some(kind) = link_of(&l.value)
            {
                interface = Some(l.map(|_| kind.to_owned()));
            }
            if interface.is_none() {
                interface = r
                    .text(&format!("{p}.AssociatedDevice"))
                    .map(|f| f.map(|_| "Wi-Fi".to_owned()));
            }
            if interface.is_none()
                && let Some(path) = mac.as_ref().and_then(|m| wifi_macs.get(&m.value))
            {
                interface = r.text(path).map(|f| f.map(|_| "Wi-Fi".to_owned()));
            }
            out.push(Host {
                name: r.text(&format!("{p}.HostName")),
                ip: r.text(&format!("{p}.IPAddress")),
                active: r.bool(&format!("{p}.Active")),
                mac,
                interface,
                path: p,
            });
        }
    }
    out
}
