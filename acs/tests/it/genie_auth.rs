//! GenieACS's `cwmp.auth` and `cwmp.connectionRequestAuth`, imported into the store, end to end:
//! cpe-sim CPEs (Digest, with their own `ManagementServer` credentials) and a CPE speaking Basic
//! over TLS are accepted or refused (401) as the expression says; a connection request carries
//! the credentials the expression gives.

use crate::harness::{self, SECRET};
use acs::store::{Op, Param, Value};
use acs::{AcsConfig, DeviceId, Secret};
use fibreplane_lab::{CpeAuth, Credential, Fleet, SimConfig};
use std::time::Duration;

const USERNAME: &str = "Device.ManagementServer.Username";
const PASSWORD: &str = "Device.ManagementServer.Password";
const CR_USERNAME: &str = "Device.ManagementServer.ConnectionRequestUsername";
const CR_PASSWORD: &str = "Device.ManagementServer.ConnectionRequestPassword";

/// The document `fibreplane import genieacs --config` stores for a setting.
fn setting(key: &str, value: &str) -> Op {
    Op::PutDoc {
        collection: acs::genie::config::COLLECTION.to_owned(),
        name: key.to_owned(),
        body: serde_json::to_vec(&serde_json::json!({"_id": key, "value": value})).unwrap(),
    }
}

/// An ACS whose store holds `ops` (imported settings, trees) before it opens.
async fn start_with(config: AcsConfig, ops: Vec<Op>) -> harness::TestAcs {
    let dir = tempfile::tempdir().unwrap();
    let writer = acs::store::open(
        acs::store::EngineKind::Redb,
        &dir.path().join("fibreplane.redb"),
    )
    .unwrap();
    writer.apply(ops).await.unwrap();
    harness::start_with_store(dir, config, writer).await
}

fn quiet() -> AcsConfig {
    harness::quiet(std::path::Path::new("."))
}

/// One cpe-sim CPE answering Digest challenges with its own ManagementServer credentials.
async fn cpe(url: String, auth: CpeAuth) -> Fleet {
    Fleet::start(SimConfig {
        acs_url: url,
        count: 1,
        auth,
        stagger: Duration::ZERO,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

fn set_credentials(f: &Fleet, username: &str, password: &str) {
    assert!(f.set_param(0, USERNAME, username));
    assert!(f.set_param(0, PASSWORD, password));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_cpes_are_admitted_by_the_expression_and_refused_otherwise() {
    let t = start_with(
        quiet(),
        vec![setting(
            "cwmp.auth",
            r#"AUTH("genie-cpe", "pw-" || DeviceID.SerialNumber)"#,
        )],
    )
    .await;
    let f = cpe(t.url(), CpeAuth::Digest(Credential::Model)).await;
    let serial = f.serial(0);
    set_credentials(&f, "genie-cpe", &format!("pw-{serial}"));
    let s = f
        .inform(0, &["0 BOOTSTRAP", "1 BOOT"])
        .await
        .expect("admitted");
    assert!(s.ended_204);
    set_credentials(&f, "genie-cpe", "pw-another-serial");
    let failures = t.acs.metrics.auth_failures.get();
    let refused = f.inform(0, &["2 PERIODIC"]).await;
    assert!(
        matches!(refused, Err(fibreplane_lab::SimError::Unauthorized)),
        "{refused:?}"
    );
    assert!(t.acs.metrics.auth_failures.get() > failures);
    // Derived credentials stay a way in for a device without a record (the ACS may re-key it).
    let id = f.device_id(0);
    set_credentials(&f, &id, &acs::derive_password(&Secret::new(SECRET), &id));
    f.inform(0, &["2 PERIODIC"]).await.expect("derived");
    // An explicit record is the device's own rule: the expression no longer admits it.
    let dev = DeviceId::parse(&id).unwrap();
    t.acs
        .set_credentials(&dev, "explicit-user", Secret::new("explicit-pw"))
        .await
        .unwrap();
    set_credentials(&f, "genie-cpe", &format!("pw-{serial}"));
    assert!(f.inform(0, &["2 PERIODIC"]).await.is_err(), "explicit wins");
    set_credentials(&f, "explicit-user", "explicit-pw");
    f.inform(0, &["2 PERIODIC"]).await.expect("explicit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_expression_reads_the_stored_tree_of_the_device() {
    // As GenieACS's documentation writes it: the credentials its provisions set, stored.
    let src = "AUTH(Device.ManagementServer.Username, Device.ManagementServer.Password)";
    let t = start_with(quiet(), vec![setting("cwmp.auth", src)]).await;
    let f = cpe(t.url(), CpeAuth::Digest(Credential::Model)).await;
    let dev = DeviceId::parse(&f.device_id(0)).unwrap();
    let stored = |value: &str| Param::leaf(Some(Value::String(value.into())), Some(true), 0);
    t.acs
        .write(vec![Op::UpdateTree {
            id: dev.clone(),
            set: vec![
                (USERNAME.into(), stored("stored-user")),
                (PASSWORD.into(), stored("stored-pw")),
            ],
            remove_subtrees: vec![],
        }])
        .await
        .unwrap();
    set_credentials(&f, "stored-user", "stored-pw");
    f.inform(0, &["0 BOOTSTRAP", "1 BOOT"])
        .await
        .expect("the stored credentials admit");
    set_credentials(&f, "stored-user", "not-stored");
    assert!(f.inform(0, &["2 PERIODIC"]).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expression_that_cannot_be_evaluated_refuses_and_true_admits_without_credentials() {
    let t = start_with(
        quiet(),
        vec![setting(
            "cwmp.auth",
            "AUTH(DeviceID.SerialNumber, EXT('auth', 'password', DeviceID.SerialNumber))",
        )],
    )
    .await;
    let f = cpe(t.url(), CpeAuth::Digest(Credential::Model)).await;
    set_credentials(&f, &f.serial(0), "anything");
    assert!(
        f.inform(0, &["0 BOOTSTRAP"]).await.is_err(),
        "never accepted"
    );
    f.shutdown().await;
    drop(t);

    let t = start_with(quiet(), vec![setting("cwmp.auth", "true")]).await;
    let f = cpe(t.url(), CpeAuth::None).await;
    let s = f
        .inform(0, &["0 BOOTSTRAP"])
        .await
        .expect("GenieACS's `true`");
    assert!(s.ended_204);
    f.shutdown().await;
    drop(t);

    // A condition on the Inform without AUTH(): the Inform is read, no challenge first.
    let t = start_with(
        quiet(),
        vec![setting(
            "cwmp.auth",
            "DeviceID.SerialNumber LIKE 'FPSIM%' AND DeviceID.ProductClass <> 'Nope'",
        )],
    )
    .await;
    let f = cpe(t.url(), CpeAuth::None).await;
    f.inform(0, &["0 BOOTSTRAP"])
        .await
        .expect("the Inform decides");
    f.shutdown().await;
    drop(t);
    let t = start_with(
        quiet(),
        vec![setting("cwmp.auth", "DeviceID.ProductClass = 'Nope'")],
    )
    .await;
    let f = cpe(t.url(), CpeAuth::None).await;
    assert!(f.inform(0, &["0 BOOTSTRAP"]).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_request_carries_the_credentials_of_the_expression() {
    let t = start_with(
        quiet(),
        vec![setting(
            "cwmp.connectionRequestAuth",
            "AUTH('not-these', 'x') OR AUTH('cr-' || serialNumber, 'crpw-' || LOWER(oui))",
        )],
    )
    .await;
    let f = cpe(t.url(), CpeAuth::Digest(Credential::Model)).await;
    let id = f.device_id(0);
    set_credentials(&f, &id, &acs::derive_password(&Secret::new(SECRET), &id));
    let oui = id.split('-').next().unwrap().to_ascii_lowercase();
    assert!(f.set_param(0, CR_USERNAME, &format!("cr-{}", f.serial(0))));
    assert!(f.set_param(0, CR_PASSWORD, &format!("crpw-{oui}")));
    f.inform(0, &["0 BOOTSTRAP", "1 BOOT"])
        .await
        .expect("first");
    let dev = DeviceId::parse(&id).unwrap();
    let stored = t.acs.device(&dev).await.unwrap().unwrap().value;
    assert_ne!(stored.cr_username, format!("cr-{}", f.serial(0)));
    t.acs
        .connection_request(&dev)
        .await
        .expect("the second pair is accepted");
    assert!(f.wait_sessions(0, 2, Duration::from_secs(10)).await);
    // The CPE's credentials change: no pair of the expression fits any more.
    assert!(f.set_param(0, CR_PASSWORD, "changed"));
    let refused = t.acs.connection_request(&dev).await;
    assert_eq!(refused, Err(acs::CrError::AuthFailed));
}

#[tokio::test]
async fn basic_over_tls_is_judged_by_the_expression() {
    use bytes::Bytes;
    use http_body_util::Full;
    use std::sync::Arc;
    use tokio_rustls::rustls;

    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let files = acs::TlsFiles {
        cert: dir.path().join("cert.pem"),
        key: dir.path().join("key.pem"),
    };
    std::fs::write(&files.cert, cert.cert.pem()).unwrap();
    std::fs::write(&files.key, cert.signing_key.serialize_pem()).unwrap();
    let store = tempfile::tempdir().unwrap();
    let writer = acs::store::open(
        acs::store::EngineKind::Redb,
        &store.path().join("fibreplane.redb"),
    )
    .unwrap();
    writer
        .apply(vec![setting(
            "cwmp.auth",
            r#"AUTH(DeviceID.SerialNumber, "basic-" || DeviceID.ProductClass)"#,
        )])
        .await
        .unwrap();
    let config = AcsConfig {
        tls: Some(files.clone()),
        data_dir: store.path().to_owned(),
        ..quiet()
    };
    let acs = acs::Acs::with_store(config, writer).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(acs::server::serve(
        acs.clone(),
        listener,
        Some(acs::server::load_tls(&files).unwrap()),
        async {
            let _ = stopped.await;
        },
    ));
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let client = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    );
    // One Inform with Basic credentials on a fresh TLS connection; the status it gets.
    let inform_with = |user: &'static str, password: &'static str| {
        let client = client.clone();
        async move {
            let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
            let tls = tokio_rustls::TlsConnector::from(client)
                .connect(name, tcp)
                .await
                .unwrap();
            let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Full<Bytes>>(
                hyper_util::rt::TokioIo::new(tls),
            )
            .await
            .unwrap();
            tokio::spawn(conn);
            let req = http::Request::post("/")
                .header("host", "localhost")
                .header("authorization", cwmp::auth::basic_header(user, password))
                .body(Full::new(Bytes::from(harness::inform(
                    "BASIC1",
                    &["0 BOOTSTRAP"],
                ))))
                .unwrap();
            sender.send_request(req).await.unwrap().status().as_u16()
        }
    };
    assert_eq!(inform_with("BASIC1", "basic-Device2").await, 200);
    assert_eq!(inform_with("BASIC1", "basic-Other").await, 401);
    assert_eq!(inform_with("BASIC2", "basic-Device2").await, 401);
    let _ = stop.send(());
    server.await.unwrap();
}
