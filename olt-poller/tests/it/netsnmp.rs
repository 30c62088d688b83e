//! olt-sim against the real net-snmp tools (Debian `snmp`): the agent must answer snmpget and
//! snmpbulkwalk (v2c and v3 authPriv) correctly, and the poller must read exactly what net-snmp
//! reads from the same agent. Credentials reach net-snmp through a snmp.conf file, not argv.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use fibreplane_lab::olt::{SimAuth, SimVendor};
use olt_poller::{
    AuthProtocol, Credentials, Oid, OltError, PrivProtocol, Secret, SnmpTarget, SnmpValue,
    V3Credentials, poll_once, walk::WalkLimits, walk_columns,
};

use super::support::{debian_tool, olt, sim_config, start_sim, v2c};

const AUTH_PASS: &str = "lab-auth-pass-1";
const PRIV_PASS: &str = "lab-priv-pass-1";

/// Runs a net-snmp tool with a private snmp.conf holding the credentials.
fn net_snmp(tool: &str, conf: &str, args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("snmp.conf"), conf).unwrap();
    let out = Command::new(debian_tool(tool))
        .env("SNMPCONFPATH", dir.path())
        .env("MIBS", "")
        .env("HOME", dir.path())
        .args(["-On", "-Oe", "-t", "2", "-r", "1"])
        .args(args)
        .output()
        .expect("net-snmp runs");
    assert!(
        out.status.success(),
        "{tool} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn v2c_conf(community: &str) -> String {
    format!("defVersion 2c\ndefCommunity {community}\n")
}

fn v3_conf(auth: &str) -> String {
    format!(
        "defVersion 3\ndefSecurityName fpuser\ndefSecurityLevel authPriv\ndefAuthType {auth}\n\
         defPrivType AES\ndefAuthPassphrase {AUTH_PASS}\ndefPrivPassphrase {PRIV_PASS}\n"
    )
}

/// Parses `-On` output lines `.1.3… = INTEGER: -1628` into OID → value text. net-snmp adds a
/// line for the endOfMibView that ends a walk at the end of the agent's MIB: not a row.
fn parse_lines(out: &str) -> BTreeMap<Oid, String> {
    out.lines()
        .filter(|l| !l.contains("No more variables left in this MIB View"))
        .filter_map(|l| {
            let (oid, v) = l.split_once(" = ")?;
            Some((oid.parse().ok()?, v.to_owned()))
        })
        .collect()
}

/// The same value as net-snmp prints it, for the types olt-sim serves.
fn as_net_snmp(v: &SnmpValue) -> String {
    match v {
        SnmpValue::Integer(i) => format!("INTEGER: {i}"),
        SnmpValue::Octets(b) if b.iter().all(|c| c.is_ascii_graphic() || *c == b' ') => {
            format!("STRING: \"{}\"", String::from_utf8_lossy(b))
        }
        SnmpValue::Octets(b) => format!(
            "Hex-STRING: {} ",
            b.iter()
                .map(|x| format!("{x:02X}"))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        SnmpValue::ObjectId(o) => format!("OID: .{o}"),
        SnmpValue::Timeticks(t) => format!("Timeticks: ({t})"),
        other => format!("{other:?}"),
    }
}

async fn compare_walk(target: &SnmpTarget, addr: &str, conf: &str, root: &str) -> usize {
    let ours = walk_columns(target, vec![root.parse().unwrap()], WalkLimits::default())
        .await
        .unwrap()
        .0
        .remove(0);
    let theirs = parse_lines(&net_snmp("snmpbulkwalk", conf, &["-Cr25", addr, root]));
    assert_eq!(ours.len(), theirs.len(), "row counts differ under {root}");
    for vb in &ours {
        let t = theirs
            .get(&vb.oid)
            .unwrap_or_else(|| panic!("net-snmp lacks {}", vb.oid));
        // net-snmp wraps long hex dumps and appends a human form to TimeTicks: compare prefixes.
        let ours_text = as_net_snmp(&vb.value);
        let (a, b) = (ours_text.trim_end(), t.trim_end());
        assert!(
            a.starts_with(b) || b.starts_with(a),
            "{}: net-snmp {t:?}, poller {ours_text:?}",
            vb.oid
        );
    }
    ours.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn net_snmp_reads_olt_sim_v2c_like_the_poller() {
    for vendor in [SimVendor::Huawei, SimVendor::Zte] {
        let sim = start_sim(sim_config(vendor, 4, 16)).await;
        let addr = sim.handle.addr();
        let a = addr.to_string();
        let conf = v2c_conf("lab-community");
        let get = net_snmp(
            "snmpget",
            &conf,
            &[
                &a,
                "1.3.6.1.2.1.1.2.0",
                "1.3.6.1.2.1.1.9.0",
                "1.3.6.1.2.1.31.1.1.1.1.7",
            ],
        );
        let want = match vendor {
            SimVendor::Huawei => ".1.3.6.1.4.1.2011.2.248",
            SimVendor::Zte => ".1.3.6.1.4.1.3902.1082.1001.320",
        };
        assert!(get.contains(&format!("OID: {want}")), "{get}");
        assert!(get.contains("No Such Object"), "{get}");
        assert!(get.contains("No Such Instance"), "{get}");
        let target = v2c(addr, "lab-community");
        let root = match vendor {
            SimVendor::Huawei => "1.3.6.1.4.1.2011.6.128.1.1.2",
            SimVendor::Zte => "1.3.6.1.4.1.3902",
        };
        let rows = compare_walk(&target, &a, &conf, root).await;
        assert_eq!(rows, 64 * if vendor == SimVendor::Huawei { 10 } else { 8 });
        compare_walk(&target, &a, &conf, "1.3.6.1.2.1").await;
    }
}

fn v3_target(addr: std::net::SocketAddr, auth: AuthProtocol, auth_pass: &str) -> SnmpTarget {
    SnmpTarget {
        addr,
        credentials: Credentials::V3(V3Credentials {
            user: "fpuser".into(),
            auth,
            auth_password: Secret::new(auth_pass),
            privacy: Some((PrivProtocol::Aes128, Secret::new(PRIV_PASS))),
        }),
        timeout: std::time::Duration::from_millis(1000),
        retries: 1,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3_auth_priv_against_net_snmp_and_the_poller() {
    for (sim_auth, ours, theirs) in [
        (SimAuth::Sha1, AuthProtocol::Sha1, "SHA"),
        (SimAuth::Sha256, AuthProtocol::Sha256, "SHA-256"),
    ] {
        let mut cfg = sim_config(SimVendor::Huawei, 2, 8);
        cfg.community = None;
        cfg.v3_user = Some((
            "fpuser".into(),
            sim_auth,
            AUTH_PASS.into(),
            Some(PRIV_PASS.into()),
        ));
        let sim = start_sim(cfg).await;
        let addr = sim.handle.addr();
        let a = addr.to_string();
        let target = v3_target(addr, ours, AUTH_PASS);
        let rows = compare_walk(
            &target,
            &a,
            &v3_conf(theirs),
            "1.3.6.1.4.1.2011.6.128.1.1.2.46.1.15",
        )
        .await;
        assert_eq!(rows, 16);
        let snap = poll_once(&olt("v3", target, "auto"), WalkLimits::default())
            .await
            .unwrap();
        assert_eq!(snap.onus.len(), 16);

        // Wrong password: an error without the secret in it, never a panic or a hang.
        let err = poll_once(
            &olt("v3", v3_target(addr, ours, "wrong-password-9"), "auto"),
            WalkLimits::default(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, OltError::Security(_) | OltError::Timeout { .. }),
            "{err}"
        );
        assert!(!format!("{err} {err:?}").contains("wrong-password-9"));
        // net-snmp agrees that it is an authentication failure.
        let bad = Command::new(debian_tool("snmpget"))
            .env("SNMPCONFPATH", Path::new("/nonexistent"))
            .args([
                "-v3",
                "-l",
                "authPriv",
                "-u",
                "fpuser",
                "-a",
                theirs,
                "-A",
                "wrong-password-9",
            ])
            .args([
                "-x",
                "AES",
                "-X",
                PRIV_PASS,
                "-t",
                "1",
                "-r",
                "0",
                &a,
                "1.3.6.1.2.1.1.2.0",
            ])
            .output()
            .unwrap();
        assert!(!bad.status.success());
        assert!(String::from_utf8_lossy(&bad.stderr).contains("Authentication failure"));
    }
}
