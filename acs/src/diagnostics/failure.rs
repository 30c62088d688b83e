//! The `Error_…` states of the diagnostics objects, as a type.

use serde::Serialize;
use std::fmt;

/// An `Error_…` state a CPE reported (TR-181 and TR-098 enumerations).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TestFailure {
    /// `Error_CannotResolveHostName`.
    CannotResolveHostName,
    /// `Error_NoRouteToHost`.
    NoRouteToHost,
    /// `Error_InitConnectionFailed`.
    InitConnectionFailed,
    /// `Error_NoResponse`.
    NoResponse,
    /// `Error_TransferFailed`.
    TransferFailed,
    /// `Error_PasswordRequestFailed`.
    PasswordRequestFailed,
    /// `Error_LoginFailed`.
    LoginFailed,
    /// `Error_NoTransferMode`.
    NoTransferMode,
    /// `Error_NoPASV`.
    NoPasv,
    /// `Error_IncorrectSize`.
    IncorrectSize,
    /// `Error_Timeout`.
    Timeout,
    /// `Error_MaxHopCountExceeded`.
    MaxHopCountExceeded,
    /// `Error_NoCWD`.
    NoCwd,
    /// `Error_NoSTOR`.
    NoStor,
    /// `Error_NoTransferComplete`.
    NoTransferComplete,
    /// `Error_Internal`.
    Internal,
    /// `Error_Other` or the bare `Error`.
    Other,
    /// A vendor's own `Error_…` value, kept as sent.
    Vendor(String),
}

const FAILURES: [(&str, TestFailure); 17] = [
    (
        "Error_CannotResolveHostName",
        TestFailure::CannotResolveHostName,
    ),
    ("Error_NoRouteToHost", TestFailure::NoRouteToHost),
    (
        "Error_InitConnectionFailed",
        TestFailure::InitConnectionFailed,
    ),
    ("Error_NoResponse", TestFailure::NoResponse),
    ("Error_TransferFailed", TestFailure::TransferFailed),
    (
        "Error_PasswordRequestFailed",
        TestFailure::PasswordRequestFailed,
    ),
    ("Error_LoginFailed", TestFailure::LoginFailed),
    ("Error_NoTransferMode", TestFailure::NoTransferMode),
    ("Error_NoPASV", TestFailure::NoPasv),
    ("Error_IncorrectSize", TestFailure::IncorrectSize),
    ("Error_Timeout", TestFailure::Timeout),
    (
        "Error_MaxHopCountExceeded",
        TestFailure::MaxHopCountExceeded,
    ),
    ("Error_NoCWD", TestFailure::NoCwd),
    ("Error_NoSTOR", TestFailure::NoStor),
    ("Error_NoTransferComplete", TestFailure::NoTransferComplete),
    ("Error_Internal", TestFailure::Internal),
    ("Error_Other", TestFailure::Other),
];

impl TestFailure {
    pub(crate) fn from_state(s: &str) -> Self {
        if s == "Error" {
            return Self::Other;
        }
        FAILURES
            .iter()
            .find(|(name, _)| *name == s)
            .map_or_else(|| Self::Vendor(s.to_owned()), |(_, f)| f.clone())
    }

    /// The state as the data model spells it.
    pub fn state(&self) -> &str {
        match self {
            Self::Vendor(s) => s,
            f => FAILURES
                .iter()
                .find(|(_, g)| g == f)
                .map_or("Error_Other", |(name, _)| name),
        }
    }
}

impl fmt::Display for TestFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.state())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_and_vendor_values_are_kept() {
        for (name, f) in &FAILURES {
            assert_eq!(TestFailure::from_state(name), *f);
            assert_eq!(f.state(), *name);
        }
        assert_eq!(TestFailure::from_state("Error"), TestFailure::Other);
        assert_eq!(
            TestFailure::from_state("Error_X_Vendor").state(),
            "Error_X_Vendor"
        );
        assert_eq!(TestFailure::NoPasv.to_string(), "Error_NoPASV");
    }
}
