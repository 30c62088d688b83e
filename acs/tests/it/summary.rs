//! Device summaries of several vendors' trees (the real XX230v dump and the TR-181/TR-098 trees
//! under `testdata/trees/`): golden renderings, hand-checked facts, freshness, the absence of
//! secrets, and robustness on arbitrary trees.
//!
//! Goldens live in `testdata/summaries/`; `FIBREPLANE_BLESS=1` rewrites them after a deliberate
//! change (review the diff).

use acs::datamodel::DataModel;
use acs::store::{Param, ParamTree, Value};
use acs::summary::{DeviceSummary, Section, Staleness, Status, summarize};
use std::fmt::Write as _;

/// When every fixture value was read.
pub(crate) const READ_MS: i64 = 1_795_000_000_000;

pub(crate) const HUAWEI: &str = include_str!("../../testdata/trees/huawei-hg8245h.csv");
pub(crate) const ZTE: &str = include_str!("../../testdata/trees/zte-f660.csv");
pub(crate) const GENERIC: &str = include_str!("../../testdata/trees/generic-tr181-ont.csv");

/// The whole-device fixtures, by golden name.
fn devices() -> [(&'static str, &'static str); 4] {
    [
        ("tplink-xx230v", fibreplane_schemas::XX230V_CSV),
        ("huawei-hg8245h", HUAWEI),
        ("zte-f660", ZTE),
        ("generic-tr181-ont", GENERIC),
    ]
}

/// Every fixture with a golden: the whole devices, then the optics-only trees of
/// `optics_vendors.rs`.
fn fixtures() -> Vec<(&'static str, &'static str)> {
    let mut all = devices().to_vec();
    all.extend(crate::optics_vendors::TREES);
    all
}

/// A stored tree as the ACS would hold it after discovering a CPE serving `csv`.
pub(crate) fn tree(csv: &str, read_ms: i64) -> ParamTree {
    let model = fibreplane_schemas::DataModel::from_csv(csv).expect("fixture CSV");
    model
        .params
        .into_iter()
        .map(|p| {
            let param = if p.object {
                Param::object(Some(p.writable), read_ms)
            } else {
                let v = Value::from_wire(&p.xsd_type, &p.value);
                Param::leaf(Some(v), Some(p.writable), read_ms)
            };
            (p.path, param)
        })
        .collect()
}

fn summary_of(csv: &str) -> DeviceSummary {
    summarize(&tree(csv, READ_MS), None, READ_MS, &Staleness::default())
}

/// One line per fact: `wan[0].ip = "1.2.3.4"  <- Device.…`, other values as JSON.
fn render(s: &DeviceSummary) -> String {
    fn walk(v: &serde_json::Value, at: &str, out: &mut String) {
        match v {
            serde_json::Value::Object(m)
                if m.contains_key("value")
                    && m.contains_key("path")
                    && m.contains_key("read_ms") =>
            {
                let path = m["path"].as_str().unwrap_or_default();
                let _ = writeln!(out, "{at} = {}  <- {path}", m["value"]);
            }
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    let at = if at.is_empty() {
                        k.clone()
                    } else {
                        format!("{at}.{k}")
                    };
                    walk(x, &at, out);
                }
            }
            serde_json::Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    walk(x, &format!("{at}[{i}]"), out);
                }
            }
            serde_json::Value::Null => {}
            other => {
                let _ = writeln!(out, "{at} = {other}");
            }
        }
    }
    let mut out = String::new();
    walk(
        &serde_json::to_value(s).expect("summary serializes"),
        "",
        &mut out,
    );
    out
}

#[test]
fn summaries_match_their_goldens() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/summaries");
    let bless = std::env::var_os("FIBREPLANE_BLESS").is_some();
    let mut stale = Vec::new();
    for (name, csv) in fixtures() {
        let got = render(&summary_of(csv));
        let path = format!("{dir}/{name}.txt");
        if bless {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if got != want {
            stale.push(name);
            eprintln!("--- {name}: golden differs; got:\n{got}");
        }
    }
    assert!(
        stale.is_empty(),
        "goldens differ: {stale:?} (FIBREPLANE_BLESS=1 rewrites them)"
    );
}

fn text(f: &Option<acs::summary::Fact<String>>) -> Option<&str> {
    f.as_ref().map(|f| f.value.as_str())
}

#[test]
fn the_xx230v_summary_reads_its_vendor_paths() {
    let s = summary_of(fibreplane_schemas::XX230V_CSV);
    assert_eq!(s.data_model, Some(DataModel::Tr181));
    assert_eq!(text(&s.identity.model_name), Some("XX230v"));
    assert_eq!(s.identity.uptime_s.as_ref().map(|f| f.value), Some(15687));
    // The PPPoE connection carries the default route; the USB and IPoE ones are down.
    let wan = &s.wan[0];
    assert_eq!(wan.path, "Device.IP.Interface.6");
    assert_eq!(wan.kind, acs::summary::WanKind::Ppp);
    assert!(wan.default_route);
    assert_eq!(text(&wan.ip), Some("192.168.89.137"));
    assert_eq!(text(&wan.gateway), Some("192.168.89.1"));
    assert_eq!(text(&wan.status), Some("Connected"));
    assert_eq!(text(&wan.username), Some("admin123"));
    assert_eq!(
        wan.dns.as_ref().map(|d| d.value.clone()),
        Some(vec!["192.168.88.1".to_owned()])
    );
    assert_eq!(s.wan.len(), 4, "ppp0, the two USB modems and the IPoE VLAN");
    let lan = s.lan.as_ref().unwrap();
    assert_eq!(text(&lan.ip), Some("192.168.1.1"));
    assert_eq!(
        (text(&lan.dhcp_start), text(&lan.dhcp_end)),
        (Some("192.168.1.2"), Some("192.168.1.249"))
    );
    // Optics from X_TP_GPON_Config in 0.1 µW; the standard levels read 0 on this firmware.
    let o = s.optics.as_ref().unwrap();
    assert_eq!(o.profile, "tplink_gpon");
    assert_eq!(o.rx_dbm.as_ref().map(|f| f.value), Some(-2.5));
    assert_eq!(o.tx_dbm.as_ref().map(|f| f.value), Some(1.73));
    let ssid1 = &s.wifi.ssids[0];
    assert_eq!(
        (text(&ssid1.ssid), text(&ssid1.band)),
        (Some("TP-Link_2AC8"), Some("2.4GHz"))
    );
    let ssid3 = s
        .wifi
        .ssids
        .iter()
        .find(|x| x.path == "Device.WiFi.SSID.3")
        .unwrap();
    assert_eq!(ssid3.clients.as_ref().map(|f| f.value), Some(1));
    // SSID.2 is enabled but its access point is not.
    let ssid2 = s
        .wifi
        .ssids
        .iter()
        .find(|x| x.path == "Device.WiFi.SSID.2")
        .unwrap();
    assert_eq!(
        ssid2.enabled.as_ref().map(|f| (f.value, f.path.as_str())),
        Some((false, "Device.WiFi.AccessPoint.2.Enable"))
    );
    // The host's upper-case MAC joins the access point's lower-case one.
    let host = &s.hosts[0];
    assert_eq!(text(&host.mac), Some("3C:06:30:2D:42:FB"));
    assert_eq!(text(&host.interface), Some("Wi-Fi"));
    assert_eq!(host.active.as_ref().map(|f| f.value), Some(false));
    let line = &s.voice[0];
    assert_eq!(
        line.path,
        "Device.X_TP_Services.VoiceService.1.VoiceProfile.1.Line.1"
    );
    assert_eq!(line.enabled.as_ref().map(|f| f.value), Some(true));
    assert_eq!(
        (text(&line.status), line.registered),
        (Some("Disabled"), Some(false))
    );
    assert!(line.registrar.is_none(), "0.0.0.0 is no registrar");
}

#[test]
fn tr098_vendors_convert_their_own_units() {
    let h = summary_of(HUAWEI);
    assert_eq!(h.data_model, Some(DataModel::Tr098));
    let o = h.optics.as_ref().unwrap();
    assert_eq!(
        (o.profile.as_str(), o.rx_dbm.as_ref().map(|f| f.value)),
        ("huawei_gpon", Some(-19.52))
    );
    assert_eq!(h.wan[0].kind, acs::summary::WanKind::Ppp);
    assert!(h.wan[0].default_route);
    assert_eq!(text(&h.wan[0].gateway), Some("100.64.0.1"));
    assert_eq!(h.wifi.radios.len(), 2);
    let bands: Vec<_> = h
        .wifi
        .ssids
        .iter()
        .map(|s| text(&s.band).unwrap_or("?"))
        .collect();
    assert_eq!(bands, ["2.4GHz", "2.4GHz", "5GHz"]);
    assert_eq!(
        h.hosts
            .iter()
            .filter(|x| text(&x.interface) == Some("Wi-Fi"))
            .count(),
        3
    );
    assert_eq!(
        h.voice.iter().map(|l| l.registered).collect::<Vec<_>>(),
        [Some(true), Some(false)]
    );

    let z = summary_of(ZTE);
    let o = z.optics.as_ref().unwrap();
    assert_eq!(o.profile, "zte_gpon");
    assert_eq!(
        (
            o.rx_dbm.as_ref().map(|f| f.value),
            o.tx_dbm.as_ref().map(|f| f.value)
        ),
        (Some(-19.03), Some(2.7))
    );
    // DefaultConnectionService names the IPoE connection (with a trailing dot).
    assert_eq!(z.wan[0].kind, acs::summary::WanKind::Ip);
    assert!(z.wan[0].default_route);
    assert_eq!(text(&z.wan[0].gateway), Some("100.70.0.1"));
    assert_eq!(
        z.wan[1].uptime_s, None,
        "a connection that is not up has no uptime"
    );
    // Channel 0 (automatic): the band comes from the channels it may use.
    assert_eq!(text(&z.wifi.ssids[0].band), Some("2.4GHz"));
    assert_eq!(
        z.wifi.ssids[0].band.as_ref().unwrap().path,
        "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.PossibleChannels"
    );
    assert_eq!(text(&z.voice[0].status), Some("Registering"));
    assert_eq!(z.voice[0].registered, Some(false));
}

#[test]
fn a_generic_tr181_router_follows_the_standard() {
    let s = summary_of(GENERIC);
    let o = s.optics.as_ref().unwrap();
    assert_eq!(o.profile, "tr181_optical");
    assert_eq!(
        (
            o.rx_dbm.as_ref().map(|f| f.value),
            o.tx_dbm.as_ref().map(|f| f.value)
        ),
        (Some(-18.45), Some(2.15))
    );
    assert_eq!(s.wan.len(), 1, "the loopback and the LAN are not WAN");
    let wan = &s.wan[0];
    assert_eq!(
        (wan.path.as_str(), wan.kind),
        ("Device.IP.Interface.2", acs::summary::WanKind::Ip)
    );
    assert_eq!(text(&wan.addressing), Some("DHCP"));
    assert_eq!(wan.dns.as_ref().map(|d| d.value.len()), Some(2));
    assert_eq!(wan.uptime_s.as_ref().map(|f| f.value), Some(3400));
    let bands: Vec<_> = s
        .wifi
        .radios
        .iter()
        .map(|r| text(&r.band).unwrap())
        .collect();
    assert_eq!(bands, ["2.4GHz", "5GHz", "6GHz"]);
    let clients: Vec<_> = s
        .wifi
        .ssids
        .iter()
        .map(|x| x.clients.as_ref().map(|f| f.value))
        .collect();
    assert_eq!(clients, [Some(2), Some(1), Some(0)]);
    // No InterfaceType: the host's Layer1Interface says Wi-Fi.
    assert_eq!(text(&s.hosts[1].interface), Some("Wi-Fi"));
    assert_eq!(
        s.hosts[1].interface.as_ref().unwrap().path,
        "Device.Hosts.Host.2.Layer1Interface"
    );
    let v: Vec<_> = s
        .voice
        .iter()
        .map(|l| (text(&l.status), l.registered, text(&l.registrar)))
        .collect();
    assert_eq!(
        v,
        [
            (Some("Up"), Some(true), Some("sip.gigafibre.example")),
            (
                Some("Error_Registration"),
                Some(false),
                Some("sip.gigafibre.example")
            ),
        ]
    );
}

fn section(s: &DeviceSummary, which: Section) -> &acs::summary::SectionState {
    s.sections.iter().find(|x| x.section == which).unwrap()
}

#[test]
fn stale_and_missing_sections_say_what_to_refresh() {
    let t = tree(GENERIC, READ_MS);
    let ten_minutes = READ_MS + 10 * 60 * 1000;
    let s = summarize(&t, None, ten_minutes, &Staleness::default());
    assert_eq!(section(&s, Section::Hosts).status, Status::Stale);
    assert_eq!(section(&s, Section::Wan).status, Status::Fresh);
    assert_eq!(s.refresh, ["Device.Hosts"]);

    // Optics read earlier than the rest: only their object is refreshed.
    let mut t2 = t.clone();
    let rx = "Device.Optical.Interface.1.OpticalSignalLevel";
    let mut p = t2.get(rx).unwrap().clone();
    p.timestamp_ms = READ_MS - 3_600_000;
    t2.insert(rx, p);
    let s = summarize(&t2, None, READ_MS, &Staleness::default());
    assert_eq!(
        section(&s, Section::Optics).oldest_ms,
        Some(READ_MS - 3_600_000)
    );
    assert_eq!(s.refresh, ["Device.Optical.Interface.1"]);

    // A router without optics: unsupported, nothing to refresh.
    let mut t3 = t.clone();
    t3.remove_subtree("Device.Optical");
    let s = summarize(&t3, None, READ_MS, &Staleness::default());
    assert_eq!(section(&s, Section::Optics).status, Status::Unsupported);
    assert!(s.refresh.is_empty(), "{:?}", s.refresh);

    // Objects known but never read: missing, refresh them.
    let mut t4 = t.clone();
    t4.remove_subtree("Device.Hosts");
    t4.insert("Device.Hosts", Param::object(Some(false), 0));
    let s = summarize(&t4, None, READ_MS, &Staleness::default());
    assert_eq!(section(&s, Section::Hosts).status, Status::Missing);
    assert_eq!(s.refresh, ["Device.Hosts"]);

    // Only what an Inform carries: every section is missing and the standard objects are named.
    let informed: ParamTree = t
        .iter()
        .filter(|(p, _)| {
            p.starts_with("Device.DeviceInfo.") || p.starts_with("Device.ManagementServer.")
        })
        .map(|(p, v)| (p.to_owned(), v.clone()))
        .collect();
    let s = summarize(&informed, None, READ_MS, &Staleness::default());
    assert_eq!(section(&s, Section::Identity).status, Status::Fresh);
    assert_eq!(section(&s, Section::Optics).status, Status::Missing);
    assert!(
        s.refresh.contains(&"Device.WiFi.SSID".to_owned()),
        "{:?}",
        s.refresh
    );
    assert!(
        s.refresh.contains(&"Device.XPON.ONU".to_owned()),
        "{:?}",
        s.refresh
    );
}

#[test]
fn secrets_never_reach_a_summary() {
    for (name, csv) in devices() {
        let mut t = tree(csv, READ_MS);
        let secret_paths: Vec<String> = t
            .iter()
            .filter(|(p, n)| {
                !n.object
                    && [
                        "Password",
                        "Passphrase",
                        "PreSharedKey",
                        "AuthPassword",
                        "Key",
                    ]
                    .iter()
                    .any(|s| p.ends_with(s))
            })
            .map(|(p, _)| p.to_owned())
            .collect();
        assert!(!secret_paths.is_empty(), "{name} has secured parameters");
        for p in &secret_paths {
            t.insert(
                p.clone(),
                Param::leaf(
                    Some(Value::String("S3CRET-VALUE".into())),
                    Some(true),
                    READ_MS,
                ),
            );
        }
        let json =
            serde_json::to_string(&summarize(&t, None, READ_MS, &Staleness::default())).unwrap();
        assert!(!json.contains("S3CRET"), "{name} leaks a secret");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registered_cpe_sim_devices_summarize_to_their_models_values() {
    use crate::e2e::{WAIT, id};
    use acs::TaskKind;
    let t = crate::harness::start(crate::harness::config(std::path::Path::new("."))).await;

    let f = crate::diagnostics::sim(t.url(), None, 7, false).await;
    let dev = id(&f, 0);
    let s = t
        .acs
        .device_summary(&dev, &Staleness::default())
        .await
        .unwrap()
        .expect("known device");
    assert_eq!(s.device.as_deref(), Some(dev.as_str()));
    assert!(
        s.sections.iter().all(|x| x.status == Status::Fresh),
        "{:?}",
        s.sections
    );
    assert!(s.refresh.is_empty());
    let param = |p: &str| f.param(0, p);
    assert_eq!(text(&s.identity.serial_number), Some(f.serial(0).as_str()));
    let sw = param("Device.DeviceInfo.SoftwareVersion");
    assert_eq!(text(&s.identity.software_version), sw.as_deref());
    let wan_ip = param("Device.IP.Interface.6.IPv4Address.1.IPAddress");
    assert_eq!(text(&s.wan[0].ip), wan_ip.as_deref());
    let o = s.optics.as_ref().unwrap();
    let rx = param("Device.Optical.Interface.1.X_TP_GPON_Config.RXPower");
    assert_eq!(text(&o.rx_raw), rx.as_deref());
    // BSSIDs carry this CPE's own MAC block, not the dump's.
    let bssid = param("Device.WiFi.SSID.1.BSSID");
    assert_eq!(text(&s.wifi.ssids[0].bssid), bssid.as_deref());

    // A change on the device shows once the stale section's objects are refreshed, as the hub
    // does: a RefreshObject per path, then a connection request.
    assert!(f.set_param(0, "Device.WiFi.SSID.1.SSID", "Gigafibre-0077"));
    let strict = Staleness {
        wifi: std::time::Duration::ZERO,
        ..Staleness::default()
    };
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let s = t.acs.device_summary(&dev, &strict).await.unwrap().unwrap();
    assert_eq!(
        s.refresh,
        [
            "Device.WiFi.AccessPoint",
            "Device.WiFi.Radio",
            "Device.WiFi.SSID"
        ]
    );
    let mut ids = Vec::new();
    for path in s.refresh {
        ids.push(
            t.acs
                .enqueue(&dev, TaskKind::RefreshObject { path })
                .await
                .unwrap()
                .id,
        );
    }
    t.acs.connection_request(&dev).await.unwrap();
    for task in ids {
        let out = t.acs.wait_task(task, WAIT).await.unwrap();
        assert!(matches!(out, acs::TaskOutcome::Done(_)), "{out:?}");
    }
    let s = t
        .acs
        .device_summary(&dev, &Staleness::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(text(&s.wifi.ssids[0].ssid), Some("Gigafibre-0077"));
    f.shutdown().await;

    let f = crate::diagnostics::sim(t.url(), Some(HUAWEI), 7, false).await;
    let dev = id(&f, 0);
    let s = t
        .acs
        .device_summary(&dev, &Staleness::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.data_model, Some(DataModel::Tr098));
    assert_eq!(text(&s.identity.serial_number), Some(f.serial(0).as_str()));
    let ppp = "InternetGatewayDevice.WANDevice.1.WANConnectionDevice.1.WANPPPConnection.1";
    assert_eq!(
        text(&s.wan[0].ip),
        f.param(0, &format!("{ppp}.ExternalIPAddress")).as_deref()
    );
    assert_eq!(
        s.optics
            .as_ref()
            .and_then(|o| o.rx_dbm.as_ref())
            .map(|f| f.value),
        Some(-19.52)
    );
    f.shutdown().await;
}
