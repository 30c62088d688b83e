//! cpe-sim's diagnostics over the wire, against the in-test ACS: a requested IPPing runs after
//! the session on a loopback UDP echo service and is reported with `8 DIAGNOSTICS COMPLETE`;
//! writes the data model forbids are refused; another input or `Canceled` abandons a test.

use std::time::Duration;

use cwmp::{Body, ParameterValue, XsdType};
use fibreplane_lab::{CpeAuth, Fleet, SimConfig};
use tokio::net::UdpSocket;

use crate::acs::{AcsAuth, TestAcs};

const PING: &str = "Device.IP.Diagnostics.IPPing";

async fn fleet(acs: &TestAcs, echo_port: u16) -> Fleet {
    let config = SimConfig {
        acs_url: acs.url(),
        auth: CpeAuth::None,
        diag_echo_port: echo_port,
        ..SimConfig::default()
    };
    Fleet::start(config).await.unwrap()
}

async fn echo() -> u16 {
    let lo = "127.0.0.1:0".parse().unwrap();
    fibreplane_lab::spawn_udp_echo(lo).await.unwrap().port()
}

fn spv(values: &[(&str, &str, XsdType)]) -> Body {
    Body::SetParameterValues {
        parameters: values
            .iter()
            .map(|(leaf, v, t)| ParameterValue::new(format!("{PING}.{leaf}"), *v, t.clone()))
            .collect(),
        parameter_key: String::new(),
    }
}

fn request(host: &str, timeout_ms: &str) -> Body {
    spv(&[
        ("Host", host, XsdType::String),
        ("NumberOfRepetitions", "2", XsdType::UnsignedInt),
        ("Timeout", timeout_ms, XsdType::UnsignedInt),
        ("DiagnosticsState", "Requested", XsdType::String),
    ])
}

/// Waits until the ACS has seen an Inform with `code`.
async fn inform_with(acs: &TestAcs, code: &str) -> bool {
    for _ in 0..500 {
        if acs.seen().informs.iter().any(|i| i.has_event(code)) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test]
async fn a_requested_ping_runs_after_the_session_and_is_reported() {
    let acs = TestAcs::start(AcsAuth::Open).await;
    let f = fleet(&acs, echo().await).await;
    acs.push(request("127.0.0.1", "1000"));
    let r = f.inform(0, &[]).await.unwrap();
    assert_eq!(r.acs_requests, ["SetParameterValues"]);
    assert!(r.faults.is_empty(), "{:?}", r.faults);
    assert!(inform_with(&acs, "8 DIAGNOSTICS COMPLETE").await);
    let get = |leaf: &str| f.param(0, &format!("{PING}.{leaf}"));
    assert_eq!(get("DiagnosticsState").as_deref(), Some("Completed"));
    assert_eq!(get("SuccessCount").as_deref(), Some("2"));
    assert_eq!(get("FailureCount").as_deref(), Some("0"));
    f.shutdown().await;
}

#[tokio::test]
async fn forbidden_writes_fault_and_other_writes_reset_the_state() {
    let acs = TestAcs::start(AcsAuth::Open).await;
    // A silent port: the test would take its full timeout.
    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let f = fleet(&acs, silent.local_addr().unwrap().port()).await;
    acs.push(spv(&[("DiagnosticsState", "Complete", XsdType::String)]));
    let r = f.inform(0, &[]).await.unwrap();
    assert_eq!(r.faults, [9003]);
    {
        let seen = acs.seen();
        let bad: Vec<u32> = seen.faults[0]
            .set_parameter_values_faults
            .iter()
            .map(|x| x.code)
            .collect();
        assert_eq!(bad, [9007]);
    }
    let state = format!("{PING}.DiagnosticsState");
    // Requested, then (in the next session, while the test runs) another input: back to None.
    acs.push(request("127.0.0.1", "400"));
    f.inform(0, &["2 PERIODIC"]).await.unwrap();
    assert_eq!(f.param(0, &state).as_deref(), Some("Requested"));
    acs.push(spv(&[("DataBlockSize", "100", XsdType::UnsignedInt)]));
    f.inform(0, &["2 PERIODIC"]).await.unwrap();
    assert_eq!(f.param(0, &state).as_deref(), Some("None"));
    // Requested again, then Canceled: None, and no report once the test would have ended.
    acs.push(request("127.0.0.1", "100"));
    f.inform(0, &["2 PERIODIC"]).await.unwrap();
    acs.push(spv(&[("DiagnosticsState", "Canceled", XsdType::String)]));
    f.inform(0, &["2 PERIODIC"]).await.unwrap();
    assert_eq!(f.param(0, &state).as_deref(), Some("None"));
    tokio::time::sleep(Duration::from_millis(600)).await;
    let reported = acs
        .seen()
        .informs
        .iter()
        .any(|i| i.has_event("8 DIAGNOSTICS COMPLETE"));
    assert!(!reported, "an abandoned test is never reported");
    assert_eq!(f.param(0, &state).as_deref(), Some("None"));
    f.shutdown().await;
}
