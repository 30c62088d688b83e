//! Arbitrary trees (random paths, and real object paths with hostile values): the summary
//! extractors and the diagnostics planner and reader never panic, and what they return keeps
//! its invariants.

use acs::datamodel::DataModel;
use acs::diagnostics::{DiagHost, Diagnostic, TestUrl};
use acs::store::{Param, ParamTree, Value};
use acs::summary::{Staleness, summarize};
use proptest::prelude::*;
use std::time::Duration;

/// Path segments that make the extractors' lookups meet.
const SEGMENTS: &[&str] = &[
    "Device",
    "InternetGatewayDevice",
    "IP",
    "Interface",
    "IPv4Address",
    "PPP",
    "LowerLayers",
    "Routing",
    "Router",
    "IPv4Forwarding",
    "WiFi",
    "Radio",
    "SSID",
    "AccessPoint",
    "SSIDReference",
    "AssociatedDevice",
    "Hosts",
    "Host",
    "Optical",
    "X_TP_GPON_Config",
    "RXPower",
    "XPON",
    "ONU",
    "ANI",
    "Transceiver",
    "WANDevice",
    "WANConnectionDevice",
    "WANPPPConnection",
    "LANDevice",
    "WLANConfiguration",
    "Services",
    "VoiceService",
    "VoiceProfile",
    "Line",
    "CallControl",
    "Provider",
    "Network",
    "DHCPv4",
    "Server",
    "Pool",
    "Interface",
    "1",
    "2",
    "10",
];

/// Real object paths, so that generated trees meet the extractors' lookups often.
const ANCHORS: &[&str] = &[
    "Device",
    "InternetGatewayDevice",
    "Device.IP.Diagnostics.IPPing",
    "Device.IP.Diagnostics.TraceRoute.RouteHops.1",
    "Device.IP.Diagnostics.DownloadDiagnostics",
    "InternetGatewayDevice.TraceRouteDiagnostics.RouteHops.2",
    "InternetGatewayDevice.UploadDiagnostics",
    "Device.IP.Interface.1",
    "Device.IP.Interface.1.IPv4Address.1",
    "Device.PPP.Interface.1",
    "Device.Routing.Router.1.IPv4Forwarding.1",
    "Device.WiFi.Radio.1",
    "Device.WiFi.SSID.1",
    "Device.WiFi.AccessPoint.1",
    "Device.WiFi.AccessPoint.1.AssociatedDevice.1",
    "Device.Hosts.Host.1",
    "Device.Optical.Interface.1.X_TP_GPON_Config",
    "Device.XPON.ONU.1.ANI.1.Transceiver.1",
    "Device.DHCPv4.Server.Pool.1",
    "Device.Services.VoiceService.1.CallControl.Line.1",
    "Device.Services.VoiceService.1.SIP.Client.1",
    "InternetGatewayDevice.WANDevice.1.WANConnectionDevice.1.WANPPPConnection.1",
    "InternetGatewayDevice.WANDevice.1.X_GponInterafceConfig",
    "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1",
    "InternetGatewayDevice.LANDevice.1.Hosts.Host.1",
    "InternetGatewayDevice.LANDevice.1.LANHostConfigManagement.IPInterface.1",
    "InternetGatewayDevice.Services.VoiceService.1.VoiceProfile.1.Line.1",
];

/// Leaf names the extractors and the diagnostics reader read.
const LEAVES: &[&str] = &[
    "LowerLayers",
    "Enable",
    "Status",
    "Upstream",
    "Name",
    "Type",
    "IPAddress",
    "SubnetMask",
    "Channel",
    "OperatingFrequencyBand",
    "PossibleChannels",
    "Standard",
    "SSIDReference",
    "Provider",
    "Network",
    "PhysAddress",
    "MACAddress",
    "AssociatedDeviceMACAddress",
    "InterfaceType",
    "AssociatedDeviceNumberOfEntries",
    "TotalAssociations",
    "RXPower",
    "TXPower",
    "RxPower",
    "Interface",
    "GatewayIPAddress",
    "DestIPAddress",
    "DNSServers",
    "ConnectionStatus",
    "DiagnosticsState",
    "SuccessCount",
    "FailureCount",
    "AverageResponseTimeDetailed",
    "RTTimes",
    "HopRTTimes",
    "BOMTime",
    "EOMTime",
    "TestBytesReceived",
    "TotalBytesSent",
    "Uptime",
    "LastChange",
    "Status",
    "DirectoryNumber",
    "RegistrarServer",
];

/// Trees of paths the extractors and the diagnostics reader look at, with hostile values.
fn arb_tree() -> impl Strategy<Value = ParamTree> {
    let random =
        prop::collection::vec(prop::sample::select(SEGMENTS), 1..8).prop_map(|s| s.join("."));
    let anchored = (
        prop::sample::select(ANCHORS),
        prop::option::of(prop::sample::select(LEAVES)),
    )
        .prop_map(|(a, leaf)| leaf.map_or_else(|| a.to_owned(), |l| format!("{a}.{l}")));
    let path = prop_oneof![random, anchored.clone(), anchored];
    let value = prop_oneof![
        Just(String::new()),
        "[ -~]{0,12}",
        Just("Device.IP.Interface.1.".to_owned()),
        Just("Device.IP.Interface.1.,Device.PPP.Interface.1.".to_owned()),
        Just("-99999999999999999999".to_owned()),
        Just("0".to_owned()),
        Just("Up".to_owned()),
        Just("true".to_owned()),
        Just("Completed".to_owned()),
        Just("Error_Other".to_owned()),
        Just("2026-01-01T00:00:00.5Z".to_owned()),
        Just("1,x,,99999999999".to_owned()),
        prop::sample::select(ANCHORS).prop_map(|a| format!("{a}.")),
    ];
    prop::collection::vec((path, value, any::<bool>(), any::<i64>()), 0..80).prop_map(|rows| {
        rows.into_iter()
            .map(|(p, v, object, ts)| {
                let param = if object {
                    Param::object(None, ts)
                } else {
                    Param::leaf(Some(Value::String(v)), None, ts)
                };
                (p, param)
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Summaries never panic; the refresh list never names a path below another.
    #[test]
    fn any_tree_summarizes_without_panicking(t in arb_tree(), now in any::<i64>()) {
        let s = summarize(&t, None, now, &Staleness::default());
        prop_assert_eq!(s.sections.len(), if s.data_model.is_some() { 7 } else { 1 });
        for p in &s.refresh {
            let nested = s.refresh.iter().any(|q| p.starts_with(&(q.clone() + ".")));
            prop_assert!(!nested, "{} lies below another refresh path", p);
        }
    }

    /// Planning and reading results never panic, whatever a CPE's tree holds.
    #[test]
    fn any_tree_plans_and_reads_without_panicking(t in arb_tree()) {
        let url = TestUrl::parse("http://127.0.0.1/f").unwrap();
        let host = DiagHost::parse("h").unwrap();
        let diags = [
            Diagnostic::Ping { host: host.clone(), count: 1, timeout_ms: 1, size: 1 },
            Diagnostic::TraceRoute { host, max_hops: 1, timeout_ms: 1 },
            Diagnostic::Download { url: url.clone(), duration: Some(Duration::from_secs(1)) },
            Diagnostic::Upload { url, length: 1 },
        ];
        for model in [DataModel::Tr181, DataModel::Tr098] {
            for d in &diags {
                let _ = acs::diagnostics::plan(d, model, &t);
                let _ = acs::diagnostics::read_result(d, model, &t);
            }
        }
    }
}
