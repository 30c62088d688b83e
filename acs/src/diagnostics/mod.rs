//! Diagnostics over CWMP: IPPing, TraceRoute and the TR-143 Download/Upload tests.
//!
//! The protocol (TR-181 `DiagnosticsState`): one SetParameterValues writes the inputs and
//! `DiagnosticsState = Requested`; the CPE runs the test after the session and opens a new one
//! with `8 DIAGNOSTICS COMPLETE`; the ACS then reads the result object. `Complete` and
//! `Completed` (TR-098's TR-143 tests, older TR-181 firmware such as the XX230v's) mean the same.
//!
//! [`plan`] (the write for a device's data model) and [`read_result`] (the result object into
//! typed results) are pure; [`crate::Acs::run_diagnostic`] in `run.rs` is the driver that
//! follows the one-call recipe with its fallbacks (connection request, bounded polls of the
//! state when the event never comes, "lost" after a reboot).

mod failure;
mod parse;
mod plan;
mod run;

pub use failure::TestFailure;
pub use parse::{Measurement, PingResult, TraceHop, TraceResult, TransferResult, read_result};
pub use plan::{Plan, plan};

use crate::AcsError;
use crate::cr::CrError;
use serde::Serialize;
use std::time::Duration;

/// A host to test towards: a name or an address, 1–256 characters without blanks or control
/// characters (TR-181 `Host` is a string(256)).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct DiagHost(String);

impl DiagHost {
    /// Parses a host name or address.
    pub fn parse(s: &str) -> Result<Self, DiagError> {
        let s = s.trim();
        let ok = !s.is_empty()
            && s.len() <= 256
            && !s
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == ',');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(DiagError::InvalidInput(format!("bad host {s:?}")))
        }
    }

    /// The host as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A TR-143 test URL: `http://` or `ftp://`, at most 2048 characters, without credentials
/// (TR-143 forbids HTTP authentication on the test server).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct TestUrl(String);

impl TestUrl {
    /// Parses a test URL.
    pub fn parse(s: &str) -> Result<Self, DiagError> {
        let s = s.trim();
        let lower = s.to_ascii_lowercase();
        let rest = lower
            .strip_prefix("http://")
            .or_else(|| lower.strip_prefix("ftp://"));
        let authority = rest.map(|r| r.split('/').next().unwrap_or(""));
        let ok = s.len() <= 2048
            && authority.is_some_and(|a| !a.is_empty() && !a.contains('@'))
            && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(DiagError::InvalidInput(format!("bad test URL {s:?}")))
        }
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A diagnostic the ACS can ask a CPE to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Diagnostic {
    /// IPPing: `count` echo requests of `size` bytes, each waited for `timeout_ms`.
    Ping {
        /// Target.
        host: DiagHost,
        /// `NumberOfRepetitions`, at least 1.
        count: u32,
        /// `Timeout` per repetition in milliseconds, at least 1.
        timeout_ms: u32,
        /// `DataBlockSize` in bytes, 1–65535.
        size: u32,
    },
    /// TraceRoute up to `max_hops` hops, each probe waited for `timeout_ms`.
    TraceRoute {
        /// Target.
        host: DiagHost,
        /// `MaxHopCount`, 1–64.
        max_hops: u32,
        /// `Timeout` per probe in milliseconds, at least 1.
        timeout_ms: u32,
    },
    /// TR-143 download of `url`; with `duration` a time-based test (TR-181 only, 1–999 s).
    Download {
        /// `DownloadURL`.
        url: TestUrl,
        /// `TimeBasedTestDuration`; `None` downloads the whole file once.
        duration: Option<Duration>,
    },
    /// TR-143 upload of `length` bytes to `url`.
    Upload {
        /// `UploadURL`.
        url: TestUrl,
        /// `TestFileLength` in bytes, 1–4294967295.
        length: u64,
    },
}

impl Diagnostic {
    /// The kind's name as the JSON `kind` tag spells it (`ping`, `trace_route`, `download`,
    /// `upload`): the label of the diagnostic latency metric.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::Ping { .. } => "ping",
            Self::TraceRoute { .. } => "trace_route",
            Self::Download { .. } => "download",
            Self::Upload { .. } => "upload",
        }
    }

    /// How long the test may take on the CPE at worst (its own timeouts), capped at five
    /// minutes: the driver starts checking the state after this plus its margin when no
    /// `8 DIAGNOSTICS COMPLETE` has come.
    pub fn expected_duration(&self) -> Duration {
        let ms = |n: u64| Duration::from_millis(n);
        let d = match self {
            Self::Ping {
                count, timeout_ms, ..
            } => ms(u64::from(*count) * u64::from(*timeout_ms)),
            // TR-181's default NumberOfTries is 3 per hop.
            Self::TraceRoute {
                max_hops,
                timeout_ms,
                ..
            } => ms(3 * u64::from(*max_hops) * u64::from(*timeout_ms)),
            Self::Download { duration, .. } => duration.unwrap_or(Duration::from_secs(30)),
            Self::Upload { .. } => Duration::from_secs(30),
        };
        d.min(Duration::from_secs(300))
    }
}

/// A step of a running diagnostic, for the hub to stream (server-sent events).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum DiagProgress {
    /// The SetParameterValues task is queued (its id).
    Queued {
        /// The task id.
        task_id: u64,
    },
    /// The CPE opened a session after the connection request.
    CpeContacted,
    /// The CPE accepted the request; the test runs after the session.
    Running,
    /// No `8 DIAGNOSTICS COMPLETE` yet: the ACS is reading the state itself.
    Polling {
        /// 1 for the first poll.
        attempt: u32,
    },
    /// The results were read.
    Complete,
    /// The diagnostic ended without results.
    Failed {
        /// What went wrong, for people.
        reason: String,
    },
}

impl DiagProgress {
    /// The step's name: `queued`, `cpe_contacted`, `running`, `polling`, `complete`, `failed`.
    pub fn step(&self) -> &'static str {
        match self {
            Self::Queued { .. } => "queued",
            Self::CpeContacted => "cpe_contacted",
            Self::Running => "running",
            Self::Polling { .. } => "polling",
            Self::Complete => "complete",
            Self::Failed { .. } => "failed",
        }
    }
}

/// A diagnostic's results as read from the CPE.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiagResult {
    /// The result object (`Device.IP.Diagnostics.IPPing`, …).
    pub object: String,
    /// The terminal state as the CPE spelled it (`Complete` or `Completed`).
    pub state: String,
    /// When the results were read (ms since the epoch).
    pub read_ms: i64,
    /// True when no `8 DIAGNOSTICS COMPLETE` came and the ACS polled the state instead.
    pub via_poll: bool,
    /// The typed results.
    pub measurement: Measurement,
}

/// Why a diagnostic gave no results.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiagError {
    /// No device with this id.
    #[error("no such device")]
    UnknownDevice,
    /// The device's root is neither `Device` nor `InternetGatewayDevice`.
    #[error("unsupported data model {0:?}")]
    UnsupportedDataModel(String),
    /// The device's known tree has no such test (object or input missing).
    #[error("the device does not support {0}")]
    NotSupported(String),
    /// The diagnostic's inputs are out of the data model's ranges.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The connection request failed (the device is offline, or refused our credentials).
    #[error("connection request failed: {0}")]
    ConnectionRequest(#[from] CrError),
    /// The CPE answered the request (or a read of the results) with a CWMP fault.
    #[error("the CPE refused: {code}: {message}")]
    Refused {
        /// Fault code as recorded (`cwmp.9003`, …).
        code: String,
        /// Fault string.
        message: String,
        /// Fault detail (per-parameter faults of a SetParameterValues).
        detail: String,
    },
    /// A stage did not finish in time.
    #[error("timed out {0}")]
    Timeout(&'static str),
    /// The CPE no longer knows of the test: its state reads `None` (a reboot or a reset).
    #[error("the CPE lost the test (state {state:?})")]
    Lost {
        /// The state read.
        state: String,
    },
    /// The CPE ran the test and reported an `Error_…` state.
    #[error("the test failed: {0}")]
    Failed(TestFailure),
    /// The results could not be read from the result object.
    #[error("malformed results: {0}")]
    Malformed(String),
    /// The store or the ACS failed.
    #[error(transparent)]
    Acs(#[from] AcsError),
}
