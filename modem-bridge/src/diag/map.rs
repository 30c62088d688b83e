//! The pure mapping from the modem's DEV2_* answers to [`ModemDiagnostics`].

use crate::config::OpticsUnits;
use crate::plan::{self, Section};
use crate::proto::dm::Attrs;

use super::{
    DeviceInfo, Host, Lan, MemoryStatus, ModemDiagnostics, ObjectResult, Optical, ProcessStatus,
    Readout, Wan, WiFiRadio, WiFiSsid,
};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::dm::DmData;

    fn attrs(pairs: &[(&str, &str)]) -> Attrs {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn readout(items: Vec<(&str, ObjectResult)>) -> Readout {
        items.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }

    #[test]
    fn the_first_enabled_wan_is_reported_and_empty_addresses_are_none() {
        let r = readout(vec![(
            "DEV2_ADT_WAN",
            ObjectResult::Data(DmData::List(vec![
                attrs(&[
                    ("enable", "0"),
                    ("name", "off"),
                    ("connIPv4Address", "10.0.0.1"),
                ]),
                attrs(&[
                    ("enable", "1"),
                    ("name", "on"),
                    ("connIPv4Address", "0.0.0.0"),
                    ("connIPv4DnsServer", "1.1.1.1, 0.0.0.0,9.9.9.9"),
                ]),
            ])),
        )]);
        let d = map(&r, &[Section::Wan], &OpticsUnits::default());
        let wan = d.wan.unwrap();
        assert_eq!(wan.name, "on");
        assert_eq!(wan.ipv4_address, None);
        assert_eq!(wan.dns_servers, ["1.1.1.1", "9.9.9.9"]);
    }

    #[test]
    fn refusals_leave_the_section_empty_and_are_listed() {
        let r = readout(vec![
            ("DEV2_DEV_INFO", ObjectResult::Refused(9003)),
            (
                "DEV2_MEM_STATUS",
                ObjectResult::Data(DmData::Object(attrs(&[("total", "x")]))),
            ),
        ]);
        let d = map(
            &r,
            &[Section::Device, Section::Resources],
            &OpticsUnits::default(),
        );
        assert!(d.device_info.is_none());
        assert!(
            d.memory_status.is_none(),
            "a non-numeric total is not invented"
        );
        assert_eq!(d.refused.get("DEV2_DEV_INFO"), Some(&9003));
    }

    #[test]
    fn wifi_clients_are_counted_per_band_from_active_hosts() {
        let host = |mac: &str, active: &str, code: &str| {
            attrs(&[
                ("physAddress", mac),
                ("active", active),
                ("X_TP_LanConnType", code),
            ])
        };
        let r = readout(vec![
            (
                "DEV2_WIFI_RADIO",
                ObjectResult::Data(DmData::List(vec![
                    attrs(&[
                        ("operatingFrequencyBand", "2.4GHz"),
                        ("enable", "1"),
                        ("channel", "6"),
                    ]),
                    attrs(&[
                        ("operatingFrequencyBand", "5GHz"),
                        ("enable", "1"),
                        ("channel", "x"),
                    ]),
                ])),
            ),
            (
                "DEV2_WIFI_SSID",
                ObjectResult::Data(DmData::List(vec![attrs(&[
                    ("SSID", "home"),
                    ("enable", "1"),
                    ("lowerLayers", "Device.WiFi.Radio.2."),
                ])])),
            ),
            (
                "DEV2_HOST_ENTRY",
                ObjectResult::Data(DmData::List(vec![
                    host("aa:bb:cc:00:00:01", "1", "1"),
                    host("aa:bb:cc:00:00:02", "1", "3"),
                    host("aa:bb:cc:00:00:03", "0", "3"),
                    host("aa:bb:cc:00:00:04", "1", "0"),
                ])),
            ),
        ]);
        let d = map(
            &r,
            &[Section::Wifi, Section::Hosts],
            &OpticsUnits::default(),
        );
        let wifi = d.wi_fi.unwrap();
        assert_eq!(wifi[0].associated_device_number_of_entries, 1);
        assert_eq!(wifi[1].associated_device_number_of_entries, 1);
        assert_eq!((wifi[0].channel, wifi[1].channel), (Some(6), None));
        assert!(wifi[0].ssids.is_empty());
        assert_eq!(wifi[1].ssids[0].ssid, "home");
        let hosts = d.hosts.unwrap();
        assert_eq!(hosts[0].phys_address, "AA:BB:CC:00:00:01");
        assert_eq!(hosts[3].interface_type, "Ethernet");
    }

    #[test]
    fn optics_follow_the_configured_units() {
        let r = readout(vec![(
            "DEV2_OPTC_GPON_CFG",
            ObjectResult::Data(DmData::List(vec![attrs(&[
                ("RXPower", "215"),
                ("status", "1"),
            ])])),
        )]);
        let units = OpticsUnits {
            power: crate::config::PowerUnit::NegTenthDbm,
            ..OpticsUnits::default()
        };
        let o = map(&r, &[Section::Optics], &units).optical.unwrap();
        assert_eq!(o.optical_signal_level_dbm, Some(-21.5));
        assert_eq!(o.status, "Down");
        assert_eq!(o.transmit_optical_level_dbm, None);
    }
}
