//! How a finished (or refused) test becomes parameters: result leaves with the names and units
//! of the model's data model, the `RouteHops` table, and a terminal state the model's
//! enumeration allows.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use cwmp::XsdType;

use super::states::failed_state;
use super::{Kind, STATE, is_tr098};
use crate::model::{CpeModel, Extra};
use crate::time::format_micros;

/// Why a test did not produce a normal result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// A host name other than `localhost`: the simulator never resolves names.
    CannotResolveHostName,
    /// A target outside loopback, which the simulator refuses to send traffic to.
    NoRouteToHost,
    /// A URL scheme the simulator does not speak (only `http://`).
    Unsupported,
    /// The TCP connection to the test server could not be opened.
    InitConnectionFailed,
    /// The server did not answer the request.
    NoResponse,
    /// The server answered with an error status or the transfer broke off.
    TransferFailed,
    /// The transfer did not finish within the simulator's limit.
    Timeout,
    /// No probe reached the host within `MaxHopCount` hops.
    MaxHopCountExceeded,
    /// A local socket error.
    Internal,
}

/// One ping's measurements: the round trip of each repetition (`None` = no echo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PingStats {
    pub(crate) source: IpAddr,
    pub(crate) rtts: Vec<Option<Duration>>,
}

/// One traceroute hop: who answered (if anyone) and each try's round trip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hop {
    pub(crate) address: Option<IpAddr>,
    pub(crate) rtts: Vec<Option<Duration>>,
}

/// A traceroute: the hops in order and whether the last one is the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TraceStats {
    pub(crate) source: IpAddr,
    pub(crate) host: String,
    pub(crate) hops: Vec<Hop>,
    pub(crate) reached: bool,
}

/// A TR-143 transfer's times and byte counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Transfer {
    pub(crate) source: IpAddr,
    pub(crate) tcp_open_request: SystemTime,
    pub(crate) tcp_open_response: SystemTime,
    pub(crate) rom: SystemTime,
    pub(crate) bom: SystemTime,
    pub(crate) eom: SystemTime,
    /// Bytes of the HTTP exchange (headers included) between BOM and EOM, in the test's
    /// direction.
    pub(crate) test_bytes: u64,
    pub(crate) total_received: u64,
    pub(crate) total_sent: u64,
}

/// What running a test produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Ping(PingStats),
    Trace(TraceStats),
    Transfer(Transfer),
    Failed(Failure),
}

/// The success state: TR-098 spells it `Complete` for IPPing/TraceRoute and `Completed` for the
/// TR-143 tests; TR-181 says `Complete`, but firmware that reports `Completed` (the XX230v's
/// dump shows it on IPPing and TraceRoute) uses that spelling for every test.
fn success_state(model: &CpeModel, kind: Kind) -> &'static str {
    if is_tr098(model) {
        return match kind {
            Kind::Ping | Kind::TraceRoute => "Complete",
            Kind::Download | Kind::Upload => "Completed",
        };
    }
    let root = model.base().root();
    let spells_completed = super::OBJECTS.iter().any(|(_, name, _)| {
        let path = format!("{root}.{name}.{STATE}");
        model
            .base()
            .find(&path)
            .is_some_and(|i| &*model.base().node(i).value == "Completed")
    });
    if spells_completed {
        "Completed"
    } else {
        "Complete"
    }
}

fn ms(d: Duration) -> u128 {
    (d.as_micros() + 500) / 1000
}

/// Writes the outcome of the test on `object` into the model; returns the terminal state.
pub(crate) fn apply(model: &mut CpeModel, object: &str, kind: Kind, outcome: &Outcome) -> String {
    let tr098 = is_tr098(model);
    let mut set = |leaf: &str, value: String| {
        model.set_local(&format!("{object}.{leaf}"), &value);
    };
    let state = match outcome {
        Outcome::Failed(f) => failed_state(kind, tr098, *f),
        Outcome::Ping(p) => {
            let ok: Vec<Duration> = p.rtts.iter().flatten().copied().collect();
            let avg = (!ok.is_empty()).then(|| ok.iter().sum::<Duration>() / ok.len() as u32);
            let (min, max) = (ok.iter().min().copied(), ok.iter().max().copied());
            set("SuccessCount", ok.len().to_string());
            set("FailureCount", (p.rtts.len() - ok.len()).to_string());
            // TR-181: with no successful response every time reads zero.
            for (name, v) in [("Average", avg), ("Minimum", min), ("Maximum", max)] {
                let v = v.unwrap_or_default();
                set(&format!("{name}ResponseTime"), ms(v).to_string());
                set(
                    &format!("{name}ResponseTimeDetailed"),
                    v.as_micros().to_string(),
                );
            }
            set("IPAddressUsed", p.source.to_string());
            success_state(model, kind)
        }
        Outcome::Trace(t) => {
            set("IPAddressUsed", t.source.to_string());
            let last = t.hops.last().map(|h| {
                let ok: Vec<Duration> = h.rtts.iter().flatten().copied().collect();
                ok.iter().sum::<Duration>() / ok.len().max(1) as u32
            });
            set("ResponseTime", ms(last.unwrap_or_default()).to_string());
            write_hops(model, object, tr098, t);
            if t.reached {
                success_state(model, kind)
            } else {
                failed_state(kind, tr098, Failure::MaxHopCountExceeded)
            }
        }
        Outcome::Transfer(x) => {
            set("TCPOpenRequestTime", format_micros(x.tcp_open_request));
            set("TCPOpenResponseTime", format_micros(x.tcp_open_response));
            set("ROMTime", format_micros(x.rom));
            set("BOMTime", format_micros(x.bom));
            set("EOMTime", format_micros(x.eom));
            set("TotalBytesReceived", x.total_received.to_string());
            set("TotalBytesSent", x.total_sent.to_string());
            set("IPAddressUsed", x.source.to_string());
            // One connection is loaded for the whole test, so the full-loading figures are
            // the test's own.
            let period = x.eom.duration_since(x.bom).unwrap_or_default();
            set("PeriodOfFullLoading", period.as_micros().to_string());
            set(
                "TotalBytesReceivedUnderFullLoading",
                x.total_received.to_string(),
            );
            set("TotalBytesSentUnderFullLoading", x.total_sent.to_string());
            let (test, loaded) = if kind == Kind::Upload {
                ("TestBytesSent", "TestBytesSentUnderFullLoading")
            } else {
                ("TestBytesReceived", "TestBytesReceivedUnderFullLoading")
            };
            set(test, x.test_bytes.to_string());
            set(loaded, x.test_bytes.to_string());
            success_state(model, kind)
        }
    };
    model.set_local(&format!("{object}.{STATE}"), state);
    state.to_owned()
}

/// Replaces `RouteHops` with this trace's hops (TR-098 prefixes each leaf with `Hop`).
fn write_hops(model: &mut CpeModel, object: &str, tr098: bool, t: &TraceStats) {
    let name = |leaf: &str| {
        if tr098 {
            format!("Hop{leaf}")
        } else {
            leaf.to_owned()
        }
    };
    let rows: Vec<Vec<(String, String, XsdType)>> = t
        .hops
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let address = h.address.map(|a| a.to_string()).unwrap_or_default();
            // The last hop of a completed trace is the target, named as the ACS asked.
            let host = if t.reached && i + 1 == t.hops.len() {
                t.host.clone()
            } else {
                address.clone()
            };
            let rtts: Vec<String> = h
                .rtts
                .iter()
                .flatten()
                .map(|d| ms(*d).to_string())
                .collect();
            vec![
                (name("Host"), host, XsdType::String),
                (name("HostAddress"), address, XsdType::String),
                (name("ErrorCode"), "0".to_owned(), XsdType::UnsignedInt),
                (name("RTTimes"), rtts.join(","), XsdType::String),
            ]
        })
        .collect();
    replace_instances(model, &format!("{object}.RouteHops"), &rows);
    model.set_local(
        &format!("{object}.RouteHopsNumberOfEntries"),
        &rows.len().to_string(),
    );
}

/// Makes `table` hold exactly `rows` as instances 1…n: base instances are reused (or revived),
/// surplus ones deleted, missing ones added, as the CPE's own table would read after a run.
fn replace_instances(model: &mut CpeModel, table: &str, rows: &[Vec<(String, String, XsdType)>]) {
    let prefix = format!("{table}.");
    let existing: BTreeSet<u32> = model
        .descendants(table)
        .into_iter()
        .filter_map(|e| model.path(e).strip_prefix(&prefix)?.parse().ok())
        .collect();
    for n in existing.iter().filter(|n| **n as usize > rows.len()) {
        let inst = format!("{table}.{n}");
        let below = format!("{inst}.");
        model
            .added
            .retain(|k, _| *k != inst && !k.starts_with(&below));
        if let Some(i) = model.base.find(&inst) {
            let range = model.base.descendants(&inst);
            model.values.retain(|k, _| *k != i && !range.contains(k));
            model.deleted.insert(inst);
        }
    }
    for (i, row) in rows.iter().enumerate() {
        let inst = format!("{table}.{}", i + 1);
        model.deleted.remove(&inst);
        if model.lookup(&inst).is_none() {
            model
                .added
                .insert(inst.clone(), extra(true, String::new(), XsdType::String));
        }
        for (leaf, value, xsd) in row {
            let path = format!("{inst}.{leaf}");
            if !model.set_local(&path, value) {
                model
                    .added
                    .insert(path, extra(false, value.clone(), xsd.clone()));
            }
        }
    }
}

fn extra(object: bool, value: String, xsd: XsdType) -> Extra {
    Extra {
        object,
        writable: false,
        value,
        xsd,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use std::sync::Arc;

    fn xx230v() -> CpeModel {
        CpeModel::new(
            Arc::new(crate::BaseModel::xx230v()),
            crate::Identity::default(),
        )
    }

    #[test]
    fn a_trace_replaces_the_route_hops_of_the_last_run() {
        let mut m = xx230v();
        let object = "Device.IP.Diagnostics.TraceRoute";
        let hop = Hop {
            address: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            rtts: vec![Some(Duration::from_micros(1400)), None],
        };
        let t = TraceStats {
            source: IpAddr::V4(Ipv4Addr::LOCALHOST),
            host: "localhost".into(),
            hops: vec![hop],
            reached: true,
        };
        let state = apply(&mut m, object, Kind::TraceRoute, &Outcome::Trace(t));
        // The XX230v's own dump spells the success state `Completed`.
        assert_eq!(state, "Completed");
        let get = |p: &str| m.get(&format!("{object}.{p}"));
        assert_eq!(get("RouteHopsNumberOfEntries").as_deref(), Some("1"));
        assert_eq!(get("RouteHops.1.Host").as_deref(), Some("localhost"));
        assert_eq!(get("RouteHops.1.HostAddress").as_deref(), Some("127.0.0.1"));
        assert_eq!(get("RouteHops.1.RTTimes").as_deref(), Some("1"));
        assert_eq!(get("RouteHops.2.Host"), None, "the dump's 9 hops are gone");
        let names = m
            .get_parameter_names(&format!("{object}.RouteHops."), true)
            .unwrap();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn a_ping_reports_counts_and_times_in_the_model_units() {
        let mut m = xx230v();
        let object = "Device.IP.Diagnostics.IPPing";
        let p = PingStats {
            source: IpAddr::V4(Ipv4Addr::LOCALHOST),
            rtts: vec![
                Some(Duration::from_micros(300)),
                None,
                Some(Duration::from_micros(2700)),
            ],
        };
        apply(&mut m, object, Kind::Ping, &Outcome::Ping(p));
        let get = |p: &str| m.get(&format!("{object}.{p}")).unwrap();
        assert_eq!(get("SuccessCount"), "2");
        assert_eq!(get("FailureCount"), "1");
        assert_eq!(get("MinimumResponseTimeDetailed"), "300");
        assert_eq!(get("MaximumResponseTime"), "3");
        assert_eq!(get("AverageResponseTimeDetailed"), "1500");
        let refused = Outcome::Failed(Failure::NoRouteToHost);
        assert_eq!(
            apply(&mut m, object, Kind::Ping, &refused),
            "Error_NoRouteToHost"
        );
        assert_eq!(
            m.get(&format!("{object}.{STATE}")).as_deref(),
            Some("Error_NoRouteToHost")
        );
    }
}
