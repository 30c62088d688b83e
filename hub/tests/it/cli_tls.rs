//! The binary's TLS options as an operator uses them: `provision sync --erp-ca-file` against
//! erp-sim over HTTPS, and `modem serve --tls-cert/--tls-key` read over HTTPS with the CA that
//! signed its certificate. Certificates come from a test CA made here.

use fibreplane_lab::tls::{TestCa, TlsListener};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn provision_sync_reaches_erpnext_over_https_only_with_its_ca_file() {
    use fibreplane_lab::erp::{ErpSim, ErpSimConfig};
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("ERP CA").unwrap();
    let ca_file = ca.write_ca(dir.path(), "erp-ca.pem").unwrap();
    let cert = ca.issue(&["127.0.0.1"]).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = std::sync::Arc::new(ErpSim::new(&ErpSimConfig {
        seed: 9,
        devices: 4,
        api_key: "tls-key".into(),
        api_secret: "tls-erp-secret".into(),
    }));
    let addr = rt.block_on(async {
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let listener = TlsListener::new(tcp, cert.server_config().unwrap());
        tokio::spawn(fibreplane_lab::erp::serve(
            listener,
            sim.clone(),
            std::future::pending(),
        ));
        addr
    });
    let sync = |ca: Option<&std::path::Path>, data: &std::path::Path| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_fibreplane"));
        cmd.args(["provision", "sync", "--erp-api-key", "tls-key", "--erp-url"])
            .arg(format!("https://{addr}"))
            .arg("--data-dir")
            .arg(data)
            .env("FIBREPLANE_ERP_API_SECRET", "tls-erp-secret")
            .env_remove("FIBREPLANE_ERP_CA_FILE");
        if let Some(ca) = ca {
            cmd.arg("--erp-ca-file").arg(ca);
        }
        let out = cmd.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, stdout, stderr) = sync(Some(&ca_file), &dir.path().join("with"));
    assert!(ok, "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["rows"], 4, "{report}");

    let (ok, stdout, stderr) = sync(None, &dir.path().join("without"));
    assert!(!ok, "{stdout}");
    assert!(
        stderr.contains("ERPNext over TLS: invalid peer certificate")
            && stderr.contains("--erp-ca-file"),
        "{stderr}"
    );
}

/// `fibreplane modem serve` over TLS, killed on drop.
struct Bridge(std::process::Child);

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn modem_serve_speaks_https_with_its_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("bridge CA").unwrap();
    let ca_file = ca.write_ca(dir.path(), "bridge-ca.pem").unwrap();
    let (cert, key) = ca.issue(&["127.0.0.1"]).unwrap().write(dir.path()).unwrap();
    let allow = dir.path().join("allow.json");
    std::fs::write(
        &allow,
        r#"{"modems":[{"id":"FPSIM00000000","address":"127.0.0.1:9","password_env":"CLI_TLS_MODEM_PW"}]}"#,
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fibreplane"))
        .args(["modem", "serve", "--listen", "127.0.0.1:0", "--allow-list"])
        .arg(&allow)
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .env(
            "FIBREPLANE_MODEM_API_TOKENS",
            "bridge-cli-token-bridge-cli-token-0",
        )
        .env("CLI_TLS_MODEM_PW", "cli-tls-modem-pw")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _bridge = Bridge(child);
    let said: serde_json::Value = serde_json::from_str(line.trim()).expect("its address");
    assert_eq!(said["scheme"], "https", "{said}");
    let url = format!(
        "https://{}/modem/NOT-ALLOWED/device",
        said["modem_api_listen"].as_str().unwrap()
    );

    let rt = tokio::runtime::Runtime::new().unwrap();
    let get = |ca: Option<&std::path::Path>| {
        let client = acs::client_tls::https_client(acs::client_tls::verified(ca).unwrap());
        let req = axum::http::Request::get(url.as_str())
            .header(
                "authorization",
                "Bearer bridge-cli-token-bridge-cli-token-0",
            )
            .body(acs::client_tls::HttpsBody::default())
            .unwrap();
        rt.block_on(client.request(req))
    };
    // With the CA: TLS, then the bridge's own answer (the modem is not on its allow-list).
    let resp = get(Some(&ca_file)).expect("an HTTPS answer");
    assert_eq!(resp.status(), 404);
    // Without it: the certificate is refused.
    let err = get(None).expect_err("an unknown CA");
    let why = acs::client_tls::tls_failure(&err).expect("a TLS failure");
    assert!(why.contains("invalid peer certificate"), "{why}");
}
