//! Whole-tree discovery against cpe-sim agents that fail it the ways real ones do: each quirk
//! ends with the whole XX230v tree stored and the model's working mode remembered.

use crate::e2e::{WAIT, id};
use crate::harness::{self, SECRET};
use acs::discovery::{self, Mode};
use fibreplane_lab::{CpeAuth, Credential, DiscoveryQuirk, Fleet, SimConfig};
use std::time::Duration;

/// Leaves of the XX230v model (what a complete discovery stores), counted from a CPE that
/// answers everything.
async fn fleet(t: &harness::TestAcs, count: usize, quirk: DiscoveryQuirk) -> Fleet {
    let config = SimConfig {
        acs_url: t.url(),
        count,
        auth: CpeAuth::Digest(Credential::Secret(SECRET.to_owned())),
        stagger: Duration::ZERO,
        session_timeout: Duration::from_secs(2),
        discovery_quirk: Some(quirk),
        ..SimConfig::default()
    };
    Fleet::start(config).await.expect("fleet")
}

/// An ACS whose sessions expire after 3 s, so silent CPEs are given up on quickly.
async fn acs() -> harness::TestAcs {
    let config = acs::AcsConfig {
        session_timeout: Duration::from_secs(3),
        ..harness::config(std::path::Path::new("."))
    };
    harness::start(config).await
}

async fn leaves(t: &harness::TestAcs, f: &Fleet, i: usize) -> usize {
    let tree = t.acs.store().get_tree(&id(f, i)).await.unwrap();
    tree.iter().filter(|(_, p)| !p.object).count()
}

/// The leaves a CPE of the model has, from one that discovers it without trouble.
async fn model_leaves() -> usize {
    let t = acs().await;
    let f = crate::e2e::fleet(t.url(), 1, SECRET).await;
    f.inform(0, &[]).await.expect("session");
    leaves(&t, &f, 0).await
}

async fn profile(t: &harness::TestAcs, f: &Fleet) -> discovery::Profile {
    let meta = t.acs.store().get(&id(f, 0)).await.unwrap().unwrap().value;
    let body = t
        .acs
        .store()
        .doc(discovery::PROFILES, &discovery::profile_key(&meta))
        .await
        .unwrap()
        .expect("a profile for the model");
    discovery::parse_profile(&body).unwrap()
}

async fn unfinished(t: &harness::TestAcs, f: &Fleet, i: usize) -> bool {
    let name = f.device_id(i);
    t.acs
        .store()
        .doc(discovery::ATTEMPTS, &name)
        .await
        .unwrap()
        .is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_faulted_partial_read_is_recovered_in_session_and_the_next_device_reads_by_name() {
    let want = model_leaves().await;
    let t = acs().await;
    let f = fleet(&t, 2, DiscoveryQuirk::PartialValuesFault).await;
    let first = f.inform(0, &[]).await.expect("session");
    assert!(first.ended_204);
    assert_eq!(first.faults, [9002]);
    assert_eq!(leaves(&t, &f, 0).await, want);
    assert!(!unfinished(&t, &f, 0).await);
    assert_eq!(profile(&t, &f).await.mode, Mode::Leaves);
    assert_eq!(t.acs.metrics.discovery_fallbacks.get(), 1);
    // The second device of the model is read by name at once: no fault, no fallback.
    let second = f.inform(1, &[]).await.expect("session");
    assert!(second.faults.is_empty(), "{:?}", second.faults);
    assert_eq!(leaves(&t, &f, 1).await, want);
    assert_eq!(t.acs.metrics.discovery_fallbacks.get(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_partial_read_is_completed_by_name() {
    let want = model_leaves().await;
    let t = acs().await;
    let f = fleet(&t, 1, DiscoveryQuirk::PartialValuesTruncated).await;
    let r = f.inform(0, &[]).await.expect("session");
    assert!(r.ended_204);
    assert_eq!(leaves(&t, &f, 0).await, want);
    assert_eq!(profile(&t, &f).await.mode, Mode::Leaves);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cpe_that_cannot_list_its_whole_tree_is_walked() {
    let want = model_leaves().await;
    let t = acs().await;
    let f = fleet(&t, 1, DiscoveryQuirk::DeepNamesFault).await;
    let r = f.inform(0, &[]).await.expect("session");
    assert!(r.ended_204);
    assert_eq!(leaves(&t, &f, 0).await, want);
    assert_eq!(profile(&t, &f).await.mode, Mode::Walk);
}

/// A CPE that leaves mid-discovery (drops, goes silent, restarts): its attempt stays open, and
/// its next session — whatever its events — discovers it the careful way.
async fn lost_then_recovered(quirk: DiscoveryQuirk) {
    let want = model_leaves().await;
    let t = acs().await;
    let f = fleet(&t, 1, quirk).await;
    assert!(f.inform(0, &[]).await.is_err(), "the CPE left the session");
    assert!(
        unfinished(&t, &f, 0).await,
        "the attempt is known to be unfinished"
    );
    if quirk == DiscoveryQuirk::PartialValuesRestart {
        // It restarts by itself and informs `1 BOOT`.
        assert!(f.wait_sessions(0, 2, WAIT).await);
        let report = f.last_session(0).expect("a session after the restart");
        assert!(
            report.events.iter().any(|e| e == "1 BOOT"),
            "{:?}",
            report.events
        );
    } else {
        // Its next session carries no bootstrap: the open attempt is what brings discovery.
        let r = f.inform(0, &["2 PERIODIC"]).await.expect("next session");
        assert!(r.ended_204);
    }
    assert_eq!(leaves(&t, &f, 0).await, want);
    assert!(!unfinished(&t, &f, 0).await);
    let p = profile(&t, &f).await;
    assert_eq!((p.mode, p.failures), (Mode::Leaves, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cpe_that_drops_the_connection_is_discovered_at_its_next_session() {
    lost_then_recovered(DiscoveryQuirk::PartialValuesDrop).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cpe_that_goes_silent_is_discovered_at_its_next_session() {
    lost_then_recovered(DiscoveryQuirk::PartialValuesSilent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cpe_that_restarts_is_discovered_when_it_comes_back() {
    lost_then_recovered(DiscoveryQuirk::PartialValuesRestart).await;
}
