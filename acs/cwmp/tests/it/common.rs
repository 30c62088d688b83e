//! Helpers shared by the test modules.

use std::path::PathBuf;

use cwmp::{Envelope, Limits, ParseError, parse_envelope};

/// Reads a file from `acs/cwmp/testdata/`.
pub(crate) fn golden(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Parses a golden file with default limits.
pub(crate) fn parse_golden(name: &str) -> Result<Envelope, ParseError> {
    parse_envelope(&golden(name), &Limits::default())
}

/// Every golden file, for the mutation fuzzer.
pub(crate) const ALL_GOLDEN: &[&str] = &[
    "inform-1-0-notes.xml",
    "inform-1-1-soapenv.xml",
    "inform-1-2-soap_env-default-ns.xml",
    "inform-1-3-session-timeout.xml",
    "inform-1-4-supported-versions.xml",
    "inform-no-namespace.xml",
    "gpv-response.xml",
    "spv-fault.xml",
    "transfer-complete.xml",
    "broken-truncated.xml",
    "broken-soap12-namespace.xml",
    "broken-cwmp-namespace.xml",
    "broken-doctype-entity-bomb.xml",
    "broken-too-deep.xml",
];
