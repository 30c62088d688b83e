//! Whole CWMP sessions of fleet CPEs against the in-test ACS.

use std::sync::Arc;
use std::time::Duration;

use cwmp::{Body, Download, ParameterValue, XsdType};
use fibreplane_lab::{CpeAuth, Credential, Fleet, SimConfig, SimError, derive_password};

use crate::acs::{AcsAuth, TestAcs};

async fn fleet(acs: &TestAcs, count: usize, auth: CpeAuth) -> Fleet {
    let config = SimConfig {
        acs_url: acs.url(),
        count,
        auth,
        ..SimConfig::default()
    };
    Fleet::start(config).await.unwrap()
}

fn event_codes(inform: &cwmp::Inform) -> Vec<String> {
    inform
        .events
        .iter()
        .map(|e| format!("{}|{}", e.code, e.command_key))
        .collect()
}

/// Waits until the ACS has seen `n` Informs.
async fn informs(acs: &TestAcs, n: usize) -> Vec<cwmp::Inform> {
    for _ in 0..500 {
        if acs.seen().informs.len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    acs.seen().informs.clone()
}

#[tokio::test]
async fn bootstrap_session_answers_gpv_and_spv_and_echoes_the_cookie() {
    let acs = TestAcs::start(AcsAuth::Open).await;
    let fleet = fleet(&acs, 2, CpeAuth::None).await;
    let pii = "Device.ManagementServer.PeriodicInformInterval";
    acs.push(Body::GetParameterValues {
        names: vec![
            "Device.DeviceInfo.".into(),
            "Device.ManagementServer.Password".into(),
        ],
    });
    acs.push(Body::SetParameterValues {
        parameters: vec![ParameterValue::new(pii, "300", XsdType::UnsignedInt)],
        parameter_key: "push-1".into(),
    });
    let r = fleet.inform(1, &[]).await.unwrap();
    assert_eq!(r.events, ["0 BOOTSTRAP", "1 BOOT"]);
    assert_eq!(r.acs_requests, ["GetParameterValues", "SetParameterValues"]);
    assert!(r.ended_204 && r.faults.is_empty());
    assert_eq!(fleet.param(1, pii).as_deref(), Some("300"));

    {
        let seen = acs.seen();
        let inform = &seen.informs[0];
        assert_eq!(inform.device_id.serial_number, fleet.serial(1));
        assert_eq!(inform.device_id.oui, "1C61B4");
        assert_eq!(inform.retry_count, 0);
        let url = inform
            .parameters
            .iter()
            .find(|p| p.name.ends_with("ConnectionRequestURL"));
        assert_eq!(url.map(|p| p.value.clone()), Some(fleet.cr_url(1)));
        let Body::GetParameterValuesResponse { parameters } = &seen.responses[0] else {
            panic!("{:?}", seen.responses[0]);
        };
        let serial = parameters
            .iter()
            .find(|p| p.name == "Device.DeviceInfo.SerialNumber");
        assert_eq!(serial.unwrap().value, fleet.serial(1));
        let pw = parameters
            .iter()
            .find(|p| p.name == "Device.ManagementServer.Password");
        assert_eq!(pw.unwrap().value, "");
        assert_eq!(
            seen.responses[1],
            Body::SetParameterValuesResponse { status: 0 }
        );
        assert!(!seen.cookie_echoed.is_empty());
        assert!(
            seen.cookie_echoed.iter().all(|&e| e),
            "{:?}",
            seen.cookie_echoed
        );
        assert!(seen.violations.is_empty(), "{:?}", seen.violations);
    }

    // The next session no longer bootstraps and reports the new ParameterKey.
    let r = fleet.inform(1, &["2 PERIODIC"]).await.unwrap();
    assert_eq!(r.events, ["2 PERIODIC"]);
    let seen = acs.seen();
    let key = seen.informs[1]
        .parameters
        .iter()
        .find(|p| p.name.ends_with("ParameterKey"));
    assert_eq!(key.unwrap().value, "push-1");
    assert_ne!(fleet.device_id(0), fleet.device_id(1));
    assert!(fleet.device_id(1).starts_with("1C61B4-Device2-"));
}

#[tokio::test]
async fn digest_challenges_are_answered_with_derived_passwords() {
    let pw: Arc<dyn Fn(&str) -> String + Send + Sync> = Arc::new(|u| derive_password("s3cret", u));
    let acs = TestAcs::start(AcsAuth::Password(pw)).await;
    let fleet1 = fleet(
        &acs,
        1,
        CpeAuth::Digest(Credential::Secret("s3cret".into())),
    )
    .await;
    acs.push(Body::GetRpcMethods);
    let r = fleet1.inform(0, &[]).await.unwrap();
    assert_eq!(r.acs_requests, ["GetRPCMethods"]);
    assert_eq!(acs.seen().unauthorized, 1, "one challenge per connection");
    assert!(matches!(
        acs.seen().responses[0],
        Body::GetRpcMethodsResponse { .. }
    ));

    let wrong = fleet(
        &acs,
        1,
        CpeAuth::Digest(Credential::Password("nope".into())),
    )
    .await;
    assert!(matches!(
        wrong.inform(0, &[]).await,
        Err(SimError::Unauthorized)
    ));
    assert_eq!(wrong.report().sessions_failed, 1);
    let none = fleet(&acs, 1, CpeAuth::None).await;
    assert!(matches!(
        none.inform(0, &[]).await,
        Err(SimError::Unauthorized)
    ));

    let basic = fleet(&acs, 1, CpeAuth::Basic(Credential::Secret("s3cret".into()))).await;
    let before = acs.seen().unauthorized;
    basic.inform(0, &[]).await.unwrap();
    assert_eq!(
        acs.seen().unauthorized,
        before,
        "Basic is sent pre-emptively"
    );
    assert!(acs.seen().basic_logins >= 2);
}

#[tokio::test]
async fn retry_request_8005_counts_in_retry_count() {
    let acs = TestAcs::start(AcsAuth::Open).await;
    let fleet = fleet(&acs, 1, CpeAuth::None).await;
    *acs.reject_next.lock().unwrap() = 1;
    assert!(matches!(
        fleet.inform(0, &[]).await,
        Err(SimError::Retry { .. })
    ));
    let r = fleet.inform(0, &[]).await.unwrap();
    assert_eq!(
        r.events,
        ["0 BOOTSTRAP", "1 BOOT"],
        "undelivered events are retried"
    );
    let seen = acs.seen();
    assert_eq!(
        (seen.informs[0].retry_count, seen.informs[1].retry_count),
        (0, 1)
    );
}

#[tokio::test]
async fn overload_503_carries_retry_after() {
    let acs = TestAcs::start(AcsAuth::Open).await;
    let fleet = fleet(&acs, 1, CpeAuth::None).await;
    *acs.busy_next.lock().unwrap() = 1;
    let err = fleet.inform(0, &[]).await.unwrap_err();
    assert!(
        matches!(err, SimError::Retry { after: Some(d) } if d == Duration::from_secs(1)),
        "{err:?}"
    );
    fleet.inform(0, &[]).await.unwrap();
    assert_eq!(acs.seen().informs[0].retry_count, 1);
    let report = fleet.report();
    assert_eq!((report.sessions_ok, report.sessions_failed), (1, 1));
    assert_eq!(report.failures.get("retry"), Some(&1));
}

#[tokio::test]
async fn reboot_factory_reset_and_download_follow_up_in_the_background() {
    let acs = TestAcs::start(AcsAuth::Open).await;
    let fleet = fleet(&acs, 1, CpeAuth::None).await;
    let alias = "Device.Bridging.Bridge.1.Alias";
    acs.push(Body::SetParameterValues {
        parameters: vec![ParameterValue::new(alias, "kept", XsdType::String)],
        parameter_key: String::new(),
    });
    acs.push(Body::Reboot {
        command_key: "rk".into(),
    });
    fleet.inform(0, &[]).await.unwrap();
    let seen = informs(&acs, 2).await;
    assert_eq!(event_codes(&seen[1]), ["1 BOOT|", "M Reboot|rk"]);
    assert_eq!(
        fleet.param(0, alias).as_deref(),
        Some("kept"),
        "configuration survives a reboot"
    );

    acs.push(Body::Download(Download {
        command_key: "dk".into(),
        file_type: "1 Firmware Upgrade Image".into(),
        url: format!("http://{}/file", acs.addr),
        ..Download::default()
    }));
    acs.push(Body::Download(Download {
        command_key: "missing".into(),
        file_type: "1 Firmware Upgrade Image".into(),
        url: format!("http://{}/nothing", acs.addr),
        ..Download::default()
    }));
    fleet.inform(0, &["2 PERIODIC"]).await.unwrap();
    assert!(matches!(
        acs.seen().responses.last(),
        Some(Body::DownloadResponse { status: 1, .. })
    ));
    let seen = informs(&acs, 5).await;
    let codes: Vec<_> = seen[3..5].iter().flat_map(event_codes).collect();
    assert!(
        codes.contains(&"7 TRANSFER COMPLETE|".to_owned()),
        "{codes:?}"
    );
    assert!(codes.contains(&"M Download|dk".to_owned()), "{codes:?}");
    assert!(
        codes.contains(&"M Download|missing".to_owned()),
        "{codes:?}"
    );
    // Both TransferCompletes (the CPE may send other requests of its own in between).
    for _ in 0..200 {
        let done = acs
            .seen()
            .cpe_requests
            .iter()
            .filter(|b| matches!(b, Body::TransferComplete(_)))
            .count();
        if done >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut outcomes: Vec<(String, u32)> = acs
        .seen()
        .cpe_requests
        .iter()
        .filter_map(|b| match b {
            Body::TransferComplete(t) => Some((t.command_key.clone(), t.fault.code)),
            _ => None,
        })
        .collect();
    outcomes.sort();
    assert_eq!(
        outcomes,
        [("dk".to_owned(), 0), ("missing".to_owned(), 9016)]
    );

    acs.push(Body::FactoryReset);
    let before = acs.seen().informs.len();
    fleet.inform(0, &["2 PERIODIC"]).await.unwrap();
    let seen = informs(&acs, before + 2).await;
    assert_eq!(event_codes(&seen[before + 1]), ["0 BOOTSTRAP|", "1 BOOT|"]);
    assert_eq!(
        fleet.param(0, alias).as_deref(),
        Some("cpe-bridge"),
        "factory defaults"
    );
    assert!(
        acs.seen().violations.is_empty(),
        "{:?}",
        acs.seen().violations
    );
}

#[tokio::test]
async fn faults_travel_back_to_the_acs() {
    let acs = TestAcs::start(AcsAuth::Open).await;
    let fleet = fleet(&acs, 1, CpeAuth::None).await;
    acs.push(Body::SetParameterValues {
        parameters: vec![
            ParameterValue::new("Device.DeviceInfo.SerialNumber", "x", XsdType::String),
            ParameterValue::new("Device.Nope", "x", XsdType::String),
        ],
        parameter_key: "k".into(),
    });
    acs.push(Body::GetParameterNames {
        path: "Device.Nope.".into(),
        next_level: true,
    });
    acs.push(Body::AddObject {
        object_name: "Device.WiFi.SSID.".into(),
        parameter_key: "a".into(),
    });
    let r = fleet.inform(0, &[]).await.unwrap();
    assert_eq!(r.faults, [9003, 9005]);
    let seen = acs.seen();
    let codes: Vec<_> = seen.faults[0]
        .set_parameter_values_faults
        .iter()
        .map(|f| f.code)
        .collect();
    assert_eq!(codes, [9008, 9005]);
    let Body::AddObjectResponse {
        instance_number,
        status: 0,
    } = seen.responses[0]
    else {
        panic!("{:?}", seen.responses);
    };
    assert!(instance_number > 1);
    assert_eq!(
        fleet
            .param(0, "Device.ManagementServer.ParameterKey")
            .as_deref(),
        Some("a")
    );
}

#[tokio::test]
async fn unknown_methods_get_fault_9000_and_the_session_goes_on() {
    let acs = TestAcs::start(AcsAuth::Open).await;
    let fleet = fleet(&acs, 1, CpeAuth::None).await;
    *acs.raw_next.lock().unwrap() = Some(
        "<soap-env:Envelope xmlns:soap-env=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:cwmp=\"urn:dslforum-org:cwmp-1-2\"><soap-env:Header><cwmp:ID \
         soap-env:mustUnderstand=\"1\">raw-1</cwmp:ID></soap-env:Header><soap-env:Body>\
         <cwmp:X_LAB_Frobnicate/></soap-env:Body></soap-env:Envelope>"
            .to_owned(),
    );
    acs.push(Body::GetRpcMethods);
    let r = fleet.inform(0, &[]).await.unwrap();
    assert_eq!(r.acs_requests, ["X_LAB_Frobnicate", "GetRPCMethods"]);
    assert_eq!(r.faults, [9000]);
    let seen = acs.seen();
    assert!(
        matches!(&seen.raw_answers[..], [Body::Fault(f)] if f.code == 9000),
        "{:?}",
        seen.raw_answers
    );
    assert!(seen.violations.is_empty(), "{:?}", seen.violations);
}
