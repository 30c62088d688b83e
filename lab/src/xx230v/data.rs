//! The emulated modem's DEV2_* objects, derived from the XX230v's real TR-181 dump (the same
//! serial, MACs, optical levels and hosts as `schemas/data/tplink-xx230v.csv`), read through a
//! [`CpeModel`] so an index or serial override gives the identity a cpe-sim CPE would have.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::CpeModel;

/// One object's attributes.
pub(crate) type Obj = BTreeMap<String, String>;

/// DEV2 objects by OID: `go` objects have one entry, `gl` objects a list.
#[derive(Debug, Clone, Default)]
pub(crate) struct Dev2 {
    objects: BTreeMap<&'static str, Vec<Obj>>,
    /// `DeviceInfo.UpTime` at start; answers add the time since.
    pub(crate) base_uptime: u64,
}

fn b(v: Option<String>) -> String {
    match v.as_deref() {
        Some("true" | "1") => "1".into(),
        _ => "0".into(),
    }
}

impl Dev2 {
    pub(crate) fn from_model(m: &CpeModel) -> Self {
        let g = |p: &str| m.get(&format!("Device.{p}")).unwrap_or_default();
        let obj = |pairs: &[(&str, String)]| -> Obj {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect()
        };
        let mut o: BTreeMap<&'static str, Vec<Obj>> = BTreeMap::new();
        o.insert(
            "DEV2_DEV_INFO",
            vec![obj(&[
                ("manufacturer", g("DeviceInfo.Manufacturer")),
                ("modelName", g("DeviceInfo.ModelName")),
                ("hardwareVersion", g("DeviceInfo.HardwareVersion")),
                ("softwareVersion", g("DeviceInfo.SoftwareVersion")),
                ("serialNumber", g("DeviceInfo.SerialNumber")),
                ("upTime", g("DeviceInfo.UpTime")),
            ])],
        );
        // The WAN is the first IP interface that is up and is not the LAN bridge.
        let wan_if = (2..=16)
            .find(|i| g(&format!("IP.Interface.{i}.Status")) == "Up")
            .unwrap_or(6);
        let wan = |p: &str| g(&format!("IP.Interface.{wan_if}.{p}"));
        let gateway = (1..=16)
            .map(|i| {
                g(&format!(
                    "Routing.Router.1.IPv4Forwarding.{i}.GatewayIPAddress"
                ))
            })
            .find(|a| !a.is_empty() && a != "0.0.0.0")
            .unwrap_or_default();
        let ppp = lower_layer(
            m,
            &format!("Device.IP.Interface.{wan_if}"),
            "Device.PPP.Interface.",
        );
        let dns = ppp
            .as_ref()
            .map(|p| m.get(&format!("{p}.IPCP.DNSServers")).unwrap_or_default())
            .unwrap_or_default();
        let status = ppp
            .as_ref()
            .and_then(|p| m.get(&format!("{p}.ConnectionStatus")))
            .unwrap_or_else(|| "Connected".into());
        let mac = mac_below(m, &format!("Device.IP.Interface.{wan_if}")).unwrap_or_default();
        o.insert(
            "DEV2_ADT_WAN",
            vec![
                obj(&[
                    ("enable", "1".into()),
                    ("name", "pppoe_gpon_3_3".into()),
                    (
                        "connType",
                        if ppp.is_some() { "PPPoE" } else { "IPoE" }.into(),
                    ),
                    ("connStatusV4", status),
                    ("MACAddr", mac),
                    ("connIPv4Address", wan("IPv4Address.1.IPAddress")),
                    ("connIPv4SubnetMask", wan("IPv4Address.1.SubnetMask")),
                    ("connIPv4Gateway", gateway),
                    ("connIPv4DnsServer", dns.replace([' ', '\n'], "")),
                    ("connIPv6Address", wan("IPv6Address.1.IPAddress")),
                    ("stack", "1,0,0,0,0,0".into()),
                ]),
                // A second, disabled WAN (the IPTV/VoIP slot real units carry) exercises the
                // "first enabled entry" rule.
                obj(&[
                    ("enable", "0".into()),
                    ("name", "ipoe_gpon_4_4".into()),
                    ("connType", "IPoE".into()),
                    ("stack", "2,0,0,0,0,0".into()),
                ]),
            ],
        );
        o.insert(
            "DEV2_ADT_LAN",
            vec![obj(&[
                ("MACAddress", g("Ethernet.Link.1.MACAddress")),
                ("IPAddress", g("IP.Interface.1.IPv4Address.1.IPAddress")),
                ("IPSubnetMask", g("IP.Interface.1.IPv4Address.1.SubnetMask")),
                (
                    "DHCPv4Enable",
                    b(m.get("Device.DHCPv4.Server.Pool.1.Enable")),
                ),
            ])],
        );
        let radios: Vec<u32> = (1..=3)
            .filter(|r| !g(&format!("WiFi.Radio.{r}.OperatingFrequencyBand")).is_empty())
            .collect();
        // Guest SSIDs are the ones named `…_Guest` in the dump; the primary is the radio's first SSID.
        let ssids: Vec<u32> = (1..=32)
            .filter(|s| !g(&format!("WiFi.SSID.{s}.SSID")).is_empty())
            .collect();
        let ap_enable = |s: u32| b(m.get(&format!("Device.WiFi.AccessPoint.{s}.Enable")));
        let on_radio = |s: u32, r: u32| {
            g(&format!("WiFi.SSID.{s}.LowerLayers")).trim_end_matches('.')
                == format!("Device.WiFi.Radio.{r}")
        };
        o.insert(
            "DEV2_ADT_WIFI_COMMON",
            radios
                .iter()
                .map(|&r| {
                    let primary = ssids
                        .iter()
                        .copied()
                        .find(|&s| on_radio(s, r))
                        .map(ap_enable)
                        .unwrap_or_default();
                    let guest = ssids
                        .iter()
                        .copied()
                        .find(|&s| {
                            on_radio(s, r) && g(&format!("WiFi.SSID.{s}.SSID")).ends_with("_Guest")
                        })
                        .map(ap_enable)
                        .unwrap_or_else(|| "0".into());
                    obj(&[
                        ("primaryEnable", primary),
                        ("guestEnable", guest),
                        ("ioTssidEnable", "0".into()),
                        ("mloEnable", "0".into()),
                    ])
                })
                .collect(),
        );
        o.insert(
            "DEV2_WIFI_RADIO",
            radios
                .iter()
                .map(|&r| {
                    let p = |k: &str| g(&format!("WiFi.Radio.{r}.{k}"));
                    obj(&[
                        ("enable", b(Some(p("Enable")))),
                        ("status", p("Status")),
                        ("channel", p("Channel")),
                        ("operatingFrequencyBand", p("OperatingFrequencyBand")),
                    ])
                })
                .collect(),
        );
        o.insert(
            "DEV2_WIFI_SSID",
            ssids
                .iter()
                .map(|&s| {
                    let p = |k: &str| g(&format!("WiFi.SSID.{s}.{k}"));
                    obj(&[
                        ("enable", ap_enable(s)),
                        ("status", p("Status")),
                        ("SSID", p("SSID")),
                        ("BSSID", p("BSSID")),
                        ("lowerLayers", p("LowerLayers")),
                    ])
                })
                .collect(),
        );
        o.insert(
            "DEV2_HOST_ENTRY",
            (1..=64)
                .filter(|h| !g(&format!("Hosts.Host.{h}.PhysAddress")).is_empty())
                .map(|h| {
                    let p = |k: &str| g(&format!("Hosts.Host.{h}.{k}"));
                    obj(&[
                        ("active", b(Some(p("Active")))),
                        ("X_TP_LanConnType", p("X_TP_LanConnType")),
                        ("physAddress", p("PhysAddress")),
                        ("IPAddress", p("IPAddress")),
                        ("hostName", p("HostName")),
                        ("leaseTimeRemaining", p("LeaseTimeRemaining")),
                    ])
                })
                .collect(),
        );
        o.insert(
            "DEV2_MEM_STATUS",
            vec![obj(&[
                ("total", g("DeviceInfo.MemoryStatus.Total")),
                ("free", g("DeviceInfo.MemoryStatus.Free")),
            ])],
        );
        o.insert(
            "DEV2_PROC_STATUS",
            vec![obj(&[("CPUUsage", g("DeviceInfo.ProcessStatus.CPUUsage"))])],
        );
        let opt = |k: &str| g(&format!("Optical.Interface.1.X_TP_GPON_Config.{k}"));
        o.insert(
            "DEV2_OPTC_GPON_CFG",
            vec![obj(&[
                ("RXPower", opt("RXPower")),
                ("TXPower", opt("TXPower")),
                ("transceiverTemperature", opt("TransceiverTemperature")),
                ("supplyVottage", opt("SupplyVottage")),
                ("biasCurrent", opt("BiasCurrent")),
                ("status", opt("Status")),
                ("ponType", opt("PonType")),
                ("xponStatus", g("Optical.Interface.1.Status")),
            ])],
        );
        let base_uptime = g("DeviceInfo.UpTime").parse().unwrap_or(0);
        Self {
            objects: o,
            base_uptime,
        }
    }

    /// Answers a `go`/`gl` call: the requested attributes (all when none are named), every value a
    /// string, `stack` numbering list entries; `None` for an OID this firmware does not have.
    pub(crate) fn answer(
        &self,
        op: &str,
        oid: &str,
        wanted: &[String],
        uptime: u64,
    ) -> Option<Value> {
        let entries = self.objects.get(oid)?;
        let render = |i: usize, e: &Obj| -> Value {
            let mut m = Map::new();
            for (k, v) in e {
                if k == "stack" || (!wanted.is_empty() && !wanted.contains(k)) {
                    continue;
                }
                let v = if oid == "DEV2_DEV_INFO" && k == "upTime" {
                    uptime.to_string()
                } else {
                    v.clone()
                };
                m.insert(k.clone(), Value::from(v));
            }
            if op == "gl" {
                m.insert("stack".into(), Value::from(format!("{},0,0,0,0,0", i + 1)));
            }
            Value::Object(m)
        };
        Some(match op {
            "gl" => Value::Array(
                entries
                    .iter()
                    .enumerate()
                    .map(|(i, e)| render(i, e))
                    .collect(),
            ),
            _ => entries
                .first()
                .map(|e| render(0, e))
                .unwrap_or(Value::Object(Map::new())),
        })
    }
}

/// Follows `LowerLayers` from `path` until a path starting with `prefix` (at most 6 hops).
fn lower_layer(m: &CpeModel, path: &str, prefix: &str) -> Option<String> {
    let mut cur = path.to_owned();
    for _ in 0..6 {
        let next = m.get(&format!("{cur}.LowerLayers"))?;
        let next = next
            .split(',')
            .next()?
            .trim()
            .trim_end_matches('.')
            .to_owned();
        if next.is_empty() {
            return None;
        }
        if next.starts_with(prefix) {
            return Some(next);
        }
        cur = next;
    }
    None
}

/// The first `MACAddress` found following `LowerLayers` down from `path`.
fn mac_below(m: &CpeModel, path: &str) -> Option<String> {
    let mut cur = path.to_owned();
    for _ in 0..8 {
        if let Some(mac) = m
            .get(&format!("{cur}.MACAddress"))
            .filter(|v| !v.is_empty())
        {
            return Some(mac);
        }
        let next = m.get(&format!("{cur}.LowerLayers"))?;
        cur = next
            .split(',')
            .next()?
            .trim()
            .trim_end_matches('.')
            .to_owned();
    }
    None
}
