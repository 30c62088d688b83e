use acs::{Acs, AcsConfig, CpeAuthMode, Secret};
use fibreplane_lab::{CpeAuth, Credential, Fleet, SimConfig};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wave() {
    let dir = tempfile::tempdir().unwrap();
    let acs = Acs::open(AcsConfig {
        data_dir: dir.path().to_owned(),
        cpe_auth: CpeAuthMode::Digest,
        cpe_secret: Secret::new("s"),
        ..AcsConfig::default()
    })
    .unwrap();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(acs::server::serve(acs.clone(), l, None, std::future::pending()));
    let n: usize = std::env::var("N").ok().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let f = Fleet::start(SimConfig {
        acs_url: format!("http://{addr}/"),
        count: n,
        auth: CpeAuth::Digest(Credential::Secret("s".into())),
        stagger: Duration::ZERO,
        concurrency: 64,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let t = Instant::now();
    let r = f.run_once(Duration::from_secs(600)).await;
    eprintln!("{n} bootstraps in {:?}: ok {} failed {}", t.elapsed(), r.sessions_ok, r.sessions_failed);
}
