//! The poller against a real, independent agent: PyPI snmpsim serving the recordings that
//! lab/snmprec/gen_olt_snmprec.py generates. Expectations come from the generator's documented
//! scenario, recomputed here.

use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use olt_poller::{Dbm, DownCause, OltError, OnuState, poll_once, walk::WalkLimits};

use super::support::{free_udp_port, olt, repo_root, tools_dir, v2c};

/// snmpsim as a child process, killed (by its pid) on drop.
struct SnmpSim {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for SnmpSim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

async fn start_snmpsim() -> SnmpSim {
    let bin = tools_dir().join("snmpsim-venv/bin/snmpsim-command-responder");
    assert!(
        bin.exists(),
        "{} is missing: run scripts/deps/snmp.sh",
        bin.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cache = dir.path().join("cache");
    let status = Command::new("python3")
        .arg(repo_root().join("lab/snmprec/gen_olt_snmprec.py"))
        .arg(&data)
        .status()
        .expect("python3 runs the snmprec generator");
    assert!(status.success(), "gen_olt_snmprec.py failed");
    std::fs::create_dir(&cache).unwrap();
    // snmpsim drops privileges to nobody when run as root: it must read the data and write the
    // cache.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    let port = free_udp_port();
    let mut cmd = Command::new(bin);
    cmd.arg(format!("--data-dir={}", data.display()))
        .arg(format!("--cache-dir={}", cache.display()))
        .arg(format!("--agent-udpv4-endpoint=127.0.0.1:{port}"))
        .args(["--logging-method=null"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if is_root() {
        cmd.args(["--process-user=nobody", "--process-group=nogroup"]);
    }
    let child = cmd.spawn().expect("snmpsim starts");
    let sim = SnmpSim {
        child,
        port,
        _dir: dir,
    };
    // snmpsim indexes its data before it listens: wait until it answers.
    let target = v2c(([127, 0, 0, 1], port).into(), "huawei-olt");
    for _ in 0..120 {
        let mut t = target.clone();
        t.timeout = Duration::from_millis(250);
        t.retries = 0;
        let root = "1.3.6.1.2.1.1".parse().unwrap();
        if olt_poller::walk_columns(&t, vec![root], WalkLimits::default())
            .await
            .is_ok()
        {
            return sim;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("snmpsim did not answer within 60 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poller_reads_snmpsim_recordings() {
    let sim = start_snmpsim().await;
    let addr = ([127, 0, 0, 1], sim.port).into();

    // Huawei, detected by sysObjectID.
    let snap = poll_once(
        &olt("hw", v2c(addr, "huawei-olt"), "auto"),
        WalkLimits::default(),
    )
    .await
    .unwrap();
    assert_eq!(snap.vendor, "huawei");
    assert_eq!(snap.onus.len(), 512);
    assert_eq!(snap.ports.len(), 16);
    let port_of = |slot, port| {
        snap.onus
            .iter()
            .filter(move |o| o.port.slot == slot && o.port.port == port)
    };
    // PON 0/1/3: a fibre cut.
    assert!(port_of(1, 3).all(|o| o.state
        == OnuState::Offline {
            cause: DownCause::Los
        }));
    assert_eq!(port_of(1, 3).count(), 32);
    // PON 0/2/5: 20 dying gasps with their DG time.
    let dg: Vec<_> = port_of(2, 5)
        .filter(|o| {
            o.state
                == OnuState::Offline {
                    cause: DownCause::DyingGasp,
                }
        })
        .collect();
    assert_eq!(dg.len(), 20);
    assert!(
        dg.iter()
            .all(|o| o.dying_gasp_time.as_ref().unwrap().0 == "2026-11-20T03:14:00")
    );
    let single = |slot, port, ont| port_of(slot, port).find(|o| o.key.onu_id == ont).unwrap();
    assert_eq!(
        single(1, 0, 7).state,
        OnuState::Offline {
            cause: DownCause::Reset
        }
    );
    assert_eq!(single(1, 0, 7).raw_cause, Some(9));
    assert_eq!(
        single(2, 1, 30).state,
        OnuState::Offline {
            cause: DownCause::Los
        }
    );
    let offline = snap.onus.iter().filter(|o| o.state.is_offline()).count();
    assert_eq!(offline, 32 + 20 + 2);
    // Levels of every online ONT, recomputed from the generator's formulas; sentinels are None.
    for o in &snap.onus {
        let (slot, port, ont) = (o.port.slot, o.port.port, o.key.onu_id);
        assert_eq!(
            o.port_name.as_deref(),
            Some(format!("GPON 0/{slot}/{port}").as_str())
        );
        assert_eq!(
            o.serial.as_deref(),
            Some(format!("TPLG{slot:02X}{port:02X}{ont:04X}").as_str())
        );
        assert_eq!(
            o.description.as_deref(),
            Some(format!("cust-{slot}-{port}-{ont}").as_str())
        );
        assert!(o.key.if_index > 1 << 31);
        if o.state == OnuState::Online {
            let rx = -f64::from(1500 + (slot * 1000 + port * 37 + ont * 13) % 1200) / 100.0;
            assert_eq!(o.rx_dbm, Some(Dbm(rx)), "{o:?}");
            assert_eq!(o.tx_dbm, Some(Dbm(f64::from(200 + ont) / 100.0)));
            let olt_rx = (f64::from(10_000 - 2000 - ont * 10) - 10_000.0) / 100.0;
            assert_eq!(o.olt_rx_dbm, Some(Dbm(olt_rx)));
            assert_eq!(
                o.last_change().unwrap().0,
                format!("2026-11-01T08:{:02}:00", ont % 60)
            );
        } else {
            assert_eq!((o.rx_dbm, o.tx_dbm, o.olt_rx_dbm), (None, None, None));
        }
    }

    // ZTE, with the V2.x phase numbering.
    let snap = poll_once(
        &olt("zte", v2c(addr, "zte-olt"), "zte"),
        WalkLimits::default(),
    )
    .await
    .unwrap();
    assert_eq!(snap.onus.len(), 64);
    for o in &snap.onus {
        let (port, onu) = (o.port.port, o.key.onu_id);
        assert_eq!(o.port.slot, 1);
        assert_eq!(
            o.serial.as_deref(),
            Some(format!("ZTEG{:08X}", port * 1000 + onu).as_str())
        );
        match (port, onu) {
            (2, _) => assert_eq!(
                o.state,
                OnuState::Offline {
                    cause: DownCause::Los
                }
            ),
            (3, 5) => assert_eq!(
                o.state,
                OnuState::Offline {
                    cause: DownCause::DyingGasp
                }
            ),
            _ => {
                assert_eq!(o.state, OnuState::Online);
                let rx = -(18.0 + f64::from(onu) * 0.25);
                assert!((o.rx_dbm.unwrap().0 - rx).abs() < 0.0015, "{o:?}");
                assert_eq!(o.tx_dbm, Some(Dbm(2.5)));
                assert_eq!(
                    o.olt_rx_dbm,
                    Some(Dbm(f64::from(-21_000 - onu as i32 * 100) / 1000.0))
                );
            }
        }
    }
    // The same table under the MIB's 0-based numbering reads differently: 4 is dying gasp there.
    let mut cfg = olt("zte-mib", v2c(addr, "zte-olt"), "zte");
    cfg.firmware = Some("mib".into());
    let mib = poll_once(&cfg, WalkLimits::default()).await.unwrap();
    assert!(mib.onus.iter().filter(|o| o.port.port == 1).all(|o| o.state
        == OnuState::Offline {
            cause: DownCause::DyingGasp
        }));

    // An unknown vendor is a clear error naming the sysObjectID.
    let err = poll_once(
        &olt("nokia", v2c(addr, "unknown-olt"), "auto"),
        WalkLimits::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, OltError::UnknownVendor { .. }), "{err}");
    assert!(err.to_string().contains("1.3.6.1.4.1.637.61.1"), "{err}");

    // A wrong community is a timeout (agents do not answer), not a hang or a panic.
    let mut bad = v2c(addr, "no-such-community");
    bad.timeout = Duration::from_millis(200);
    bad.retries = 1;
    let err = poll_once(&olt("bad", bad, "huawei"), WalkLimits::default())
        .await
        .unwrap_err();
    assert!(matches!(err, OltError::Timeout { attempts: 2 }), "{err}");
}
