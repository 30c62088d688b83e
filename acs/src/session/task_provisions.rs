//! Tasks that run on the provisioning engine rather than as one RPC: GenieACS's `provisions`
//! task, and a get- or setParameterValues or refreshObject that names a virtual parameter
//! (GenieACS runs those tasks as `refresh` and `value` provisions; a virtual parameter needs that, since its script
//! answers and decides what is written). Such a task runs alone on its channel `task_<id>`: its
//! provisions become the planner's declarations and the script pass's runs, as a preset's
//! configurations do, until they settle; then the task is done. A fault on its channel (a
//! script's, the CPE's, a planner limit) is recorded against the task under the task's retry
//! rules instead of as a preset fault. Tasks keep their queue order (plain ones after it go out
//! as jobs once it is over), and all of them run before the presets.

use super::provisioning::Provisioning;
use super::{Counted, Effect, Need, Now, Read, Session};
use crate::presets::{Configuration, Preset};
use crate::provision::script::{Pass, Scripts};
use crate::provision::vparam::is_virtual;
use crate::tasks;
use acs_store::{FaultRecord, Op, ProvisionArg, TaskKind, TaskRecord};
use serde_json::{Value as Json, json};

/// GenieACS's built-in provisions, which a script of the same name overrides.
const BUILTINS: [&str; 7] = [
    "value",
    "refresh",
    "tag",
    "instances",
    "reboot",
    "reset",
    "download",
];

/// The task being run on the provisioning engine.
#[derive(Debug)]
pub(super) struct TaskRun {
    task: TaskRecord,
    /// The last fault on its channel, recorded against the task when the run ends.
    fault: Option<FaultRecord>,
    /// Its provisioning has ended; what is left is recording the outcome.
    ended: bool,
}

/// Whether a task runs on the provisioning engine rather than as a job: a `provisions` task,
/// and a getParameterValues or setParameterValues that names a virtual parameter (its script
/// answers, not the CPE).
pub(super) fn needs_engine(kind: &TaskKind) -> bool {
    match kind {
        TaskKind::Provisions { .. } => true,
        TaskKind::SetParameterValues { values, .. } => values.iter().any(|(p, _, _)| is_virtual(p)),
        TaskKind::GetParameterValues { names } => names.iter().any(|p| is_virtual(p)),
        TaskKind::RefreshObject { path } => is_virtual(path),
        _ => false,
    }
}

/// A task's provisions as preset configurations, with the faults of those that cannot run.
/// A name that is neither a stored script nor a built-in is skipped, as GenieACS skips it.
fn configurations(kind: &TaskKind, scripts: &Scripts) -> (Vec<Configuration>, Vec<String>) {
    let (mut out, mut faults) = (Vec::new(), Vec::new());
    match kind {
        TaskKind::Provisions { provisions } => {
            for p in provisions {
                let Some((name, args)) = p.split_first() else {
                    continue;
                };
                let name = match name {
                    ProvisionArg::Null => "null".to_owned(),
                    ProvisionArg::Bool(b) => b.to_string(),
                    ProvisionArg::Number(n) | ProvisionArg::Text(n) => n.clone(),
                };
                let args: Vec<Json> = args.iter().map(arg_json).collect();
                if scripts.provisions.contains_key(&name) {
                    out.push(Configuration::Script { name, args });
                } else if BUILTINS.contains(&name.as_str()) {
                    match crate::presets::builtin(&name, &args) {
                        Ok(c) => out.push(c),
                        Err(why) => faults.push(why),
                    }
                } else {
                    tracing::warn!(provision = %name, "provisions task names no script or built-in; skipped");
                }
            }
        }
        // GenieACS reads each name with its `refresh` built-in.
        TaskKind::GetParameterValues { names } => {
            for path in names {
                out.push(Configuration::Refresh {
                    path: path.clone(),
                    age_secs: 0,
                });
            }
        }
        TaskKind::RefreshObject { path } => out.push(Configuration::Refresh {
            path: path.clone(),
            age_secs: 0,
        }),
        TaskKind::SetParameterValues { values, .. } => {
            for (path, text, ty) in values {
                let ty = format!("xsd:{ty}");
                let value = crate::provision::vparam::sanitize(json!(text), &ty);
                out.push(Configuration::Value {
                    path: path.clone(),
                    value: json!([value, ty]),
                });
            }
        }
        _ => {}
    }
    (out, faults)
}

/// A provision argument as the JSON a script or built-in receives.
fn arg_json(a: &ProvisionArg) -> Json {
    match a {
        ProvisionArg::Null => Json::Null,
        ProvisionArg::Bool(b) => Json::Bool(*b),
        ProvisionArg::Number(n) => serde_json::from_str(n).unwrap_or(Json::Null),
        ProvisionArg::Text(t) => Json::String(t.clone()),
    }
}

impl Session {
    /// Queues the next RPCs of the engine-run tasks; `Ok(false)` once none is left.
    pub(super) fn task_provision_step(&mut self, now: Now) -> Result<bool, Need> {
        loop {
            if self.task_run.is_none() {
                let Some(next) = self.script_tasks.front() else {
                    return Ok(false);
                };
                if !needs_engine(&next.kind) {
                    // Plain tasks queued after an engine-run one go out as jobs now, in order.
                    let n = self
                        .script_tasks
                        .iter()
                        .position(|t| needs_engine(&t.kind))
                        .unwrap_or(self.script_tasks.len());
                    let plain: Vec<TaskRecord> = self.script_tasks.drain(..n).collect();
                    let jobs = crate::jobs::Job::from_tasks(&plain, self.root());
                    self.jobs.extend(jobs);
                    return Ok(true);
                }
                // Declarations are made against the tree: read it (whole: presets may have
                // read a scope of it only) before taking the task.
                if self.tree.is_none() || self.tree_scope.is_some() {
                    return Err(Need(Read::Tree));
                }
                let Some(task) = self.script_tasks.pop_front() else {
                    return Ok(false);
                };
                self.start_task_run(now, task);
            }
            let ended = self.task_run.as_ref().is_some_and(|r| r.ended);
            if !ended {
                if self.provision_step(now)? {
                    return Ok(true);
                }
                if let Some(run) = &mut self.task_run {
                    run.ended = true;
                }
            }
            self.finish_task_run(now)?;
        }
    }

    /// Sets the provisioning up for the task's provisions on its channel.
    fn start_task_run(&mut self, now: Now, task: TaskRecord) {
        let channel = tasks::channel(task.id);
        let scripts = self
            .presets
            .as_ref()
            .map(|p| p.scripts.clone())
            .unwrap_or_default();
        let (configurations, faults) = configurations(&task.kind, &scripts);
        let parameter_key = match &task.kind {
            TaskKind::SetParameterValues { parameter_key, .. } if !parameter_key.is_empty() => {
                Some(parameter_key.clone())
            }
            _ => None,
        };
        self.task_run = Some(TaskRun {
            task,
            fault: None,
            ended: false,
        });
        // GenieACS's `script.Error` for a built-in given arguments it cannot use.
        if let Some(why) = faults.into_iter().last() {
            self.task_fault(now, &channel, "script.Error", &why);
            self.provisioning = Provisioning::Done;
            return;
        }
        let (mut requests, mut provisions, mut rest) = (Vec::new(), Vec::new(), Vec::new());
        for c in configurations {
            match c {
                c if c.names_virtual() => {
                    requests.extend(
                        c.virtual_request(self.started_ms)
                            .map(|d| (channel.clone(), d)),
                    );
                }
                Configuration::Script { name, args } => {
                    provisions.push((channel.clone(), name, args));
                }
                Configuration::Tag { tag, add } => {
                    let changed = if add {
                        self.meta.tags.insert(tag)
                    } else {
                        self.meta.tags.remove(&tag)
                    };
                    self.outbox.meta_dirty |= changed;
                }
                other => rest.push(other),
            }
        }
        let preset = Preset {
            name: channel.clone(),
            weight: 0.0,
            channel: channel.clone(),
            events: Vec::new(),
            precondition: None,
            schedule: None,
            configurations: rest,
            unsupported: None,
            parameter_key: parameter_key.clone(),
        };
        let empty = acs_store::ParamTree::default();
        let decls = preset.declarations(self.started_ms, self.tree.as_ref().unwrap_or(&empty));
        let scripts = (!provisions.is_empty() || !requests.is_empty())
            .then(|| Box::new(Pass::new(scripts, provisions).with_requests(requests)));
        self.provisioning = if decls.is_empty() && scripts.is_none() {
            Provisioning::Done
        } else {
            Provisioning::Active {
                fixed: decls.len(),
                owners: vec![channel.clone(); decls.len()],
                decls,
                keys: parameter_key
                    .map(|k| vec![(channel.clone(), k)])
                    .unwrap_or_default(),
                budget: crate::provision::Budget::default(),
                channels: vec![channel],
                prefetch: false,
                scripts,
            }
        };
    }

    /// Records the ended run's outcome against its task (read again first: the NBI may have
    /// deleted it meanwhile) and leaves the presets to be evaluated afresh.
    fn finish_task_run(&mut self, now: Now) -> Result<(), Need> {
        let fresh = self.fresh_tasks.take().ok_or(Need(Read::Tasks))?;
        let Some(run) = self.task_run.take() else {
            return Ok(());
        };
        let id = run.task.id;
        let channel = tasks::channel(id);
        self.converged.retain(|c| *c != channel);
        self.written.retain(|(c, _, _)| *c != channel);
        if let Some(task) = fresh.into_iter().find(|t| t.id == id) {
            match run.fault {
                None => {
                    self.effects.push_back(Effect::Count(Counted::TaskDone));
                    self.outbox.ops.push(tasks::finish_op(task, false, now.ms));
                    self.push_fault_ops(vec![Op::DeleteFault {
                        device: self.device.clone(),
                        channel,
                    }]);
                }
                Some(record) => {
                    self.effects.push_back(Effect::Count(Counted::TaskFault));
                    let ops = tasks::record_fault_ops(task, record, now.ms, self.policy.retry);
                    self.push_fault_ops(ops.into());
                }
            }
        }
        self.outbox.notify.push(id);
        self.provisioning = Provisioning::Pending;
        self.changed = false;
        Ok(())
    }

    /// Takes a fault on the running task's channel for the task, which stops its provisions
    /// (GenieACS clears a faulted channel's provisions at once); `false` for any other channel.
    pub(super) fn take_task_fault(&mut self, record: &FaultRecord) -> bool {
        match &mut self.task_run {
            Some(run) if record.channel == tasks::channel(run.task.id) => {
                tracing::warn!(device = %self.device, task = run.task.id, code = %record.code, message = %record.message, "task fault");
                run.fault = Some(record.clone());
                self.provisioning = Provisioning::Done;
                true
            }
            _ => false,
        }
    }

    /// Whether a task (not a preset) is running on the provisioning engine.
    pub(super) fn running_task(&self) -> bool {
        self.task_run.is_some()
    }

    fn task_fault(&mut self, now: Now, channel: &str, code: &str, message: &str) {
        let record = FaultRecord {
            device: self.device.clone(),
            channel: channel.to_owned(),
            task_id: None,
            code: code.to_owned(),
            message: message.to_owned(),
            detail: String::new(),
            retries: 0,
            timestamp_ms: now.ms,
        };
        self.take_task_fault(&record);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> ProvisionArg {
        ProvisionArg::Text(s.into())
    }

    #[test]
    fn only_provisions_and_virtual_parameter_writes_need_the_engine() {
        assert!(needs_engine(&TaskKind::Provisions { provisions: vec![] }));
        let spv = |p: &str| TaskKind::SetParameterValues {
            values: vec![
                ("Device.A".into(), "1".into(), "int".into()),
                (p.into(), "x".into(), "string".into()),
            ],
            parameter_key: String::new(),
        };
        assert!(needs_engine(&spv("VirtualParameters.User")));
        assert!(!needs_engine(&spv("Device.B")));
        assert!(!needs_engine(&spv("VirtualParametersX.B")));
        let gpv = |p: &str| TaskKind::GetParameterValues {
            names: vec!["Device.A".into(), p.into()],
        };
        assert!(needs_engine(&gpv("VirtualParameters.")));
        assert!(needs_engine(&gpv("VirtualParameters.User")));
        assert!(!needs_engine(&gpv("Device.B")));
        let refresh = |p: &str| TaskKind::RefreshObject { path: p.into() };
        assert!(needs_engine(&refresh("VirtualParameters.")));
        assert!(!needs_engine(&refresh("Device.WiFi.")));
        assert!(!needs_engine(&TaskKind::Reboot));
    }

    #[test]
    fn provisions_become_configurations_as_genieacs_resolves_names() {
        let mut scripts = Scripts::default();
        scripts.provisions.insert(
            "refresh".into(),
            std::sync::Arc::new(script::Script::new("refresh", "")),
        );
        scripts.provisions.insert(
            "wifi".into(),
            std::sync::Arc::new(script::Script::new("wifi", "")),
        );
        let kind = TaskKind::Provisions {
            provisions: vec![
                vec![t("wifi"), t("Fibre"), ProvisionArg::Number("2".into())],
                vec![t("reboot")],
                vec![t("tag"), t("vip"), ProvisionArg::Bool(true)],
                // A stored script named like a built-in wins, as in GenieACS.
                vec![t("refresh"), t("Device.X")],
                vec![t("nothing_by_this_name")],
                vec![],
                vec![t("instances")],
            ],
        };
        let (configs, faults) = configurations(&kind, &scripts);
        assert_eq!(
            configs,
            vec![
                Configuration::Script {
                    name: "wifi".into(),
                    args: vec![json!("Fibre"), json!(2)]
                },
                Configuration::Reboot,
                Configuration::Tag {
                    tag: "vip".into(),
                    add: true
                },
                Configuration::Script {
                    name: "refresh".into(),
                    args: vec![json!("Device.X")]
                },
            ]
        );
        assert_eq!(faults, vec!["instances: missing count".to_owned()]);
    }

    #[test]
    fn a_virtual_parameter_write_is_a_typed_value_request() {
        let kind = TaskKind::SetParameterValues {
            values: vec![
                ("VirtualParameters.N".into(), "42".into(), "int".into()),
                ("Device.A".into(), "on".into(), "string".into()),
            ],
            parameter_key: String::new(),
        };
        let (configs, faults) = configurations(&kind, &Scripts::default());
        assert!(faults.is_empty());
        assert_eq!(
            configs,
            vec![
                Configuration::Value {
                    path: "VirtualParameters.N".into(),
                    value: json!([42, "xsd:int"])
                },
                Configuration::Value {
                    path: "Device.A".into(),
                    value: json!(["on", "xsd:string"])
                },
            ]
        );
    }
}
