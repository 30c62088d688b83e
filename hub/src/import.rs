//! `fibreplane import genieacs`: moves a GenieACS database into the embedded store from
//! `mongoexport` output (JSON lines or one JSON array per collection), streaming, in batches,
//! idempotently (a device's record and tree are replaced, so running it twice changes nothing).

use acs::{Acs, AcsConfig, CpeAuthMode, StoreBackend};
use acs_store::Op;
use anyhow::{Context, bail};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Largest single document accepted (a fully refreshed XX230v is ~0.6 MB in GenieACS).
const MAX_DOC: usize = 16 << 20;
/// Devices written per store transaction.
const BATCH: usize = 64;

#[derive(Debug, clap::Args)]
pub(crate) struct ImportArgs {
    #[command(subcommand)]
    source: Source,
}

#[derive(Debug, clap::Subcommand)]
enum Source {
    /// From `mongoexport` files of a GenieACS database.
    Genieacs(GenieacsArgs),
    /// Adoptions from a file: one device per line, `SERIAL [ADDRESS | CONNECTION-REQUEST-URL]...`
    /// (`#` comments). Each named device is accepted once without a verified password, only from
    /// those addresses (and the ones its record knows), and re-keyed.
    Adoption(AdoptionArgs),
}

#[derive(Debug, clap::Args)]
struct AdoptionArgs {
    /// Directory of the store to write (the ACS must not be running on it).
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
    /// Storage engine.
    #[arg(long, value_enum, default_value_t = crate::cli::BackendArg::Redb)]
    store: crate::cli::BackendArg,
    /// The adoption file.
    file: PathBuf,
}

#[derive(Debug, clap::Args)]
struct GenieacsArgs {
    /// Directory of the store to write (the ACS must not be running on it).
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
    /// Storage engine.
    #[arg(long, value_enum, default_value_t = crate::cli::BackendArg::Redb)]
    store: crate::cli::BackendArg,
    /// `devices` collection export.
    #[arg(long)]
    devices: Option<PathBuf>,
    /// `presets` collection export.
    #[arg(long)]
    presets: Option<PathBuf>,
    /// `provisions` collection export.
    #[arg(long)]
    provisions: Option<PathBuf>,
    /// `virtualParameters` collection export.
    #[arg(long)]
    virtual_parameters: Option<PathBuf>,
    /// `config` collection export: the `cwmp.*` settings the ACS applies when it opens (those
    /// with one value for every device, and the authentication expressions `cwmp.auth` and
    /// `cwmp.connectionRequestAuth`, evaluated per device; settings it leaves out are named with
    /// the reason, and an authentication expression that cannot be evaluated is refused).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Directory of file contents named by their GenieACS file name (as `mongofiles get` writes
    /// them); metadata comes from --files-meta when given.
    #[arg(long)]
    files_dir: Option<PathBuf>,
    /// `fs.files` collection export, for the files' metadata.
    #[arg(long, requires = "files_dir")]
    files_meta: Option<PathBuf>,
}

/// Opens the store offline, for writing through the ACS's one writer.
async fn open(
    data_dir: &std::path::Path,
    store: crate::cli::BackendArg,
) -> anyhow::Result<std::sync::Arc<Acs>> {
    let config = AcsConfig {
        data_dir: data_dir.to_owned(),
        backend: match store {
            crate::cli::BackendArg::Redb => StoreBackend::Redb,
            crate::cli::BackendArg::Sled => StoreBackend::Sled,
        },
        cpe_auth: CpeAuthMode::None,
        ..AcsConfig::default()
    };
    Acs::open(config)
        .await
        .context("opening the store (is an ACS running on it?)")
}

/// `import adoption FILE`: records an adoption for every line.
async fn adoption(a: AdoptionArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&a.file)
        .with_context(|| format!("reading {}", a.file.display()))?;
    let entries = acs::credentials::parse_adoption_file(&text)
        .with_context(|| format!("in {}", a.file.display()))?;
    let acs = open(&a.data_dir, a.store).await?;
    let n = acs
        .adopt(&entries)
        .await
        .with_context(|| format!("in {}", a.file.display()))?;
    println!("{}", serde_json::json!({ "adoptions": n }));
    Ok(())
}

pub(crate) async fn run(args: ImportArgs) -> anyhow::Result<()> {
    let a = match args.source {
        Source::Genieacs(a) => a,
        Source::Adoption(a) => return adoption(a).await,
    };
    let acs = open(&a.data_dir, a.store).await?;
    let mut report = serde_json::Map::new();
    let mut failed = 0u64;
    if let Some(path) = &a.devices {
        let (n, bad) = devices(&acs, path).await?;
        report.insert("devices".into(), n.into());
        failed += bad;
    }
    for (path, collection) in [
        (&a.presets, "presets"),
        (&a.provisions, "provisions"),
        (&a.virtual_parameters, "virtual_parameters"),
        (&a.config, acs::genie::config::COLLECTION),
    ] {
        if let Some(path) = path {
            let (n, bad) = documents(&acs, path, collection).await?;
            report.insert(collection.into(), n.into());
            failed += bad;
        }
    }
    if let Some(dir) = &a.files_dir {
        let n = files(&acs, dir, a.files_meta.as_ref(), &a.data_dir).await?;
        report.insert("files".into(), n.into());
    }
    report.insert("failed".into(), failed.into());
    acs.flush_bookkeeping().await;
    println!("{}", serde_json::Value::Object(report));
    if failed > 0 {
        bail!("{failed} documents could not be imported (see the messages above)");
    }
    Ok(())
}

fn open_docs(
    path: &PathBuf,
) -> anyhow::Result<nbi::import::Documents<std::io::BufReader<std::fs::File>>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    Ok(nbi::import::Documents::new(
        std::io::BufReader::new(file),
        MAX_DOC,
    ))
}

/// Shows progress on stderr, at most twice a second.
struct Progress {
    what: &'static str,
    start: Instant,
    last: Instant,
}

impl Progress {
    fn new(what: &'static str) -> Self {
        let now = Instant::now();
        Self {
            what,
            start: now,
            last: now,
        }
    }

    fn show(&mut self, n: u64, force: bool) {
        if !force && self.last.elapsed() < Duration::from_millis(500) {
            return;
        }
        self.last = Instant::now();
        let rate = n as f64 / self.start.elapsed().as_secs_f64().max(1e-3);
        eprint!("\rimported {n} {} ({rate:.0}/s)", self.what);
        if force {
            eprintln!();
        }
        let _ = std::io::stderr().flush();
    }
}

async fn devices(acs: &Acs, path: &PathBuf) -> anyhow::Result<(u64, u64)> {
    let (mut done, mut bad) = (0u64, 0u64);
    let mut progress = Progress::new("devices");
    let mut batch = Vec::new();
    let mut in_batch = 0u64;
    for (i, doc) in open_docs(path)?.enumerate() {
        let converted = doc.and_then(|d| nbi::import::device(&d));
        let (meta, tree) = match converted {
            Ok(c) => c,
            Err(e) => {
                eprintln!("\r{}: document {}: {e}", path.display(), i + 1);
                bad += 1;
                continue;
            }
        };
        // Explicit credentials when GenieACS's tree holds them, else an adoption bound to what
        // the document says of the device (none when it names no address).
        let creds = nbi::import::credentials(&meta, &tree, acs.now_ms());
        batch.extend(nbi::import::store_ops(meta, &tree));
        batch.extend(creds);
        in_batch += 1;
        if in_batch == BATCH as u64 {
            acs.write(std::mem::take(&mut batch)).await?;
            done += in_batch;
            in_batch = 0;
            progress.show(done, false);
        }
    }
    if !batch.is_empty() {
        acs.write(batch).await?;
        done += in_batch;
    }
    progress.show(done, true);
    Ok((done, bad))
}

async fn documents(acs: &Acs, path: &PathBuf, collection: &str) -> anyhow::Result<(u64, u64)> {
    let (mut done, mut bad) = (0u64, 0u64);
    let mut ops = Vec::new();
    for (i, doc) in open_docs(path)?.enumerate() {
        let name = doc
            .as_ref()
            .ok()
            .and_then(|d| d.get("_id"))
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        match (doc, name) {
            (Ok(d), Some(name)) if collection == acs::genie::config::COLLECTION => {
                // A setting the ACS cannot take is said now, with the reason; an authentication
                // expression that cannot be evaluated is not stored (it would refuse every
                // session it decides).
                let body = d.to_string().into_bytes();
                let report = acs::genie::config::apply(
                    &mut AcsConfig::default(),
                    &[(name.clone(), body.clone())],
                );
                if let Some((key, why)) = report.refusing.first() {
                    eprintln!("{}: document {}: {key}: {why}", path.display(), i + 1);
                    bad += 1;
                    continue;
                }
                for (key, why) in &report.ignored {
                    eprintln!("{}: {key} is stored but not applied: {why}", path.display());
                }
                ops.push(Op::PutDoc {
                    collection: collection.to_owned(),
                    name,
                    body,
                });
                done += 1;
            }
            (Ok(d), Some(name)) => {
                ops.push(Op::PutDoc {
                    collection: collection.to_owned(),
                    name,
                    body: d.to_string().into_bytes(),
                });
                done += 1;
            }
            (Err(e), _) => {
                eprintln!("{}: document {}: {e}", path.display(), i + 1);
                bad += 1;
            }
            (Ok(_), None) => {
                eprintln!("{}: document {}: no string _id", path.display(), i + 1);
                bad += 1;
            }
        }
    }
    acs.write(ops).await?;
    Ok((done, bad))
}

async fn files(
    acs: &Acs,
    dir: &PathBuf,
    meta: Option<&PathBuf>,
    data_dir: &std::path::Path,
) -> anyhow::Result<u64> {
    let mut metadata = std::collections::HashMap::new();
    if let Some(path) = meta {
        for doc in open_docs(path)? {
            let doc = doc?;
            if let Some(name) = doc
                .get("filename")
                .or_else(|| doc.get("_id"))
                .and_then(|v| v.as_str())
            {
                metadata.insert(name.to_owned(), doc.get("metadata").cloned());
            }
        }
    }
    let store = nbi::files::FileStore::new(data_dir.join("files"))?;
    let mut n = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        if !entry.file_type()?.is_file() {
            continue;
        }
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let bytes = tokio::fs::read(entry.path()).await?;
        let (length, sha256) = store.put(&name, axum::body::Body::from(bytes)).await?;
        let meta: Vec<(String, nbi::doc::Node)> = match metadata.get(&name) {
            Some(Some(serde_json::Value::Object(m))) => m
                .iter()
                .map(|(k, v)| (k.clone(), nbi::doc::Node::from_json(v)))
                .collect(),
            _ => Vec::new(),
        };
        let doc = nbi::files::document(&name, length, &sha256, acs.now_ms(), meta);
        acs.write(vec![Op::PutDoc {
            collection: nbi::files::COLLECTION.into(),
            name,
            body: doc.json().into_bytes(),
        }])
        .await?;
        n += 1;
    }
    Ok(n)
}
