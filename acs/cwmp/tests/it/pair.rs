//! An ACS and a CPE state machine talking to each other in virtual time, through the real
//! writer and parser, as quinn's `Pair` tests do. No sockets, no clock.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use cwmp::*;

/// Moves an envelope across the "wire": serialize, then parse.
fn wire(env: &Envelope) -> Envelope {
    parse_envelope(&to_bytes(env), &Limits::default()).expect("our own output parses")
}

pub(crate) fn sample_inform() -> Inform {
    Inform {
        device_id: DeviceIdStruct {
            manufacturer: "Fibreplane Lab".into(),
            oui: "02AB00".into(),
            product_class: "LabONT".into(),
            serial_number: "LAB0000042".into(),
        },
        events: vec![EventStruct::new("6 CONNECTION REQUEST")],
        max_envelopes: 1,
        current_time: "2026-11-22T08:00:00Z".into(),
        retry_count: 0,
        parameters: vec![ParameterValue::new(
            "Device.RootDataModelVersion",
            "2.17",
            XsdType::String,
        )],
    }
}

fn transfer_complete() -> Body {
    Body::TransferComplete(TransferComplete {
        command_key: "fw-1".into(),
        ..Default::default()
    })
}

/// The two peers, a virtual clock and a log of every event, e.g. `acs:Inform`, `cpe:SendEmpty`.
struct Pair {
    base: Instant,
    now: Instant,
    acs: AcsSession,
    cpe: CpeSession,
    log: Vec<String>,
    /// ACS requests still to send, with their HoldRequests flag.
    script: VecDeque<(Body, bool)>,
    /// Whether the InformResponse carries HoldRequests=true.
    hold_inform: bool,
}

impl Pair {
    fn new(version: CwmpVersion, pending: Vec<Body>, script: Vec<(Body, bool)>) -> Self {
        let base = Instant::now();
        let config = CpeSessionConfig {
            version,
            session_timeout: Duration::from_secs(30),
        };
        Self {
            base,
            now: base,
            acs: AcsSession::new(base, AcsSessionConfig::default()),
            cpe: CpeSession::new(base, config, sample_inform(), pending),
            log: Vec::new(),
            script: script.into(),
            hold_inform: false,
        }
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
        assert!(self.now >= self.base);
    }

    /// The CPE's side of RPCs: a small fake device.
    fn answer(body: &Body) -> Body {
        match body {
            Body::GetParameterValues { names } => Body::GetParameterValuesResponse {
                parameters: names
                    .iter()
                    .map(|n| ParameterValue::new(n.clone(), "42", XsdType::UnsignedInt))
                    .collect(),
            },
            Body::SetParameterValues { parameters, .. } => {
                let mut f = Fault::new(9003, "Invalid arguments");
                f.set_parameter_values_faults = parameters
                    .iter()
                    .map(|p| SetParameterValuesFault {
                        name: p.name.clone(),
                        code: 9008,
                        string: "read-only".into(),
                    })
                    .collect();
                Body::Fault(f)
            }
            Body::Reboot { .. } => Body::RebootResponse,
            _ => Body::Fault(Fault::new(9000, "Method not supported")),
        }
    }

    /// The ACS's answer to a CPE request.
    fn acs_answer(body: &Body) -> Body {
        match body {
            Body::TransferComplete(_) => Body::TransferCompleteResponse,
            Body::GetRpcMethods => Body::GetRpcMethodsResponse {
                methods: vec!["Inform".into()],
            },
            _ => Body::Fault(Fault::new(8000, "Method not supported")),
        }
    }

    /// One CPE POST (`None` = empty) through the ACS; returns the ACS's HTTP answer, or `Err`
    /// after a violation.
    fn post(&mut self, msg: Option<&Envelope>) -> Result<Option<Envelope>, SessionError> {
        let event = self.acs.receive(self.now, msg.map(wire));
        self.log.push(match &event {
            AcsEvent::Inform(_) => "acs:Inform".into(),
            AcsEvent::CpeRequest(b) => format!("acs:CpeRequest {}", b.name()),
            AcsEvent::CpeIdle => "acs:CpeIdle".into(),
            AcsEvent::Response(b) => format!("acs:Response {}", b.name()),
            AcsEvent::Fault(f) => format!("acs:Fault {}", f.code),
            AcsEvent::Violation(e) => format!("acs:Violation {e}"),
        });
        Ok(match event {
            AcsEvent::Inform(_) => {
                let mut env = self.acs.accept_inform(self.now);
                if self.hold_inform {
                    env.header.hold_requests = Some(true);
                }
                Some(env)
            }
            AcsEvent::CpeRequest(b) => Some(self.acs.respond(self.now, Self::acs_answer(&b))),
            AcsEvent::CpeIdle | AcsEvent::Response(_) | AcsEvent::Fault(_) => {
                match self.script.pop_front() {
                    Some((b, hold)) => Some(self.acs.send_request(self.now, b, hold).unwrap()),
                    None => {
                        self.acs.finish();
                        None
                    }
                }
            }
            AcsEvent::Violation(e) => return Err(e),
        })
    }

    /// The ACS's HTTP answer through the CPE; returns the CPE's next POST, or `None` when the
    /// session ended for the CPE.
    fn reply(&mut self, msg: Option<&Envelope>) -> Option<Option<Envelope>> {
        let status = if msg.is_some() { 200 } else { 204 };
        let event = self.cpe.receive(self.now, status, msg.map(wire));
        self.log.push(match &event {
            CpeEvent::Send(e) => format!("cpe:Send {}", e.body.name()),
            CpeEvent::SendEmpty => "cpe:SendEmpty".into(),
            CpeEvent::Request(b) => format!("cpe:Request {}", b.name()),
            CpeEvent::Done => "cpe:Done".into(),
            CpeEvent::Retry { after } => format!("cpe:Retry {after:?}"),
            CpeEvent::Failed(e) => format!("cpe:Failed {e}"),
        });
        match event {
            CpeEvent::Send(env) => Some(Some(env)),
            CpeEvent::SendEmpty => Some(None),
            CpeEvent::Request(b) => Some(Some(self.cpe.respond(Self::answer(&b)))),
            _ => None,
        }
    }

    /// Runs the whole session, advancing the clock by `step` before every POST.
    fn run(&mut self, step: Duration) {
        let mut next = Some(self.cpe.start(self.now));
        loop {
            self.advance(step);
            let Ok(answer) = self.post(next.as_ref()) else {
                return;
            };
            match self.reply(answer.as_ref()) {
                Some(post) => next = post,
                None => return,
            }
        }
    }
}

fn gpv(name: &str) -> Body {
    Body::GetParameterValues {
        names: vec![name.into()],
    }
}

fn spv() -> Body {
    Body::SetParameterValues {
        parameters: vec![ParameterValue::new(
            "Device.DeviceInfo.UpTime",
            "1",
            XsdType::UnsignedInt,
        )],
        parameter_key: "k1".into(),
    }
}

#[test]
fn inform_empty_gpv_spv_fault_then_204() {
    let mut p = Pair::new(
        CwmpVersion::V1_0,
        vec![],
        vec![(gpv("Device.DeviceInfo.UpTime"), false), (spv(), false)],
    );
    p.run(Duration::from_millis(50));
    assert_eq!(
        p.log,
        [
            "acs:Inform",
            "cpe:SendEmpty",
            "acs:CpeIdle",
            "cpe:Request GetParameterValues",
            "acs:Response GetParameterValuesResponse",
            "cpe:Request SetParameterValues",
            "acs:Fault 9003",
            "cpe:Done",
        ]
    );
    assert!(p.cpe.inform_delivered() && p.cpe.is_done() && p.acs.is_finished());
    assert_eq!(p.acs.version(), CwmpVersion::V1_0);
    assert_eq!(
        p.acs.inform().unwrap().device_id.serial_number,
        "LAB0000042"
    );
}

#[test]
fn pending_transfer_complete_is_delivered_before_the_empty_post() {
    let mut p = Pair::new(
        CwmpVersion::V1_2,
        vec![transfer_complete(), Body::GetRpcMethods],
        vec![],
    );
    p.run(Duration::from_millis(10));
    assert_eq!(
        p.log,
        [
            "acs:Inform",
            "cpe:Send TransferComplete",
            "acs:CpeRequest TransferComplete",
            "cpe:Send GetRPCMethods",
            "acs:CpeRequest GetRPCMethods",
            "cpe:SendEmpty",
            "acs:CpeIdle",
            "cpe:Done",
        ]
    );
    assert_eq!(p.cpe.pending().count(), 0);
}

#[test]
fn hold_requests_is_honoured_by_the_cpe() {
    let mut p = Pair::new(
        CwmpVersion::V1_2,
        vec![transfer_complete()],
        vec![(gpv("A."), true), (gpv("B."), true)],
    );
    p.hold_inform = true;
    p.run(Duration::from_millis(10));
    assert!(
        !p.log.iter().any(|l| l.contains("TransferComplete")),
        "{:?}",
        p.log
    );
    assert_eq!(p.log.last().map(String::as_str), Some("cpe:Done"));
    // The held request is carried over to the next session.
    assert_eq!(
        p.cpe.pending().map(Body::name).collect::<Vec<_>>(),
        ["TransferComplete"]
    );
}

#[test]
fn acs_flags_a_cpe_request_sent_despite_hold_requests() {
    let now = Instant::now();
    let mut acs = AcsSession::new(now, AcsSessionConfig::default());
    acs.receive(
        now,
        Some(Envelope::new(
            CwmpVersion::V1_2,
            "1",
            Body::Inform(sample_inform()),
        )),
    );
    acs.accept_inform(now);
    assert_eq!(acs.receive(now, None), AcsEvent::CpeIdle);
    let req = acs.send_request(now, gpv("A."), true).unwrap();
    assert_eq!(req.header.hold_requests, Some(true));
    let ev = acs.receive(
        now,
        Some(Envelope::new(CwmpVersion::V1_2, "2", transfer_complete())),
    );
    assert_eq!(ev, AcsEvent::Violation(SessionError::HoldRequestsViolated));
    assert!(acs.is_finished());
}

#[test]
fn session_timeout_expires_on_both_sides() {
    let mut p = Pair::new(CwmpVersion::V1_2, vec![], vec![]);
    let inform = p.cpe.start(p.now);
    let answer = p.post(Some(&inform)).unwrap();
    assert_eq!(p.reply(answer.as_ref()), Some(None));
    assert_eq!(p.acs.deadline(), p.now + Duration::from_secs(30));
    p.advance(Duration::from_secs(31));
    assert!(p.acs.is_expired(p.now));
    assert_eq!(p.post(None), Err(SessionError::Timeout));
    assert!(p.acs.is_finished());
    assert_eq!(
        p.cpe.receive(p.now, 204, None),
        CpeEvent::Failed(SessionError::Timeout)
    );
}

#[test]
fn cpe_session_timeout_header_overrides_the_acs_default() {
    let mut p = Pair::new(CwmpVersion::V1_3, vec![], vec![]);
    let inform = p.cpe.start(p.now);
    assert_eq!(inform.header.session_timeout, Some(30));
    let mut inform = inform;
    inform.header.session_timeout = Some(90);
    p.post(Some(&inform)).unwrap();
    assert_eq!(p.acs.session_timeout(), Duration::from_secs(90));
    p.advance(Duration::from_secs(60));
    assert!(!p.acs.is_expired(p.now));
}

#[test]
fn mismatched_response_id_is_a_violation_but_a_missing_one_is_tolerated() {
    for (id, expect_ok) in [(Some("bogus"), false), (None, true)] {
        let mut p = Pair::new(CwmpVersion::V1_2, vec![], vec![(gpv("A."), false)]);
        let inform = p.cpe.start(p.now);
        let a = p.post(Some(&inform)).unwrap();
        p.reply(a.as_ref());
        let a = p.post(None).unwrap();
        let Some(Some(mut resp)) = p.reply(a.as_ref()) else {
            panic!("{:?}", p.log)
        };
        resp.header.id = id.map(String::from);
        let outcome = p.post(Some(&resp));
        if expect_ok {
            assert_eq!(outcome, Ok(None), "{:?}", p.log);
        } else {
            assert!(
                matches!(outcome, Err(SessionError::UnexpectedId { .. })),
                "{outcome:?}"
            );
        }
    }
}

#[test]
fn fault_8005_to_the_inform_means_retry() {
    let mut p = Pair::new(CwmpVersion::V1_1, vec![], vec![]);
    let inform = p.cpe.start(p.now);
    assert!(matches!(
        p.acs.receive(p.now, Some(wire(&inform))),
        AcsEvent::Inform(_)
    ));
    let fault = p.acs.reject_inform(Fault::new(8005, "Retry request"));
    assert_eq!(fault.header.id, inform.header.id);
    assert!(p.acs.is_finished());
    assert_eq!(
        p.cpe.receive(p.now, 200, Some(wire(&fault))),
        CpeEvent::Retry { after: None }
    );
    assert!(p.cpe.is_done() && !p.cpe.inform_delivered());
}

#[test]
fn http_503_401_and_other_statuses() {
    let mut p = Pair::new(CwmpVersion::V1_2, vec![], vec![]);
    p.cpe.start(p.now);
    assert_eq!(
        p.cpe.receive(p.now, 401, None),
        CpeEvent::Failed(SessionError::Unauthorized)
    );
    // A 401 leaves the session where it was: the re-POST with credentials goes on.
    assert!(!p.cpe.is_done());
    let ir = Envelope::new(
        CwmpVersion::V1_2,
        "cpe-1",
        Body::InformResponse { max_envelopes: 1 },
    );
    assert_eq!(p.cpe.receive(p.now, 200, Some(ir)), CpeEvent::SendEmpty);
    let mut q = Pair::new(CwmpVersion::V1_2, vec![], vec![]);
    q.cpe.start(q.now);
    let wait = Some(Duration::from_secs(60));
    assert_eq!(q.cpe.receive_503(wait), CpeEvent::Retry { after: wait });
    let mut r = Pair::new(CwmpVersion::V1_2, vec![], vec![]);
    r.cpe.start(r.now);
    assert_eq!(
        r.cpe.receive(r.now, 500, None),
        CpeEvent::Failed(SessionError::HttpStatus(500))
    );
}

#[test]
fn cwmp_1_4_negotiates_the_highest_common_version() {
    let mut p = Pair::new(CwmpVersion::V1_4, vec![], vec![]);
    let inform = p.cpe.start(p.now);
    assert_eq!(
        inform.header.supported_cwmp_versions.as_deref(),
        Some("1.0,1.1,1.2,1.3,1.4")
    );
    let Ok(Some(resp)) = p.post(Some(&inform)) else {
        panic!()
    };
    assert_eq!(resp.version, CwmpVersion::V1_4);
    assert_eq!(resp.header.use_cwmp_version.as_deref(), Some("1.4"));
    assert_eq!(resp.header.id, inform.header.id);
    assert_eq!(resp.body, Body::InformResponse { max_envelopes: 1 });
}
