//! The native client against the emulator: every section, both cipher variants, the firmware's
//! refusals.

use fibreplane_lab::xx230v::{Limits, SimCipher, SimOptions};
use modem_bridge::proto::cipher::CipherVariant;
use modem_bridge::{BridgeError, PathChoice, Section, UsedPath};
use std::sync::atomic::Ordering;

use crate::common::{PASSWORD, bridge, sim, sim_with, target};

#[tokio::test]
async fn native_cbc_read_returns_the_dumps_facts() {
    let s = sim(SimCipher::Cbc).await;
    let r = bridge(None)
        .read(
            &target(&s, CipherVariant::Cbc, PASSWORD),
            &Section::ALL,
            PathChoice::Native,
        )
        .await
        .unwrap();
    assert_eq!(r.path, UsedPath::Native);
    let d = r.diagnostics;
    let dev = d.device_info.unwrap();
    assert_eq!(
        (dev.model_name.as_str(), dev.serial_number.as_str()),
        ("XX230v", "22275A7000395")
    );
    assert_eq!(
        dev.software_version,
        "0.6.0 3.0.0 v6066.0 Build 220630 Rel.56119n"
    );
    assert!(dev.up_time.unwrap() >= 15_687);
    let wan = d.wan.unwrap();
    assert_eq!(wan.ipv4_address.as_deref(), Some("192.168.89.137"));
    assert_eq!(wan.default_gateway.as_deref(), Some("192.168.89.1"));
    assert_eq!(wan.connection_status, "Connected");
    assert_eq!(
        wan.ipv6_address.as_deref(),
        Some("2804:3e0:0:42dc:61a8:e3bb:ecce:7392")
    );
    assert_eq!(
        wan.dns_servers.first().map(String::as_str),
        Some("192.168.88.1")
    );
    let lan = d.lan.unwrap();
    assert_eq!(
        (lan.mac_address.as_str(), lan.ip_address.as_str()),
        ("1C:61:B4:FB:2A:C8", "192.168.1.1")
    );
    assert!(lan.dhcp_server_enable);
    let wifi = d.wi_fi.unwrap();
    assert_eq!(wifi.len(), 2);
    assert_eq!(
        (wifi[0].operating_frequency_band.as_str(), wifi[0].channel),
        ("2.4GHz", Some(10))
    );
    assert_eq!(
        (wifi[1].operating_frequency_band.as_str(), wifi[1].channel),
        ("5GHz", Some(153))
    );
    assert!(
        wifi[0]
            .ssids
            .iter()
            .any(|s| s.ssid == "TP-Link_2AC8" && s.enable && s.bssid == "1C:61:B4:FB:2A:C8")
    );
    assert!(wifi[1].ssids.iter().any(|s| s.ssid == "TP-Link_2AC8_5G"));
    let hosts = d.hosts.unwrap();
    assert_eq!(hosts.len(), 1);
    assert_eq!(hosts[0].phys_address, "3C:06:30:2D:42:FB");
    assert_eq!(
        (hosts[0].host_name.as_str(), hosts[0].lease_time_remaining),
        ("MBP-de-Gaspare", Some(4006))
    );
    assert_eq!(d.memory_status.unwrap().total, 212_544);
    assert_eq!(d.process_status.unwrap().cpu_usage, 0);
    let o = d.optical.unwrap();
    assert_eq!(o.status, "Up");
    // RXPower 5624 and TXPower 14880 in 0.1 µW (the configured unit).
    assert_eq!(o.optical_signal_level_dbm, Some(-2.5));
    assert_eq!(o.transmit_optical_level_dbm, Some(1.73));
    assert_eq!(o.transceiver_temperature_c, Some(47.86));
    assert_eq!(o.supply_voltage_v, Some(3.3));
    assert_eq!(o.bias_current_ma, Some(16.6));
    assert_eq!(o.raw["RXPower"], "5624");
    assert!(d.refused.is_empty());
    // Logged out: the emulator saw one login and one logout.
    assert_eq!(s.stats().logins.load(Ordering::Relaxed), 1);
    assert_eq!(s.stats().logouts.load(Ordering::Relaxed), 1);
    s.stop().await;
}

#[tokio::test]
async fn native_gcm_read_works_against_gcm_firmware() {
    let s = sim(SimCipher::Gcm).await;
    let r = bridge(None)
        .read(
            &target(&s, CipherVariant::Gcm, PASSWORD),
            &[Section::Optics],
            PathChoice::Native,
        )
        .await
        .unwrap();
    assert_eq!(
        r.diagnostics.optical.unwrap().optical_signal_level_dbm,
        Some(-2.5)
    );
    assert!(
        r.diagnostics.device_info.is_none(),
        "only the section asked for is read"
    );
    s.stop().await;
}

#[tokio::test]
async fn the_wrong_variant_is_a_protocol_mismatch() {
    let s = sim(SimCipher::Gcm).await;
    let err = bridge(None)
        .read(
            &target(&s, CipherVariant::Cbc, PASSWORD),
            &[Section::Device],
            PathChoice::Native,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, BridgeError::Protocol(_)), "{err}");
    s.stop().await;
}

#[tokio::test]
async fn wrong_passwords_count_and_lock_out() {
    let mut opts = SimOptions::new("user", PASSWORD);
    opts.limits = Limits {
        max_failures: 2,
        ..Limits::default()
    };
    let s = sim_with(opts).await;
    let b = bridge(None);
    let bad = target(&s, CipherVariant::Cbc, "nope");
    let e1 = b
        .read(&bad, &[Section::Device], PathChoice::Native)
        .await
        .unwrap_err();
    assert!(matches!(e1, BridgeError::Login { attempts: 1 }), "{e1}");
    let e2 = b
        .read(&bad, &[Section::Device], PathChoice::Native)
        .await
        .unwrap_err();
    assert!(matches!(e2, BridgeError::LockedOut { seconds: 60 }), "{e2}");
    // Locked: even the right password is refused, and Auto does not retry through the browser.
    let good = target(&s, CipherVariant::Cbc, PASSWORD);
    let e3 = b
        .read(&good, &[Section::Device], PathChoice::Auto)
        .await
        .unwrap_err();
    assert!(matches!(e3, BridgeError::LockedOut { .. }), "{e3}");
    assert!(!e3.to_string().contains(PASSWORD) && !format!("{good:?}").contains(PASSWORD));
    s.stop().await;
}

#[tokio::test]
async fn native_sends_no_accept_encoding_so_a_strict_modem_answers() {
    let mut opts = SimOptions::new("user", PASSWORD);
    opts.strict_accept_encoding = true;
    let s = sim_with(opts).await;
    let r = bridge(None)
        .read(
            &target(&s, CipherVariant::Cbc, PASSWORD),
            &[Section::Lan],
            PathChoice::Native,
        )
        .await;
    assert!(r.unwrap().diagnostics.lan.is_some());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reads_of_one_modem_queue_instead_of_colliding() {
    // The modem has one web session: without per-modem serialisation, these reads would refuse
    // each other with "another user is logged in".
    let s = sim(SimCipher::Cbc).await;
    let b = std::sync::Arc::new(bridge(None));
    let t = target(&s, CipherVariant::Cbc, PASSWORD);
    let reads: Vec<_> = (0..6)
        .map(|_| {
            let (b, t) = (b.clone(), t.clone());
            tokio::spawn(async move { b.read(&t, &[Section::Resources], PathChoice::Native).await })
        })
        .collect();
    for r in reads {
        assert!(
            r.await
                .unwrap()
                .unwrap()
                .diagnostics
                .memory_status
                .is_some()
        );
    }
    assert_eq!(s.stats().logins.load(Ordering::Relaxed), 6);
    assert_eq!(s.stats().logouts.load(Ordering::Relaxed), 6);
    s.stop().await;
}

/// A read cut off by its budget leaves the modem's one web session open (its logout never ran).
/// The next read of that modem takes the session over instead of waiting out the modem's idle
/// expiry, and only that one: the technician's session of the test above is never kicked.
#[tokio::test]
async fn a_session_left_open_by_a_cut_off_read_is_taken_over_by_the_next() {
    let s = sim(SimCipher::Cbc).await;
    let t = target(&s, CipherVariant::Cbc, PASSWORD);
    let b = modem_bridge::Bridge::new(std::time::Duration::from_millis(500), None).unwrap();
    s.set_read_delay(std::time::Duration::from_secs(2));
    let err = b
        .read(&t, &[Section::Device], PathChoice::Native)
        .await
        .unwrap_err();
    assert!(matches!(err, BridgeError::Timeout(_)), "{err}");
    assert_eq!(s.stats().logins.load(Ordering::Relaxed), 1);
    assert_eq!(s.stats().logouts.load(Ordering::Relaxed), 0);
    let stats = b.session_stats();
    assert_eq!(stats.left_open.load(Ordering::Relaxed), 1);
    assert_eq!(stats.taken_over.load(Ordering::Relaxed), 0);

    // The session is still open on the modem: another client is refused...
    let other = bridge(None)
        .read(&t, &[Section::Device], PathChoice::Native)
        .await
        .unwrap_err();
    assert!(matches!(other, BridgeError::Busy), "{other}");
    // ... but the bridge that left it open takes it over.
    s.set_read_delay(std::time::Duration::ZERO);
    assert_eq!(
        crate::common::read_serial(&b, &t, PathChoice::Native).await,
        "22275A7000395"
    );
    assert_eq!(stats.taken_over.load(Ordering::Relaxed), 1);
    assert_eq!(s.stats().logouts.load(Ordering::Relaxed), 1);
    // The record is spent: with somebody else logged in now, the bridge backs off again.
    let held = crate::sim_rules::hold(s.addr).await;
    crate::sim_rules::assert_backs_off(&b, &t, PathChoice::Native, &held).await;
    assert_eq!(stats.taken_over.load(Ordering::Relaxed), 1);
    s.stop().await;
}
