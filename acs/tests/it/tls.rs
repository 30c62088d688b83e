//! CWMP over TLS (rustls): a CPE may send Basic pre-emptively there, and Digest still works.

use crate::harness::{self, inform};
use acs::{Acs, AcsConfig, Secret, TlsFiles};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use std::sync::Arc;
use tokio_rustls::rustls;

#[tokio::test]
async fn basic_auth_is_accepted_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let files = TlsFiles {
        cert: cert_path,
        key: key_path,
    };
    let cfg = AcsConfig {
        tls: Some(files.clone()),
        refresh_on_bootstrap: false,
        manage_cr_credentials: false,
        ..harness::config(&dir.path().join("store"))
    };
    let acceptor = acs::server::load_tls(&files).unwrap();
    let acs = Acs::open(cfg).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(acs::server::serve(
        acs.clone(),
        listener,
        Some(acceptor),
        async {
            let _ = stopped.await;
        },
    ));

    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(client))
        .connect(name, tcp)
        .await
        .unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake::<_, Full<Bytes>>(hyper_util::rt::TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(conn);

    let user = "1C61B4-Device2-TLS1";
    let pw = acs::derive_password(&Secret::new(harness::SECRET), user);
    let req = http::Request::post("/")
        .header("host", "localhost")
        .header("authorization", cwmp::auth::basic_header(user, &pw))
        .body(Full::new(Bytes::from(inform("TLS1", &["0 BOOTSTRAP"]))))
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let env = cwmp::parse_envelope(&body, &cwmp::Limits::default()).unwrap();
    assert!(matches!(env.body, cwmp::Body::InformResponse { .. }));
    let end = sender
        .send_request(
            http::Request::post("/")
                .header("host", "localhost")
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(end.status(), 204);
    let _ = stop.send(());
    server.await.unwrap();
}

#[test]
fn tls_files_without_a_certificate_or_key_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let good_cert = dir.path().join("cert.pem");
    let good_key = dir.path().join("key.pem");
    let empty = dir.path().join("empty.pem");
    let broken = dir.path().join("broken.pem");
    std::fs::write(&good_cert, cert.cert.pem()).unwrap();
    std::fs::write(&good_key, cert.signing_key.serialize_pem()).unwrap();
    std::fs::write(&empty, "no PEM section here\n").unwrap();
    std::fs::write(
        &broken,
        "-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let load = |cert: &std::path::Path, key: &std::path::Path| {
        acs::server::load_tls(&TlsFiles {
            cert: cert.to_owned(),
            key: key.to_owned(),
        })
        .map(|_| ())
        .map_err(|e| e.to_string())
    };
    assert_eq!(load(&good_cert, &good_key), Ok(()));
    let cases = [
        (&empty, &good_key, "certificate file holds no certificate"),
        (&broken, &good_key, "certificate is not valid PEM"),
        (&good_cert, &empty, "key file holds no key"),
        // A certificate is not a key: the key file holds no key of its own.
        (&good_cert, &good_cert, "key file holds no key"),
    ];
    for (c, k, want) in cases {
        let err = load(c, k).unwrap_err();
        assert!(err.contains(want), "{want:?} in {err:?}");
    }
    let missing = load(&dir.path().join("nope.pem"), &good_key).unwrap_err();
    assert!(missing.contains("No such file"), "{missing}");
}
