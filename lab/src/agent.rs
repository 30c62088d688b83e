//! One virtual CPE: its state, its event queue and one CWMP session over HTTP.
//!
//! The protocol is `cwmp::CpeSession`; this module feeds it the ACS's answers, computes our
//! answers from the model, and keeps the CPE-side bookkeeping of TR-069 §3.2.1: which events
//! are still undelivered, the RetryCount, and the work owed after a session (reboot, download).

use std::collections::{BTreeSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cwmp::{Body, CpeEvent, CpeSession, CpeSessionConfig, DeviceIdStruct, EventStruct, Fault};
use cwmp::{Envelope, Inform, Limits, ParameterValue, ParseError, SessionError};
use tokio::sync::Notify;
use tracing::Instrument as _;

use crate::client::Transport;
use crate::error::SimError;
use crate::fleet::Shared;
use crate::model::CpeModel;
use crate::quirk::Misbehaviour;
use crate::report::SessionReport;
use crate::respond::{FollowUp, answer, header_id};

/// Most HTTP exchanges in one session; bounds an ACS that never says 204.
const MAX_EXCHANGES: usize = 100_000;

/// Longest wait for a retry or a scheduled inform (a day): longer is pointless in a lab run.
const MAX_WAIT: Duration = Duration::from_secs(86_400);

/// The event that is never retried (TR-069 §3.2.1, "must not retry").
pub(crate) const CONNECTION_REQUEST: &str = "6 CONNECTION REQUEST";

/// One virtual CPE of a fleet.
#[derive(Debug)]
pub(crate) struct Cpe {
    pub(crate) index: usize,
    pub(crate) device_id: String,
    pub(crate) state: Mutex<CpeState>,
    /// Held for the whole of a session: a CPE runs one session at a time.
    session_lock: tokio::sync::Mutex<()>,
    /// Wakes the CPE's task when new work arrives (CR, follow-up, local change).
    pub(crate) wake: Notify,
    /// Installed deployment units (ChangeDUState), apart from the state because installing
    /// one fetches a file.
    pub(crate) units: Mutex<Vec<crate::transfers::DeploymentUnit>>,
}

/// The mutable state of a CPE; never held across an await.
#[derive(Debug)]
pub(crate) struct CpeState {
    pub(crate) model: CpeModel,
    /// The ACS's last Digest challenge and our nonce count, for pre-emptive Digest.
    pub(crate) digest: Option<(cwmp::auth::DigestChallenge, u32)>,
    /// Undelivered events, retried until an InformResponse arrives.
    pub(crate) pending_events: Vec<EventStruct>,
    /// Undelivered CPE requests (TransferComplete).
    pub(crate) pending_requests: Vec<Body>,
    pub(crate) retry_count: u32,
    pub(crate) retry_at: Option<Instant>,
    pub(crate) next_periodic: Option<Instant>,
    /// Deferred work: reboots, downloads, scheduled informs.
    pub(crate) timers: Vec<(Instant, FollowUp)>,
    pub(crate) cr_requested: bool,
    /// When the fleet asked this CPE to make first contact.
    pub(crate) boot_at: Option<Instant>,
    /// Whether an Inform of this CPE was ever accepted.
    pub(crate) contacted: bool,
    pub(crate) in_session: bool,
    /// While rebooting the CPE refuses connection requests.
    pub(crate) down_until: Option<Instant>,
    /// Recently issued connection-request nonces.
    pub(crate) cr_nonces: VecDeque<String>,
    /// Locally changed parameters with notification on, reported in the next Inform.
    pub(crate) changed: BTreeSet<String>,
    /// Sessions attempted so far.
    pub(crate) sessions: u64,
    /// The report of the last successful session.
    pub(crate) last_report: Option<SessionReport>,
    /// The method list of the ACS's last GetRPCMethodsResponse.
    pub(crate) acs_methods: Option<Vec<String>>,
}

impl Cpe {
    /// A CPE whose first session carries `start_events` (`0 BOOTSTRAP` + `1 BOOT` for one that
    /// has never met this ACS).
    pub(crate) fn new(
        index: usize,
        device_id: String,
        model: CpeModel,
        start_events: &[String],
    ) -> Self {
        let state = CpeState {
            model,
            digest: None,
            pending_events: start_events.iter().map(EventStruct::new).collect(),
            pending_requests: Vec::new(),
            retry_count: 0,
            retry_at: None,
            next_periodic: None,
            timers: Vec::new(),
            cr_requested: false,
            boot_at: None,
            contacted: false,
            in_session: false,
            down_until: None,
            cr_nonces: VecDeque::new(),
            changed: BTreeSet::new(),
            sessions: 0,
            last_report: None,
            acs_methods: None,
        };
        Self {
            index,
            device_id,
            state: Mutex::new(state),
            session_lock: tokio::sync::Mutex::new(()),
            wake: Notify::new(),
            units: Mutex::new(Vec::new()),
        }
    }

    /// Locks the state; a poisoned lock (a panic elsewhere) still yields the data.
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, CpeState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Adds an event unless an equal one is queued: single events by code, M events by code and key.
pub(crate) fn add_event(list: &mut Vec<EventStruct>, ev: EventStruct) {
    if !list
        .iter()
        .any(|e| e.code == ev.code && e.command_key == ev.command_key)
    {
        list.push(ev);
    }
}

impl CpeState {
    /// The Inform for a session carrying the pending events plus `extra`.
    fn inform(&mut self, extra: &[EventStruct]) -> Inform {
        for ev in extra {
            if ev.code != CONNECTION_REQUEST {
                add_event(&mut self.pending_events, ev.clone());
            }
        }
        let mut events = self.pending_events.clone();
        for ev in extra.iter().filter(|e| e.code == CONNECTION_REQUEST) {
            add_event(&mut events, ev.clone());
        }
        let m = &self.model;
        let mut parameters: Vec<ParameterValue> = m
            .base()
            .forced()
            .iter()
            .filter_map(|&i| {
                let path = &m.base().node(i).path;
                Some(ParameterValue::new(
                    &**path,
                    m.get(path)?,
                    m.base().node(i).xsd.clone(),
                ))
            })
            .collect();
        for path in &self.changed {
            let Some(e) = m.lookup(path) else { continue };
            if !m.is_object(e) && !parameters.iter().any(|p| p.name == *path) {
                parameters.push(ParameterValue::new(path, m.value(e), m.xsd(e).clone()));
            }
        }
        let base = m.base();
        Inform {
            device_id: DeviceIdStruct {
                manufacturer: base.manufacturer().to_owned(),
                oui: base.oui().to_owned(),
                product_class: base.product_class().to_owned(),
                serial_number: m.identity().serial.clone(),
            },
            events,
            max_envelopes: 1,
            current_time: crate::time::now_datetime(),
            retry_count: self.retry_count,
            parameters,
        }
    }

    /// The §8 retry parameters from the model, with the TR-181 defaults.
    pub(crate) fn retry_params(&self) -> (u32, u32) {
        let get = |rel: &str, default: u32| {
            self.model
                .get(&self.model.rel(rel))
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        (
            get("ManagementServer.CWMPRetryMinimumWaitInterval", 5).max(1),
            get("ManagementServer.CWMPRetryIntervalMultiplier", 2000).max(1000),
        )
    }
}

/// Runs one session now (waiting for any session already running on this CPE) and updates the
/// CPE's event queue, retry state and follow-up work from its outcome.
pub(crate) async fn run_session(
    shared: &Shared,
    cpe: &Cpe,
    extra: &[EventStruct],
) -> Result<SessionReport, SimError> {
    let _session = cpe.session_lock.lock().await;
    let _permit = shared
        .permits
        .acquire()
        .await
        .map_err(|_| SimError::ShuttingDown)?;
    let started = Instant::now();
    let (inform, pending) = {
        let mut st = cpe.lock();
        st.in_session = true;
        (st.inform(extra), st.pending_requests.clone())
    };
    let mut report = SessionReport {
        events: inform.events.iter().map(|e| e.code.clone()).collect(),
        ..SessionReport::default()
    };
    let config = CpeSessionConfig {
        version: shared.version,
        session_timeout: shared.session_timeout,
    };
    let mut session = CpeSession::new(started, config, inform.clone(), pending);
    let mut follow = Vec::new();
    let span = tracing::debug_span!("cwmp_session", device = %cpe.device_id, index = cpe.index);
    let result = drive(shared, cpe, &mut session, &mut report, &mut follow)
        .instrument(span)
        .await;
    report.latency = started.elapsed();
    let now = Instant::now();
    {
        let mut st = cpe.lock();
        st.in_session = false;
        st.sessions += 1;
        if result.is_ok() {
            st.last_report = Some(report.clone());
        }
        if session.inform_delivered() {
            st.pending_events.retain(|e| !inform.events.contains(e));
            st.retry_count = 0;
            st.contacted = true;
            st.changed.clear();
        }
        st.pending_requests = session.pending().cloned().collect();
        let undelivered = !st.pending_events.is_empty() || !st.pending_requests.is_empty();
        st.retry_at = match &result {
            Err(e) if undelivered => {
                st.retry_count = st.retry_count.saturating_add(1);
                let (m, k) = st.retry_params();
                let wait = cwmp::retry_wait(st.retry_count, m, k, rand::random::<f64>());
                let after = match e {
                    SimError::Retry { after: Some(a) } => (*a).max(wait),
                    _ => wait,
                };
                // Retry-After comes from the peer and the wait parameters from the model: clamp
                // both so that no value can overflow the clock.
                Some(now + after.min(MAX_WAIT))
            }
            _ => None,
        };
        // A periodic inform is planned after every session. A failed one keeps the plan it
        // had, but one whose Inform went through and then failed (the ACS died mid-session) has
        // consumed its periodic slot and plans no retry: without a new plan it would never
        // inform again.
        if result.is_ok() || st.next_periodic.is_none() {
            st.next_periodic = shared.next_periodic(now);
        }
        for f in follow {
            let due = match &f {
                FollowUp::ScheduleInform { delay_seconds, .. } => {
                    now + Duration::from_secs(u64::from(*delay_seconds)).min(MAX_WAIT)
                }
                // A transfer waits in the queue (cancellable) until its delay has passed.
                f => now + crate::transfers::start_delay(f).unwrap_or_default(),
            };
            st.timers.push((due, f));
        }
    }
    {
        let mut stats = shared.lock_stats();
        match &result {
            Ok(()) => stats.record_ok(report.latency),
            Err(e) => stats.record_failed(cause(e)),
        }
    }
    cpe.wake.notify_one();
    match &result {
        Ok(()) => {
            tracing::debug!(device = %cpe.device_id, ms = report.latency.as_millis() as u64, "session ok")
        }
        Err(e) => tracing::debug!(device = %cpe.device_id, error = %e, "session failed"),
    }
    result.map(|()| report)
}

/// A short, stable label for a failure, used as a report key.
fn cause(e: &SimError) -> &'static str {
    match e {
        SimError::Connect(_) => "connect",
        SimError::Http(_) => "http",
        SimError::Timeout => "timeout",
        SimError::Unauthorized => "unauthorized",
        SimError::Session(SessionError::HttpStatus(_)) => "http_status",
        SimError::Session(_) => "protocol",
        SimError::Parse(_) => "parse",
        SimError::Retry { .. } => "retry",
        _ => "other",
    }
}

/// The HTTP exchanges of one session.
async fn drive(
    shared: &Shared,
    cpe: &Cpe,
    session: &mut CpeSession,
    report: &mut SessionReport,
    follow: &mut Vec<FollowUp>,
) -> Result<(), SimError> {
    let mut transport = Transport::new(
        shared.acs_url.clone(),
        shared.session_timeout,
        shared.auth.clone(),
        cpe.device_id.clone(),
    );
    if shared.preemptive_digest {
        transport.resume_digest(cpe.lock().digest.take());
    }
    let result = exchanges(shared, cpe, session, report, follow, &mut transport).await;
    if shared.preemptive_digest {
        cpe.lock().digest = transport.digest_state();
    }
    result
}

/// The POSTs of one session over `transport`.
async fn exchanges(
    shared: &Shared,
    cpe: &Cpe,
    session: &mut CpeSession,
    report: &mut SessionReport,
    follow: &mut Vec<FollowUp>,
    transport: &mut Transport,
) -> Result<(), SimError> {
    let version = shared.version;
    let mut body = Bytes::from(cwmp::to_bytes(&session.start(Instant::now())));
    // Whether our last POST lets the ACS send a request (empty POST or an answer).
    let mut acs_turn = false;
    for _ in 0..MAX_EXCHANGES {
        let ans = transport.post(std::mem::take(&mut body)).await?;
        let now = Instant::now();
        let event = if ans.status == 503 {
            session.receive_503(ans.retry_after)
        } else {
            let blank = ans.body.iter().all(u8::is_ascii_whitespace);
            let msg = match (ans.status, blank) {
                (200, false) => match cwmp::parse_envelope(&ans.body, &Limits::default()) {
                    Ok(env) => Some(env),
                    Err(ParseError::UnknownMethod(name)) if acs_turn => {
                        // A request we do not implement: answer 9000 and stay in the session.
                        report.acs_requests.push(name);
                        report.faults.push(9000);
                        let id = header_id(&ans.body).unwrap_or_default();
                        let f = Fault::new(9000, "Method not supported");
                        body = cwmp::to_bytes(&Envelope::new(version, id, Body::Fault(f))).into();
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                },
                _ => None,
            };
            if let Some(env) = &msg {
                note_acs_message(cpe, report, env);
            }
            session.receive(now, ans.status, msg)
        };
        acs_turn = false;
        match event {
            CpeEvent::Send(env) => {
                if !matches!(env.body, Body::Inform(_)) {
                    report.cpe_requests.push(env.body.name().to_owned());
                }
                body = cwmp::to_bytes(&env).into();
            }
            CpeEvent::SendEmpty => {
                acs_turn = true;
            }
            CpeEvent::Request(req) => {
                report.acs_requests.push(req.name().to_owned());
                let quirk =
                    crate::quirk::intercept(shared.discovery_quirk, &cpe.lock().model, &req);
                let resp = match quirk {
                    None => {
                        let mut st = cpe.lock();
                        match crate::transfers::answer(&mut st, &req, follow) {
                            Some(resp) => resp,
                            None => answer(&mut st.model, req, follow),
                        }
                    }
                    Some(Misbehaviour::Answer(body)) => *body,
                    Some(Misbehaviour::Silent) => {
                        tokio::time::sleep(shared.session_timeout).await;
                        return Err(SimError::Timeout);
                    }
                    Some(Misbehaviour::Drop) => return Err(SimError::Dropped),
                    Some(Misbehaviour::Restart) => {
                        follow.push(FollowUp::Restart);
                        return Err(SimError::Dropped);
                    }
                };
                if let Body::Fault(f) = &resp {
                    report.faults.push(f.code);
                }
                body = cwmp::to_bytes(&session.respond(resp)).into();
                acs_turn = true;
            }
            CpeEvent::Done => {
                report.ended_204 = ans.status == 204;
                return Ok(());
            }
            CpeEvent::Retry { after } => return Err(SimError::Retry { after }),
            CpeEvent::Failed(SessionError::Unauthorized) => return Err(SimError::Unauthorized),
            CpeEvent::Failed(e) => return Err(e.into()),
        }
    }
    Err(SimError::Timeout)
}

/// Notes what the report and tests look at in an ACS message: HoldRequests, and the method
/// list of a GetRPCMethodsResponse.
fn note_acs_message(cpe: &Cpe, report: &mut SessionReport, env: &Envelope) {
    if env.header.hold_requests == Some(true) {
        report.held = true;
    }
    if let Body::GetRpcMethodsResponse { methods } = &env.body {
        cpe.lock().acs_methods = Some(methods.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_dedupe_by_code_and_command_key() {
        let mut v = vec![EventStruct::new("1 BOOT")];
        add_event(&mut v, EventStruct::new("1 BOOT"));
        add_event(
            &mut v,
            EventStruct {
                code: "M Reboot".into(),
                command_key: "a".into(),
            },
        );
        add_event(
            &mut v,
            EventStruct {
                code: "M Reboot".into(),
                command_key: "b".into(),
            },
        );
        assert_eq!(v.len(), 3);
    }
}
