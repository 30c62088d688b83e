//! Fleet runs over time: periodic informs and value-change notifications.

use std::time::Duration;

use cwmp::Body;
use fibreplane_lab::{Fleet, SimConfig};

use crate::acs::{AcsAuth, TestAcs};

#[tokio::test]
async fn active_notification_sends_value_change_and_periodic_informs_run() {
    let acs = TestAcs::start(AcsAuth::Open).await;
    let config = SimConfig {
        acs_url: acs.url(),
        count: 3,
        interval: Some(Duration::from_millis(200)),
        stagger: Duration::from_millis(50),
        ..SimConfig::default()
    };
    let fleet = Fleet::start(config).await.unwrap();
    let report = fleet.run_for(Duration::from_millis(1500)).await;
    assert_eq!(report.cpes_contacted, 3);
    assert!(report.sessions_ok >= 9, "{report:?}");
    assert_eq!(report.sessions_failed, 0);
    let periodic = acs
        .seen()
        .informs
        .iter()
        .filter(|i| i.has_event("2 PERIODIC"))
        .count();
    assert!(periodic >= 6, "{periodic}");

    let path = "Device.DeviceInfo.ProvisioningCode";
    // Only CPE 0 gets the attribute: the other CPEs keep informing and must not take it.
    let serial = fleet.device_id(0).rsplit('-').next().unwrap().to_owned();
    acs.push_for(
        &serial,
        Body::SetParameterAttributes {
            parameters: vec![cwmp::SetParameterAttribute {
                name: path.into(),
                notification_change: true,
                notification: 2,
                ..Default::default()
            }],
        },
    );
    fleet.inform(0, &["2 PERIODIC"]).await.unwrap();
    let before = fleet.sessions(0);
    assert!(fleet.set_param(0, path, "SITE-7"));
    assert!(
        fleet
            .wait_sessions(0, before + 1, Duration::from_secs(5))
            .await
    );
    {
        let seen = acs.seen();
        let vc = seen
            .informs
            .iter()
            .find(|i| i.has_event("4 VALUE CHANGE"))
            .expect("value change");
        let p = vc.parameters.iter().find(|p| p.name == path).unwrap();
        assert_eq!(p.value, "SITE-7");
    }
    fleet.shutdown().await;
}

/// The ACS dying after an InformResponse delivers the Inform's events but fails the session: no
/// retry is due (nothing is left to deliver), so only the periodic schedule brings the CPE back.
#[tokio::test]
async fn periodic_informs_go_on_after_sessions_that_fail_past_their_inform() {
    let acs = TestAcs::start(AcsAuth::Open).await;
    // The boot session and the first two periodic ones fail after their InformResponse.
    *acs.fail_after_inform_next.lock().unwrap() = 3;
    let fleet = Fleet::start(SimConfig {
        acs_url: acs.url(),
        count: 1,
        interval: Some(Duration::from_millis(200)),
        stagger: Duration::from_millis(10),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let report = fleet.run_for(Duration::from_millis(2000)).await;
    assert_eq!(report.sessions_failed, 3, "{report:?}");
    assert!(report.sessions_ok >= 3, "{report:?}");
    let periodic = {
        let seen = acs.seen();
        assert!(seen.informs[0].has_event("1 BOOT"));
        seen.informs
            .iter()
            .filter(|i| i.has_event("2 PERIODIC"))
            .count()
    };
    assert!(periodic >= 5, "{periodic} periodic informs");
    assert_eq!(acs.fail_after_inform_next.lock().map(|n| *n).unwrap(), 0);
    fleet.shutdown().await;
}
