//! The ACS state machine's protocol rules, one violation per test.

use std::time::{Duration, Instant};

use cwmp::*;

use crate::pair::sample_inform;

fn env(id: Option<&str>, body: Body) -> Option<Envelope> {
    let mut e = Envelope::new(CwmpVersion::V1_2, "", body);
    e.header.id = id.map(String::from);
    Some(e)
}

fn inform() -> Option<Envelope> {
    env(Some("i1"), Body::Inform(sample_inform()))
}

/// An ACS session that accepted the Inform and saw the empty POST.
fn idle(now: Instant) -> AcsSession {
    let mut acs = AcsSession::new(now, AcsSessionConfig::default());
    assert!(matches!(acs.receive(now, inform()), AcsEvent::Inform(_)));
    assert_eq!(acs.state(), AcsState::InformReceived);
    let resp = acs.accept_inform(now);
    assert_eq!(resp.header.id.as_deref(), Some("i1"));
    assert_eq!(resp.header.use_cwmp_version, None);
    assert_eq!(acs.receive(now, None), AcsEvent::CpeIdle);
    acs
}

fn violation(e: SessionError) -> AcsEvent {
    AcsEvent::Violation(e)
}

#[test]
fn the_first_message_must_be_an_inform() {
    let now = Instant::now();
    let mut acs = AcsSession::new(now, AcsSessionConfig::default());
    assert_eq!(acs.receive(now, None), violation(SessionError::NoInform));
    assert!(acs.is_finished());
    assert_eq!(
        acs.receive(now, inform()),
        violation(SessionError::Finished)
    );
    let mut acs = AcsSession::new(now, AcsSessionConfig::default());
    assert_eq!(
        acs.receive(now, env(None, Body::RebootResponse)),
        violation(SessionError::NoInform)
    );
}

#[test]
fn a_second_inform_is_a_violation() {
    let now = Instant::now();
    let mut acs = AcsSession::new(now, AcsSessionConfig::default());
    acs.receive(now, inform());
    acs.accept_inform(now);
    assert_eq!(
        acs.receive(now, inform()),
        violation(SessionError::InformTwice)
    );
}

#[test]
fn responses_must_match_an_outstanding_request() {
    let now = Instant::now();
    let mut acs = AcsSession::new(now, AcsSessionConfig::default());
    acs.receive(now, inform());
    acs.accept_inform(now);
    assert_eq!(
        acs.receive(now, env(None, Body::RebootResponse)),
        violation(SessionError::UnexpectedResponse("RebootResponse"))
    );

    let mut acs = idle(now);
    let req = acs
        .send_request(
            now,
            Body::Reboot {
                command_key: "r".into(),
            },
            false,
        )
        .unwrap();
    assert_eq!(acs.state(), AcsState::AwaitResponse);
    let id = req.header.id.as_deref();
    assert_eq!(
        acs.receive(now, env(id, Body::FactoryResetResponse)),
        violation(SessionError::WrongResponse {
            expected: "RebootResponse",
            got: "FactoryResetResponse"
        })
    );

    let mut acs = idle(now);
    let req = acs.send_request(now, Body::FactoryReset, false).unwrap();
    assert_eq!(
        acs.receive(now, None),
        violation(SessionError::EmptyWhileOutstanding)
    );
    let mut acs = idle(now);
    acs.send_request(now, Body::FactoryReset, false).unwrap();
    let f = Fault::new(9001, "denied");
    assert_eq!(
        acs.receive(now, env(req.header.id.as_deref(), Body::Fault(f.clone()))),
        AcsEvent::Fault(f)
    );
    assert_eq!(acs.state(), AcsState::CpeIdle);
}

#[test]
fn cpe_requests_during_an_outstanding_request_are_tolerated() {
    let now = Instant::now();
    let mut acs = idle(now);
    let req = acs.send_request(now, Body::FactoryReset, false).unwrap();
    let tc = Body::TransferComplete(TransferComplete::default());
    assert_eq!(
        acs.receive(now, env(Some("c9"), tc.clone())),
        AcsEvent::CpeRequest(tc)
    );
    let answer = acs.respond(now, Body::TransferCompleteResponse);
    assert_eq!(answer.header.id.as_deref(), Some("c9"));
    assert_eq!(acs.state(), AcsState::AwaitResponse);
    let ev = acs.receive(
        now,
        env(req.header.id.as_deref(), Body::FactoryResetResponse),
    );
    assert_eq!(ev, AcsEvent::Response(Body::FactoryResetResponse));
}

#[test]
fn cpe_request_count_is_bounded() {
    let now = Instant::now();
    let config = AcsSessionConfig {
        max_cpe_requests: 2,
        ..AcsSessionConfig::default()
    };
    let mut acs = AcsSession::new(now, config);
    acs.receive(now, inform());
    acs.accept_inform(now);
    for _ in 0..2 {
        assert_eq!(
            acs.receive(now, env(None, Body::GetRpcMethods)),
            AcsEvent::CpeRequest(Body::GetRpcMethods)
        );
        acs.respond(now, Body::GetRpcMethodsResponse { methods: vec![] });
    }
    assert_eq!(
        acs.receive(now, env(None, Body::GetRpcMethods)),
        violation(SessionError::TooManyCpeRequests { limit: 2 })
    );
}

#[test]
fn driver_misuse_is_refused_not_panicked() {
    let now = Instant::now();
    let mut acs = AcsSession::new(now, AcsSessionConfig::default());
    assert_eq!(
        acs.send_request(now, Body::FactoryReset, false),
        Err(SessionError::NotIdle)
    );
    let mut acs = idle(now);
    assert_eq!(
        acs.send_request(now, Body::RebootResponse, false),
        Err(SessionError::NotARequest("RebootResponse"))
    );
    // Feeding input while an answer is owed ends the session.
    let mut acs = AcsSession::new(now, AcsSessionConfig::default());
    acs.receive(now, inform());
    assert_eq!(acs.receive(now, None), violation(SessionError::AnswerOwed));
    acs.accept_inform(now);
    assert!(
        acs.is_finished(),
        "accept_inform must not revive a finished session"
    );
}

#[test]
fn deadline_moves_with_activity() {
    let now = Instant::now();
    let mut acs = idle(now);
    let later = now + Duration::from_secs(20);
    acs.send_request(later, Body::FactoryReset, false).unwrap();
    assert_eq!(acs.deadline(), later + Duration::from_secs(30));
    assert!(!acs.is_expired(later + Duration::from_secs(30)));
    assert!(acs.is_expired(later + Duration::from_secs(31)));
}
