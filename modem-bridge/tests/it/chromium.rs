//! Real headless Chromium (Debian's) against the emulator: the emulator's login page JavaScript
//! does the RSA/AES login, the two paths agree field by field, and a dead browser is replaced.

use std::sync::atomic::Ordering;

use fibreplane_lab::xx230v::SimCipher;
use modem_bridge::proto::cipher::CipherVariant;
use modem_bridge::{BridgeError, ModemDiagnostics, PathChoice, Section, UsedPath};

use crate::common::{PASSWORD, bridge, kill, pool, read_serial, sim, target};

/// Uptime ticks between two reads; everything else must be identical.
fn without_uptime(mut d: ModemDiagnostics) -> ModemDiagnostics {
    if let Some(i) = d.device_info.as_mut() {
        i.up_time = None;
    }
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_and_native_agree_field_by_field_on_cbc_and_gcm() {
    let p = pool();
    let b = bridge(Some(p.clone()));
    for (cipher, variant) in [
        (SimCipher::Cbc, CipherVariant::Cbc),
        (SimCipher::Gcm, CipherVariant::Gcm),
    ] {
        let s = sim(cipher).await;
        let t = target(&s, variant, PASSWORD);
        let native = b.read(&t, &Section::ALL, PathChoice::Native).await.unwrap();
        let browser = b
            .read(&t, &Section::ALL, PathChoice::Chromium)
            .await
            .unwrap();
        assert_eq!(browser.path, UsedPath::Chromium);
        let (n, c) = (native.diagnostics, browser.diagnostics);
        let (nu, cu) = (
            n.device_info.as_ref().unwrap().up_time.unwrap(),
            c.device_info.as_ref().unwrap().up_time.unwrap(),
        );
        assert!(cu >= nu && cu - nu < 60, "uptime {nu} then {cu}");
        assert_eq!(without_uptime(n), without_uptime(c), "{cipher:?}");
        // The browser's own request logged in: the page's JavaScript did the RSA/AES work (the
        // driver only filled the form), and it logged out afterwards.
        assert_eq!(
            s.stats().browser_logins.load(Ordering::Relaxed),
            1,
            "{cipher:?}"
        );
        assert_eq!(s.stats().logouts.load(Ordering::Relaxed), 2, "{cipher:?}");
        s.stop().await;
    }
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_falls_back_to_the_browser_on_a_protocol_mismatch_and_reports_refusals() {
    let p = pool();
    let b = bridge(Some(p.clone()));
    // The profile says CBC but the firmware speaks GCM: native fails its login as malformed, the
    // page's own JavaScript knows the dialect.
    let s = sim(SimCipher::Gcm).await;
    let r = b
        .read(
            &target(&s, CipherVariant::Cbc, PASSWORD),
            &[Section::Optics],
            PathChoice::Auto,
        )
        .await
        .unwrap();
    assert_eq!(r.path, UsedPath::Chromium);
    assert_eq!(
        r.diagnostics.optical.unwrap().optical_signal_level_dbm,
        Some(-2.5)
    );
    // A wrong password through the page is the same typed error as natively.
    let err = b
        .read(
            &target(&s, CipherVariant::Gcm, "wrong"),
            &[Section::Device],
            PathChoice::Chromium,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, BridgeError::Login { attempts: 1 }), "{err}");
    s.stop().await;
    // Someone holds the modem's one session: the page shows the "another user is logged in"
    // prompt and the driver backs off instead of clicking #confirm-yes.
    let s = sim(SimCipher::Cbc).await;
    let held = crate::sim_rules::hold(s.addr).await;
    let t = target(&s, CipherVariant::Cbc, PASSWORD);
    crate::sim_rules::assert_backs_off(&b, &t, PathChoice::Chromium, &held).await;
    s.stop().await;
    p.shutdown().await;
}

/// The browser is killed while its read waits on the modem: the read ends at once with a browser
/// error (not at its budget), and the next read relaunches the browser and takes over the web
/// session the killed browser left open on the modem. A browser killed between reads is replaced
/// by the next read as well.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_killed_mid_read_ends_the_read_and_the_next_read_takes_its_session_over() {
    let p = pool();
    let b = std::sync::Arc::new(bridge(Some(p.clone())));
    let s = sim(SimCipher::Cbc).await;
    let t = target(&s, CipherVariant::Cbc, PASSWORD);
    b.read(&t, &[Section::Device], PathChoice::Chromium)
        .await
        .unwrap();
    let pid = p.browser_pid().await.expect("browser running");
    let logins = s.stats().logins.load(Ordering::Relaxed);
    // Reads now wait on the modem long past the moment of the kill, but well inside the budget.
    s.set_read_delay(std::time::Duration::from_secs(20));
    let read = {
        let (b, t) = (b.clone(), t.clone());
        tokio::spawn(async move { b.read(&t, &[Section::Device], PathChoice::Chromium).await })
    };
    while s.stats().logins.load(Ordering::Relaxed) == logins {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    kill(pid);
    let err = read.await.unwrap().unwrap_err();
    assert!(
        matches!(&err, BridgeError::Browser(why) if why.contains("died")),
        "{err}"
    );
    assert_eq!(b.session_stats().left_open.load(Ordering::Relaxed), 1);
    s.set_read_delay(std::time::Duration::ZERO);
    assert_eq!(
        read_serial(&b, &t, PathChoice::Chromium).await,
        "22275A7000395"
    );
    assert_eq!(b.session_stats().taken_over.load(Ordering::Relaxed), 1);
    let relaunched = p.browser_pid().await.expect("browser relaunched");
    assert_ne!(relaunched, pid);
    // A browser that dies between reads is replaced by the next read too.
    kill(relaunched);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        read_serial(&b, &t, PathChoice::Chromium).await,
        "22275A7000395"
    );
    assert_ne!(p.browser_pid().await, Some(relaunched));
    assert_eq!(b.session_stats().left_open.load(Ordering::Relaxed), 1);
    s.stop().await;
    p.shutdown().await;
}
