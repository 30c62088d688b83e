//! ERPNext over HTTPS: erp-sim serves TLS with a certificate from a test CA; the provisioner's
//! sync succeeds when that CA is its CA file and fails with a TLS error naming the remedy when
//! it is not.

use crate::harness::{API_KEY, API_SECRET, SEED};
use acs::{Acs, AcsConfig, CpeAuthMode, Secret};
use fibreplane_lab::erp::{ErpSim, ErpSimConfig};
use fibreplane_lab::tls::{TestCa, TlsListener};
use provisioner::erp::ErpConfig;
use provisioner::{ProvisionError, Provisioner, ProvisionerConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// erp-sim with `records` devices over HTTPS, with a certificate the CA signed for 127.0.0.1.
async fn https_erp(ca: &TestCa, records: u64) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let sim = Arc::new(ErpSim::new(&ErpSimConfig {
        seed: SEED,
        devices: records,
        api_key: API_KEY.into(),
        api_secret: API_SECRET.into(),
    }));
    let cert = ca.issue(&["127.0.0.1", "localhost"]).unwrap();
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let listener = TlsListener::new(tcp, cert.server_config().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(fibreplane_lab::erp::serve(listener, sim, async {
        let _ = rx.await;
    }));
    (addr, tx)
}

/// A provisioner on a fresh ACS store that reaches ERPNext at `url`, trusting `ca_file`.
async fn provisioner(
    dir: &tempfile::TempDir,
    url: String,
    ca_file: Option<PathBuf>,
) -> Result<Arc<Provisioner>, ProvisionError> {
    let acs = Acs::open(AcsConfig {
        data_dir: dir.path().join("store"),
        cpe_auth: CpeAuthMode::None,
        ..AcsConfig::default()
    })
    .await
    .unwrap();
    let config = ProvisionerConfig {
        erp: ErpConfig {
            base_url: url,
            ca_file,
            api_key: API_KEY.into(),
            api_secret: Secret::new(API_SECRET),
            retries: 0,
            timeout: Duration::from_secs(5),
            ..ErpConfig::default()
        },
        ..ProvisionerConfig::default()
    };
    Provisioner::new(acs, config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_over_https_needs_the_erpnext_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("ISP private CA").unwrap();
    let ca_file = ca.write_ca(dir.path(), "erp-ca.pem").unwrap();
    let (addr, _stop) = https_erp(&ca, 3).await;
    let url = format!("https://{addr}");

    let with_ca = provisioner(&dir, url.clone(), Some(ca_file))
        .await
        .expect("provisioner");
    let report = with_ca.sync_once(true).await.expect("sync over HTTPS");
    assert_eq!(report.rows, 3, "every record read over TLS");
    assert_eq!(with_ca.summary()["erp_failures"], 0);
    drop(with_ca);

    let other = tempfile::tempdir().unwrap();
    let without = provisioner(&other, url, None).await.expect("provisioner");
    let err = without.sync_once(true).await.unwrap_err();
    assert!(
        matches!(&err, ProvisionError::Tls(why) if why.contains("invalid peer certificate")),
        "{err:?}"
    );
    let said = err.to_string();
    assert!(
        said.starts_with("ERPNext over TLS: invalid peer certificate")
            && said.contains("provisioner.erp_ca_file"),
        "{said}"
    );
    assert!(!err.is_transient(), "a refused certificate is not retried");
}

#[tokio::test]
async fn an_unusable_erpnext_ca_file_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("erp-ca.pem");
    std::fs::write(&bad, "not PEM\n").unwrap();
    let Err(err) = provisioner(&dir, "https://127.0.0.1:9".into(), Some(bad)).await else {
        panic!("an unusable CA file must be refused")
    };
    let said = err.to_string();
    assert!(
        said.contains("erp-ca.pem") && said.contains("no PEM"),
        "{said}"
    );
}
