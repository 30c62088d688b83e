//! `fibreplane olt poll`: polls one OLT once and prints one JSON line per ONU (or a table).
//!
//! Credentials: the community comes from `--community-file`, `--community-env VAR`, or the
//! `FIBREPLANE_OLT_COMMUNITY` variable. `--community C` is accepted because operators expect it
//! (and the issue asks for it), but any local user can read argv in the process list, so it
//! warns unless C is the well-known lab default `public`. v3 passwords come only from the
//! environment or files.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Subcommand, ValueEnum};
use olt_poller::{
    AuthProtocol, Credentials, OltConfig, OltId, PrivProtocol, Secret, SnmpTarget, V3Credentials,
    VendorChoice, poll_once, walk::WalkLimits,
};

/// `fibreplane olt …`.
#[derive(Debug, clap::Args)]
pub(crate) struct OltArgs {
    #[command(subcommand)]
    command: OltCommand,
}

#[derive(Debug, Subcommand)]
enum OltCommand {
    /// Polls one OLT once and prints its ONUs.
    Poll(PollArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum VersionArg {
    #[value(name = "2c")]
    V2c,
    #[value(name = "3")]
    V3,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum V3AuthArg {
    Sha1,
    Sha256,
}

#[derive(Debug, clap::Args)]
struct PollArgs {
    /// OLT address.
    #[arg(long)]
    host: IpAddr,
    /// SNMP UDP port.
    #[arg(long, default_value_t = 161)]
    port: u16,
    /// Vendor profile: huawei, zte, auto (by sysObjectID), or a profile file (.toml).
    #[arg(long, default_value = "auto")]
    vendor: String,
    /// Firmware state map of the profile (ZTE: v2 or mib).
    #[arg(long)]
    firmware: Option<String>,
    /// SNMP version.
    #[arg(long, value_enum, default_value_t = VersionArg::V2c)]
    version: VersionArg,
    /// v2c community on the command line (visible in the process list: prefer the options below).
    #[arg(long)]
    community: Option<String>,
    /// Environment variable holding the v2c community (default FIBREPLANE_OLT_COMMUNITY).
    #[arg(long)]
    community_env: Option<String>,
    /// File holding the v2c community.
    #[arg(long)]
    community_file: Option<PathBuf>,
    /// v3 user.
    #[arg(long)]
    v3_user: Option<String>,
    /// v3 authentication protocol.
    #[arg(long, value_enum, default_value_t = V3AuthArg::Sha1)]
    v3_auth: V3AuthArg,
    /// File holding the v3 authentication password (else FIBREPLANE_OLT_V3_AUTH_PASS).
    #[arg(long)]
    v3_auth_file: Option<PathBuf>,
    /// File holding the v3 AES privacy password (else FIBREPLANE_OLT_V3_PRIV_PASS; none: authNoPriv).
    #[arg(long)]
    v3_priv_file: Option<PathBuf>,
    /// Per-request timeout in milliseconds.
    #[arg(long, default_value_t = 2000)]
    timeout_ms: u64,
    /// Retries per request.
    #[arg(long, default_value_t = 2)]
    retries: u32,
    /// Print one JSON object per ONU per line.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(args: OltArgs) -> anyhow::Result<()> {
    match args.command {
        OltCommand::Poll(p) => {
            let out = poll(&p).await?;
            print!("{out}");
            Ok(())
        }
    }
}

fn from_file_or_env(file: Option<&PathBuf>, env: &str) -> anyhow::Result<Option<Secret>> {
    if let Some(p) = file {
        let s = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        return Ok(Some(Secret::new(s.trim_end_matches(['\r', '\n']))));
    }
    Ok(std::env::var(env)
        .ok()
        .filter(|s| !s.is_empty())
        .map(Secret::new))
}

fn credentials(p: &PollArgs) -> anyhow::Result<Credentials> {
    Ok(match p.version {
        VersionArg::V2c => {
            let env = p
                .community_env
                .as_deref()
                .unwrap_or("FIBREPLANE_OLT_COMMUNITY");
            let community = match (
                &p.community,
                from_file_or_env(p.community_file.as_ref(), env)?,
            ) {
                (Some(_), Some(_)) => bail!("give the community one way only"),
                (Some(c), None) => {
                    if c != "public" {
                        tracing::warn!(
                            "--community is visible to every local user in the process list; \
                             use --community-file or FIBREPLANE_OLT_COMMUNITY"
                        );
                    }
                    Secret::new(c.clone())
                }
                (None, Some(s)) => s,
                (None, None) => bail!(
                    "no community: use --community-file, --community-env VAR or FIBREPLANE_OLT_COMMUNITY"
                ),
            };
            Credentials::V2c { community }
        }
        VersionArg::V3 => {
            let user = p.v3_user.clone().context("--version 3 needs --v3-user")?;
            let auth_password =
                from_file_or_env(p.v3_auth_file.as_ref(), "FIBREPLANE_OLT_V3_AUTH_PASS")?.context(
                    "no v3 auth password: --v3-auth-file or FIBREPLANE_OLT_V3_AUTH_PASS",
                )?;
            let privacy = from_file_or_env(p.v3_priv_file.as_ref(), "FIBREPLANE_OLT_V3_PRIV_PASS")?
                .map(|s| (PrivProtocol::Aes128, s));
            Credentials::V3(V3Credentials {
                user,
                auth: match p.v3_auth {
                    V3AuthArg::Sha1 => AuthProtocol::Sha1,
                    V3AuthArg::Sha256 => AuthProtocol::Sha256,
                },
                auth_password,
                privacy,
            })
        }
    })
}

/// Polls once and renders the ONUs (one JSON object per line with `--json`).
async fn poll(p: &PollArgs) -> anyhow::Result<String> {
    let cfg = OltConfig {
        id: OltId::new(format!("{}:{}", p.host, p.port))?,
        target: SnmpTarget {
            addr: SocketAddr::new(p.host, p.port),
            credentials: credentials(p)?,
            timeout: Duration::from_millis(p.timeout_ms.max(1)),
            retries: p.retries,
        },
        vendor: VendorChoice::parse(&p.vendor)?,
        firmware: p.firmware.clone(),
        interval: Duration::from_secs(60),
    };
    let snap = poll_once(&cfg, WalkLimits::default())
        .await
        .with_context(|| format!("polling {}", cfg.target.addr))?;
    let mut out = String::new();
    for onu in &snap.onus {
        if p.json {
            let mut v = serde_json::to_value(onu)?;
            if let Some(m) = v.as_object_mut() {
                m.insert("olt".into(), serde_json::json!(snap.olt));
                m.insert("vendor".into(), serde_json::json!(snap.vendor));
                m.insert("pon".into(), serde_json::json!(onu.port.to_string()));
            }
            out.push_str(&v.to_string());
        } else {
            let lvl = |d: Option<olt_poller::Dbm>| {
                d.map_or_else(|| "-".to_owned(), |d| format!("{:.2}", d.0))
            };
            out.push_str(&format!(
                "{:<8} {:>3} {:<16} {:<28} rx {:>7} tx {:>6} olt-rx {:>7}",
                onu.port.to_string(),
                onu.key.onu_id,
                onu.serial.as_deref().unwrap_or("-"),
                format!("{:?}", onu.state),
                lvl(onu.rx_dbm),
                lvl(onu.tx_dbm),
                lvl(onu.olt_rx_dbm)
            ));
        }
        out.push('\n');
    }
    tracing::info!(
        onus = snap.onus.len(),
        requests = snap.stats.requests,
        timeouts = snap.stats.timeouts,
        vendor = %snap.vendor,
        "polled"
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use fibreplane_lab::olt::{self, OltSimConfig, SimVendor};

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        command: OltCommand,
    }

    fn args(extra: &[&str]) -> PollArgs {
        let mut argv = vec!["t", "poll", "--host", "127.0.0.1"];
        argv.extend_from_slice(extra);
        match Cli::parse_from(argv).command {
            OltCommand::Poll(p) => p,
        }
    }

    #[test]
    fn community_sources() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c");
        std::fs::write(&f, "from-file\n").unwrap();
        let p = args(&["--community-file", f.to_str().unwrap()]);
        match credentials(&p).unwrap() {
            Credentials::V2c { community } => assert_eq!(community.expose(), "from-file"),
            Credentials::V3(_) => panic!("v2c expected"),
        }
        let p = args(&["--community", "x", "--community-file", f.to_str().unwrap()]);
        assert!(credentials(&p).is_err());
        let p = args(&["--community-env", "FIBREPLANE_TEST_SURELY_UNSET"]);
        let e = credentials(&p).unwrap_err().to_string();
        assert!(e.contains("no community"), "{e}");
        let p = args(&["--version", "3"]);
        assert!(
            credentials(&p)
                .unwrap_err()
                .to_string()
                .contains("--v3-user")
        );
    }

    #[tokio::test]
    async fn polls_olt_sim_and_prints_one_json_line_per_onu() {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (_stop, rx) = tokio::sync::watch::channel(false);
        let config = OltSimConfig {
            vendor: SimVendor::Zte,
            ports: 2,
            onus_per_port: 4,
            serial_offset: 40,
            ..OltSimConfig::default()
        };
        let sim = olt::start(socket, &config, rx).unwrap();
        let port = sim.addr().port().to_string();
        let out = poll(&args(&[
            "--port",
            &port,
            "--community",
            "public",
            "--vendor",
            "zte",
            "--json",
        ]))
        .await
        .unwrap();
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 8);
        assert_eq!(lines[0]["serial"], "FPSIM00000040");
        assert_eq!(lines[0]["vendor"], "zte");
        assert_eq!(lines[0]["pon"], "0/1/1");
        assert!(lines.iter().all(|l| l["state"].is_string()));
    }
}
