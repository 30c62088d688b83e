//! The engine: one QuickJS runtime and context, reused run after run on one thread, with the
//! sandbox (`sandbox.js`) evaluated once and each script compiled once. A run's CPU time is
//! bounded through QuickJS's interrupt handler reading the thread's CPU clock, and its heap
//! through the runtime's memory limit; a run stopped by either leaves the engine rebuilt
//! before the next run, so nothing a stopped script half-built survives.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::time::Duration;

use rquickjs::{CatchResultExt, CaughtError, Context, Function, Persistent, Runtime};
use serde::Deserialize;

use crate::clock::md532;
use crate::random::Arc4Random;
use crate::types::{
    Clear, Declaration, DeviceView, End, ExtCall, Fault, Kind, LogLine, Outcome, VirtualValue,
};

/// The sandbox, evaluated once per context.
const SANDBOX: &str = include_str!("sandbox.js");

/// Compiled scripts kept per engine before the cache is emptied (a script store rarely holds
/// more; an emptied cache only costs recompiling).
const MAX_COMPILED: usize = 512;
/// Runs between two measurements of the heap a run's cap is counted from. Measuring walks the
/// whole heap (7 % of a short run's CPU when done every run); between measurements the heap
/// only holds what runs left for the collector, a few KB against the 8 MiB cap.
const HEAP_MEASURE_EVERY: u32 = 256;

/// Per-run limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// CPU time of one run (GenieACS allows 50 ms of wall time).
    pub cpu: Duration,
    /// Bytes one run may allocate beyond what the engine held when it started.
    pub heap: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            cpu: Duration::from_millis(50),
            heap: 8 << 20,
        }
    }
}

/// Answers the sandbox's `Date.now("<cron>")`: the last time at or before `ms` that the cron
/// expression fired, or `None`. The ACS passes its own cron, so there is one.
pub type CronFn = Rc<dyn Fn(&str, f64) -> Option<f64>>;

/// A provision or virtual-parameter script, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    name: String,
    source: String,
}

impl Script {
    /// A script named `name` (the provision's or virtual parameter's `_id`).
    pub fn new(name: impl Into<String>, source: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            source: source.into(),
        }
    }

    /// The script's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// What a session keeps between the runs of its scripts: the reads each revision saw (so a
/// re-run sees at revision r what the first run saw there, as GenieACS's revisioned device
/// data gives it) and the extension results (`"<revision>: <args>"` keys).
#[derive(Debug, Clone, Default)]
pub struct SessionCache {
    reads: HashMap<(u32, String), std::sync::Arc<str>>,
    /// Extension results by key.
    pub extensions: BTreeMap<String, serde_json::Value>,
}

impl SessionCache {
    /// Bytes the cache holds (keys and JSON text; what a session keeps between runs).
    pub fn bytes(&self) -> usize {
        let reads: usize = self
            .reads
            .iter()
            .map(|((_, k), v)| 8 + k.len() + v.len())
            .sum();
        let ext: usize = self
            .extensions
            .iter()
            .map(|(k, v)| k.len() + v.to_string().len())
            .sum();
        reads + ext
    }

    /// Forgets everything: a new provisioning cycle (GenieACS collapses its revisions).
    pub fn reset(&mut self) {
        self.reads.clear();
        self.extensions.clear();
    }
}

/// One run's inputs.
#[derive(Debug, Clone, Copy)]
pub struct RunInput<'a> {
    /// Provision or virtual parameter.
    pub kind: Kind,
    /// The script's arguments (`args`): a JSON array.
    pub args: &'a serde_json::Value,
    /// The device id: the seed of `Math.random` and of `Date.now`'s offsets.
    pub device_id: &'a str,
    /// The session's time (ms since the epoch): `Date.now()` and `new Date()`.
    pub timestamp_ms: f64,
    /// GenieACS's start revision (0 for provisions).
    pub start_revision: u32,
    /// GenieACS's max revision: how many syncs the script's declarations already had.
    pub max_revision: u32,
    /// 0, or the `ext_counter` of the outcome that asked for extensions.
    pub ext_counter: i64,
}

/// Why an engine could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// QuickJS refused to start or to load the sandbox.
    #[error("script engine: {0}")]
    Js(#[from] rquickjs::Error),
}

/// Random state shared with the natives for the duration of one run.
#[derive(Default)]
struct RngState {
    device_id: String,
    rng: Option<Arc4Random>,
}

/// One thread's engine. Not `Send`: keep one per worker thread (see `with_thread_engine`).
pub struct Engine {
    limits: Limits,
    parts: Option<Parts>,
    cron: Option<CronFn>,
}

/// The QuickJS half, rebuilt after a run that hit a limit. Fields drop in order: the
/// persistent handles before the context, the context before the runtime (QuickJS checks that
/// a runtime it frees holds no live object).
struct Parts {
    runner: Persistent<Function<'static>>,
    /// Compiled scripts, each with whether it may reach the global object (`touches_global`).
    compiled: HashMap<(String, u64), (Persistent<Function<'static>>, bool)>,
    /// The heap a run's cap is counted from, and the runs since it was measured.
    heap_base: Option<(usize, u32)>,
    ctx: Context,
    rt: Runtime,
    deadline: Rc<Cell<Option<Duration>>>,
    interrupted: Rc<Cell<bool>>,
    rng: Rc<RefCell<RngState>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// The thread's CPU time so far.
fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        t.tv_sec.max(0) as u64,
        t.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

/// A seed for `Math.random.seed()` without an argument, which seedrandom draws from entropy.
fn entropy_seed() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(thread_cpu().as_nanos());
    format!("{:x}", h.finish())
}

impl Engine {
    /// An engine with these limits and, for `Date.now("<cron>")`, this cron.
    pub fn new(limits: Limits, cron: Option<CronFn>) -> Result<Self, EngineError> {
        let parts = Parts::new(cron.clone())?;
        Ok(Self {
            limits,
            parts: Some(parts),
            cron,
        })
    }

    /// Heap bytes the engine holds (runtime, context, sandbox, compiled scripts).
    pub fn heap_bytes(&self) -> u64 {
        self.parts
            .as_ref()
            .map_or(0, |p| p.rt.memory_usage().malloc_size.max(0) as u64)
    }

    /// Runs `script` once against `view`, giving `view` back. Every failure is an
    /// `End::Fault` in the outcome, never a panic or an error of the caller's.
    pub fn run<V: DeviceView + Default + 'static>(
        &mut self,
        script: &Script,
        input: &RunInput<'_>,
        cache: &mut SessionCache,
        view: V,
    ) -> (Outcome, V) {
        if self.parts.is_none() {
            match Parts::new(self.cron.clone()) {
                Ok(p) => self.parts = Some(p),
                Err(e) => return (fault_outcome(engine_fault(&e.to_string())), view),
            }
        }
        let Some(parts) = self.parts.as_mut() else {
            return (fault_outcome(engine_fault("no engine")), view);
        };
        let host = Rc::new(RefCell::new(Host {
            view,
            reads: std::mem::take(&mut cache.reads),
        }));
        let result = parts.run(script, input, &cache.extensions, &host, self.limits);
        let (view, reads) = match host.try_borrow_mut() {
            Ok(mut h) => (std::mem::take(&mut h.view), std::mem::take(&mut h.reads)),
            Err(_) => (V::default(), HashMap::new()),
        };
        cache.reads = reads;
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(Stopped::Cpu) => {
                self.parts = None;
                fault_outcome(Fault {
                    code: "script.Error".into(),
                    message: format!(
                        "Script execution timed out after {}ms",
                        self.limits.cpu.as_millis()
                    ),
                    detail: None,
                })
            }
            Err(Stopped::Heap) => {
                self.parts = None;
                fault_outcome(Fault {
                    code: "script.Error".into(),
                    message: format!(
                        "Script exceeded its memory limit of {} bytes",
                        self.limits.heap
                    ),
                    detail: None,
                })
            }
            Err(Stopped::Fault(f)) => fault_outcome(f),
        };
        (outcome, view)
    }
}

/// A run's view and its memoised reads, shared with its `match` native.
struct Host<V> {
    view: V,
    reads: HashMap<(u32, String), std::sync::Arc<str>>,
}

/// Why a run produced no outcome of its own.
enum Stopped {
    Cpu,
    Heap,
    Fault(Fault),
}

fn engine_fault(message: &str) -> Fault {
    Fault {
        code: "script".into(),
        message: message.to_string(),
        detail: None,
    }
}

fn fault_outcome(fault: Fault) -> Outcome {
    Outcome {
        end: End::Fault(fault),
        declarations: Vec::new(),
        clears: Vec::new(),
        logs: Vec::new(),
        ext_calls: Vec::new(),
        ext_counter: 0,
    }
}

/// The sandbox's answer, as JSON.
#[derive(Deserialize)]
struct RawOutcome {
    status: String,
    declarations: Vec<Declaration>,
    clear: Vec<Clear>,
    logs: Vec<LogLine>,
    ext: Vec<ExtCall>,
    #[serde(rename = "extCounter")]
    ext_counter: i64,
    fault: Option<Fault>,
    #[serde(rename = "virtual")]
    virtual_value: Option<VirtualValue>,
}

/// A thrown value as a GenieACS fault: `script.<name>` with message and stack.
fn caught_fault(e: CaughtError<'_>) -> Fault {
    match e {
        CaughtError::Exception(ex) => {
            let name: Option<String> = ex.get("name").ok();
            let message = ex.message().unwrap_or_default();
            let stack = ex.stack().unwrap_or_default();
            match name {
                Some(name) if !name.is_empty() => Fault {
                    code: format!("script.{name}"),
                    message: message.clone(),
                    detail: Some(serde_json::json!({
                        "name": name, "message": message, "stack": stack,
                    })),
                },
                _ => engine_fault(&message),
            }
        }
        CaughtError::Value(v) => {
            let text = v
                .as_string()
                .and_then(|s| s.to_string().ok())
                .unwrap_or_else(|| format!("{v:?}"));
            engine_fault(&text)
        }
        CaughtError::Error(e) => engine_fault(&e.to_string()),
    }
}

impl Parts {
    fn new(cron: Option<CronFn>) -> Result<Self, rquickjs::Error> {
        let rt = Runtime::new()?;
        let deadline: Rc<Cell<Option<Duration>>> = Rc::new(Cell::new(None));
        let interrupted = Rc::new(Cell::new(false));
        {
            let (deadline, interrupted) = (deadline.clone(), interrupted.clone());
            rt.set_interrupt_handler(Some(Box::new(move || match deadline.get() {
                Some(d) if thread_cpu() > d => {
                    interrupted.set(true);
                    true
                }
                _ => false,
            })));
        }
        let ctx = Context::full(&rt)?;
        let rng: Rc<RefCell<RngState>> = Rc::default();
        let runner = ctx.with(|ctx| -> rquickjs::Result<_> {
            let setup: Function = ctx.eval(SANDBOX)?;
            let host = rquickjs::Object::new(ctx.clone())?;
            let r = rng.clone();
            host.set(
                "random",
                Function::new(ctx.clone(), move || -> f64 {
                    let Ok(mut s) = r.try_borrow_mut() else {
                        return 0.0;
                    };
                    let s = &mut *s;
                    let device_id = s.device_id.clone();
                    s.rng
                        .get_or_insert_with(|| Arc4Random::new(&device_id))
                        .next_f64()
                })?,
            )?;
            let r = rng.clone();
            host.set(
                "seed",
                Function::new(ctx.clone(), move |seed: Option<String>| {
                    if let Ok(mut s) = r.try_borrow_mut() {
                        let seed = seed.unwrap_or_else(entropy_seed);
                        s.rng = Some(Arc4Random::new(&seed));
                    }
                })?,
            )?;
            host.set(
                "cron",
                Function::new(ctx.clone(), move |expr: String, at: f64| -> Option<f64> {
                    cron.as_ref().and_then(|c| c(&expr, at))
                })?,
            )?;
            let runner: Function = setup.call((host,))?;
            Ok(Persistent::save(&ctx, runner))
        })?;
        Ok(Self {
            runner,
            compiled: HashMap::new(),
            heap_base: None,
            ctx,
            rt,
            deadline,
            interrupted,
            rng,
        })
    }

    fn run<V: DeviceView + 'static>(
        &mut self,
        script: &Script,
        input: &RunInput<'_>,
        extensions: &BTreeMap<String, serde_json::Value>,
        host: &Rc<RefCell<Host<V>>>,
        limits: Limits,
    ) -> Result<Outcome, Stopped> {
        let fn_key = (script.name.clone(), source_hash(&script.source));
        if !self.compiled.contains_key(&fn_key) {
            let wrapped = format!("\"use strict\";(function(){{\n{}\n}})", script.source);
            let compiled = self.ctx.with(|ctx| {
                let f = ctx.eval::<Function, _>(wrapped).catch(&ctx);
                f.map(|f| Persistent::save(&ctx, f)).map_err(caught_fault)
            });
            let compiled = compiled.map_err(Stopped::Fault)?;
            if self.compiled.len() >= MAX_COMPILED {
                self.compiled.clear();
            }
            self.compiled
                .insert(fn_key.clone(), (compiled, touches_global(&script.source)));
            self.heap_base = None;
        }
        let Some((compiled, global)) = self.compiled.get(&fn_key).cloned() else {
            return Err(Stopped::Fault(engine_fault("script not compiled")));
        };
        let state = serde_json::json!({
            "ts": input.timestamp_ms,
            "md532": md532(input.device_id),
            "startRevision": input.start_revision,
            "maxRevision": input.max_revision,
            "extCounter": input.ext_counter,
            "extCache": extensions,
            "args": input.args,
            "virtual": match input.kind {
                Kind::VirtualParameter => Some(script.name.as_str()),
                Kind::Provision => None,
            },
        })
        .to_string();
        if let Ok(mut r) = self.rng.try_borrow_mut() {
            r.device_id = input.device_id.to_string();
            r.rng = None;
        }
        self.interrupted.set(false);
        let used = match self.heap_base {
            Some((used, runs)) if runs < HEAP_MEASURE_EVERY => {
                self.heap_base = Some((used, runs + 1));
                used
            }
            _ => {
                let used = self.rt.memory_usage().malloc_size.max(0) as usize;
                self.heap_base = Some((used, 0));
                used
            }
        };
        self.rt.set_memory_limit(used.saturating_add(limits.heap));
        self.deadline.set(Some(thread_cpu() + limits.cpu));
        let runner = self.runner.clone();
        let host = host.clone();
        let answer = self.ctx.with(|ctx| {
            let matcher = Function::new(ctx.clone(), move |pattern: String, revision: u32| {
                match_json(&host, pattern, revision)
            });
            let result = (|| {
                let runner = runner.restore(&ctx)?;
                let compiled = compiled.restore(&ctx)?;
                runner.call::<_, String>((compiled, state, matcher?, global))
            })();
            // The sandbox turns everything a script throws into a fault of its answer, so what
            // escapes the runner is QuickJS stopping it: the interrupt, or running out of
            // memory (an "out of memory" error, or `null` when even that could not be built).
            result.catch(&ctx).map_err(|e| {
                let heap = match &e {
                    CaughtError::Exception(ex) => {
                        ex.message().is_some_and(|m| m.contains("out of memory"))
                    }
                    // A script's own `throw null` lands here too; GenieACS makes no fault of
                    // it at all, so reporting it as the memory limit hides nothing useful.
                    CaughtError::Value(v) => v.is_null(),
                    CaughtError::Error(_) => false,
                };
                (heap, caught_fault(e))
            })
        });
        self.deadline.set(None);
        self.rt.set_memory_limit(0);
        let json = match answer {
            Ok(json) => json,
            Err(_) if self.interrupted.get() => return Err(Stopped::Cpu),
            Err((true, _)) => return Err(Stopped::Heap),
            Err((false, fault)) => return Err(Stopped::Fault(fault)),
        };
        let raw: RawOutcome = serde_json::from_str(&json)
            .map_err(|e| Stopped::Fault(engine_fault(&format!("sandbox answer: {e}"))))?;
        Ok(outcome(raw))
    }
}

/// The `match` native: the memoised nodes of `pattern` at `revision`, as JSON.
fn match_json<V: DeviceView>(
    host: &Rc<RefCell<Host<V>>>,
    pattern: String,
    revision: u32,
) -> String {
    let Ok(mut h) = host.try_borrow_mut() else {
        return r#"{"error":"device view busy"}"#.to_string();
    };
    let key = (revision, pattern);
    if let Some(found) = h.reads.get(&key) {
        return found.to_string();
    }
    let json = match h.view.matches(&key.1) {
        Ok(nodes) => serde_json::to_string(&nodes)
            .unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }).to_string()),
        Err(e) => return serde_json::json!({ "error": e }).to_string(),
    };
    h.reads.insert(key, std::sync::Arc::from(json.as_str()));
    json
}

fn outcome(raw: RawOutcome) -> Outcome {
    let end = match (raw.status.as_str(), raw.fault) {
        (_, Some(f)) => End::Fault(f),
        ("commit", None) => End::Committed,
        ("ext", None) => End::NeedsExtensions,
        _ => End::Completed(raw.virtual_value),
    };
    Outcome {
        end,
        declarations: raw.declarations,
        clears: raw.clear,
        logs: raw.logs,
        ext_calls: raw.ext,
        ext_counter: raw.ext_counter,
    }
}

/// Whether a script may leave non-enumerable names on the global object for the next run. It
/// runs as a strict-mode function called without a receiver, so `this` is undefined and an
/// assignment to an undeclared name throws; defining a non-enumerable global takes the global
/// object and a defining function, reached through one of these names. Other scripts can
/// only leave enumerable globals, which the sandbox finds without walking every global name
/// (that walk was an eighth of a short run's CPU).
fn touches_global(source: &str) -> bool {
    [
        "globalThis",
        "eval",
        "Function",
        "constructor",
        "Reflect",
        "__proto__",
        "prototype",
    ]
    .iter()
    .any(|name| source.contains(name))
}

fn source_hash(source: &str) -> u64 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut h = DefaultHasher::new();
    source.hash(&mut h);
    h.finish()
}
