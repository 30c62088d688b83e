//! Extensions (`ext(file, function, ...args)`) run out of process, as GenieACS runs them: one
//! long-lived Node.js child per extension file, started on its first call, with a request and
//! answer protocol of JSON lines (`ext_wrapper.js`, embedded here), and a timeout per call
//! (GenieACS's `EXT_TIMEOUT`, 3,000 ms) that becomes the fault `timeout` "Extension timed out".
//! A runtime that cannot start, an extension that fails to load or throws, and a child that
//! dies are faults of the call, never a stalled session. This module does IO (processes,
//! pipes, timers) and so lives behind the `ext` feature, outside the sans-IO core.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::oneshot;

use crate::types::Fault;

/// The child's program, evaluated by `node -e`.
const WRAPPER: &str = include_str!("ext_wrapper.js");

/// Where extensions are and how they run.
#[derive(Debug, Clone)]
pub struct ExtConfig {
    /// The extensions' directory (GenieACS's `EXT_DIR`).
    pub dir: PathBuf,
    /// The Node.js binary.
    pub node: PathBuf,
    /// How long one call may take (GenieACS's `EXT_TIMEOUT`, 3,000 ms).
    pub timeout: Duration,
}

impl ExtConfig {
    /// Extensions in `dir`, run by `node` from the `PATH`, with GenieACS's 3 s timeout.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            node: PathBuf::from("node"),
            timeout: Duration::from_millis(3000),
        }
    }
}

type Answer = Result<Value, Fault>;
type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Answer>>>>;

/// One extension file's child.
struct Proc {
    stdin: tokio::sync::Mutex<ChildStdin>,
    pending: Pending,
    alive: Arc<std::sync::atomic::AtomicBool>,
    // Held so the child is killed when the host forgets it.
    _child: Child,
}

/// The extension children of one ACS process. Cheap to share behind an `Arc`.
pub struct ExtensionHost {
    config: ExtConfig,
    procs: tokio::sync::Mutex<HashMap<String, Arc<Proc>>>,
    next_id: AtomicU64,
}

impl std::fmt::Debug for ExtensionHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtensionHost")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn ext_fault(message: impl Into<String>) -> Fault {
    Fault {
        code: "ext".into(),
        message: message.into(),
        detail: None,
    }
}

impl ExtensionHost {
    /// A host that starts children on demand.
    pub fn new(config: ExtConfig) -> Self {
        Self {
            config,
            procs: tokio::sync::Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
        }
    }

    /// Calls an extension: `args` are `ext()`'s arguments as strings (file, function, then the
    /// function's arguments). The value is the extension's answer, or a fault.
    pub async fn call(&self, args: &[String]) -> Result<Value, Fault> {
        let [file, function, rest @ ..] = args else {
            return Err(ext_fault(
                "ext() needs an extension file and a function name",
            ));
        };
        // GenieACS resolves the file inside its extension directory; a path that could leave
        // it is refused.
        if file.is_empty() || file.contains('/') || file.contains('\\') || file.starts_with('.') {
            return Err(ext_fault(format!("Invalid extension file name '{file}'")));
        }
        let proc = self.proc_for(file).await?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        if let Ok(mut p) = proc.pending.lock() {
            p.insert(id, tx);
        }
        let mut call = vec![Value::String(function.clone())];
        call.extend(rest.iter().cloned().map(Value::String));
        let line = format!("{}\n", serde_json::json!([id.to_string(), call]));
        let written = {
            let mut stdin = proc.stdin.lock().await;
            match stdin.write_all(line.as_bytes()).await {
                Ok(()) => stdin.flush().await,
                Err(e) => Err(e),
            }
        };
        if let Err(e) = written {
            self.forget(file, &proc).await;
            return Err(ext_fault(format!("Extension '{file}' is not running: {e}")));
        }
        match tokio::time::timeout(self.config.timeout, rx).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err(ext_fault(format!("Extension '{file}' exited"))),
            Err(_) => {
                if let Ok(mut p) = proc.pending.lock() {
                    p.remove(&id);
                }
                Err(Fault {
                    code: "timeout".into(),
                    message: "Extension timed out".into(),
                    detail: None,
                })
            }
        }
    }

    /// Stops every child.
    pub async fn shutdown(&self) {
        self.procs.lock().await.clear();
    }

    async fn forget(&self, file: &str, proc: &Arc<Proc>) {
        let mut procs = self.procs.lock().await;
        if procs.get(file).is_some_and(|p| Arc::ptr_eq(p, proc)) {
            procs.remove(file);
        }
    }

    async fn proc_for(&self, file: &str) -> Result<Arc<Proc>, Fault> {
        let mut procs = self.procs.lock().await;
        if let Some(p) = procs.get(file) {
            if p.alive.load(Ordering::Acquire) {
                return Ok(p.clone());
            }
            procs.remove(file);
        }
        let proc = Arc::new(self.spawn(file)?);
        procs.insert(file.to_string(), proc.clone());
        Ok(proc)
    }

    fn spawn(&self, file: &str) -> Result<Proc, Fault> {
        let mut child = Command::new(&self.config.node)
            .arg("-e")
            .arg(WRAPPER)
            .arg(&self.config.dir)
            .arg(file)
            .env("GENIEACS_EXT_DIR", &self.config.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                ext_fault(format!(
                    "Cannot start Node.js ({}) for extension '{file}': {e}",
                    self.config.node.display()
                ))
            })?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(ext_fault("extension child without pipes"));
        };
        let pending: Pending = Arc::default();
        let alive = Arc::new(std::sync::atomic::AtomicBool::new(true));
        tokio::spawn(read_answers(
            file.to_string(),
            stdout,
            pending.clone(),
            alive.clone(),
        ));
        let name = file.to_string();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::warn!(extension = %name, "{line}");
            }
        });
        Ok(Proc {
            stdin: tokio::sync::Mutex::new(stdin),
            pending,
            alive,
            _child: child,
        })
    }
}

/// Reads a child's answers until it exits, then fails whatever it left unanswered.
async fn read_answers(
    file: String,
    stdout: tokio::process::ChildStdout,
    pending: Pending,
    alive: Arc<std::sync::atomic::AtomicBool>,
) {
    let mut lines = BufReader::new(stdout).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let Ok(message) = serde_json::from_str::<Value>(&line) else {
            tracing::info!(extension = %file, "{line}");
            continue;
        };
        if message.get("exiting").is_some() {
            alive.store(false, Ordering::Release);
            continue;
        }
        if let Some(text) = message.get("log").and_then(Value::as_str) {
            tracing::info!(extension = %file, "{text}");
            continue;
        }
        let Some([id, fault, value]) = message
            .as_array()
            .map(Vec::as_slice)
            .and_then(|a| <&[Value; 3]>::try_from(a).ok())
        else {
            continue;
        };
        let Some(id) = id.as_str().and_then(|s| s.parse::<u64>().ok()) else {
            continue;
        };
        let answer = if fault.is_null() {
            Ok(value.clone())
        } else {
            Err(serde_json::from_value::<Fault>(fault.clone())
                .unwrap_or_else(|_| ext_fault(fault.to_string())))
        };
        let tx = pending.lock().ok().and_then(|mut p| p.remove(&id));
        if let Some(tx) = tx {
            let _ = tx.send(answer);
        }
    }
    alive.store(false, Ordering::Release);
    let left: Vec<_> = pending
        .lock()
        .map(|mut p| p.drain().map(|(_, tx)| tx).collect())
        .unwrap_or_default();
    for tx in left {
        let _ = tx.send(Err(ext_fault(format!("Extension '{file}' exited"))));
    }
}
