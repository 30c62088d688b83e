//! The ACS side of a CWMP session.
//!
//! One [`AcsSession`] lives for one CWMP session (one TCP connection, or several joined by a
//! cookie). The driver feeds every POST to [`AcsSession::receive`] and acts on the returned
//! [`AcsEvent`]; the machine checks the protocol rules (Inform first, IDs echoed, responses match
//! requests, HoldRequests honoured) so the driver only decides *what* to ask the device.

use std::time::{Duration, Instant};

use super::{message_id, response_name};
use crate::error::{SessionError, truncate_echo};
use crate::rpc::{Body, CwmpVersion, Envelope, Fault, Header, Inform};

/// Tunables of an ACS session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcsSessionConfig {
    /// Idle time after which the session is dead, unless the CPE announces its own
    /// (default 30 s, as GenieACS).
    pub session_timeout: Duration,
    /// Most CPE-initiated requests accepted in one session (default 64); bounds a CPE stuck in
    /// a TransferComplete loop.
    pub max_cpe_requests: usize,
}

impl Default for AcsSessionConfig {
    fn default() -> Self {
        Self {
            session_timeout: Duration::from_secs(30),
            max_cpe_requests: 64,
        }
    }
}

/// Where an ACS session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AcsState {
    /// Waiting for the Inform that opens the session.
    AwaitInform,
    /// The Inform arrived; the driver must call `accept_inform` or `reject_inform`.
    InformReceived,
    /// InformResponse sent; the CPE may send its own requests or an empty POST.
    InformAnswered,
    /// A CPE request arrived; the driver must call `respond`.
    CpeRequests,
    /// The CPE has nothing to say; the driver calls `send_request` or `finish`.
    CpeIdle,
    /// An ACS request is outstanding.
    AwaitResponse,
    /// The session is over.
    Finished,
}

/// What the driver must do after [`AcsSession::receive`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcsEvent {
    /// The first message: register/authorize the device, then `accept_inform` or
    /// `reject_inform`.
    Inform(Inform),
    /// TransferComplete, AutonomousTransferComplete, RequestDownload or GetRPCMethods: the
    /// driver must `respond`.
    CpeRequest(Body),
    /// The CPE is idle (empty POST, or its response was consumed): `send_request` or `finish`.
    CpeIdle,
    /// The response to the outstanding request; then send the next request or finish.
    Response(Body),
    /// The CPE answered the outstanding request with a fault; then send or finish.
    Fault(Fault),
    /// A protocol violation; the session is over and the driver answers 400.
    Violation(SessionError),
}

/// The ACS request awaiting its response.
#[derive(Debug, Clone)]
struct Outstanding {
    id: String,
    response: &'static str,
    hold: bool,
}

/// The ACS-role state machine of one CWMP session.
#[derive(Debug, Clone)]
pub struct AcsSession {
    config: AcsSessionConfig,
    state: AcsState,
    last_activity: Instant,
    version: CwmpVersion,
    inform: Option<Inform>,
    /// The ID of the CPE message we owe an answer to (Inform or CPE request).
    answer_id: Option<String>,
    cpe_timeout: Option<Duration>,
    supported_versions: Option<String>,
    outstanding: Option<Outstanding>,
    cpe_requests: usize,
    ids: u64,
}

impl AcsSession {
    /// Starts a session whose first POST arrived (or is about to arrive) at `now`.
    pub fn new(now: Instant, config: AcsSessionConfig) -> Self {
        Self {
            config,
            state: AcsState::AwaitInform,
            last_activity: now,
            version: CwmpVersion::default(),
            inform: None,
            answer_id: None,
            cpe_timeout: None,
            supported_versions: None,
            outstanding: None,
            cpe_requests: 0,
            ids: 0,
        }
    }

    /// Feeds one POST: `Some(envelope)`, or `None` for an empty POST. Returns what the driver
    /// must do.
    pub fn receive(&mut self, now: Instant, msg: Option<Envelope>) -> AcsEvent {
        if self.state == AcsState::Finished {
            return AcsEvent::Violation(SessionError::Finished);
        }
        if self.is_expired(now) {
            return self.violation(SessionError::Timeout);
        }
        self.last_activity = now;
        match self.state {
            AcsState::AwaitInform => self.on_first(msg),
            AcsState::InformAnswered | AcsState::AwaitResponse => match msg {
                None if self.state == AcsState::AwaitResponse => {
                    self.violation(SessionError::EmptyWhileOutstanding)
                }
                None => {
                    self.state = AcsState::CpeIdle;
                    AcsEvent::CpeIdle
                }
                Some(env) => self.on_message(env),
            },
            // The driver still owes the CPE an answer; a new POST cannot legitimately arrive.
            _ => self.violation(SessionError::AnswerOwed),
        }
    }

    fn on_first(&mut self, msg: Option<Envelope>) -> AcsEvent {
        let Some(Envelope {
            version,
            header,
            body: Body::Inform(inform),
        }) = msg
        else {
            return self.violation(SessionError::NoInform);
        };
        self.version = version;
        self.answer_id = header.id;
        self.cpe_timeout = header
            .session_timeout
            .filter(|&s| s > 0)
            .map(|s| Duration::from_secs(s.into()));
        self.supported_versions = header.supported_cwmp_versions;
        self.inform = Some(inform.clone());
        self.state = AcsState::InformReceived;
        AcsEvent::Inform(inform)
    }

    fn on_message(&mut self, env: Envelope) -> AcsEvent {
        let Envelope { header, body, .. } = env;
        if matches!(body, Body::Inform(_)) {
            return self.violation(SessionError::InformTwice);
        }
        if body.is_cpe_request() {
            if self.outstanding.as_ref().is_some_and(|o| o.hold) {
                return self.violation(SessionError::HoldRequestsViolated);
            }
            if self.cpe_requests >= self.config.max_cpe_requests {
                let limit = self.config.max_cpe_requests;
                return self.violation(SessionError::TooManyCpeRequests { limit });
            }
            self.cpe_requests += 1;
            self.answer_id = header.id;
            self.state = AcsState::CpeRequests;
            return AcsEvent::CpeRequest(body);
        }
        let Some(out) = self.outstanding.take() else {
            return self.violation(SessionError::UnexpectedResponse(body.name()));
        };
        // Some CPEs drop the ID header; only a present, different ID is a mismatch.
        if let Some(got) = header.id
            && got != out.id
        {
            let got = truncate_echo(&got);
            return self.violation(SessionError::UnexpectedId {
                expected: out.id,
                got,
            });
        }
        self.state = AcsState::CpeIdle;
        match body {
            Body::Fault(f) => AcsEvent::Fault(f),
            body if body.name() == out.response => AcsEvent::Response(body),
            body => {
                let got = body.name();
                self.violation(SessionError::WrongResponse {
                    expected: out.response,
                    got,
                })
            }
        }
    }

    /// Moves to `next` unless the session is over: a misbehaving driver must not revive it.
    fn advance(&mut self, next: AcsState) {
        if self.state != AcsState::Finished {
            self.state = next;
        }
    }

    fn violation(&mut self, e: SessionError) -> AcsEvent {
        self.state = AcsState::Finished;
        AcsEvent::Violation(e)
    }

    /// Envelope in the session's namespace answering the message we owe an answer to.
    fn answer(&mut self, body: Body) -> Envelope {
        let header = Header {
            id: self.answer_id.take(),
            ..Header::default()
        };
        Envelope {
            version: self.version,
            header,
            body,
        }
    }

    /// After [`AcsEvent::Inform`]: the InformResponse, echoing the Inform's ID, in the CPE's
    /// namespace, with MaxEnvelopes 1 and `UseCWMPVersion` set to the highest common version
    /// when the CPE sent `SupportedCWMPVersions`.
    pub fn accept_inform(&mut self, now: Instant) -> Envelope {
        self.last_activity = now;
        self.advance(AcsState::InformAnswered);
        let use_version = self.supported_versions.as_deref().and_then(|list| {
            list.split(',')
                .filter_map(|v| {
                    CwmpVersion::ALL
                        .into_iter()
                        .find(|c| c.dotted() == v.trim())
                })
                .max()
        });
        let mut env = self.answer(Body::InformResponse { max_envelopes: 1 });
        env.header.use_cwmp_version = use_version.map(|v| v.dotted().to_owned());
        env
    }

    /// Refuses the Inform with a CWMP fault (e.g. 8005 Retry request); the session is over.
    pub fn reject_inform(&mut self, fault: Fault) -> Envelope {
        self.state = AcsState::Finished;
        self.answer(Body::Fault(fault))
    }

    /// Answers a CPE request ([`AcsEvent::CpeRequest`]) with `body`, echoing its ID.
    pub fn respond(&mut self, now: Instant, body: Body) -> Envelope {
        self.last_activity = now;
        self.advance(if self.outstanding.is_some() {
            AcsState::AwaitResponse
        } else {
            AcsState::InformAnswered
        });
        self.answer(body)
    }

    /// Sends an ACS request. Only allowed when the CPE is idle (after an empty POST or a
    /// response); gives the request a fresh ID, sets HoldRequests when `hold` is true, and
    /// records it as outstanding.
    pub fn send_request(
        &mut self,
        now: Instant,
        body: Body,
        hold: bool,
    ) -> Result<Envelope, SessionError> {
        if self.state != AcsState::CpeIdle {
            return Err(SessionError::NotIdle);
        }
        let response = response_name(&body)
            .filter(|_| body.is_acs_request())
            .ok_or(SessionError::NotARequest(body.name()))?;
        let id = message_id("acs", &mut self.ids);
        self.outstanding = Some(Outstanding {
            id: id.clone(),
            response,
            hold,
        });
        self.last_activity = now;
        self.state = AcsState::AwaitResponse;
        let header = Header {
            id: Some(id),
            hold_requests: hold.then_some(true),
            ..Header::default()
        };
        Ok(Envelope {
            version: self.version,
            header,
            body,
        })
    }

    /// Ends the session: the driver answers 204 with an empty body.
    pub fn finish(&mut self) {
        self.state = AcsState::Finished;
    }

    /// The CWMP namespace the CPE used (and every ACS message uses).
    pub fn version(&self) -> CwmpVersion {
        self.version
    }

    /// The session's Inform, once received.
    pub fn inform(&self) -> Option<&Inform> {
        self.inform.as_ref()
    }

    /// The CPE's SessionTimeout header if it sent one, else the configured timeout.
    pub fn session_timeout(&self) -> Duration {
        self.cpe_timeout.unwrap_or(self.config.session_timeout)
    }

    /// Last activity plus the session timeout.
    pub fn deadline(&self) -> Instant {
        self.last_activity + self.session_timeout()
    }

    /// Whether `now` is past the deadline.
    pub fn is_expired(&self, now: Instant) -> bool {
        now > self.deadline()
    }

    /// Whether the session is over.
    pub fn is_finished(&self) -> bool {
        self.state == AcsState::Finished
    }

    /// The current state.
    pub fn state(&self) -> AcsState {
        self.state
    }
}
