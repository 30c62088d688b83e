//! Write-behind of last-inform times: a periodic Inform that changes nothing else is answered
//! without a store commit, its time reaches the store within a second and at shutdown, and a
//! session's own writes to the record still land when the write-behind got there first.

use crate::harness::{self, session};
use acs::{TaskKind, TaskOutcome};
use cwmp::{Body, Envelope};
use std::time::Duration;

async fn periodic(t: &harness::TestAcs, serial: &str) {
    let (mut c, _) = session(t, serial, &["2 PERIODIC"]).await;
    assert_eq!(c.post(Vec::new(), &[]).await.status, 204);
}

#[tokio::test]
async fn a_periodic_inform_time_is_written_behind_and_flushed_at_shutdown() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = harness::quiet(tmp.path());
    let t = harness::start_in(tmp, cfg.clone()).await;
    let (mut c, _) = session(&t, "B1", &["0 BOOTSTRAP", "1 BOOT"]).await;
    assert_eq!(c.post(Vec::new(), &[]).await.status, 204);
    let dev = harness::device("B1");
    let registered = t.acs.store().get(&dev).await.unwrap().unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    periodic(&t, "B1").await;
    let stored = t.acs.store().get(&dev).await.unwrap().unwrap();
    let fresh = t.acs.device(&dev).await.unwrap().unwrap();
    assert_eq!(
        stored.revision, registered.revision,
        "no commit for a bookkeeping-only Inform"
    );
    assert!(
        fresh.value.last_inform_ms > stored.value.last_inform_ms,
        "the ACS's own view is fresh"
    );
    let latest = fresh.value.last_inform_ms;

    // Shutdown writes what is pending.
    let dir = t.stop().await;
    let t = harness::start_in(dir, cfg).await;
    assert_eq!(
        t.acs
            .store()
            .get(&dev)
            .await
            .unwrap()
            .unwrap()
            .value
            .last_inform_ms,
        latest
    );
}

#[tokio::test]
async fn the_write_behind_reaches_the_store_within_seconds() {
    let t = harness::start(harness::quiet(std::path::Path::new("."))).await;
    let (mut c, _) = session(&t, "B2", &["0 BOOTSTRAP"]).await;
    assert_eq!(c.post(Vec::new(), &[]).await.status, 204);
    tokio::time::sleep(Duration::from_millis(20)).await;
    periodic(&t, "B2").await;
    let dev = harness::device("B2");
    let want = t
        .acs
        .device(&dev)
        .await
        .unwrap()
        .unwrap()
        .value
        .last_inform_ms;
    let mut seen = 0;
    for _ in 0..50 {
        seen = t
            .acs
            .store()
            .get(&dev)
            .await
            .unwrap()
            .unwrap()
            .value
            .last_inform_ms;
        if seen == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen, want);
}

#[tokio::test]
async fn a_session_write_after_the_write_behind_still_lands() {
    let t = harness::start(harness::quiet(std::path::Path::new("."))).await;
    let (mut c, _) = session(&t, "B3", &["0 BOOTSTRAP"]).await;
    assert_eq!(c.post(Vec::new(), &[]).await.status, 204);
    let dev = harness::device("B3");
    let values = vec![(
        "Device.WiFi.SSID.1.SSID".into(),
        "x".into(),
        "string".into(),
    )];
    let task = t
        .acs
        .enqueue(
            &dev,
            TaskKind::SetParameterValues {
                values,
                parameter_key: "k-b3".into(),
            },
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    // A periodic session whose Inform is written behind; the write-behind lands mid-session.
    let (mut c, _) = session(&t, "B3", &["2 PERIODIC"]).await;
    let spv: Envelope = c.post(Vec::new(), &[]).await.envelope();
    t.acs.flush_bookkeeping().await;
    let id = spv.header.id.clone().unwrap_or_default();
    let answer = Envelope::new(
        spv.version,
        id,
        Body::SetParameterValuesResponse { status: 0 },
    );
    assert_eq!(c.post(cwmp::to_bytes(&answer), &[]).await.status, 204);
    assert!(matches!(
        t.acs
            .wait_task(task.id, Duration::from_secs(5))
            .await
            .unwrap(),
        TaskOutcome::Done(_)
    ));
    let meta = t.acs.store().get(&dev).await.unwrap().unwrap().value;
    assert_eq!(
        meta.parameter_key, "k-b3",
        "the session's change to the record was stored"
    );
}
