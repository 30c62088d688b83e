//! The one SetParameterValues that starts a diagnostic, for a device's data model.
//!
//! Inputs the known tree lacks are left out when optional (a CPE without `DataBlockSize` still
//! pings) and make the diagnostic unsupported when required; a tree that was never discovered
//! gets the standard inputs and the CPE decides (a fault comes back as `Refused`).

use super::{DiagError, Diagnostic};
use crate::datamodel::{DataModel, View};
use acs_store::ParamTree;

/// The leaf written to start a test and read to learn how it ended.
pub(crate) const STATE: &str = "DiagnosticsState";

/// The four tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Ping,
    TraceRoute,
    Download,
    Upload,
}

impl Diagnostic {
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Self::Ping { .. } => Kind::Ping,
            Self::TraceRoute { .. } => Kind::TraceRoute,
            Self::Download { .. } => Kind::Download,
            Self::Upload { .. } => Kind::Upload,
        }
    }
}

/// The result object of a test under a data model.
pub(crate) fn object(kind: Kind, model: DataModel) -> &'static str {
    match (model, kind) {
        (DataModel::Tr181, Kind::Ping) => "Device.IP.Diagnostics.IPPing",
        (DataModel::Tr181, Kind::TraceRoute) => "Device.IP.Diagnostics.TraceRoute",
        (DataModel::Tr181, Kind::Download) => "Device.IP.Diagnostics.DownloadDiagnostics",
        (DataModel::Tr181, Kind::Upload) => "Device.IP.Diagnostics.UploadDiagnostics",
        (DataModel::Tr098, Kind::Ping) => "InternetGatewayDevice.IPPingDiagnostics",
        (DataModel::Tr098, Kind::TraceRoute) => "InternetGatewayDevice.TraceRouteDiagnostics",
        (DataModel::Tr098, Kind::Download) => "InternetGatewayDevice.DownloadDiagnostics",
        (DataModel::Tr098, Kind::Upload) => "InternetGatewayDevice.UploadDiagnostics",
    }
}

/// What to write to start a diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The result object, e.g. `Device.IP.Diagnostics.IPPing`.
    pub object: String,
    /// `(path, value, xsd type)` for one SetParameterValues, `DiagnosticsState` last.
    pub values: Vec<(String, String, String)>,
}

/// One input: leaf, value, standard type, whether the test cannot run without it.
type Input = (&'static str, String, &'static str, bool);

fn invalid(what: &str) -> DiagError {
    DiagError::InvalidInput(what.to_owned())
}

/// The inputs of `diag`, checked against the data model's ranges.
fn inputs(
    diag: &Diagnostic,
    model: DataModel,
    tree: &View<'_>,
    obj: &str,
) -> Result<Vec<Input>, DiagError> {
    let uint = "unsignedInt";
    Ok(match diag {
        Diagnostic::Ping {
            host,
            count,
            timeout_ms,
            size,
        } => {
            if *count == 0 || *timeout_ms == 0 || !(1..=65_535).contains(size) {
                return Err(invalid(
                    "ping needs count ≥ 1, timeout ≥ 1 ms, size 1–65535",
                ));
            }
            vec![
                ("Host", host.as_str().to_owned(), "string", true),
                ("NumberOfRepetitions", count.to_string(), uint, false),
                ("Timeout", timeout_ms.to_string(), uint, false),
                ("DataBlockSize", size.to_string(), uint, false),
            ]
        }
        Diagnostic::TraceRoute {
            host,
            max_hops,
            timeout_ms,
        } => {
            if !(1..=64).contains(max_hops) || *timeout_ms == 0 {
                return Err(invalid("traceroute needs max hops 1–64 and timeout ≥ 1 ms"));
            }
            vec![
                ("Host", host.as_str().to_owned(), "string", true),
                ("MaxHopCount", max_hops.to_string(), uint, false),
                ("Timeout", timeout_ms.to_string(), uint, false),
            ]
        }
        Diagnostic::Download { url, duration } => {
            let mut v = vec![("DownloadURL", url.as_str().to_owned(), "string", true)];
            match duration {
                Some(d) => {
                    let secs = d.as_secs();
                    if secs == 0 || secs > 999 || d.subsec_nanos() != 0 {
                        return Err(invalid("a time-based test lasts 1–999 whole seconds"));
                    }
                    if model == DataModel::Tr098 {
                        return Err(DiagError::NotSupported(
                            "time-based download tests (TR-098 has none)".into(),
                        ));
                    }
                    v.push(("TimeBasedTestDuration", secs.to_string(), uint, true));
                }
                // A size-based test must undo an earlier time-based one, where the CPE has the
                // input at all.
                None if tree.exists(&format!("{obj}.TimeBasedTestDuration")) => {
                    v.push(("TimeBasedTestDuration", "0".into(), uint, false));
                }
                None => {}
            }
            v
        }
        Diagnostic::Upload { url, length } => {
            if *length == 0 || *length > u64::from(u32::MAX) {
                return Err(invalid("upload length is 1–4294967295 bytes"));
            }
            vec![
                ("UploadURL", url.as_str().to_owned(), "string", true),
                ("TestFileLength", length.to_string(), uint, true),
            ]
        }
    })
}

/// The SetParameterValues that starts `diag` on a device of data model `model` whose stored
/// tree is `tree` (possibly empty).
pub fn plan(diag: &Diagnostic, model: DataModel, tree: &ParamTree) -> Result<Plan, DiagError> {
    let view = View::new(tree);
    let obj = object(diag.kind(), model);
    let known = view.discovered(model);
    if known && !view.exists(obj) {
        return Err(DiagError::NotSupported(obj.to_owned()));
    }
    let mut values = Vec::new();
    let state = (STATE, "Requested".to_owned(), "string", true);
    for (leaf, value, xsd, required) in inputs(diag, model, &view, obj)?.into_iter().chain([state])
    {
        let path = format!("{obj}.{leaf}");
        let existing = tree.get(&path).filter(|p| !p.object);
        if known && existing.is_none() {
            if required {
                return Err(DiagError::NotSupported(path));
            }
            continue;
        }
        // The CPE's own type for the leaf, where it told us, else the data model's.
        let xsd = existing
            .and_then(|p| p.value.as_ref())
            .map_or(xsd, acs_store::Value::xsd_type);
        values.push((path, value, xsd.to_owned()));
    }
    Ok(Plan {
        object: obj.to_owned(),
        values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::{DiagHost, TestUrl};
    use acs_store::{Param, Value};
    use std::time::Duration;

    fn ping() -> Diagnostic {
        Diagnostic::Ping {
            host: DiagHost::parse("127.0.0.1").unwrap(),
            count: 3,
            timeout_ms: 500,
            size: 64,
        }
    }

    #[test]
    fn an_unknown_tree_gets_the_standard_inputs() {
        let p = plan(&ping(), DataModel::Tr098, &ParamTree::new()).unwrap();
        assert_eq!(p.object, "InternetGatewayDevice.IPPingDiagnostics");
        let names: Vec<&str> = p.values.iter().map(|v| v.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "InternetGatewayDevice.IPPingDiagnostics.Host",
                "InternetGatewayDevice.IPPingDiagnostics.NumberOfRepetitions",
                "InternetGatewayDevice.IPPingDiagnostics.Timeout",
                "InternetGatewayDevice.IPPingDiagnostics.DataBlockSize",
                "InternetGatewayDevice.IPPingDiagnostics.DiagnosticsState",
            ]
        );
        assert_eq!(p.values[4].1, "Requested");
        assert_eq!(p.values[1].2, "unsignedInt");
    }

    #[test]
    fn a_known_tree_decides_what_is_supported() {
        let mut t = ParamTree::new();
        t.insert("Device", Param::object(Some(false), 1));
        let obj = "Device.IP.Diagnostics.IPPing";
        let err = plan(&ping(), DataModel::Tr181, &t).unwrap_err();
        assert!(matches!(err, DiagError::NotSupported(o) if o == obj));
        t.insert(obj, Param::object(Some(false), 1));
        for leaf in ["Host", STATE] {
            let v = Value::String(String::new());
            t.insert(format!("{obj}.{leaf}"), Param::leaf(Some(v), Some(true), 1));
        }
        t.insert(
            format!("{obj}.Timeout"),
            Param::leaf(Some(Value::Int(5)), Some(true), 1),
        );
        let p = plan(&ping(), DataModel::Tr181, &t).unwrap();
        let got: Vec<(&str, &str)> = p
            .values
            .iter()
            .map(|v| (&v.0[obj.len() + 1..], v.2.as_str()))
            .collect();
        // No NumberOfRepetitions/DataBlockSize on this CPE; its Timeout is an int.
        assert_eq!(
            got,
            [("Host", "string"), ("Timeout", "int"), (STATE, "string")]
        );
    }

    #[test]
    fn inputs_outside_the_ranges_are_refused() {
        let url = TestUrl::parse("http://127.0.0.1:8080/f").unwrap();
        let bad = [
            Diagnostic::Ping {
                host: DiagHost::parse("h").unwrap(),
                count: 0,
                timeout_ms: 1,
                size: 1,
            },
            Diagnostic::TraceRoute {
                host: DiagHost::parse("h").unwrap(),
                max_hops: 65,
                timeout_ms: 1,
            },
            Diagnostic::Download {
                url: url.clone(),
                duration: Some(Duration::from_millis(1500)),
            },
            Diagnostic::Upload { url, length: 0 },
        ];
        for d in bad {
            let e = plan(&d, DataModel::Tr181, &ParamTree::new()).unwrap_err();
            assert!(matches!(e, DiagError::InvalidInput(_)), "{d:?}: {e}");
        }
        assert!(DiagHost::parse("a b").is_err());
        assert!(TestUrl::parse("http://user:pw@host/x").is_err());
        assert!(TestUrl::parse("https://host/x").is_err());
    }
}
