//! Misbehaving agents: late replies, duplicates, garbage, silence, hostile walks. The poller
//! must return correct data or a clear error, never panic or hang.

use std::sync::atomic::Ordering;
use std::time::Duration;

use olt_poller::{OltError, poll_once, walk::WalkLimits};
use proptest::prelude::*;
use tokio::net::UdpSocket;

use super::support::{Act, fake_agent, olt, small_net, v2c};

fn fast(addr: std::net::SocketAddr) -> olt_poller::SnmpTarget {
    let mut t = v2c(addr, "public");
    t.timeout = Duration::from_millis(150);
    t.retries = 2;
    t
}

#[tokio::test]
async fn late_reply_is_drained_and_the_retry_answers() {
    // Request 0 (sysObjectID) is answered long after the timeout; its retry at once.
    let (addr, _) = fake_agent(small_net(), |i| {
        if i == 0 {
            Act::Late(Duration::from_millis(600))
        } else {
            Act::Answer
        }
    })
    .await;
    let snap = poll_once(&olt("late", fast(addr), "huawei"), WalkLimits::default())
        .await
        .unwrap();
    assert_eq!(snap.onus.len(), 16);
    assert_eq!(snap.stats.timeouts, 1);
    // Let the late reply arrive on the retired socket, then poll again: nothing stale leaks in.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let again = poll_once(&olt("late", fast(addr), "huawei"), WalkLimits::default())
        .await
        .unwrap();
    assert_eq!(again.onus, snap.onus);
}

#[tokio::test]
async fn duplicated_replies_are_discarded() {
    let (addr, _) = fake_agent(small_net(), |_| Act::Duplicate).await;
    let snap = poll_once(&olt("dup", fast(addr), "huawei"), WalkLimits::default())
        .await
        .unwrap();
    assert_eq!(snap.onus.len(), 16);
    assert!(snap.stats.discarded >= 1, "{:?}", snap.stats);
}

#[tokio::test]
async fn a_garbage_datagram_before_the_reply_is_survived() {
    let (addr, _) = fake_agent(small_net(), |i| {
        if i == 1 {
            Act::GarbageFirst
        } else {
            Act::Answer
        }
    })
    .await;
    let snap = poll_once(&olt("garbage", fast(addr), "huawei"), WalkLimits::default())
        .await
        .unwrap();
    assert_eq!(snap.onus.len(), 16);
    assert_eq!(snap.stats.discarded, 1);
}

#[tokio::test]
async fn a_silent_agent_times_out_after_the_retries() {
    let (addr, count) = fake_agent(small_net(), |_| Act::Drop).await;
    let err = poll_once(&olt("dead", fast(addr), "huawei"), WalkLimits::default())
        .await
        .unwrap_err();
    assert!(matches!(err, OltError::Timeout { attempts: 3 }), "{err}");
    assert_eq!(count.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_walk_timeout_backs_off_max_repetitions_and_finishes() {
    // Every large GETBULK is lost (as a path that drops fragments would); small ones pass.
    let (addr, _) = fake_agent(small_net(), |i| {
        if (1..4).contains(&i) {
            Act::Drop
        } else {
            Act::Answer
        }
    })
    .await;
    let mut t = fast(addr);
    t.retries = 0;
    let snap = poll_once(&olt("lossy", t, "huawei"), WalkLimits::default())
        .await
        .unwrap();
    assert_eq!(snap.onus.len(), 16);
    assert!(snap.stats.max_repetitions < WalkLimits::default().initial_repetitions);
    assert!(snap.stats.backoffs >= 3);
}

#[tokio::test]
async fn too_big_answers_make_the_walker_back_off_and_finish() {
    use fibreplane_lab::olt::{Faults, SimVendor};
    let sim = super::support::start_sim(super::support::sim_config(SimVendor::Huawei, 4, 16)).await;
    sim.handle.set_faults(Faults {
        too_big_above: Some(100),
        ..Faults::default()
    });
    let snap = poll_once(
        &olt("toobig", v2c(sim.handle.addr(), "lab-community"), "huawei"),
        WalkLimits::default(),
    )
    .await
    .unwrap();
    assert_eq!(snap.onus.len(), 64);
    // 11 columns: 32 repetitions (352 varbinds) and 16 (176) are refused, 8 (88) passes; the
    // walker then probes upwards again (+25 % per full response) and backs off on each refusal.
    assert!(snap.stats.backoffs >= 2, "{:?}", snap.stats);
    assert!(snap.stats.max_repetitions < WalkLimits::default().initial_repetitions);
    // An agent that refuses even one repetition per column is a clear error, not a loop.
    sim.handle.set_faults(Faults {
        too_big_above: Some(3),
        ..Faults::default()
    });
    let err = poll_once(
        &olt("toobig", v2c(sim.handle.addr(), "lab-community"), "huawei"),
        WalkLimits::default(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("tooBig"), "{err}");
}

/// An agent that answers every request with `reply(request)`.
async fn scripted(reply: impl Fn(&[u8]) -> Vec<u8> + Send + 'static) -> std::net::SocketAddr {
    let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = s.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_535];
        while let Ok((n, peer)) = s.recv_from(&mut buf).await {
            let _ = s.send_to(&reply(&buf[..n]), peer).await;
        }
    });
    addr
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Any bytes as every reply: an error, never a panic.
    #[test]
    fn random_replies_never_panic(reply in proptest::collection::vec(any::<u8>(), 0..300)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let addr = scripted(move |_| reply.clone()).await;
            let mut t = fast(addr);
            t.timeout = Duration::from_millis(50);
            t.retries = 0;
            let r = poll_once(&olt("fuzz", t, "huawei"), WalkLimits::default()).await;
            prop_assert!(r.is_err());
            Ok(())
        })?;
    }
}
