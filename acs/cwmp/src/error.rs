//! Errors of the codec and of the session state machines.
//!
//! Parse errors always blame the peer: the ACS turns them into a CWMP fault or an HTTP status,
//! never a panic. Session errors describe protocol violations (by the peer) or misuse of the state
//! machine API (by the driver); the variant docs say which.

use thiserror::Error;

use crate::rpc::Fault;

/// Longest peer-derived text copied into an error or a fault string. Faults are sent back to the
/// device and logged, so echoing a megabyte of hostile input would amplify it.
const MAX_ECHO: usize = 100;

/// Truncates `s` to at most [`MAX_ECHO`] characters, on a character boundary.
pub(crate) fn truncate_echo(s: &str) -> String {
    match s.char_indices().nth(MAX_ECHO) {
        Some((idx, _)) => format!("{}…", &s[..idx]),
        None => s.to_owned(),
    }
}

/// Why an envelope could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The body is larger than [`crate::Limits::max_body_bytes`].
    #[error("envelope larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// Elements nest deeper than [`crate::Limits::max_depth`].
    #[error("elements nested deeper than {limit}")]
    TooDeep {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// More parameter entries than [`crate::Limits::max_parameters`].
    #[error("more than {limit} parameters")]
    TooManyParameters {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// A text or attribute value longer than [`crate::Limits::max_string_len`].
    #[error("string longer than {limit} bytes")]
    StringTooLong {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// More elements than [`crate::Limits::max_elements`].
    #[error("more than {limit} elements")]
    TooManyElements {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// The document is not well-formed XML (or uses a DOCTYPE, which we refuse).
    #[error("malformed XML: {0}")]
    Xml(String),
    /// The document is XML but not a SOAP 1.1 Envelope with a Body.
    #[error("not a SOAP 1.1 envelope")]
    NotSoap,
    /// The RPC element is in a namespace that is neither a CWMP URN nor absent.
    #[error("unknown namespace {0}")]
    UnknownNamespace(String),
    /// The RPC element's name is not a CWMP method this crate knows.
    #[error("unknown method {0}")]
    UnknownMethod(String),
    /// A required element is missing.
    #[error("missing element {0}")]
    Missing(&'static str),
    /// An element's text is not valid for its type (a number, a boolean, …).
    #[error("invalid {field}: {value:?}")]
    Invalid {
        /// The element whose value is invalid.
        field: &'static str,
        /// The offending text, truncated to 100 characters.
        value: String,
    },
}

impl ParseError {
    /// Builds [`ParseError::Invalid`], truncating the echoed value.
    pub(crate) fn invalid(field: &'static str, value: &str) -> Self {
        Self::Invalid {
            field,
            value: truncate_echo(value),
        }
    }

    /// Builds [`ParseError::Xml`] from any displayable cause, truncating it.
    pub(crate) fn xml(cause: impl std::fmt::Display) -> Self {
        Self::Xml(truncate_echo(&cause.to_string()))
    }

    /// Whether the error is a resource limit (answered with 8004 rather than 8003).
    pub fn is_limit(&self) -> bool {
        matches!(
            self,
            Self::BodyTooLarge { .. }
                | Self::TooDeep { .. }
                | Self::TooManyParameters { .. }
                | Self::StringTooLong { .. }
                | Self::TooManyElements { .. }
        )
    }

    /// The CWMP fault the ACS sends back: 8004 for limits, 8000 for an unknown method, 8003
    /// otherwise. The fault string never echoes more than 100 characters of peer input.
    pub fn fault(&self) -> Fault {
        let code = if self.is_limit() {
            8004
        } else if matches!(self, Self::UnknownMethod(_)) {
            8000
        } else {
            8003
        };
        Fault::new(code, truncate_echo(&self.to_string()))
    }

    /// The HTTP status for a request whose body failed to parse: 413 for an oversized body, 400
    /// for everything else.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::BodyTooLarge { .. } => 413,
            _ => 400,
        }
    }
}

/// Why a session cannot continue, or why the driver's call was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SessionError {
    /// Input arrived after the session deadline (peer too slow).
    #[error("session timed out")]
    Timeout,
    /// The first message of an ACS session was not an Inform (peer).
    #[error("the first message must be an Inform")]
    NoInform,
    /// A second Inform in the same session (peer).
    #[error("Inform received twice")]
    InformTwice,
    /// A response's ID differs from the outstanding request's ID (peer).
    #[error("unexpected ID {got:?}, expected {expected:?}")]
    UnexpectedId {
        /// The ID of the outstanding request.
        expected: String,
        /// The ID the peer sent, truncated.
        got: String,
    },
    /// A response arrived while no request was outstanding (peer).
    #[error("response {0} without an outstanding request")]
    UnexpectedResponse(&'static str),
    /// The response does not match the outstanding request (peer).
    #[error("expected {expected}, got {got}")]
    WrongResponse {
        /// The response name that was expected.
        expected: &'static str,
        /// The body that arrived.
        got: &'static str,
    },
    /// A message that makes no sense in the current state (peer).
    #[error("unexpected {0}")]
    UnexpectedMessage(&'static str),
    /// The CPE sent more requests than [`crate::AcsSessionConfig::max_cpe_requests`] (peer).
    #[error("more than {limit} CPE requests in one session")]
    TooManyCpeRequests {
        /// The configured limit.
        limit: usize,
    },
    /// The CPE sent a request although the ACS set HoldRequests (peer).
    #[error("CPE request while HoldRequests was set")]
    HoldRequestsViolated,
    /// An empty POST while an ACS request was outstanding (peer).
    #[error("empty POST while a request was outstanding")]
    EmptyWhileOutstanding,
    /// An empty answer where the protocol requires an envelope (peer).
    #[error("unexpected empty message")]
    UnexpectedEmpty,
    /// The peer answered with a CWMP fault that ends the session (peer).
    #[error("fault {code}: {string}")]
    Fault {
        /// The CWMP fault code.
        code: u32,
        /// The fault string, truncated.
        string: String,
    },
    /// The ACS answered 401; the driver may retry with credentials (peer or configuration).
    #[error("unauthorized")]
    Unauthorized,
    /// The ACS answered with an HTTP status the protocol does not allow (peer).
    #[error("unexpected HTTP status {0}")]
    HttpStatus(u16),
    /// The driver fed input while it still owed the peer an answer (driver bug).
    #[error("input while an answer is owed to the peer")]
    AnswerOwed,
    /// `send_request` was called when the CPE is not idle (driver bug).
    #[error("cannot send a request in this state")]
    NotIdle,
    /// `send_request` was called with a body that is not an ACS request (driver bug).
    #[error("{0} is not an ACS request")]
    NotARequest(&'static str),
    /// The session is already over (driver bug).
    #[error("session already finished")]
    Finished,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_map_to_8004_and_unknown_method_to_8000() {
        assert_eq!(ParseError::TooDeep { limit: 3 }.fault().code, 8004);
        assert_eq!(ParseError::UnknownMethod("X".into()).fault().code, 8000);
        assert_eq!(ParseError::NotSoap.fault().code, 8003);
        assert_eq!(ParseError::BodyTooLarge { limit: 1 }.http_status(), 413);
        assert_eq!(ParseError::NotSoap.http_status(), 400);
    }

    #[test]
    fn fault_strings_do_not_echo_huge_input() {
        let huge = "x".repeat(10_000);
        let f = ParseError::UnknownMethod(huge.clone()).fault();
        assert!(f.string.chars().count() <= 101, "{}", f.string.len());
        let f = ParseError::invalid("Status", &huge).fault();
        assert!(f.string.chars().count() <= 101);
        // Truncation respects character boundaries.
        assert_eq!(truncate_echo(&"é".repeat(150)).chars().count(), 101);
    }
}
