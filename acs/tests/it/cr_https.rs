//! Connection requests to `https://` ConnectionRequestURLs: cpe-sim's connection-request server
//! speaks TLS with a certificate from a test CA (or a self-signed one, as most CPEs carry), and
//! the ACS answers its Digest challenge over that channel. The CPE's certificate is verified
//! against the configured CA by default; skipping verification is an explicit setting.

use crate::e2e::{WAIT, fleet_with, id};
use crate::harness::{self, SECRET};
use acs::cr::CrClient;
use acs::{AcsConfig, CrError, CrTls};
use fibreplane_lab::tls::{ServerCert, TestCa};
use fibreplane_lab::{CpeAuth, Credential, Fleet, SimConfig};
use std::time::Duration;

/// A fleet of one CPE whose connection-request server presents `cert`.
async fn https_fleet(url: String, cert: &ServerCert) -> Fleet {
    fleet_with(SimConfig {
        acs_url: url,
        count: 1,
        auth: CpeAuth::Digest(Credential::Secret(SECRET.to_owned())),
        stagger: Duration::ZERO,
        cr_tls: Some(cert.server_config().unwrap()),
        ..SimConfig::default()
    })
    .await
}

/// The CR credentials the ACS set on CPE 0 at registration.
async fn credentials(acs: &acs::Acs, f: &Fleet) -> (String, String) {
    let meta = acs.store().get(&id(f, 0)).await.unwrap().unwrap().value;
    (meta.cr_username, meta.cr_password)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_connection_requests_are_verified_against_the_configured_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("CPE vendor CA").unwrap();
    let ca_file = ca.write_ca(dir.path(), "cpe-ca.pem").unwrap();
    let config = AcsConfig {
        cr_tls: CrTls {
            ca_file: Some(ca_file.clone()),
            skip_verify: false,
        },
        ..harness::config(dir.path())
    };
    let t = harness::start(config).await;
    let f = https_fleet(t.url(), &ca.issue(&["127.0.0.1"]).unwrap()).await;
    f.inform(0, &[]).await.expect("registration");
    let url = f.cr_url(0);
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let dev = id(&f, 0);
    assert_eq!(
        t.acs
            .store()
            .get(&dev)
            .await
            .unwrap()
            .unwrap()
            .value
            .connection_request_url,
        url
    );
    // The ACS's own connection request: TLS verified by the CA, then Digest, then a session.
    let before = f.sessions(0);
    t.acs
        .connection_request(&dev)
        .await
        .expect("verified HTTPS connection request");
    assert!(f.wait_sessions(0, before + 1, WAIT).await);

    let (user, pass) = credentials(&t.acs, &f).await;
    // Digest still guards the request inside TLS.
    let with_ca = CrClient::new(&CrTls {
        ca_file: Some(ca_file),
        skip_verify: false,
    })
    .unwrap();
    assert_eq!(
        with_ca.send(&url, &user, "wrong", WAIT).await,
        Err(CrError::AuthFailed)
    );
    // Without the CA the CPE's certificate is refused before any credential is sent.
    let without = CrClient::new(&CrTls::default()).unwrap();
    let err = without.send(&url, &user, &pass, WAIT).await.unwrap_err();
    let CrError::Tls(why) = &err else {
        panic!("expected a TLS failure, got {err:?}")
    };
    assert!(why.contains("invalid peer certificate"), "{why}");
    assert!(err.to_string().contains("TLS handshake failed"), "{err}");
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_for_another_name_is_refused_even_from_the_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("CPE vendor CA").unwrap();
    let ca_file = ca.write_ca(dir.path(), "cpe-ca.pem").unwrap();
    let t = harness::start(harness::config(dir.path())).await;
    // The CPE is reached at 127.0.0.1, but its certificate names only `cpe.example`.
    let f = https_fleet(t.url(), &ca.issue(&["cpe.example"]).unwrap()).await;
    f.inform(0, &[]).await.expect("registration");
    let (user, pass) = credentials(&t.acs, &f).await;
    let client = CrClient::new(&CrTls {
        ca_file: Some(ca_file),
        skip_verify: false,
    })
    .unwrap();
    let err = client
        .send(&f.cr_url(0), &user, &pass, WAIT)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CrError::Tls(why) if why.contains("not valid for name")),
        "{err:?}"
    );
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_signed_cpe_is_refused_by_default_and_reached_when_the_fleet_skips_verification() {
    let dir = tempfile::tempdir().unwrap();
    let config = AcsConfig {
        cr_tls: CrTls {
            ca_file: None,
            skip_verify: true,
        },
        ..harness::config(dir.path())
    };
    let t = harness::start(config).await;
    let cert = ServerCert::self_signed(&["127.0.0.1"]).unwrap();
    let f = https_fleet(t.url(), &cert).await;
    f.inform(0, &[]).await.expect("registration");
    let (user, pass) = credentials(&t.acs, &f).await;
    let default = CrClient::new(&CrTls::default()).unwrap();
    assert!(
        matches!(
            default.send(&f.cr_url(0), &user, &pass, WAIT).await,
            Err(CrError::Tls(_))
        ),
        "verification is the default"
    );
    // The ACS configured to skip verification reaches the CPE, and Digest still applies.
    let before = f.sessions(0);
    t.acs
        .connection_request(&id(&f, 0))
        .await
        .expect("unverified HTTPS connection request");
    assert!(f.wait_sessions(0, before + 1, WAIT).await);
    let skip = CrClient::new(&CrTls {
        ca_file: None,
        skip_verify: true,
    })
    .unwrap();
    assert_eq!(
        skip.send(&f.cr_url(0), &user, "wrong", WAIT).await,
        Err(CrError::AuthFailed)
    );
    f.shutdown().await;
}

#[tokio::test]
async fn a_bad_cr_ca_file_stops_the_acs_from_opening() {
    let dir = tempfile::tempdir().unwrap();
    let config = AcsConfig {
        cr_tls: CrTls {
            ca_file: Some(dir.path().join("absent.pem")),
            skip_verify: false,
        },
        ..harness::config(&dir.path().join("store"))
    };
    let err = acs::Acs::open(config).await.err().expect("refused");
    assert!(err.to_string().contains("absent.pem"), "{err}");
}
