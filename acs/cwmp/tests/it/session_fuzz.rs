//! Property tests: arbitrary sequences of input and driver calls never panic either state
//! machine, and a finished ACS session stays finished.

use std::time::{Duration, Instant};

use cwmp::*;
use proptest::collection::vec;
use proptest::prelude::*;

use crate::pair::sample_inform;
use crate::roundtrip::{body, envelope};

#[derive(Debug, Clone)]
enum AcsOp {
    Receive(Option<Envelope>),
    Advance(u64),
    Accept,
    Reject(u32),
    Respond(Body),
    Send(Body, bool),
    Finish,
}

fn acs_op() -> impl Strategy<Value = AcsOp> {
    let inform = Envelope::new(CwmpVersion::V1_2, "i", Body::Inform(sample_inform()));
    prop_oneof![
        3 => proptest::option::of(envelope()).prop_map(AcsOp::Receive),
        1 => Just(AcsOp::Receive(Some(inform))),
        1 => (0..40u64).prop_map(AcsOp::Advance),
        2 => Just(AcsOp::Accept),
        1 => (8000..8006u32).prop_map(AcsOp::Reject),
        2 => body().prop_map(AcsOp::Respond),
        2 => (body(), any::<bool>()).prop_map(|(b, h)| AcsOp::Send(b, h)),
        1 => Just(AcsOp::Finish),
    ]
}

#[derive(Debug, Clone)]
enum CpeOp {
    Receive(u16, Option<Envelope>),
    Retry(Option<u64>),
    Respond(Body),
    Start,
    Advance(u64),
}

fn cpe_op() -> impl Strategy<Value = CpeOp> {
    let status = proptest::sample::select(vec![200u16, 204, 401, 500, 503]);
    prop_oneof![
        4 => (status, proptest::option::of(envelope())).prop_map(|(s, e)| CpeOp::Receive(s, e)),
        1 => proptest::option::of(0..100u64).prop_map(CpeOp::Retry),
        2 => body().prop_map(CpeOp::Respond),
        1 => Just(CpeOp::Start),
        1 => (0..40u64).prop_map(CpeOp::Advance),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn acs_session_never_panics(ops in vec(acs_op(), 0..24)) {
        let mut now = Instant::now();
        let mut acs = AcsSession::new(now, AcsSessionConfig::default());
        for op in ops {
            let was_finished = acs.is_finished();
            match op {
                AcsOp::Receive(msg) => {
                    let ev = acs.receive(now, msg);
                    if matches!(ev, AcsEvent::Violation(_)) {
                        prop_assert!(acs.is_finished());
                    }
                }
                AcsOp::Advance(s) => now += Duration::from_secs(s),
                AcsOp::Accept => {
                    let env = acs.accept_inform(now);
                    prop_assert_eq!(env.version, acs.version());
                }
                AcsOp::Reject(code) => {
                    acs.reject_inform(Fault::new(code, "no"));
                    prop_assert!(acs.is_finished());
                }
                AcsOp::Respond(b) => {
                    acs.respond(now, b);
                }
                AcsOp::Send(b, hold) => {
                    if let Ok(env) = acs.send_request(now, b, hold) {
                        prop_assert!(env.header.id.is_some());
                        prop_assert_eq!(acs.state(), AcsState::AwaitResponse);
                    }
                }
                AcsOp::Finish => acs.finish(),
            }
            if was_finished {
                prop_assert!(acs.is_finished());
            }
            let _ = (acs.deadline(), acs.is_expired(now), acs.inform(), acs.session_timeout());
        }
    }

    #[test]
    fn cpe_session_never_panics(ops in vec(cpe_op(), 0..24), pending in vec(body(), 0..3)) {
        let mut now = Instant::now();
        let config = CpeSessionConfig::default();
        let mut cpe = CpeSession::new(now, config, sample_inform(), pending);
        for op in ops {
            match op {
                CpeOp::Receive(status, msg) => {
                    let _ = cpe.receive(now, status, msg);
                }
                CpeOp::Retry(s) => {
                    let ev = cpe.receive_503(s.map(Duration::from_secs));
                    let is_retry = matches!(ev, CpeEvent::Retry { .. });
                    prop_assert!(is_retry && cpe.is_done());
                }
                CpeOp::Respond(b) => {
                    let _ = cpe.respond(b);
                }
                CpeOp::Start => {
                    let env = cpe.start(now);
                    prop_assert!(matches!(env.body, Body::Inform(_)));
                }
                CpeOp::Advance(s) => now += Duration::from_secs(s),
            }
            let _ = (cpe.deadline(), cpe.inform_delivered());
        }
    }
}
