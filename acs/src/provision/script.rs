//! Script provisions and virtual parameters in a session, sans IO: the device as scripts see it
//! (`TreeView`, over the planner's own path patterns), their declarations turned into the
//! planner's, and `Pass`, GenieACS's replay of one cycle's scripts: run them all, sync what they
//! declared, run them again one revision further, until every one has completed. Virtual
//! parameters a script declares run first, as GenieACS nests them, and their results are
//! written into the tree as `VirtualParameters.<name>`.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use acs_store::{DeviceMeta, Param, ParamTree, Value};
use script::{DeviceView, End, ExtCall, Kind, Limits, Node, SessionCache, VirtualValue};
use serde_json::{Value as Json, json};

use super::{Declaration, path};

/// The pseudo-object holding virtual parameters.
pub const VIRTUAL: &str = "VirtualParameters";
/// Script re-runs in one cycle before `too_many_commits` (GenieACS's `maxCommitIterations`).
pub const MAX_COMMITS: u32 = 32;
/// Virtual-parameter runs one cycle may start (GenieACS faults deeper nesting with
/// `deeply_nested_vparams`; a flat count bounds the same loops here).
pub const MAX_VIRTUAL_RUNS: usize = 64;

/// The stored scripts: the `provisions` and `virtual_parameters` documents.
#[derive(Debug, Default, Clone)]
pub struct Scripts {
    /// Provision scripts by name.
    pub provisions: HashMap<String, Arc<script::Script>>,
    /// Virtual-parameter scripts by name.
    pub virtual_parameters: HashMap<String, Arc<script::Script>>,
    /// The paths these scripts were seen to read: the scope of the next sessions' tree reads.
    pub learned: Arc<super::scope::Learned>,
}

/// The device as a script reads it: the session's tree plus GenieACS's read-only
/// `DeviceID.*` and `Tags.*`.
#[derive(Default)]
pub struct TreeView {
    /// The session's tree (moved in for the run, moved back after).
    pub tree: ParamTree,
    pseudo: Vec<Node>,
    /// The patterns the scripts read from the tree, in order (pseudo-parameters aside).
    seen: std::cell::RefCell<Vec<String>>,
}

impl TreeView {
    /// The view of `tree` for the device `meta` describes.
    pub fn new(tree: ParamTree, meta: &DeviceMeta) -> Self {
        let id = &meta.identity;
        let text = |path: &str, v: &str| Node {
            path: path.into(),
            object: Some(false),
            writable: Some(false),
            value: Some((Json::String(v.into()), "xsd:string".into())),
            ..Node::default()
        };
        let mut pseudo = vec![
            text("DeviceID.ID", meta.id.as_str()),
            text("DeviceID.Manufacturer", &id.manufacturer),
            text("DeviceID.OUI", &id.oui),
            text("DeviceID.ProductClass", &id.product_class),
            text("DeviceID.SerialNumber", &id.serial_number),
        ];
        for tag in &meta.tags {
            pseudo.push(Node {
                path: format!("Tags.{tag}"),
                object: Some(false),
                writable: Some(true),
                value: Some((Json::Bool(true), "xsd:boolean".into())),
                ..Node::default()
            });
        }
        Self {
            tree,
            pseudo,
            seen: std::cell::RefCell::default(),
        }
    }

    /// Records a pattern the pass reads outside the scripts' own reads (a `clear()`).
    fn note_read(&self, pattern: &str) {
        if let Ok(mut seen) = self.seen.try_borrow_mut() {
            seen.push(pattern.to_owned());
        }
    }

    /// The tree patterns the scripts read since the view was made, and the paths of their
    /// declarations: what a scoped tree must hold for the run to be the one a whole tree gives.
    pub fn reads<'a>(&'a self, declared: &'a StepResult) -> Vec<String> {
        let mut out = self.seen.borrow().clone();
        out.extend(declared.declarations.iter().map(|(_, d)| d.path.clone()));
        out
    }
}

impl DeviceView for TreeView {
    fn matches(&self, pattern: &str) -> Result<Vec<Node>, String> {
        let segs = path::parse(pattern).map_err(|e| e.to_string())?;
        if pattern.starts_with("DeviceID.") || pattern.starts_with("Tags.") {
            return Ok(self
                .pseudo
                .iter()
                .filter(|n| path::matches(&segs, &n.path, false))
                .cloned()
                .collect());
        }
        if let Ok(mut seen) = self.seen.try_borrow_mut()
            && seen.last().is_none_or(|p| p != pattern)
        {
            seen.push(pattern.to_owned());
        }
        let mut found = path::expand(&self.tree, pattern);
        found.sort_by(|a, b| instance_order(a, b));
        Ok(found
            .into_iter()
            .filter_map(|p| self.tree.get(&p).map(|param| node(p.clone(), param)))
            .collect())
    }
}

/// The order scripts see matched paths in: instance numbers as numbers (`SSID.2` before
/// `SSID.10`), as GenieACS iterates them, where the tree sorts them as text.
fn instance_order(a: &str, b: &str) -> std::cmp::Ordering {
    let mut x = a.split('.');
    let mut y = b.split('.');
    loop {
        match (x.next(), y.next()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some(s), Some(t)) => {
                let o = match (s.parse::<u64>(), t.parse::<u64>()) {
                    (Ok(m), Ok(n)) => m.cmp(&n),
                    _ => s.cmp(t),
                };
                if o.is_ne() {
                    return o;
                }
            }
        }
    }
}

/// A stored node as a script sees it: GenieACS keeps booleans and numbers typed and dates as
/// milliseconds.
fn node(path: String, p: &Param) -> Node {
    let value = p.value.as_ref().map(|v| {
        let json = match v {
            Value::Boolean(b) => Json::Bool(*b),
            Value::Int(n) | Value::Long(n) => json!(n),
            Value::UnsignedInt(n) | Value::UnsignedLong(n) => json!(n),
            Value::DateTime(s) => {
                crate::genie::date::parse(s).map_or_else(|| json!(s), |ms| json!(ms))
            }
            other => Json::String(other.text().into_owned()),
        };
        (json, format!("xsd:{}", v.xsd_type()))
    });
    Node {
        path,
        object: Some(p.object),
        writable: p.writable,
        value,
        notification: p.attributes.as_ref().map(|a| i64::from(a.notification)),
        access_list: p.attributes.as_ref().map(|a| a.access_list.clone()),
    }
}

/// Paths that are the ACS's to answer, never the CPE's: scripts read them, the planner skips
/// them.
fn is_read_only_pseudo(p: &str) -> bool {
    p.starts_with("DeviceID.") || p.starts_with("Events.") || p == "DeviceID" || p == "Events"
}

/// A script declaration as the planner's, or `None` for what the planner does not handle
/// (pseudo-parameters, tags, virtual parameters). A deferred declaration only reads.
pub fn to_planner(
    d: &script::Declaration,
    deferred: bool,
    tree: &ParamTree,
) -> Option<Declaration> {
    let p = d.path.as_str();
    if is_read_only_pseudo(p)
        || p.starts_with("Tags.")
        || p == VIRTUAL
        || p.starts_with("VirtualParameters.")
    {
        return None;
    }
    let ms = |t: f64| t as i64;
    let mut out = Declaration::new(p);
    out.path_fresh_ms = Some(ms(d.path_get));
    for (attr, t) in &d.attr_get {
        let slot = match attr.as_str() {
            "value" => &mut out.value_fresh_ms,
            "writable" | "object" => &mut out.path_fresh_ms,
            "notification" | "accessList" => &mut out.attributes_fresh_ms,
            _ => continue,
        };
        *slot = Some(slot.map_or(ms(*t), |s| s.max(ms(*t))));
    }
    if deferred {
        return Some(out);
    }
    if let Some(v) = d.attr_set.get("value") {
        out.value = planner_value(p, v, tree);
    }
    if let Some(n) = d.attr_set.get("notification").and_then(Json::as_u64) {
        out.notification = u8::try_from(n).ok();
    }
    if let Some(list) = d.attr_set.get("accessList").and_then(Json::as_array) {
        out.access_list = Some(
            list.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect(),
        );
    }
    if let Some(c) = d.path_set {
        out.instances = Some((
            c.min.map_or(0, |n| n as usize),
            c.max.map_or(usize::MAX, |n| n as usize),
        ));
    }
    Some(out)
}

/// A declared `[value]` or `[value, type]` as the planner's text and XSD local type: the type
/// given, else the node's own, else the JSON value's. Actions (`Reboot`, `FactoryReset`, a
/// Download's `Download`) are times in milliseconds.
fn planner_value(p: &str, v: &Json, tree: &ParamTree) -> Option<(String, String)> {
    let (raw, given) = match v {
        Json::Array(pair) => (pair.first()?.clone(), pair.get(1).and_then(Json::as_str)),
        other => (other.clone(), None),
    };
    let action = p == super::REBOOT
        || p == super::FACTORY_RESET
        || (p.starts_with("Downloads.") && p.ends_with(".Download"));
    if action {
        let ms = raw
            .as_f64()
            .map(|f| f as i64)
            .or_else(|| raw.as_str().and_then(super::action_time))?;
        return Some((ms.to_string(), "dateTime".into()));
    }
    let (text, json_type) = crate::presets::json_value(&raw)?;
    let current = || {
        let first = super::expand(tree, p).into_iter().next()?;
        Some(tree.get(&first)?.value.as_ref()?.xsd_type().to_owned())
    };
    // Without a type given or known, the value waits for the device's type (the planner reads
    // the parameter before writing it): GenieACS writes an untyped value in the type the
    // parameter has when it is written, which its scripts' first run may not know yet.
    let ty = given
        .map(|t| t.trim_start_matches("xsd:").to_owned())
        .or_else(current)
        .unwrap_or_else(|| format!("{}{json_type}", super::UNTYPED));
    let text = match (&raw, ty.as_str()) {
        (Json::Number(n), "dateTime") => n
            .as_f64()
            .map_or(text, |ms| crate::genie::date::iso(ms as i64)),
        _ => text,
    };
    Some((text, ty))
}

/// How one run of the pass stands.
#[derive(Debug, Clone, PartialEq)]
enum Status {
    /// Must run (again) at its revision.
    Due,
    /// Committed: its declarations are being synced; runs again one revision further.
    Committed,
    /// Waiting for extension results.
    Ext(Vec<ExtCall>),
    /// Completed (a virtual parameter with its value).
    Done(Option<VirtualValue>),
    /// Failed (its fault was reported).
    Failed,
}

/// One script of the pass.
#[derive(Clone)]
struct Run {
    kind: Kind,
    name: String,
    channel: String,
    args: Json,
    revision: u32,
    ext_counter: i64,
    cache: SessionCache,
    status: Status,
    declarations: Vec<script::Declaration>,
    /// An extension's fault, reported at the next step.
    fault: Option<script::Fault>,
}

/// What a pass step produced for the session.
#[derive(Debug, Default)]
pub struct StepResult {
    /// Planner declarations with the channel that made them.
    pub declarations: Vec<(String, Declaration)>,
    /// Faults by channel: (channel, code, message, detail JSON).
    pub faults: Vec<(String, String, String, String)>,
    /// An extension call to perform first (the session asks the driver for it).
    pub ext: Option<ExtCall>,
    /// Virtual parameters computed: (name, value); written into the tree by the session.
    pub virtual_values: Vec<(String, VirtualValue)>,
    /// Virtual parameters declared and now in the tree without a value yet.
    pub declared_virtual: Vec<String>,
    /// Tags scripts declared: (tag, present).
    pub tags: Vec<(String, bool)>,
    /// Log lines.
    pub logs: Vec<String>,
    /// What the scripts' `clear()` calls forgot, already applied to the view's tree.
    pub cleared: Vec<super::clear::Cleared>,
}

/// GenieACS's replay of one cycle's scripts. Cloned to re-run a step whose scoped tree
/// turned out too small (`session/scripting.rs`).
#[derive(Clone)]
pub struct Pass {
    runs: Vec<Run>,
    commits: u32,
    scripts: Arc<Scripts>,
    /// Whether the runs must run before the next batch is planned.
    due: bool,
    /// Virtual parameters declared that the tree did not hold: GenieACS stores such a node at
    /// once (an object-less leaf, no value yet), so it stays even when its script faults.
    declared: Vec<String>,
    /// Virtual-parameter declarations no script made (a task's `value` provisions or its
    /// setParameterValues of `VirtualParameters.*`), with their channel.
    requests: Vec<(String, script::Declaration)>,
}

impl std::fmt::Debug for Pass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pass")
            .field("runs", &self.runs.len())
            .field("commits", &self.commits)
            .finish()
    }
}

/// Why a pass stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// Every script completed: the cycle's declarations are final.
    Done,
    /// More to run: plan the current declarations, then call `advance`.
    Running,
}

impl Pass {
    /// A pass over these provisions: (channel, name, arguments).
    pub fn new(scripts: Arc<Scripts>, provisions: Vec<(String, String, Vec<Json>)>) -> Self {
        let runs = provisions
            .into_iter()
            .map(|(channel, name, args)| Run {
                kind: Kind::Provision,
                name,
                channel,
                args: Json::Array(args),
                revision: 0,
                ext_counter: 0,
                cache: SessionCache::default(),
                status: Status::Due,
                declarations: Vec::new(),
                fault: None,
            })
            .collect();
        Self {
            runs,
            commits: 0,
            scripts,
            due: true,
            declared: Vec::new(),
            requests: Vec::new(),
        }
    }

    /// What the scripts of this pass were seen to read, in every session.
    pub fn learned(&self) -> &super::scope::Learned {
        &self.scripts.learned
    }

    /// The same pass with virtual-parameter declarations of its own, handled like those the
    /// scripts make.
    pub fn with_requests(mut self, requests: Vec<(String, script::Declaration)>) -> Self {
        self.requests = requests;
        self
    }

    /// Whether the scripts must run before the next batch.
    pub fn is_due(&self) -> bool {
        self.due
    }

    /// Stores an extension's result (or fault) for the run that asked for it.
    pub fn ext_result(&mut self, key: &str, result: Result<Json, script::Fault>) {
        for run in &mut self.runs {
            let Status::Ext(calls) = &mut run.status else {
                continue;
            };
            if !calls.iter().any(|c| c.key == key) {
                continue;
            }
            match &result {
                Ok(v) => {
                    run.cache.extensions.insert(key.to_owned(), v.clone());
                    calls.retain(|c| c.key != key);
                    if calls.is_empty() {
                        run.status = Status::Due;
                    }
                }
                Err(f) => {
                    run.status = Status::Failed;
                    run.declarations.clear();
                    run.fault = Some(f.clone());
                }
            }
        }
    }

    /// After the planner found nothing left to sync: `Settled::Done` when every script has
    /// completed; otherwise the next revision is due (virtual parameters first, as GenieACS
    /// nests them), or a `too_many_commits` fault when the scripts do not settle.
    pub fn advance(&mut self) -> Result<Settled, String> {
        let live = |r: &Run| !matches!(r.status, Status::Done(_) | Status::Failed);
        let vparams_live = self
            .runs
            .iter()
            .any(|r| r.kind == Kind::VirtualParameter && live(r));
        if !self.runs.iter().any(live) {
            return Ok(Settled::Done);
        }
        self.commits += 1;
        if self.commits > MAX_COMMITS {
            return Err("Too many commit iterations".into());
        }
        for r in &mut self.runs {
            // A failed script has reported its fault: running it again would only fault again
            // (and count as a retry that never was).
            let bump = if vparams_live {
                r.kind == Kind::VirtualParameter && live(r)
            } else {
                r.kind == Kind::Provision && r.status != Status::Failed
            };
            if bump {
                r.revision += 1;
                r.status = Status::Due;
            }
        }
        self.due = true;
        Ok(Settled::Running)
    }

    /// Runs every due script against `view`, giving the view back with what they produced.
    pub fn step(
        &mut self,
        mut view: TreeView,
        meta: &DeviceMeta,
        now_ms: i64,
    ) -> (TreeView, StepResult) {
        let mut out = StepResult::default();
        let cron: script::CronFn = Rc::new(cron_last_fire);
        let limits = Limits::default();
        let mut first_round = true;
        loop {
            let mut ran = false;
            for i in 0..self.runs.len() {
                if self.runs[i].status != Status::Due {
                    continue;
                }
                ran = true;
                let run = &mut self.runs[i];
                let script = match run.kind {
                    Kind::Provision => self.scripts.provisions.get(&run.name),
                    Kind::VirtualParameter => self.scripts.virtual_parameters.get(&run.name),
                };
                let Some(script) = script.cloned() else {
                    run.status = Status::Failed;
                    out.faults.push((
                        run.channel.clone(),
                        "script".into(),
                        format!("Provision '{}' does not exist", run.name),
                        String::new(),
                    ));
                    continue;
                };
                let input = script::RunInput {
                    kind: run.kind,
                    args: &run.args,
                    device_id: meta.id.as_str(),
                    timestamp_ms: now_ms as f64,
                    start_revision: 0,
                    max_revision: run.revision,
                    ext_counter: run.ext_counter,
                };
                let mut cache = std::mem::take(&mut run.cache);
                let result = script::with_thread_engine(limits, Some(cron.clone()), |engine| {
                    engine.run(&script, &input, &mut cache, std::mem::take(&mut view))
                });
                run.cache = cache;
                let outcome = match result {
                    Ok((outcome, v)) => {
                        view = v;
                        outcome
                    }
                    Err(e) => {
                        run.status = Status::Failed;
                        out.faults.push((
                            run.channel.clone(),
                            "script".into(),
                            e.to_string(),
                            String::new(),
                        ));
                        continue;
                    }
                };
                out.logs
                    .extend(outcome.logs.iter().map(|l| l.message.clone()));
                // A run's clears take effect at once, before the runs and the planning that
                // follow, as GenieACS applies them after the run; a faulted run's do not.
                if !matches!(outcome.end, End::Fault(_)) {
                    for c in &outcome.clears {
                        view.note_read(&c.path);
                        let cleared = super::clear::clear(
                            &view.tree,
                            &c.path,
                            c.timestamp as i64,
                            c.attributes.as_ref(),
                        );
                        cleared.apply_to(&mut view.tree);
                        if !cleared.is_empty() {
                            out.cleared.push(cleared);
                        }
                    }
                }
                run.declarations = outcome.declarations;
                run.status = match outcome.end {
                    End::Completed(v) => Status::Done(v),
                    End::Committed => Status::Committed,
                    End::NeedsExtensions => {
                        run.ext_counter = outcome.ext_counter;
                        Status::Ext(outcome.ext_calls)
                    }
                    End::Fault(f) => {
                        run.declarations.clear();
                        let detail = f.detail.as_ref().map(Json::to_string).unwrap_or_default();
                        out.faults
                            .push((run.channel.clone(), f.code, f.message, detail));
                        Status::Failed
                    }
                };
                if let Status::Done(Some(v)) = &run.status
                    && run.kind == Kind::VirtualParameter
                {
                    out.virtual_values.push((run.name.clone(), v.clone()));
                    write_virtual(&mut view.tree, &run.name, v, now_ms);
                }
            }
            // Virtual parameters the scripts (or the pass's requests, on its first round)
            // declare and the tree does not hold as asked start runs of their own, run at once.
            let first = std::mem::take(&mut first_round) && !self.requests.is_empty();
            if !(ran || first) || !self.start_virtual(&view.tree) {
                break;
            }
        }
        for name in std::mem::take(&mut self.declared) {
            let path = format!("{VIRTUAL}.{name}");
            if view.tree.get(&path).is_none() {
                if view.tree.get(VIRTUAL).is_none() {
                    view.tree.insert(VIRTUAL, Param::object(None, now_ms));
                }
                // Never computed: timestamp 0, so its read is still due.
                view.tree.insert(path, Param::leaf(None, None, 0));
                out.declared_virtual.push(name);
            }
        }
        self.due = false;
        for run in &self.runs {
            if let Status::Ext(calls) = &run.status
                && let Some(c) = calls.first()
            {
                out.ext = Some(c.clone());
                self.due = true;
                break;
            }
        }
        for run in &mut self.runs {
            if let Some(f) = run.fault.take() {
                out.faults
                    .push((run.channel.clone(), f.code, f.message, String::new()));
            }
        }
        let all_done = self
            .runs
            .iter()
            .all(|r| matches!(r.status, Status::Done(_) | Status::Failed));
        for run in &self.runs {
            for d in &run.declarations {
                if let Some(tag) = d.path.strip_prefix("Tags.")
                    && !d.defer
                    && let Some(v) = d.attr_set.get("value")
                {
                    let present = match v {
                        Json::Array(a) => a.first().and_then(Json::as_bool).unwrap_or(false),
                        other => other.as_bool().unwrap_or(false),
                    };
                    out.tags.push((tag.to_owned(), present));
                }
                let deferred = d.defer && !all_done;
                if let Some(pd) = to_planner(d, deferred, &view.tree) {
                    out.declarations.push((run.channel.clone(), pd));
                }
            }
        }
        (view, out)
    }

    /// Starts a run for each virtual parameter a declaration asks for that the tree does not
    /// hold as asked: a get run while `value` or `writable` is missing or older than wanted,
    /// then a set run for a different value on a writable one (`vparam.rs`, GenieACS's order).
    fn start_virtual(&mut self, tree: &ParamTree) -> bool {
        // Declared values apply once every provision script of the pass has completed, as
        // GenieACS clears `defer` only then.
        let provisions_done = self.runs.iter().all(|r| {
            r.kind != Kind::Provision || matches!(r.status, Status::Done(_) | Status::Failed)
        });
        let mut wanted: Vec<(String, String, Json)> = Vec::new();
        let declared = self
            .runs
            .iter()
            .flat_map(|r| r.declarations.iter().map(move |d| (&r.channel, d)))
            .chain(self.requests.iter().map(|(c, d)| (c, d)));
        for (channel, d) in declared {
            let Some(rest) = d.path.strip_prefix("VirtualParameters.") else {
                continue;
            };
            let names: Vec<String> = if rest == "*" {
                self.scripts.virtual_parameters.keys().cloned().collect()
            } else if self.scripts.virtual_parameters.contains_key(rest) {
                vec![rest.to_owned()]
            } else {
                continue;
            };
            for name in names {
                let current = tree.get(&format!("{VIRTUAL}.{name}"));
                let deferred = d.defer && !provisions_done;
                let args = super::vparam::get_args(d, current)
                    .or_else(|| super::vparam::set_args(d, deferred, current));
                if let Some(args) = args {
                    wanted.push((channel.clone(), name, args));
                }
            }
        }
        let mut started = false;
        for (_, name, _) in &wanted {
            if tree.get(&format!("{VIRTUAL}.{name}")).is_none() && !self.declared.contains(name) {
                self.declared.push(name.clone());
            }
        }
        for (channel, name, args) in wanted {
            let same =
                |r: &Run| r.kind == Kind::VirtualParameter && r.name == name && r.args == args;
            let vparams = self
                .runs
                .iter()
                .filter(|r| r.kind == Kind::VirtualParameter)
                .count();
            // A virtual parameter whose script failed is not run again in this pass: it would
            // fault again (its fault is reported once).
            let failed = |r: &Run| {
                r.kind == Kind::VirtualParameter && r.name == name && r.status == Status::Failed
            };
            if self.runs.iter().any(|r| same(r) || failed(r)) || vparams >= MAX_VIRTUAL_RUNS {
                continue;
            }
            self.runs.push(Run {
                kind: Kind::VirtualParameter,
                name,
                channel,
                args,
                revision: 0,
                ext_counter: 0,
                cache: SessionCache::default(),
                status: Status::Due,
                declarations: Vec::new(),
                fault: None,
            });
            started = true;
        }
        started
    }
}

/// Writes a computed virtual parameter into the tree (the session persists the same nodes).
pub fn write_virtual(tree: &mut ParamTree, name: &str, v: &VirtualValue, now_ms: i64) {
    for (path, param) in virtual_nodes(tree, name, v, now_ms) {
        tree.insert(path, param);
    }
}

/// The nodes a computed virtual parameter sets: the `VirtualParameters` object (once) and the
/// leaf with its value, type and writability, read at `now_ms`.
pub fn virtual_nodes(
    tree: &ParamTree,
    name: &str,
    v: &VirtualValue,
    now_ms: i64,
) -> Vec<(String, Param)> {
    let mut out = Vec::new();
    if tree.get(VIRTUAL).is_none() {
        // GenieACS gives the pseudo-object no `writable`.
        out.push((VIRTUAL.to_owned(), Param::object(None, now_ms)));
    }
    let path = format!("{VIRTUAL}.{name}");
    let old = tree.get(&path);
    let value = match &v.value {
        Some((j, t)) => {
            let ty = t.trim_start_matches("xsd:");
            let text = match (j, ty) {
                (Json::Number(n), "dateTime") => n
                    .as_f64()
                    .map_or_else(|| n.to_string(), |ms| crate::genie::date::iso(ms as i64)),
                (Json::String(s), _) => s.clone(),
                (other, _) => other.to_string(),
            };
            Some(Value::from_wire(ty, &text))
        }
        None => old.and_then(|o| o.value.clone()),
    };
    let writable = v.writable.or_else(|| old.and_then(|o| o.writable));
    out.push((path, Param::leaf(value, writable, now_ms)));
    out
}

/// `Date.now("<cron>")`: when the cron expression last fired at or before `at`, as GenieACS's
/// cron library (later.js) answers it — which, when the seconds field is `*` (a five-field
/// expression gets one), is the start of the last matching minute, except for an expression
/// of nothing but `*`, which fires every second. Computed with the ACS's own cron
/// (`genie::schedule`), looking back a year.
fn cron_last_fire(expr: &str, at: f64) -> Option<f64> {
    let mut fields: Vec<&str> = expr.split_whitespace().collect();
    if fields.len() == 5 {
        fields.insert(0, "*");
    }
    let schedule =
        crate::genie::schedule::Schedule::parse(&format!("{} {}", 366 * 86_400, fields.join(" ")))
            .ok()?;
    let last = schedule.last_fire(at as i64)?;
    let every_second = fields.iter().all(|f| *f == "*");
    let last = if fields.first() == Some(&"*") && !every_second {
        last - last.rem_euclid(60_000)
    } else {
        last
    };
    Some(last as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use acs_store::{DeviceId, Identity};

    fn tree() -> ParamTree {
        let mut t = ParamTree::new();
        t.insert("Device", Param::object(Some(false), 5));
        t.insert("Device.WiFi", Param::object(Some(false), 5));
        t.insert("Device.WiFi.SSID", Param::object(Some(false), 5));
        for i in ["1", "2"] {
            t.insert(
                format!("Device.WiFi.SSID.{i}"),
                Param::object(Some(true), 5),
            );
            t.insert(
                format!("Device.WiFi.SSID.{i}.SSID"),
                Param::leaf(Some(Value::String(format!("net{i}"))), Some(true), 7),
            );
        }
        t.insert(
            "Device.ManagementServer.PeriodicInformInterval",
            Param::leaf(Some(Value::UnsignedInt(300)), Some(true), 7),
        );
        t
    }

    fn meta() -> DeviceMeta {
        let mut m = DeviceMeta::new(
            DeviceId::parse("0C8063-XX230v-SIM0001").expect("id"),
            Identity {
                serial_number: "SIM0001".into(),
                ..Identity::default()
            },
        );
        m.tags.insert("vip".into());
        m
    }

    #[test]
    fn the_view_answers_patterns_and_pseudo_parameters() {
        let v = TreeView::new(tree(), &meta());
        let ssids = v.matches("Device.WiFi.SSID.*.SSID").expect("pattern");
        assert_eq!(ssids.len(), 2);
        assert_eq!(ssids[1].value, Some((json!("net2"), "xsd:string".into())));
        assert_eq!(ssids[0].writable, Some(true));
        let alias = v.matches("Device.WiFi.SSID.[SSID:net2]").expect("alias");
        assert_eq!(
            alias.iter().map(|n| n.path.as_str()).collect::<Vec<_>>(),
            ["Device.WiFi.SSID.2"]
        );
        let interval = v
            .matches("Device.ManagementServer.PeriodicInformInterval")
            .expect("leaf");
        assert_eq!(
            interval[0].value,
            Some((json!(300), "xsd:unsignedInt".into()))
        );
        let serial = v.matches("DeviceID.SerialNumber").expect("pseudo");
        assert_eq!(
            serial[0].value,
            Some((json!("SIM0001"), "xsd:string".into()))
        );
        assert_eq!(v.matches("DeviceID.*").expect("pseudo").len(), 5);
        assert_eq!(
            v.matches("Tags.vip").expect("tag")[0].value,
            Some((json!(true), "xsd:boolean".into()))
        );
        assert!(v.matches("Device..X").is_err());
    }

    fn decl(path: &str, get: &[(&str, f64)], set: &[(&str, Json)]) -> script::Declaration {
        script::Declaration {
            path: path.into(),
            path_get: 1.0,
            path_set: None,
            attr_get: get.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
            attr_set: set
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
            defer: false,
        }
    }

    #[test]
    fn declarations_become_the_planners_with_genieacs_types() {
        let t = tree();
        let d = decl(
            "Device.ManagementServer.PeriodicInformInterval",
            &[("value", 1_000.0)],
            &[("value", json!([600]))],
        );
        let p = to_planner(&d, false, &t).expect("planned");
        assert_eq!(p.path_fresh_ms, Some(1));
        assert_eq!(p.value_fresh_ms, Some(1_000));
        // The node's own type wins over the JSON value's.
        assert_eq!(p.value, Some(("600".into(), "unsignedInt".into())));
        let typed = decl("Device.X", &[], &[("value", json!(["5", "xsd:int"]))]);
        assert_eq!(
            to_planner(&typed, false, &t).and_then(|p| p.value),
            Some(("5".into(), "int".into()))
        );
        let date = decl("Device.T", &[], &[("value", json!([0, "xsd:dateTime"]))]);
        assert_eq!(
            to_planner(&date, false, &t).and_then(|p| p.value),
            Some(("1970-01-01T00:00:00.000Z".into(), "dateTime".into()))
        );
        let reboot = decl("Reboot", &[], &[("value", json!([1_700_000_000_000u64]))]);
        assert_eq!(
            to_planner(&reboot, false, &t).and_then(|p| p.value),
            Some(("1700000000000".into(), "dateTime".into()))
        );
        let mut inst = decl("Device.WiFi.SSID.*", &[], &[]);
        inst.path_set = Some(script::InstanceCount {
            min: Some(1),
            max: None,
        });
        assert_eq!(
            to_planner(&inst, false, &t).and_then(|p| p.instances),
            Some((1, usize::MAX))
        );
        // A deferred declaration only reads; pseudo-parameters never reach the planner.
        let deferred = to_planner(&d, true, &t).expect("planned");
        assert_eq!(
            (deferred.value, deferred.value_fresh_ms),
            (None, Some(1_000))
        );
        for p in [
            "DeviceID.ID",
            "Tags.vip",
            "VirtualParameters.X",
            "Events.Inform",
        ] {
            assert!(
                to_planner(&decl(p, &[("value", 1.0)], &[]), false, &t).is_none(),
                "{p}"
            );
        }
    }

    #[test]
    fn a_computed_virtual_parameter_is_typed_and_keeps_its_writability() {
        let mut t = ParamTree::new();
        let v = VirtualValue {
            writable: Some(true),
            value: Some((json!(42), "xsd:int".into())),
        };
        write_virtual(&mut t, "N", &v, 99);
        assert!(t.get(VIRTUAL).is_some_and(|o| o.object));
        let n = t.get("VirtualParameters.N").expect("leaf");
        assert_eq!(
            (n.value.clone(), n.writable, n.timestamp_ms),
            (Some(Value::Int(42)), Some(true), 99)
        );
        // A later result without `writable` keeps the one known.
        let v = VirtualValue {
            writable: None,
            value: Some((json!("x"), "xsd:string".into())),
        };
        write_virtual(&mut t, "N", &v, 100);
        assert_eq!(
            t.get("VirtualParameters.N").and_then(|n| n.writable),
            Some(true)
        );
    }

    #[test]
    fn scripts_see_instances_in_numeric_order() {
        let mut t = tree();
        for i in ["10", "3"] {
            t.insert(
                format!("Device.WiFi.SSID.{i}"),
                Param::object(Some(true), 5),
            );
            t.insert(
                format!("Device.WiFi.SSID.{i}.SSID"),
                Param::leaf(Some(Value::String(i.into())), Some(true), 7),
            );
        }
        let v = TreeView::new(t, &meta());
        let paths: Vec<String> = v
            .matches("Device.WiFi.SSID.*.SSID")
            .expect("pattern")
            .into_iter()
            .map(|n| n.path)
            .collect();
        assert_eq!(
            paths,
            [
                "Device.WiFi.SSID.1.SSID",
                "Device.WiFi.SSID.2.SSID",
                "Device.WiFi.SSID.3.SSID",
                "Device.WiFi.SSID.10.SSID"
            ]
        );
    }

    #[test]
    fn cron_dates_are_the_ones_genieacs_gives() {
        // Printed by Node.js 20 with @breejs/later 4 through GenieACS's `parseCron` and
        // `cron()` at 2023-11-14T22:13:20Z.
        let t = 1_700_000_000_000.0;
        let iso = |e: &str| cron_last_fire(e, t).map(|ms| crate::genie::date::iso(ms as i64));
        for (expr, want) in [
            ("0 * * * *", "2023-11-14T22:00:00.000Z"),
            ("* * * * *", "2023-11-14T22:13:20.000Z"),
            ("*/5 * * * *", "2023-11-14T22:10:00.000Z"),
            ("13 22 * * *", "2023-11-14T22:13:00.000Z"),
            ("10-20 * * * *", "2023-11-14T22:13:00.000Z"),
            ("0 0 * * *", "2023-11-14T00:00:00.000Z"),
            ("15 * * * * *", "2023-11-14T22:13:15.000Z"),
            ("* 13 22 * * *", "2023-11-14T22:13:00.000Z"),
            ("0 0 1 1 *", "2023-01-01T00:00:00.000Z"),
        ] {
            assert_eq!(iso(expr).as_deref(), Some(want), "{expr}");
        }
        assert_eq!(cron_last_fire("not a cron", t), None);
    }
}
