//! Reading a diagnostic's result object into typed results.
//!
//! Units are the data models': response times in ms with `…Detailed` variants in µs (TR-181),
//! `RTTimes` as a comma list of ms, TR-143 times as µs-precision UTC. Throughput follows
//! TR-143: test bytes × 8 / (EOM − BOM).

use super::plan::{Kind, STATE, object};
use super::{DiagError, DiagResult, Diagnostic};
use crate::datamodel::{DataModel, View, parse_u64};
use crate::genie::date::parse_micros;
use acs_store::ParamTree;
use serde::Serialize;

use super::failure::TestFailure;

/// Where a test stands, from `DiagnosticsState`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum State {
    None,
    Requested,
    Complete,
    Failed(TestFailure),
    /// `Canceled` or a value no data model lists.
    Other(String),
}

pub(crate) fn classify(text: &str) -> State {
    match text.trim() {
        "None" => State::None,
        "Requested" => State::Requested,
        // TR-098's TR-143 tests and older TR-181 firmware say `Completed`.
        "Complete" | "Completed" => State::Complete,
        s if s.starts_with("Error") => State::Failed(TestFailure::from_state(s)),
        s => State::Other(s.to_owned()),
    }
}

/// The state of a test in the stored tree, as the CPE spelled it.
pub(crate) fn state_text(kind: Kind, model: DataModel, tree: &ParamTree) -> Option<String> {
    View::new(tree).nonempty(&format!("{}.{STATE}", object(kind, model)))
}

/// IPPing results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PingResult {
    /// Echo requests sent (`SuccessCount + FailureCount`).
    pub sent: u32,
    /// Answered.
    pub ok: u32,
    /// Unanswered.
    pub failed: u32,
    /// Fastest answer in ms (µs precision where the CPE reports `…Detailed`).
    pub min_ms: Option<f64>,
    /// Mean answer time in ms.
    pub avg_ms: Option<f64>,
    /// Slowest answer in ms.
    pub max_ms: Option<f64>,
    /// The CPE's source address (TR-181 `IPAddressUsed`).
    pub address_used: Option<String>,
}

/// One TraceRoute hop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceHop {
    /// Name (or address) of the hop.
    pub host: String,
    /// Address of the hop.
    pub address: String,
    /// ICMP error code the hop returned (0 for none).
    pub error_code: u32,
    /// Round-trip times of the tries, ms.
    pub rtt_ms: Vec<u32>,
}

/// TraceRoute results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceResult {
    /// `ResponseTime`, ms.
    pub response_ms: Option<u32>,
    /// The hops in order.
    pub hops: Vec<TraceHop>,
    /// The CPE's source address.
    pub address_used: Option<String>,
}

/// TR-143 Download or Upload results. Times are µs since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransferResult {
    /// `ROMTime`: request sent.
    pub rom_us: Option<i64>,
    /// `BOMTime`: transmission began.
    pub bom_us: i64,
    /// `EOMTime`: transmission ended.
    pub eom_us: i64,
    /// Bytes of the test (`TestBytesReceived`/`TestBytesSent`, headers included).
    pub test_bytes: u64,
    /// `TotalBytesReceived` on the interface.
    pub total_bytes_received: Option<u64>,
    /// `TotalBytesSent` on the interface.
    pub total_bytes_sent: Option<u64>,
    /// `TCPOpenRequestTime`.
    pub tcp_open_request_us: Option<i64>,
    /// `TCPOpenResponseTime`.
    pub tcp_open_response_us: Option<i64>,
    /// `test_bytes × 8 / (EOM − BOM)`, bits per second; `None` when EOM is not after BOM.
    pub throughput_bps: Option<f64>,
}

/// Typed results of one diagnostic.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Measurement {
    /// IPPing.
    Ping(PingResult),
    /// TraceRoute.
    TraceRoute(TraceResult),
    /// TR-143 download.
    Download(TransferResult),
    /// TR-143 upload.
    Upload(TransferResult),
}

/// Reads the finished `diag` from a device's tree: the results when the state is
/// `Complete`/`Completed`, `Failed` for an `Error_…` state, `Lost` for `None`.
pub fn read_result(
    diag: &Diagnostic,
    model: DataModel,
    tree: &ParamTree,
) -> Result<DiagResult, DiagError> {
    let kind = diag.kind();
    let obj = object(kind, model);
    let v = View::new(tree);
    let state_path = format!("{obj}.{STATE}");
    let state = v
        .nonempty(&state_path)
        .ok_or_else(|| DiagError::Malformed(format!("no {state_path}")))?;
    match classify(&state) {
        State::Complete => {}
        State::Failed(f) => return Err(DiagError::Failed(f)),
        State::None => return Err(DiagError::Lost { state }),
        State::Requested | State::Other(_) => {
            return Err(DiagError::Malformed(format!(
                "no results in state {state:?}"
            )));
        }
    }
    let at = |leaf: &str| format!("{obj}.{leaf}");
    let measurement = match kind {
        Kind::Ping => Measurement::Ping(ping(&v, &at)),
        Kind::TraceRoute => Measurement::TraceRoute(trace(&v, &at, model)),
        Kind::Download => Measurement::Download(transfer(&v, &at, kind)?),
        Kind::Upload => Measurement::Upload(transfer(&v, &at, kind)?),
    };
    Ok(DiagResult {
        object: obj.to_owned(),
        state,
        read_ms: v.stamp(&state_path).unwrap_or_default(),
        via_poll: false,
        measurement,
    })
}

fn u32_of(v: &View<'_>, path: &str) -> Option<u32> {
    v.u64(path).and_then(|n| u32::try_from(n).ok())
}

fn ping(v: &View<'_>, at: &dyn Fn(&str) -> String) -> PingResult {
    let ok = u32_of(v, &at("SuccessCount")).unwrap_or(0);
    let failed = u32_of(v, &at("FailureCount")).unwrap_or(0);
    // µs where TR-181's `…Detailed` exists, else ms; TR-098 once misspelt the minimum.
    let time = |name: &str, alt: Option<&str>| -> Option<f64> {
        if ok == 0 {
            return None;
        }
        if let Some(us) = v.u64(&at(&format!("{name}ResponseTimeDetailed"))) {
            return Some(us as f64 / 1000.0);
        }
        let ms = v.u64(&at(&format!("{name}ResponseTime")));
        ms.or_else(|| alt.and_then(|a| v.u64(&at(a))))
            .map(|ms| ms as f64)
    };
    PingResult {
        sent: ok.saturating_add(failed),
        ok,
        failed,
        min_ms: time("Minimum", Some("MinimumResponseTmie")),
        avg_ms: time("Average", None),
        max_ms: time("Maximum", None),
        address_used: v.nonempty(&at("IPAddressUsed")),
    }
}

fn trace(v: &View<'_>, at: &dyn Fn(&str) -> String, model: DataModel) -> TraceResult {
    let prefix = if model == DataModel::Tr098 { "Hop" } else { "" };
    let table = at("RouteHops");
    let hops = v
        .instances(&table)
        .into_iter()
        .map(|i| {
            let leaf = |name: &str| format!("{table}.{i}.{prefix}{name}");
            TraceHop {
                host: v.nonempty(&leaf("Host")).unwrap_or_default(),
                address: v.nonempty(&leaf("HostAddress")).unwrap_or_default(),
                error_code: u32_of(v, &leaf("ErrorCode")).unwrap_or(0),
                rtt_ms: v
                    .text(&leaf("RTTimes"))
                    .map(|t| {
                        t.split(',')
                            .filter_map(|x| parse_u64(x).and_then(|n| u32::try_from(n).ok()))
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect();
    TraceResult {
        response_ms: u32_of(v, &at("ResponseTime")),
        hops,
        address_used: v.nonempty(&at("IPAddressUsed")),
    }
}

fn transfer(
    v: &View<'_>,
    at: &dyn Fn(&str) -> String,
    kind: Kind,
) -> Result<TransferResult, DiagError> {
    let time = |leaf: &str| v.text(&at(leaf)).and_then(|t| parse_micros(t.trim()));
    let need = |leaf: &str| time(leaf).ok_or_else(|| DiagError::Malformed(format!("no {leaf}")));
    let (bom, eom) = (need("BOMTime")?, need("EOMTime")?);
    // TR-098's upload has no TestBytesSent: the interface's bytes, else the file length.
    let candidates: &[&str] = if kind == Kind::Upload {
        &["TestBytesSent", "TotalBytesSent", "TestFileLength"]
    } else {
        &["TestBytesReceived", "TotalBytesReceived"]
    };
    let test_bytes = candidates
        .iter()
        .find_map(|leaf| v.u64(&at(leaf)))
        .ok_or_else(|| DiagError::Malformed("no byte count".into()))?;
    let span_us = eom.saturating_sub(bom);
    Ok(TransferResult {
        rom_us: time("ROMTime"),
        bom_us: bom,
        eom_us: eom,
        test_bytes,
        total_bytes_received: v.u64(&at("TotalBytesReceived")),
        total_bytes_sent: v.u64(&at("TotalBytesSent")),
        tcp_open_request_us: time("TCPOpenRequestTime"),
        tcp_open_response_us: time("TCPOpenResponseTime"),
        throughput_bps: (span_us > 0).then(|| test_bytes as f64 * 8.0 * 1e6 / span_us as f64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::{DiagHost, TestUrl};
    use acs_store::{Param, Value};

    fn tree(rows: &[(&str, &str)]) -> ParamTree {
        rows.iter()
            .map(|(p, v)| {
                let param = Param::leaf(Some(Value::String((*v).into())), Some(false), 9);
                ((*p).to_owned(), param)
            })
            .collect()
    }

    fn ping_diag() -> Diagnostic {
        Diagnostic::Ping {
            host: DiagHost::parse("h").unwrap(),
            count: 3,
            timeout_ms: 1,
            size: 1,
        }
    }

    #[test]
    fn completed_and_complete_are_alike_and_errors_map() {
        for done in ["Complete", "Completed"] {
            let t = tree(&[
                (
                    "InternetGatewayDevice.IPPingDiagnostics.DiagnosticsState",
                    done,
                ),
                ("InternetGatewayDevice.IPPingDiagnostics.SuccessCount", "2"),
                ("InternetGatewayDevice.IPPingDiagnostics.FailureCount", "1"),
                (
                    "InternetGatewayDevice.IPPingDiagnostics.AverageResponseTime",
                    "12",
                ),
                (
                    "InternetGatewayDevice.IPPingDiagnostics.MinimumResponseTmie",
                    "10",
                ),
            ]);
            let r = read_result(&ping_diag(), DataModel::Tr098, &t).unwrap();
            let Measurement::Ping(p) = r.measurement else {
                panic!()
            };
            assert_eq!((p.sent, p.ok, p.failed), (3, 2, 1));
            assert_eq!(
                (p.avg_ms, p.min_ms, p.max_ms),
                (Some(12.0), Some(10.0), None)
            );
            assert_eq!(r.read_ms, 9);
        }
        let t = tree(&[(
            "Device.IP.Diagnostics.IPPing.DiagnosticsState",
            "Error_CannotResolveHostName",
        )]);
        let e = read_result(&ping_diag(), DataModel::Tr181, &t).unwrap_err();
        assert!(matches!(
            e,
            DiagError::Failed(TestFailure::CannotResolveHostName)
        ));
        let t = tree(&[("Device.IP.Diagnostics.IPPing.DiagnosticsState", "None")]);
        let e = read_result(&ping_diag(), DataModel::Tr181, &t).unwrap_err();
        assert!(matches!(e, DiagError::Lost { .. }));
        assert_eq!(
            TestFailure::from_state("Error_X_Vendor").state(),
            "Error_X_Vendor"
        );
        assert_eq!(TestFailure::NoPasv.to_string(), "Error_NoPASV");
    }

    #[test]
    fn throughput_comes_from_bom_eom_and_test_bytes() {
        let o = "Device.IP.Diagnostics.DownloadDiagnostics";
        let rows = [
            (format!("{o}.DiagnosticsState"), "Completed"),
            (format!("{o}.BOMTime"), "2023-04-26T22:00:16.000000Z"),
            (format!("{o}.EOMTime"), "2023-04-26T22:00:18.000000Z"),
            (format!("{o}.TestBytesReceived"), "2500000"),
        ];
        let rows: Vec<(&str, &str)> = rows.iter().map(|(p, v)| (p.as_str(), *v)).collect();
        let d = Diagnostic::Download {
            url: TestUrl::parse("http://127.0.0.1/f").unwrap(),
            duration: None,
        };
        let r = read_result(&d, DataModel::Tr181, &tree(&rows)).unwrap();
        let Measurement::Download(x) = r.measurement else {
            panic!()
        };
        assert_eq!(x.throughput_bps, Some(10_000_000.0));
        assert_eq!(x.eom_us - x.bom_us, 2_000_000);
    }

    #[test]
    fn trace_hops_read_in_numeric_order_under_either_model() {
        let o = "InternetGatewayDevice.TraceRouteDiagnostics";
        let mut rows = vec![(format!("{o}.DiagnosticsState"), "Complete".to_owned())];
        for i in [10, 2] {
            rows.push((format!("{o}.RouteHops.{i}.HopHost"), format!("h{i}")));
            rows.push((format!("{o}.RouteHops.{i}.HopRTTimes"), "1,*,3".into()));
        }
        let rows: Vec<(&str, &str)> = rows.iter().map(|(p, v)| (p.as_str(), v.as_str())).collect();
        let d = Diagnostic::TraceRoute {
            host: DiagHost::parse("h").unwrap(),
            max_hops: 3,
            timeout_ms: 1,
        };
        let r = read_result(&d, DataModel::Tr098, &tree(&rows)).unwrap();
        let Measurement::TraceRoute(t) = r.measurement else {
            panic!()
        };
        let hosts: Vec<&str> = t.hops.iter().map(|h| h.host.as_str()).collect();
        assert_eq!(hosts, ["h2", "h10"]);
        assert_eq!(t.hops[0].rtt_ms, [1, 3]);
    }
}
