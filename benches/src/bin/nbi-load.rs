//! NBI benchmark: imports N GenieACS device documents through the migration path
//! (`nbi::import`, streamed, batched store writes), then measures the GenieACS-compatible NBI's
//! latency over loopback HTTP for the lookups operators and the seed gateway make: by serial
//! number, by MAC address, and a tag filter (the devices of one PON port).
//!
//! `cargo run -p fibreplane-benches --release --bin nbi-load -- [--devices 100000,1000000]
//! [--write-readme]`

use clap::Parser;
use fibreplane_benches::lookup::{Client, Lookups, measure_all};
use fibreplane_benches::seed::{PER_PORT, import};
use std::sync::Arc;

#[derive(Debug, Parser)]
struct Args {
    /// Store sizes to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "100000,1000000")]
    devices: Vec<usize>,
    /// Requests per lookup kind.
    #[arg(long, default_value_t = 2000)]
    requests: usize,
    /// Rewrite the results table in benches/README.md.
    #[arg(long)]
    write_readme: bool,
}

const TOKEN: &str = "bench-token";

struct Row {
    devices: usize,
    import_rate: f64,
    disk_mib: f64,
    serial: (f64, f64),
    mac: (f64, f64),
    tag: (f64, f64),
    inform: (f64, f64),
}

async fn run(n: usize, requests: usize) -> anyhow::Result<Row> {
    let dir = tempfile::tempdir()?;
    let config = acs::AcsConfig {
        data_dir: dir.path().to_owned(),
        cpe_auth: acs::CpeAuthMode::None,
        ..acs::AcsConfig::default()
    };
    let acs = acs::Acs::open(config).await?;
    let import_rate = import(&acs, n).await?;
    let disk_mib = fibreplane_benches::procs::dir_bytes(dir.path()) as f64 / (1 << 20) as f64;
    println!("{n} devices imported at {import_rate:.0}/s; store {disk_mib:.0} MiB");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let config = nbi::NbiConfig {
        access: nbi::Access::Token(nbi::Token::new(TOKEN)),
        fs_base_url: None,
        files: None,
    };
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(nbi::serve(Arc::clone(&acs), config, listener, async {
        let _ = rx.await;
    }));
    let mut client = Client::connect(addr, TOKEN).await?;
    let Lookups {
        serial,
        mac,
        tag,
        inform,
    } = measure_all(&mut client, n, requests).await?;
    let _ = stop.send(());
    server.await??;
    Ok(Row {
        devices: n,
        import_rate,
        disk_mib,
        serial,
        mac,
        tag,
        inform,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut rows = Vec::new();
    for &n in &args.devices {
        let row = run(n, args.requests).await?;
        println!(
            "{n}: serial p50/p99 {:.2}/{:.2} ms, MAC {:.2}/{:.2} ms, tag ({PER_PORT} devices) {:.2}/{:.2} ms, last-inform hour {:.2}/{:.2} ms",
            row.serial.0,
            row.serial.1,
            row.mac.0,
            row.mac.1,
            row.tag.0,
            row.tag.1,
            row.inform.0,
            row.inform.1
        );
        rows.push(row);
    }
    let mut table = String::from(
        "| Stored devices | Import rate | Store size | Serial lookup p50 / p99 | MAC lookup p50 / p99 | Tag filter (64 devices) p50 / p99 | Last-inform hour (n/720 devices) p50 / p99 |\n|---|---|---|---|---|---|---|\n",
    );
    for r in &rows {
        table.push_str(&format!(
            "| {} | {:.0} devices/s | {:.0} MiB | {:.2} / {:.2} ms | {:.2} / {:.2} ms | {:.2} / {:.2} ms | {:.2} / {:.2} ms |\n",
            r.devices, r.import_rate, r.disk_mib, r.serial.0, r.serial.1, r.mac.0, r.mac.1, r.tag.0, r.tag.1, r.inform.0, r.inform.1
        ));
    }
    print!("\n{table}");
    if args.write_readme {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let (start, end) = ("<!-- nbi-load:start -->", "<!-- nbi-load:end -->");
        let devices: Vec<String> = args.devices.iter().map(usize::to_string).collect();
        let body = format!(
            "{start}\nCommand: `cargo run -p fibreplane-benches --release --bin nbi-load -- --devices {} --requests {} --write-readme` (target: p99 ≤ 5 ms for indexed lookups at 1,000,000 devices).\n\n{table}{end}",
            devices.join(","),
            args.requests
        );
        let new = match (text.find(start), text.find(end)) {
            (Some(a), Some(b)) if a < b => {
                format!("{}{body}{}", &text[..a], &text[b + end.len()..])
            }
            _ => format!("{text}\n## NBI (`nbi-load`)\n\n{body}\n"),
        };
        std::fs::write(&path, new)?;
    }
    Ok(())
}
