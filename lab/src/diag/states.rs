//! The terminal error states a simulated test may end in: each object's own enumeration
//! (TR-181 2.19, TR-098 1.8), and the best of them for each way a test can fail.

use super::Kind;
use super::outcome::Failure;

/// The error states each object's enumeration lists (TR-181 2.19, TR-098 1.8).
fn allowed(kind: Kind, tr098: bool) -> &'static [&'static str] {
    match (kind, tr098) {
        (Kind::Ping, false) => &[
            "Error_CannotResolveHostName",
            "Error_NoRouteToHost",
            "Error_Internal",
            "Error_Other",
        ],
        (Kind::Ping, true) => &[
            "Error_CannotResolveHostName",
            "Error_Internal",
            "Error_Other",
        ],
        (Kind::TraceRoute, false) => &[
            "Error_CannotResolveHostName",
            "Error_NoRouteToHost",
            "Error_MaxHopCountExceeded",
            "Error_Internal",
            "Error_Other",
        ],
        (Kind::TraceRoute, true) => &["Error_CannotResolveHostName", "Error_MaxHopCountExceeded"],
        (Kind::Download, false) => &[
            "Error_CannotResolveHostName",
            "Error_NoRouteToHost",
            "Error_InitConnectionFailed",
            "Error_NoResponse",
            "Error_TransferFailed",
            "Error_Timeout",
            "Error_Internal",
            "Error_Other",
        ],
        (Kind::Download, true) => &[
            "Error_InitConnectionFailed",
            "Error_NoResponse",
            "Error_TransferFailed",
            "Error_Timeout",
        ],
        (Kind::Upload, false) => &[
            "Error_CannotResolveHostName",
            "Error_NoRouteToHost",
            "Error_InitConnectionFailed",
            "Error_NoResponse",
            "Error_NoTransferComplete",
            "Error_Timeout",
            "Error_Internal",
            "Error_Other",
        ],
        (Kind::Upload, true) => &[
            "Error_InitConnectionFailed",
            "Error_NoResponse",
            "Error_NoTransferComplete",
        ],
    }
}

/// The states that describe a failure, best first.
fn preferences(f: Failure) -> &'static [&'static str] {
    match f {
        Failure::CannotResolveHostName => &[
            "Error_CannotResolveHostName",
            "Error_InitConnectionFailed",
            "Error_Other",
        ],
        Failure::NoRouteToHost => &[
            "Error_NoRouteToHost",
            "Error_InitConnectionFailed",
            "Error_Other",
            "Error_MaxHopCountExceeded",
        ],
        Failure::Unsupported => &["Error_Other", "Error_InitConnectionFailed"],
        Failure::InitConnectionFailed => &["Error_InitConnectionFailed", "Error_Other"],
        Failure::NoResponse => &["Error_NoResponse", "Error_Other"],
        Failure::TransferFailed => &[
            "Error_TransferFailed",
            "Error_NoTransferComplete",
            "Error_Other",
        ],
        Failure::Timeout => &["Error_Timeout", "Error_NoResponse", "Error_Other"],
        Failure::MaxHopCountExceeded => &["Error_MaxHopCountExceeded", "Error_Other"],
        Failure::Internal => &["Error_Internal", "Error_Other", "Error_NoResponse"],
    }
}

/// The error state for `failure` that this object's enumeration has.
pub(crate) fn failed_state(kind: Kind, tr098: bool, failure: Failure) -> &'static str {
    let allowed = allowed(kind, tr098);
    preferences(failure)
        .iter()
        .find(|s| allowed.contains(s))
        .unwrap_or(&allowed[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_states_stay_inside_each_enumeration() {
        let kinds = [Kind::Ping, Kind::TraceRoute, Kind::Download, Kind::Upload];
        let failures = [
            Failure::CannotResolveHostName,
            Failure::NoRouteToHost,
            Failure::Unsupported,
            Failure::InitConnectionFailed,
            Failure::NoResponse,
            Failure::TransferFailed,
            Failure::Timeout,
            Failure::MaxHopCountExceeded,
            Failure::Internal,
        ];
        for kind in kinds {
            for tr098 in [false, true] {
                for f in failures {
                    let s = failed_state(kind, tr098, f);
                    assert!(allowed(kind, tr098).contains(&s), "{kind:?} {tr098} {f:?}");
                }
            }
        }
        assert_eq!(
            failed_state(Kind::Download, true, Failure::NoRouteToHost),
            "Error_InitConnectionFailed"
        );
        assert_eq!(
            failed_state(Kind::Ping, false, Failure::NoRouteToHost),
            "Error_NoRouteToHost"
        );
    }
}
