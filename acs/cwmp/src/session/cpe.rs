//! The CPE side of a CWMP session, used by the lab CPE agent and by tests.
//!
//! The CPE is the HTTP client: it POSTs the Inform, then its own queued requests, then an empty
//! body, and answers whatever the ACS sends in the HTTP responses until the ACS answers 204.
//! [`CpeSession`] tracks that dance; the driver does the HTTP and computes RPC answers.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{message_id, response_name};
use crate::error::{SessionError, truncate_echo};
use crate::rpc::{Body, CwmpVersion, Envelope, Header, Inform};

/// Tunables of a CPE session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpeSessionConfig {
    /// The CWMP namespace the CPE speaks.
    pub version: CwmpVersion,
    /// How long the CPE waits for the ACS before abandoning the session (default 30 s).
    pub session_timeout: Duration,
}

impl Default for CpeSessionConfig {
    fn default() -> Self {
        Self {
            version: CwmpVersion::V1_2,
            session_timeout: Duration::from_secs(30),
        }
    }
}

/// What the driver must do after [`CpeSession::receive`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CpeEvent {
    /// POST this envelope next (a pending CPE request).
    Send(Envelope),
    /// POST an empty body (the CPE has no more requests).
    SendEmpty,
    /// The ACS sent an RPC: compute the answer, call [`CpeSession::respond`], POST it.
    Request(Body),
    /// The ACS ended the session cleanly (204 or empty 200 after our empty POST or answer).
    Done,
    /// The ACS asked us to retry later (503, or fault 8005 to the Inform); `after` is the
    /// Retry-After delay when the driver passed one to [`CpeSession::receive_503`].
    Retry {
        /// The server-requested delay, if any.
        after: Option<Duration>,
    },
    /// The session failed. A 401 is `Failed(SessionError::Unauthorized)` and leaves the state
    /// unchanged, so the driver can re-POST the same body with credentials.
    Failed(SessionError),
}

/// Where the CPE session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    NotStarted,
    AwaitInformResponse,
    /// We POSTed a CPE request and expect this response name.
    AwaitRequestResponse(&'static str),
    /// We POSTed an empty body or an answer; the ACS sends a request or ends the session.
    AwaitAcs,
    /// The driver is computing the answer to an ACS request.
    Answering,
    Done,
}

/// The CPE-role state machine of one CWMP session.
#[derive(Debug, Clone)]
pub struct CpeSession {
    config: CpeSessionConfig,
    inform: Inform,
    pending: VecDeque<Body>,
    state: State,
    last_activity: Instant,
    inform_delivered: bool,
    /// HoldRequests of the last ACS message: while set we must not send our own requests.
    hold: bool,
    request_id: Option<String>,
    ids: u64,
}

impl CpeSession {
    /// Prepares a session. `pending` are CPE requests to send after the InformResponse
    /// (TransferComplete, AutonomousTransferComplete, RequestDownload, GetRPCMethods).
    pub fn new(now: Instant, config: CpeSessionConfig, inform: Inform, pending: Vec<Body>) -> Self {
        Self {
            config,
            inform,
            pending: pending.into(),
            state: State::NotStarted,
            last_activity: now,
            inform_delivered: false,
            hold: false,
            request_id: None,
            ids: 0,
        }
    }

    /// The Inform envelope to POST first, with a fresh ID. Calling it again restarts the
    /// session (for instance after a 401 on a new connection).
    pub fn start(&mut self, now: Instant) -> Envelope {
        self.last_activity = now;
        self.state = State::AwaitInformResponse;
        self.hold = false;
        let version = self.config.version;
        let mut header = Header {
            id: Some(self.next_id()),
            ..Header::default()
        };
        // CWMP 1.3 added SessionTimeout and 1.4 SupportedCWMPVersions; older ACSs would not
        // expect them.
        if version >= CwmpVersion::V1_3 {
            header.session_timeout = u32::try_from(self.config.session_timeout.as_secs()).ok();
        }
        if version >= CwmpVersion::V1_4 {
            let list: Vec<_> = CwmpVersion::ALL.iter().map(|v| v.dotted()).collect();
            header.supported_cwmp_versions = Some(list.join(","));
        }
        Envelope {
            version,
            header,
            body: Body::Inform(self.inform.clone()),
        }
    }

    fn next_id(&mut self) -> String {
        message_id("cpe", &mut self.ids)
    }

    /// Feeds the HTTP answer to the last POST: the status code and the parsed body (`None` when
    /// the body was empty). For a 503 with a Retry-After header use [`Self::receive_503`].
    pub fn receive(&mut self, now: Instant, status: u16, msg: Option<Envelope>) -> CpeEvent {
        if matches!(
            self.state,
            State::Done | State::NotStarted | State::Answering
        ) {
            return CpeEvent::Failed(SessionError::Finished);
        }
        if now > self.deadline() {
            return self.fail(SessionError::Timeout);
        }
        self.last_activity = now;
        match (status, msg) {
            (401, _) => CpeEvent::Failed(SessionError::Unauthorized),
            (503, _) => self.receive_503(None),
            (204, _) | (200, None) => self.on_empty(),
            (200, Some(env)) => self.on_envelope(env),
            (status, _) => self.fail(SessionError::HttpStatus(status)),
        }
    }

    /// Handles a 503 whose Retry-After the driver parsed: the session ends and the driver
    /// retries after `retry_after` (or its own backoff, see [`retry_wait`]).
    pub fn receive_503(&mut self, retry_after: Option<Duration>) -> CpeEvent {
        self.state = State::Done;
        CpeEvent::Retry { after: retry_after }
    }

    fn fail(&mut self, e: SessionError) -> CpeEvent {
        self.state = State::Done;
        CpeEvent::Failed(e)
    }

    fn on_empty(&mut self) -> CpeEvent {
        if self.state != State::AwaitAcs {
            return self.fail(SessionError::UnexpectedEmpty);
        }
        // The ACS closes the session after its empty answer, so requests that a HoldRequests
        // kept back stay in `pending` for the next session rather than being POSTed now.
        self.state = State::Done;
        CpeEvent::Done
    }

    fn on_envelope(&mut self, env: Envelope) -> CpeEvent {
        self.hold = env.header.hold_requests == Some(true);
        match (self.state, env.body) {
            (State::AwaitInformResponse, Body::InformResponse { .. }) => {
                self.inform_delivered = true;
                self.next_post()
            }
            (State::AwaitInformResponse, Body::Fault(f)) if f.code == 8005 => {
                self.receive_503(None)
            }
            (State::AwaitRequestResponse(expected), body) => {
                // A fault to our request (GenieACS answers unknown ones with 8000) drops it:
                // resending it would loop forever.
                if body.name() == expected || matches!(body, Body::Fault(_)) {
                    self.pending.pop_front();
                    self.next_post()
                } else {
                    self.fail(SessionError::WrongResponse {
                        expected,
                        got: body.name(),
                    })
                }
            }
            (State::AwaitAcs, body) if body.is_acs_request() => {
                self.request_id = env.header.id;
                self.state = State::Answering;
                CpeEvent::Request(body)
            }
            (_, Body::Fault(f)) => {
                let string = truncate_echo(&f.string);
                self.fail(SessionError::Fault {
                    code: f.code,
                    string,
                })
            }
            (_, body) => self.fail(SessionError::UnexpectedMessage(body.name())),
        }
    }

    /// The next POST: a pending request unless the ACS holds them, else an empty body.
    fn next_post(&mut self) -> CpeEvent {
        if !self.hold
            && let Some(req) = self.pending.front()
        {
            let expected = response_name(req).unwrap_or("");
            let body = req.clone();
            let header = Header {
                id: Some(self.next_id()),
                ..Header::default()
            };
            self.state = State::AwaitRequestResponse(expected);
            return CpeEvent::Send(Envelope {
                version: self.config.version,
                header,
                body,
            });
        }
        self.state = State::AwaitAcs;
        CpeEvent::SendEmpty
    }

    /// The answer to the ACS request delivered by [`CpeEvent::Request`], echoing its ID.
    pub fn respond(&mut self, body: Body) -> Envelope {
        self.state = State::AwaitAcs;
        let header = Header {
            id: self.request_id.take(),
            ..Header::default()
        };
        Envelope {
            version: self.config.version,
            header,
            body,
        }
    }

    /// Whether the InformResponse arrived, i.e. the Inform's events count as delivered.
    pub fn inform_delivered(&self) -> bool {
        self.inform_delivered
    }

    /// Whether the session is over (cleanly or not).
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Last activity plus the session timeout.
    pub fn deadline(&self) -> Instant {
        self.last_activity + self.config.session_timeout
    }

    /// CPE requests not yet acknowledged by the ACS (to carry over to the next session).
    pub fn pending(&self) -> impl Iterator<Item = &Body> {
        self.pending.iter()
    }
}

/// The session retry wait of TR-069 §3.2.1.1: uniformly random in
/// `[m·(k/1000)^(n−1), m·(k/1000)^n]` seconds for retry `n` (capped at 10; 0 counts as 1),
/// with `m` = CWMPRetryMinimumWaitInterval and `k` = CWMPRetryIntervalMultiplier.
/// `unit_random` is a sample from `[0, 1)` supplied by the caller, keeping this function pure.
pub fn retry_wait(
    retry_count: u32,
    min_wait_s: u32,
    multiplier_permille: u32,
    unit_random: f64,
) -> Duration {
    let n = retry_count.clamp(1, 10);
    let k = f64::from(multiplier_permille) / 1000.0;
    let lo = f64::from(min_wait_s) * k.powi(n as i32 - 1);
    let hi = f64::from(min_wait_s) * k.powi(n as i32);
    let r = if unit_random.is_finite() {
        unit_random.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let secs = lo + (hi - lo) * r;
    Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_wait_follows_the_table() {
        let s = |n, r| retry_wait(n, 5, 2000, r).as_secs_f64();
        assert_eq!((s(1, 0.0), s(1, 1.0)), (5.0, 10.0));
        assert_eq!((s(2, 0.0), s(2, 1.0)), (10.0, 20.0));
        assert_eq!((s(10, 0.0), s(10, 1.0)), (2560.0, 5120.0));
        assert_eq!(s(50, 0.0), 2560.0);
        assert_eq!(s(0, 0.5), 7.5);
        assert_eq!(retry_wait(1, 5, 2000, f64::NAN), Duration::from_secs(5));
        // Extreme parameters saturate instead of panicking.
        assert!(retry_wait(10, 65_535, 65_535, 1.0) > Duration::from_secs(1 << 40));
    }
}
