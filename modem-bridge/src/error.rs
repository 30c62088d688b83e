//! The crate's one error type. Variants say whose fault a failure is: the modem spoke a protocol
//! we do not understand (`Protocol`, the signal to fall back to the browser), refused us
//! (`Login`, `Busy`, `LockedOut`, `Refused`), the transport failed, or the browser did.

use std::fmt;

/// The modem answered in a way this firmware profile does not expect: different crypto, a
/// different key size, an undecryptable body. The bridge falls back to the Chromium path on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolMismatch(String);

impl ProtocolMismatch {
    /// A mismatch described by `what` (never containing secrets or ciphertext).
    pub fn new(what: impl Into<String>) -> Self {
        Self(what.into())
    }
}

impl fmt::Display for ProtocolMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Everything that can go wrong reading a modem.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BridgeError {
    /// The modem's answers do not follow the configured protocol variant.
    #[error("protocol mismatch: {0}")]
    Protocol(ProtocolMismatch),
    /// The modem rejected the username or password (`$.ret=71233`); the firmware counts this.
    #[error("login rejected: wrong username or password ({attempts} failed attempts so far)")]
    Login {
        /// The firmware's failed-attempt counter, when it reported one.
        attempts: u32,
    },
    /// The modem refuses logins for a while after too many failures.
    #[error("login locked out for {seconds} s after repeated failures")]
    LockedOut {
        /// Seconds the modem still refuses logins.
        seconds: u64,
    },
    /// Somebody else (a technician, the customer) is logged in; the bridge does not kick them out.
    #[error("another user is logged in to the modem's web UI")]
    Busy,
    /// The modem answered a request with an HTTP error status.
    #[error("modem answered HTTP {0}")]
    Http(u16),
    /// The modem refused one data-model object with an error code (9003 role, 9804 unknown).
    #[error("modem refused {oid} with error code {code}")]
    Refused {
        /// The object.
        oid: String,
        /// The firmware's `errorcode`.
        code: i64,
    },
    /// The connection to the modem failed (refused, reset, timed out).
    #[error("transport: {0}")]
    Transport(String),
    /// A read took longer than its budget.
    #[error("timed out after {0:?}")]
    Timeout(std::time::Duration),
    /// The headless browser failed (launch, CDP, page script).
    #[error("browser: {0}")]
    Browser(String),
    /// A modem id that is not in the allow-list.
    #[error("unknown modem {0:?}")]
    UnknownModem(String),
    /// Configuration is invalid (a missing password variable, a bad address).
    #[error("configuration: {0}")]
    Config(String),
}

impl BridgeError {
    /// Whether the modem refused the login itself: no web session was opened.
    pub fn is_login_refusal(&self) -> bool {
        match self {
            Self::Login { .. } | Self::LockedOut { .. } | Self::Busy => true,
            Self::Refused { oid, .. } => oid == "/cgi/login",
            _ => false,
        }
    }
}

impl From<ProtocolMismatch> for BridgeError {
    fn from(p: ProtocolMismatch) -> Self {
        Self::Protocol(p)
    }
}

impl From<reqwest::Error> for BridgeError {
    fn from(e: reqwest::Error) -> Self {
        // reqwest's Display includes the URL, which holds no secret here (the modem address and
        // a timestamp); bodies and headers are never part of it.
        Self::Transport(e.without_url().to_string())
    }
}

impl From<chromiumoxide::error::CdpError> for BridgeError {
    fn from(e: chromiumoxide::error::CdpError) -> Self {
        Self::Browser(e.to_string())
    }
}
