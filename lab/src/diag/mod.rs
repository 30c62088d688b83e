//! Diagnostics of a simulated CPE: IPPing, TraceRoute and the TR-143 Download/Upload tests,
//! under TR-181 (`Device.IP.Diagnostics.*`) or TR-098 (`InternetGatewayDevice.*Diagnostics`).
//!
//! The mechanism is the data model's own (TR-181 `DiagnosticsState` data type): the ACS writes
//! the inputs and `DiagnosticsState = Requested` in one SetParameterValues; the CPE runs the test
//! after the session, writes the results and a terminal state, and opens a session with
//! `8 DIAGNOSTICS COMPLETE`. Writing any other input resets the state to `None` and abandons a
//! running test; `Canceled` (TR-181 only) does the same without a report.
//!
//! This module and `outcome.rs`/`target.rs` are pure: they decide what a write means and how a
//! measurement becomes parameters. `probe.rs` and `transfer.rs` measure, on loopback only (see
//! `target.rs`); `run.rs` joins the two.

mod outcome;
mod probe;
mod run;
mod states;
mod target;
mod transfer;

pub(crate) use outcome::{Failure, apply};
pub(crate) use run::{RunOptions, run};

use std::collections::HashMap;

use cwmp::ParameterValue;

use crate::model::CpeModel;
use crate::respond::FollowUp;

/// The leaf that requests a test and reports how it ended.
pub(crate) const STATE: &str = "DiagnosticsState";

/// The four tests the simulator runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Ping,
    TraceRoute,
    Download,
    Upload,
}

/// Each test's object, relative to the root: TR-181 name, TR-098 name.
const OBJECTS: [(Kind, &str, &str); 4] = [
    (Kind::Ping, "IP.Diagnostics.IPPing", "IPPingDiagnostics"),
    (
        Kind::TraceRoute,
        "IP.Diagnostics.TraceRoute",
        "TraceRouteDiagnostics",
    ),
    (
        Kind::Download,
        "IP.Diagnostics.DownloadDiagnostics",
        "DownloadDiagnostics",
    ),
    (
        Kind::Upload,
        "IP.Diagnostics.UploadDiagnostics",
        "UploadDiagnostics",
    ),
];

/// Whether the model is TR-098 (`InternetGatewayDevice`); the leaf names and the state
/// spellings differ.
pub(crate) fn is_tr098(model: &CpeModel) -> bool {
    model.base().root() == "InternetGatewayDevice"
}

/// The diagnostics object `path` lies in: its kind, the object path and the leaf below it.
pub(crate) fn object_of<'a>(model: &CpeModel, path: &'a str) -> Option<(Kind, String, &'a str)> {
    let root = model.base().root();
    let rel = path.strip_prefix(root)?.strip_prefix('.')?;
    let tr098 = is_tr098(model);
    OBJECTS.iter().find_map(|(kind, tr181_name, tr098_name)| {
        let name = if tr098 { tr098_name } else { tr181_name };
        let leaf = rel.strip_prefix(name)?.strip_prefix('.')?;
        Some((*kind, format!("{root}.{name}"), leaf))
    })
}

/// The tests in flight, by object path, each with the generation that started it. A result is
/// written only if its generation is still current, so a reset, a cancel, a new request or a
/// reboot silently discards a test that was running.
#[derive(Debug, Clone, Default)]
pub(crate) struct DiagRuns {
    next: u64,
    running: HashMap<String, u64>,
}

impl DiagRuns {
    fn start(&mut self, object: &str) -> u64 {
        // Never reset, so a generation is never reused even across a factory reset.
        self.next += 1;
        self.running.insert(object.to_owned(), self.next);
        self.next
    }

    fn abandon(&mut self, object: &str) -> bool {
        self.running.remove(object).is_some()
    }

    /// Ends the test if `generation` is the one in flight; false if it was superseded.
    pub(crate) fn finish(&mut self, object: &str, generation: u64) -> bool {
        if self.running.get(object) == Some(&generation) {
            self.running.remove(object);
            true
        } else {
            false
        }
    }

    /// Whether `generation` is the test in flight on `object`.
    pub(crate) fn is_current(&self, object: &str, generation: u64) -> bool {
        self.running.get(object) == Some(&generation)
    }

    /// Forgets every test in flight (a factory reset).
    pub(crate) fn clear(&mut self) {
        self.running.clear();
    }
}

/// A write the data model forbids for a diagnostics input (fault 9007), checked with the rest of
/// a SetParameterValues so that a refused write changes nothing. Ranges are TR-181's.
pub(crate) fn check_write(model: &CpeModel, path: &str, value: &str) -> Option<u32> {
    let (_, _, leaf) = object_of(model, path)?;
    let num = || value.parse::<u64>().ok();
    let ok = match leaf {
        STATE => value == "Requested" || (value == "Canceled" && !is_tr098(model)),
        "NumberOfRepetitions" | "Timeout" => num().is_some_and(|n| n >= 1),
        "DataBlockSize" => num().is_some_and(|n| (1..=65_535).contains(&n)),
        "MaxHopCount" => num().is_some_and(|n| (1..=64).contains(&n)),
        "NumberOfTries" => num().is_some_and(|n| (1..=3).contains(&n)),
        "TimeBasedTestDuration" => num().is_some_and(|n| n <= 999),
        "Host" => value.len() <= 256,
        "DownloadURL" | "UploadURL" => value.len() <= 2048,
        _ => true,
    };
    (!ok).then_some(9007)
}

/// What an applied SetParameterValues means for the diagnostics objects it touched: a request
/// starts a test after the session; any other write resets the state to `None` and abandons a
/// test in flight.
pub(crate) fn after_set(model: &mut CpeModel, params: &[ParameterValue]) -> Vec<FollowUp> {
    // Objects in the order first touched, each with whether the write requested a run.
    let mut touched: Vec<(String, bool)> = Vec::new();
    for p in params {
        let Some((_, object, leaf)) = object_of(model, &p.name) else {
            continue;
        };
        let requested = leaf == STATE && p.value == "Requested";
        match touched.iter_mut().find(|(o, _)| *o == object) {
            Some(t) => t.1 |= requested,
            None => touched.push((object, requested)),
        }
    }
    let mut follow = Vec::new();
    for (object, requested) in touched {
        if requested {
            let generation = model.diag.start(&object);
            follow.push(FollowUp::Diagnostic { object, generation });
        } else {
            model.diag.abandon(&object);
            model.set_local(&format!("{object}.{STATE}"), "None");
        }
    }
    follow
}

/// A reboot loses the tests in flight: their state reads `None` afterwards (retained results
/// of finished tests stay, which TR-181 allows).
pub(crate) fn on_reboot(model: &mut CpeModel) {
    let running: Vec<String> = model.diag.running.keys().cloned().collect();
    for object in running {
        model.diag.abandon(&object);
        model.set_local(&format!("{object}.{STATE}"), "None");
    }
}

/// One test as requested, with its inputs read from the model when it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Test {
    Ping {
        host: String,
        count: u32,
        timeout_ms: u32,
        size: u32,
    },
    TraceRoute {
        host: String,
        tries: u32,
        timeout_ms: u32,
        size: u32,
        max_hops: u32,
    },
    Download {
        url: String,
        /// `TimeBasedTestDuration` in seconds; 0 is a file-size test.
        duration_s: u32,
    },
    Upload {
        url: String,
        length: u64,
    },
}

impl Test {
    /// Reads the inputs of the test on `object` (TR-181 defaults where the model lacks one).
    pub(crate) fn read(model: &CpeModel, object: &str) -> Option<Self> {
        let (kind, _, _) = object_of(model, &format!("{object}.{STATE}"))?;
        let text = |leaf: &str| model.get(&format!("{object}.{leaf}")).unwrap_or_default();
        let num = |leaf: &str, default: u32| text(leaf).parse::<u32>().unwrap_or(default);
        Some(match kind {
            Kind::Ping => Self::Ping {
                host: text("Host"),
                count: num("NumberOfRepetitions", 3).max(1),
                timeout_ms: num("Timeout", 1000).max(1),
                size: num("DataBlockSize", 56).clamp(1, 65_535),
            },
            Kind::TraceRoute => Self::TraceRoute {
                host: text("Host"),
                tries: num("NumberOfTries", 3).clamp(1, 3),
                timeout_ms: num("Timeout", 5000).max(1),
                size: num("DataBlockSize", 38).clamp(1, 65_535),
                max_hops: num("MaxHopCount", 30).clamp(1, 64),
            },
            Kind::Download => Self::Download {
                url: text("DownloadURL"),
                duration_s: num("TimeBasedTestDuration", 0).min(999),
            },
            Kind::Upload => Self::Upload {
                url: text("UploadURL"),
                length: text("TestFileLength").parse().unwrap_or(0),
            },
        })
    }

    pub(crate) fn kind(&self) -> Kind {
        match self {
            Self::Ping { .. } => Kind::Ping,
            Self::TraceRoute { .. } => Kind::TraceRoute,
            Self::Download { .. } => Kind::Download,
            Self::Upload { .. } => Kind::Upload,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn xx230v() -> CpeModel {
        let base = Arc::new(crate::BaseModel::xx230v());
        CpeModel::new(base, crate::Identity::default())
    }

    #[test]
    fn objects_are_found_under_either_root() {
        let m = xx230v();
        let (kind, object, leaf) =
            object_of(&m, "Device.IP.Diagnostics.IPPing.DiagnosticsState").unwrap();
        assert_eq!(
            (kind, object.as_str(), leaf),
            (Kind::Ping, "Device.IP.Diagnostics.IPPing", STATE)
        );
        assert!(object_of(&m, "Device.IP.Diagnostics.IPPingX.Host").is_none());
        assert!(object_of(&m, "Device.DeviceInfo.UpTime").is_none());
        assert!(object_of(&m, "InternetGatewayDevice.IPPingDiagnostics.Host").is_none());
    }

    #[test]
    fn a_request_starts_a_test_and_another_input_resets_it() {
        let mut m = xx230v();
        let state = "Device.IP.Diagnostics.IPPing.DiagnosticsState";
        let host = |v: &str| {
            ParameterValue::new(
                "Device.IP.Diagnostics.IPPing.Host",
                v,
                cwmp::XsdType::String,
            )
        };
        let req = ParameterValue::new(state, "Requested", cwmp::XsdType::String);
        m.set_local(state, "Requested");
        let follow = after_set(&mut m, &[host("127.0.0.1"), req]);
        let [FollowUp::Diagnostic { object, generation }] = follow.as_slice() else {
            panic!("{follow:?}")
        };
        assert_eq!(object, "Device.IP.Diagnostics.IPPing");
        assert!(m.diag.is_current(object, *generation));
        // Writing an input alone resets the state and abandons the test in flight.
        assert!(after_set(&mut m, &[host("::1")]).is_empty());
        assert_eq!(m.get(state).as_deref(), Some("None"));
        assert!(!m.diag.finish(object, *generation));
    }

    #[test]
    fn writes_outside_the_model_ranges_are_refused() {
        let m = xx230v();
        let p = "Device.IP.Diagnostics.IPPing.";
        assert_eq!(check_write(&m, &format!("{p}{STATE}"), "None"), Some(9007));
        assert_eq!(check_write(&m, &format!("{p}{STATE}"), "Requested"), None);
        assert_eq!(check_write(&m, &format!("{p}{STATE}"), "Canceled"), None);
        assert_eq!(
            check_write(&m, &format!("{p}DataBlockSize"), "70000"),
            Some(9007)
        );
        assert_eq!(
            check_write(&m, &format!("{p}NumberOfRepetitions"), "0"),
            Some(9007)
        );
        assert_eq!(check_write(&m, "Device.WiFi.SSID.1.SSID", ""), None);
    }

    #[test]
    fn a_reboot_loses_the_tests_in_flight() {
        let mut m = xx230v();
        let state = "Device.IP.Diagnostics.TraceRoute.DiagnosticsState";
        m.set_local(state, "Requested");
        let req = ParameterValue::new(state, "Requested", cwmp::XsdType::String);
        let follow = after_set(&mut m, &[req]);
        on_reboot(&mut m);
        assert_eq!(m.get(state).as_deref(), Some("None"));
        let Some(FollowUp::Diagnostic { object, generation }) = follow.first() else {
            panic!("{follow:?}")
        };
        assert!(!m.diag.is_current(object, *generation));
    }

    #[test]
    fn inputs_are_read_with_defaults() {
        let m = xx230v();
        assert_eq!(
            Test::read(&m, "Device.IP.Diagnostics.IPPing"),
            Some(Test::Ping {
                host: "8.8.8.8".into(),
                count: 3,
                timeout_ms: 5000,
                size: 32
            })
        );
        assert_eq!(
            Test::read(&m, "Device.IP.Diagnostics.UploadDiagnostics"),
            Some(Test::Upload {
                url: String::new(),
                length: 0
            })
        );
        // A model without the object: its inputs read as TR-181's defaults.
        let empty = fibreplane_schemas::DataModel::from_csv(
            "Parameter,Object,Writable,Value,Value type\nDevice.DeviceInfo.UpTime,false,false,1,xsd:unsignedInt\n",
        )
        .unwrap();
        let m = CpeModel::new(
            Arc::new(crate::BaseModel::new(&empty)),
            crate::Identity::default(),
        );
        assert_eq!(
            Test::read(&m, "Device.IP.Diagnostics.TraceRoute"),
            Some(Test::TraceRoute {
                host: String::new(),
                tries: 3,
                timeout_ms: 5000,
                size: 38,
                max_hops: 30
            })
        );
    }
}
