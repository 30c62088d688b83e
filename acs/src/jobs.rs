//! Turning queued tasks into CWMP RPCs and CPE answers back into store writes.
//!
//! A [`Job`] is one unit of work inside a session: one task, several consecutive
//! getParameterValues tasks batched into one RPC, or an internal job of the ACS (setting the
//! connection-request credentials). Each job yields its RPCs one at a time and folds each answer
//! into store ops; it never does IO itself.

use crate::inform::note_fact;
use acs_store::{DeviceMeta, Param, ParamTree, TaskKind, TaskRecord};
use cwmp::{Body, Fault, ParameterValue, XsdType};
use std::collections::HashMap;

/// The internal purposes a job can have besides running tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Runs these tasks (several only for batched getParameterValues).
    Tasks(Vec<u64>),
    /// Sets connection-request credentials the ACS generated.
    CrCredentials { username: String, password: String },
    /// Sets the CPE's own ACS credentials (an adopting session); `record` marks the device
    /// re-keyed once the CPE accepted them.
    CpeCredentials {
        record: crate::credentials::RecordWrite,
    },
    /// Brings the device to the state presets declare; a fault is recorded on this channel.
    Provision { channel: String },
    /// A Download presets declare; the ACS records it as `Downloads.<instance>`.
    ProvisionDownload {
        channel: String,
        instance: u64,
        file_type: String,
        file_name: String,
        target_file_name: String,
    },
}

impl Purpose {
    /// The preset channel of a provisioning job.
    pub(crate) fn channel(&self) -> Option<&str> {
        match self {
            Self::Provision { channel } | Self::ProvisionDownload { channel, .. } => Some(channel),
            _ => None,
        }
    }
}

/// What the job does, and where it is.
#[derive(Debug, Clone)]
enum Work {
    Gpv(Vec<String>),
    Gpa(Vec<String>),
    Spa(Vec<cwmp::SetParameterAttribute>),
    /// After an AddObject for an alias filter: read the new instance's keys (for their types),
    /// then write the filter's values to them.
    AddKeys {
        instance: String,
        keys: Vec<(String, String)>,
        types: Option<Vec<XsdType>>,
    },
    Spv {
        values: Vec<ParameterValue>,
        key: String,
    },
    /// A refresh: first GetParameterNames, then GetParameterValues of the leaves found.
    Refresh {
        path: String,
        names: Option<Leaves>,
    },
    Add {
        path: String,
        key: String,
        keys: Vec<(String, String)>,
    },
    Delete {
        path: String,
        key: String,
    },
    Reboot {
        command_key: String,
    },
    FactoryReset,
    Download(cwmp::Download),
    /// One of the rest of the RPC set (`rpcs.rs`).
    Rpc(crate::rpcs::RpcWork),
    /// Whole-tree discovery, with its fallbacks (`discovery.rs`).
    Discover(Box<crate::discovery::Walker>),
    /// A planner's GetParameterNames: the names under `path` (objects and leaves with their
    /// `writable`), values kept where known and read only where declarations ask, as GenieACS
    /// does.
    Names {
        path: String,
        /// One level only (the planner lists the root so).
        next_level: bool,
    },
}

/// One unit of work in a session.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub(crate) purpose: Purpose,
    work: Work,
}

/// The leaves a refresh's GetParameterNames found, in the CPE's order, to give each value of the
/// following GetParameterValues its `writable`. CPEs answer both in the same order, so a cursor
/// finds each name with one comparison; an index is built only if the orders differ.
#[derive(Debug, Clone, Default)]
struct Leaves {
    /// The objects found, written together with the values.
    objects: Vec<(String, Param)>,
    order: Vec<(String, bool)>,
    cursor: usize,
    index: Option<HashMap<String, usize>>,
}

impl Leaves {
    fn writable(&mut self, name: &str) -> Option<bool> {
        if let Some((n, w)) = self.order.get(self.cursor)
            && n == name
        {
            self.cursor += 1;
            return Some(*w);
        }
        let order = &self.order;
        let index = self.index.get_or_insert_with(|| {
            order
                .iter()
                .enumerate()
                .map(|(i, (n, _))| (n.clone(), i))
                .collect()
        });
        let i = *index.get(name)?;
        self.cursor = i + 1;
        Some(self.order[i].1)
    }
}

/// What an answer did.
#[derive(Debug, Default)]
pub(crate) struct Applied {
    /// Tree writes: parameters to set, subtrees to remove.
    pub(crate) set: Vec<(String, Param)>,
    pub(crate) remove: Vec<String>,
    /// Whether the device meta changed (facts, parameter key, credentials).
    pub(crate) meta_changed: bool,
    /// True when the job has no more RPCs.
    pub(crate) done: bool,
    /// For a Download answered with status 1: the task completes at TransferComplete.
    pub(crate) awaiting_transfer: bool,
    /// A one-line result to keep with the task (instance number, SPV status).
    pub(crate) note: Option<String>,
    /// For a SetParameterValues: the paths written and the CPE's status (0 applied, 1 applied
    /// at the next reboot).
    pub(crate) written: Option<(Vec<String>, u32)>,
    /// Other store writes: discovery's documents and fault, a re-keyed device's credential
    /// record.
    pub(crate) ops: Vec<acs_store::Op>,
    /// Whether discovery fell back to a more careful mode.
    pub(crate) fell_back: bool,
}

impl Job {
    /// Builds jobs for pending tasks, batching consecutive getParameterValues tasks into one RPC.
    pub(crate) fn from_tasks(tasks: &[TaskRecord], root: &str) -> Vec<Self> {
        let mut jobs: Vec<Self> = Vec::new();
        for t in tasks {
            if let (TaskKind::GetParameterValues { names }, Some(last)) = (&t.kind, jobs.last_mut())
                && let (Work::Gpv(prev), Purpose::Tasks(ids)) = (&mut last.work, &mut last.purpose)
            {
                prev.extend(names.iter().cloned());
                ids.push(t.id);
                continue;
            }
            jobs.extend(Self::from_task(t, root));
        }
        jobs
    }

    /// The job of one task; `None` only for a kind no job knows (none today).
    fn from_task(t: &TaskRecord, root: &str) -> Option<Self> {
        let work = match &t.kind {
            TaskKind::GetParameterValues { names } => Work::Gpv(names.clone()),
            TaskKind::SetParameterValues {
                values,
                parameter_key,
            } => Work::Spv {
                values: values
                    .iter()
                    .map(|(n, v, ty)| ParameterValue::new(n, v, XsdType::parse(ty)))
                    .collect(),
                key: if parameter_key.is_empty() {
                    format!("task_{}", t.id)
                } else {
                    parameter_key.clone()
                },
            },
            TaskKind::RefreshObject { path } => {
                let path = if path.is_empty() {
                    root.to_owned()
                } else {
                    path.clone()
                };
                Work::Refresh { path, names: None }
            }
            TaskKind::AddObject {
                path,
                parameter_key,
            } => Work::Add {
                path: path.clone(),
                key: parameter_key.clone(),
                keys: Vec::new(),
            },
            TaskKind::DeleteObject {
                path,
                parameter_key,
            } => Work::Delete {
                path: path.clone(),
                key: parameter_key.clone(),
            },
            TaskKind::Reboot => Work::Reboot {
                command_key: format!("task_{}", t.id),
            },
            TaskKind::FactoryReset => Work::FactoryReset,
            TaskKind::Download {
                file_type,
                url,
                username,
                password,
                file_size,
                target_file_name,
            } => Work::Download(cwmp::Download {
                command_key: format!("task_{}", t.id),
                file_type: file_type.clone(),
                url: url.clone(),
                username: username.clone(),
                password: password.clone(),
                file_size: *file_size,
                target_file_name: target_file_name.clone(),
                ..cwmp::Download::default()
            }),
            other => Work::Rpc(crate::rpcs::RpcWork::from_task(other, t.id)?),
        };
        Some(Self {
            purpose: Purpose::Tasks(vec![t.id]),
            work,
        })
    }

    /// An internal job that sets the connection-request credentials.
    pub(crate) fn cr_credentials(root: &str, username: String, password: String) -> Self {
        let ms = format!("{root}.ManagementServer.");
        let values = vec![
            ParameterValue::new(
                format!("{ms}ConnectionRequestUsername"),
                &username,
                XsdType::String,
            ),
            ParameterValue::new(
                format!("{ms}ConnectionRequestPassword"),
                &password,
                XsdType::String,
            ),
        ];
        Self {
            purpose: Purpose::CrCredentials { username, password },
            work: Work::Spv {
                values,
                key: String::new(),
            },
        }
    }

    /// The SetParameterValues of an adopting session: `ManagementServer.Username` and
    /// `Password` to the device's derived credentials, and nothing else.
    pub(crate) fn cpe_credentials(
        root: &str,
        username: &str,
        password: &str,
        record: crate::credentials::RecordWrite,
    ) -> Self {
        let ms = format!("{root}.ManagementServer.");
        let values = vec![
            ParameterValue::new(format!("{ms}Username"), username, XsdType::String),
            ParameterValue::new(format!("{ms}Password"), password, XsdType::String),
        ];
        Self {
            purpose: Purpose::CpeCredentials { record },
            work: Work::Spv {
                values,
                key: String::new(),
            },
        }
    }

    /// The Download that serves a CPE's RequestDownload: no task waits for it, and its
    /// TransferComplete is acknowledged only.
    pub(crate) fn requested_download(download: cwmp::Download) -> Self {
        Self {
            purpose: Purpose::Tasks(Vec::new()),
            work: Work::Download(download),
        }
    }

    /// A refresh of a whole subtree (GetParameterNames, then GetParameterValues), as a
    /// `refreshObject` task runs it.
    #[cfg(test)]
    pub(crate) fn refresh(path: &str) -> Self {
        Self {
            purpose: Purpose::Tasks(Vec::new()),
            work: Work::Refresh {
                path: path.to_owned(),
                names: None,
            },
        }
    }

    /// Whole-tree discovery of a new or bootstrapped device, as `discovery::decide` planned it.
    pub(crate) fn discover(walker: Box<crate::discovery::Walker>) -> Self {
        Self {
            purpose: Purpose::Tasks(Vec::new()),
            work: Work::Discover(walker),
        }
    }

    /// Store writes that must be durable before the job's first RPC goes out.
    pub(crate) fn take_start_ops(&mut self) -> Vec<acs_store::Op> {
        match &mut self.work {
            Work::Discover(walker) => walker.take_start_ops(),
            _ => Vec::new(),
        }
    }

    /// Folds a CPE fault into a discovery job (its fallbacks); `None` for any other job.
    pub(crate) fn discovery_fault(&mut self, fault: &Fault, now_ms: i64) -> Option<Applied> {
        let Work::Discover(walker) = &mut self.work else {
            return None;
        };
        Some(progress(walker.fault(fault, now_ms)))
    }

    /// A job for one RPC the provisioning planner asked for. Discovery uses a refresh of the
    /// object (names, then values), which also satisfies any read planned after it. `file`
    /// gives a Download's URL and size from the file's name.
    pub(crate) fn provision(
        rpc: &crate::provision::Rpc,
        channel: &str,
        file: &dyn Fn(&str) -> (String, u64),
        parameter_key: Option<&str>,
    ) -> Self {
        use crate::provision::Rpc;
        let work = match rpc {
            Rpc::GetParameterNames { path, next_level } => Work::Names {
                path: path.trim_end_matches('.').to_owned(),
                next_level: *next_level,
            },
            Rpc::GetParameterValues { names } => Work::Gpv(names.clone()),
            Rpc::GetParameterAttributes { names } => Work::Gpa(names.clone()),
            Rpc::SetParameterValues { values } => Work::Spv {
                values: values
                    .iter()
                    .map(|(n, v, ty)| ParameterValue::new(n, v, XsdType::parse(ty)))
                    .collect(),
                key: parameter_key.unwrap_or_default().to_owned(),
            },
            Rpc::SetParameterAttributes { attributes } => Work::Spa(
                attributes
                    .iter()
                    .map(|(name, n, list)| cwmp::SetParameterAttribute {
                        name: name.clone(),
                        notification_change: n.is_some(),
                        notification: n.map_or(0, u32::from),
                        access_list_change: list.is_some(),
                        access_list: list.clone().unwrap_or_default(),
                    })
                    .collect(),
            ),
            Rpc::AddObject { path, keys } => Work::Add {
                path: path.trim_end_matches('.').to_owned(),
                key: String::new(),
                keys: keys.clone(),
            },
            Rpc::DeleteObject { path } => Work::Delete {
                path: path.trim_end_matches('.').to_owned(),
                key: String::new(),
            },
            Rpc::Download {
                instance,
                file_type,
                file_name,
                target_file_name,
            } => {
                let (url, file_size) = file(file_name);
                Work::Download(cwmp::Download {
                    command_key: format!("download_{instance}"),
                    file_type: file_type.clone(),
                    url,
                    file_size,
                    target_file_name: target_file_name.clone(),
                    ..cwmp::Download::default()
                })
            }
            Rpc::Reboot => Work::Reboot {
                command_key: String::new(),
            },
            Rpc::FactoryReset => Work::FactoryReset,
        };
        let mut job = Self {
            purpose: Purpose::Provision {
                channel: channel.to_owned(),
            },
            work,
        };
        if let (
            Rpc::Download {
                instance,
                file_name,
                ..
            },
            Work::Download(d),
        ) = (rpc, &job.work)
        {
            job.purpose = Purpose::ProvisionDownload {
                channel: channel.to_owned(),
                instance: *instance,
                file_name: file_name.clone(),
                file_type: d.file_type.clone(),
                target_file_name: d.target_file_name.clone(),
            };
        }
        job
    }

    /// The RPC to send now.
    pub(crate) fn request(&self) -> Body {
        match &self.work {
            Work::Gpv(names) => Body::GetParameterValues {
                names: names.clone(),
            },
            Work::Gpa(names) => Body::GetParameterAttributes {
                names: names.clone(),
            },
            Work::Spa(parameters) => Body::SetParameterAttributes {
                parameters: parameters.clone(),
            },
            Work::AddKeys {
                instance,
                keys,
                types: None,
            } => Body::GetParameterValues {
                names: keys
                    .iter()
                    .map(|(k, _)| format!("{instance}.{k}"))
                    .collect(),
            },
            Work::AddKeys {
                instance,
                keys,
                types: Some(types),
            } => Body::SetParameterValues {
                parameters: keys
                    .iter()
                    .zip(types)
                    .map(|((k, v), ty)| {
                        ParameterValue::new(format!("{instance}.{k}"), v, ty.clone())
                    })
                    .collect(),
                parameter_key: String::new(),
            },
            Work::Spv { values, key } => Body::SetParameterValues {
                parameters: values.clone(),
                parameter_key: key.clone(),
            },
            Work::Refresh { path, names: None } => Body::GetParameterNames {
                path: object_path(path),
                next_level: false,
            },
            Work::Refresh {
                path,
                names: Some(_),
            } => Body::GetParameterValues {
                names: vec![object_path(path)],
            },
            Work::Add { path, key, .. } => Body::AddObject {
                object_name: object_path(path),
                parameter_key: key.clone(),
            },
            Work::Delete { path, key } => Body::DeleteObject {
                object_name: object_path(path),
                parameter_key: key.clone(),
            },
            Work::Reboot { command_key } => Body::Reboot {
                command_key: command_key.clone(),
            },
            Work::FactoryReset => Body::FactoryReset,
            Work::Download(d) => Body::Download(d.clone()),
            Work::Rpc(rpc) => rpc.request(),
            Work::Discover(walker) => walker.request(),
            Work::Names { path, next_level } => Body::GetParameterNames {
                path: object_path(path),
                next_level: *next_level,
            },
        }
    }

    /// Folds the CPE's answer into store writes. `tree` is the device's cached tree (read only
    /// for jobs that merge with it); `meta` is updated in place for facts and keys.
    pub(crate) fn apply(
        &mut self,
        answer: Body,
        now_ms: i64,
        meta: &mut DeviceMeta,
        tree: Option<&ParamTree>,
    ) -> Result<Applied, Fault> {
        let mut out = Applied {
            done: true,
            ..Applied::default()
        };
        match (&mut self.work, answer) {
            (Work::Discover(walker), answer) => {
                return walker.answer(answer, now_ms, meta).map(progress);
            }
            (Work::Names { path, next_level }, Body::GetParameterNamesResponse { parameters }) => {
                let (set, remove) = listed(path, *next_level, parameters, tree, now_ms);
                out.set = set;
                out.remove = remove;
            }
            (Work::Gpv(_), Body::GetParameterValuesResponse { parameters }) => {
                out.set.reserve(parameters.len());
                for p in parameters {
                    let writable = tree.and_then(|t| t.get(&p.name)).and_then(|e| e.writable);
                    out.meta_changed |= note_fact(meta, &p.name, &p.value);
                    out.set.push(owned_leaf(p, writable, now_ms));
                }
            }
            (Work::Spv { values, key }, Body::SetParameterValuesResponse { status }) => {
                let secret = matches!(self.purpose, Purpose::CpeCredentials { .. });
                for p in values.iter() {
                    out.meta_changed |= note_fact(meta, &p.name, &p.value);
                    // What we wrote is what the tree holds: secured values read back empty. The
                    // CPE's own ACS password is kept out of the tree (the NBI shows the tree).
                    let mut p = p.clone();
                    if secret && p.name.ends_with(".Password") {
                        p.value.clear();
                    }
                    out.set.push(owned_leaf(p, Some(true), now_ms));
                }
                if let Purpose::CpeCredentials { record } = &self.purpose {
                    out.ops.push(record.op());
                }
                if !key.is_empty() {
                    meta.parameter_key = key.clone();
                    out.meta_changed = true;
                }
                if let Purpose::CrCredentials { username, password } = &self.purpose {
                    meta.cr_username = username.clone();
                    meta.cr_password = password.clone();
                    out.meta_changed = true;
                } else {
                    // Credentials a task or a provision (GenieACS's `inform` provision) wrote
                    // are the ones the CPE now checks: the ACS keeps them, uses them for its
                    // connection requests, and does not overwrite them with its own.
                    out.meta_changed |= note_cr_credentials(meta, values);
                }
                out.note = Some(format!("status {status}"));
                out.written = Some((values.iter().map(|p| p.name.clone()).collect(), status));
            }
            (
                Work::Refresh {
                    names: names @ None,
                    path,
                },
                Body::GetParameterNamesResponse { parameters },
            ) => {
                // Nothing is written yet: objects and leaves go to the store in one write with
                // the values, so the device's tree is cut into chunks once per refresh.
                let mut leaves = Leaves::default();
                for mut p in parameters {
                    if p.name.ends_with('.') {
                        p.name.pop();
                        let param = Param {
                            object: true,
                            writable: Some(p.writable),
                            value: None,
                            timestamp_ms: now_ms,
                            attributes: None,
                        };
                        leaves.objects.push((p.name, param));
                    } else {
                        leaves.order.push((p.name, p.writable));
                    }
                }
                if leaves.order.is_empty() {
                    // No values to fetch: the refresh ends here.
                    out.remove.push(path.clone());
                    out.set = std::mem::take(&mut leaves.objects);
                } else {
                    out.done = false;
                }
                *names = Some(leaves);
            }
            (
                Work::Refresh {
                    names: Some(found),
                    path,
                },
                Body::GetParameterValuesResponse { parameters },
            ) => {
                // A refresh replaces the subtree: anything the CPE no longer lists is gone.
                out.remove.push(path.clone());
                out.set = std::mem::take(&mut found.objects);
                out.set.reserve(parameters.len());
                for p in parameters {
                    let writable = found.writable(&p.name);
                    out.meta_changed |= note_fact(meta, &p.name, &p.value);
                    out.set.push(owned_leaf(p, writable, now_ms));
                }
            }
            (
                Work::Add { path, key, keys },
                Body::AddObjectResponse {
                    instance_number,
                    status,
                },
            ) => {
                let inst = format!("{}.{instance_number}", path.trim_end_matches('.'));
                // Its children were never listed (timestamp 0): declarations below it list them.
                out.set.push((inst.clone(), Param::object(Some(true), 0)));
                if !key.is_empty() {
                    meta.parameter_key = key.clone();
                    out.meta_changed = true;
                }
                out.note = Some(format!("instance {instance_number} status {status}"));
                if !keys.is_empty() {
                    let keys = std::mem::take(keys);
                    self.work = Work::AddKeys {
                        instance: inst,
                        keys,
                        types: None,
                    };
                    out.done = false;
                }
            }
            (
                Work::AddKeys {
                    types: types @ None,
                    ..
                },
                Body::GetParameterValuesResponse { parameters },
            ) => {
                let found: Vec<XsdType> = parameters.iter().map(|p| p.xsd_type.clone()).collect();
                // A new instance's keys are read and written, never listed: their writability
                // is not known (GenieACS leaves it out too).
                for p in parameters {
                    out.set.push(owned_leaf(p, None, now_ms));
                }
                *types = Some(found);
                out.done = false;
            }
            (
                Work::AddKeys {
                    instance,
                    keys,
                    types: Some(types),
                },
                Body::SetParameterValuesResponse { .. },
            ) => {
                for ((k, v), ty) in keys.iter().zip(types.iter()) {
                    let p = ParameterValue::new(format!("{instance}.{k}"), v, ty.clone());
                    out.set.push(owned_leaf(p, None, now_ms));
                }
            }
            (Work::Gpa(_), Body::GetParameterAttributesResponse { parameters }) => {
                let tree = tree.ok_or_else(|| Fault::new(8002, "attributes without a tree"))?;
                for a in parameters {
                    let Some(mut node) = tree.get(&a.name).cloned() else {
                        continue;
                    };
                    node.attributes = Some(Box::new(acs_store::Attributes {
                        notification: u8::try_from(a.notification).unwrap_or(u8::MAX),
                        access_list: a.access_list,
                        timestamp_ms: now_ms,
                    }));
                    out.set.push((a.name, node));
                }
            }
            (Work::Spa(parameters), Body::SetParameterAttributesResponse) => {
                let tree = tree.ok_or_else(|| Fault::new(8002, "attributes without a tree"))?;
                for a in parameters.iter() {
                    let Some(mut node) = tree.get(&a.name).cloned() else {
                        continue;
                    };
                    let attrs = node.attributes.get_or_insert_with(Default::default);
                    if a.notification_change {
                        attrs.notification = u8::try_from(a.notification).unwrap_or(u8::MAX);
                    }
                    if a.access_list_change {
                        attrs.access_list.clone_from(&a.access_list);
                    }
                    attrs.timestamp_ms = now_ms;
                    out.set.push((a.name.clone(), node));
                }
            }
            (Work::Delete { path, key }, Body::DeleteObjectResponse { status }) => {
                out.remove.push(path.trim_end_matches('.').to_owned());
                if !key.is_empty() {
                    meta.parameter_key = key.clone();
                    out.meta_changed = true;
                }
                out.note = Some(format!("status {status}"));
            }
            (Work::Reboot { .. }, Body::RebootResponse)
            | (Work::FactoryReset, Body::FactoryResetResponse) => {
                if let Purpose::Provision { .. } = self.purpose {
                    // The ACS's record of the action, as GenieACS keeps it in the device
                    // document: later declarations compare their time with this one.
                    let which = if matches!(self.work, Work::Reboot { .. }) {
                        crate::provision::REBOOT
                    } else {
                        crate::provision::FACTORY_RESET
                    };
                    out.set.push(pseudo_leaf(which, now_ms));
                }
            }
            (Work::Download(_), Body::DownloadResponse { status, .. }) => {
                out.awaiting_transfer = status == 1;
                out.note = Some(format!("status {status}"));
                if let Purpose::ProvisionDownload {
                    instance,
                    file_type,
                    file_name,
                    target_file_name,
                    ..
                } = &self.purpose
                {
                    let base = format!("{}.{instance}", crate::provision::DOWNLOADS);
                    out.set.push((
                        crate::provision::DOWNLOADS.to_owned(),
                        Param::object(Some(false), now_ms),
                    ));
                    out.set
                        .push((base.clone(), Param::object(Some(false), now_ms)));
                    for (leaf, v) in [
                        ("FileType", file_type),
                        ("FileName", file_name),
                        ("TargetFileName", target_file_name),
                    ] {
                        let value = acs_store::Value::String(v.clone());
                        out.set.push((
                            format!("{base}.{leaf}"),
                            Param::leaf(Some(value), Some(false), now_ms),
                        ));
                    }
                    out.set
                        .push(pseudo_leaf(&format!("{base}.Download"), now_ms));
                }
            }
            (Work::Rpc(rpc), answer) => {
                let applied = rpc.apply(answer, now_ms)?;
                out.set = applied.set;
                out.remove = applied.remove;
                out.awaiting_transfer = applied.awaiting;
            }
            (_, other) => {
                return Err(Fault::new(
                    8003,
                    format!("unexpected answer {}", other.name()),
                ));
            }
        }
        Ok(out)
    }

    /// Whether folding this job's answers needs the device's cached tree.
    pub(crate) fn needs_tree(&self) -> bool {
        matches!(
            self.work,
            Work::Gpv(_) | Work::Gpa(_) | Work::Spa(_) | Work::Names { .. }
        )
    }

    /// The paths folding this job's answer reads from the cached tree (each with what lies
    /// below it), or `None` when that is not known and the whole tree is needed.
    pub(crate) fn tree_reads(&self) -> Option<Vec<String>> {
        match &self.work {
            Work::Gpv(names) => Some(names.clone()),
            Work::Names { path, .. } => Some(vec![path.clone()]),
            _ => None,
        }
    }

    /// For a GetParameterValues job: its names (a 9005 answer is recovered from by splitting).
    pub(crate) fn gpv_names(&self) -> Option<&[String]> {
        match &self.work {
            Work::Gpv(names) => Some(names),
            _ => None,
        }
    }

    /// The same job reading only `names` (a half of a GetParameterValues that faulted 9005).
    pub(crate) fn with_gpv_names(&self, names: Vec<String>) -> Self {
        Self {
            purpose: self.purpose.clone(),
            work: Work::Gpv(names),
        }
    }

    /// Whether this job's RPC makes the CPE restart (Reboot, FactoryReset): a CPE that comes
    /// back booted has carried it out even if its answer was lost.
    pub(crate) fn restarts_cpe(&self) -> bool {
        matches!(self.work, Work::Reboot { .. } | Work::FactoryReset)
    }

    /// The task ids this job completes.
    pub(crate) fn task_ids(&self) -> &[u64] {
        match &self.purpose {
            Purpose::Tasks(ids) => ids,
            Purpose::CrCredentials { .. }
            | Purpose::CpeCredentials { .. }
            | Purpose::Provision { .. }
            | Purpose::ProvisionDownload { .. } => &[],
        }
    }
}

/// What a GetParameterNames of `path` changes in the tree: every listed node set (a known leaf
/// keeps its value and read time, takes the listed `writable`; an object is stamped as listed
/// now), and every known node under `path` the CPE no longer lists removed.
///
/// With `next_level` only `path` itself is stamped as listed: the objects one level down keep
/// the time their own children were listed (0, never, for a new one), and only what was one
/// level down and is no longer listed goes. The root (`""`) is such a listing; its node records
/// when it was made (GenieACS's device-level `_timestamp`), and the ACS's own top-level nodes
/// (`VirtualParameters`, `Reboot`, `FactoryReset`, `Downloads`) are not the CPE's to list, so
/// they stay.
fn listed(
    path: &str,
    next_level: bool,
    parameters: Vec<cwmp::ParameterInfo>,
    tree: Option<&ParamTree>,
    now_ms: i64,
) -> (Vec<(String, Param)>, Vec<String>) {
    let mut set = Vec::with_capacity(parameters.len() + 1);
    let known = tree.and_then(|t| t.get(path)).and_then(|p| p.writable);
    set.push((path.to_owned(), Param::object(known, now_ms)));
    for p in parameters {
        let writable = Some(p.writable);
        if let Some(name) = p.name.strip_suffix('.') {
            if name == path {
                // The CPE listed the object itself: its writability is now known.
                if let Some((_, own)) = set.first_mut() {
                    own.writable = writable;
                }
            } else {
                let listed_ms = if next_level {
                    tree.and_then(|t| t.get(name))
                        .filter(|old| old.object)
                        .map_or(0, |old| old.timestamp_ms)
                } else {
                    now_ms
                };
                set.push((name.to_owned(), Param::object(writable, listed_ms)));
            }
            continue;
        }
        let param = match tree.and_then(|t| t.get(&p.name)) {
            Some(old) if !old.object => Param {
                writable,
                ..old.clone()
            },
            _ => Param::leaf(None, writable, 0),
        };
        set.push((p.name, param));
    }
    let remove = match tree {
        Some(t) => {
            let listed: std::collections::HashSet<&str> =
                set.iter().map(|(n, _)| n.as_str()).collect();
            let depth = if path.is_empty() {
                1
            } else {
                path.split('.').count() + 1
            };
            let acs_own = |n: &str| {
                path.is_empty()
                    && (crate::provision::is_pseudo(n)
                        || n == crate::provision::script::VIRTUAL
                        || n.starts_with("VirtualParameters."))
            };
            t.iter_prefix(path)
                .map(|(n, _)| n)
                .filter(|n| !listed.contains(n) && !acs_own(n))
                .filter(|n| !next_level || n.split('.').count() == depth)
                .map(str::to_owned)
                .collect()
        }
        None => Vec::new(),
    };
    (set, remove)
}

/// A discovery step as a job's outcome.
fn progress(p: crate::discovery::Progress) -> Applied {
    Applied {
        set: p.set,
        remove: p.remove,
        meta_changed: p.meta_changed,
        done: p.done,
        ops: p.ops,
        fell_back: p.fell_back,
        ..Applied::default()
    }
}

/// A pseudo-parameter recording when the ACS sent an action.
fn pseudo_leaf(path: &str, now_ms: i64) -> (String, Param) {
    let value = acs_store::Value::DateTime(crate::genie::date::iso(now_ms));
    (
        path.to_owned(),
        Param::leaf(Some(value), Some(false), now_ms),
    )
}

/// A leaf from a parameter value, keeping the value's allocation.
pub(crate) fn owned_leaf(
    p: ParameterValue,
    writable: Option<bool>,
    now_ms: i64,
) -> (String, Param) {
    let value = acs_store::Value::from_wire_owned(p.xsd_type.local_name(), p.value);
    (
        p.name,
        Param {
            object: false,
            writable,
            value: Some(value),
            timestamp_ms: now_ms,
            attributes: None,
        },
    )
}

/// CWMP writes partial paths with a trailing dot; the store keeps them without it.
fn object_path(path: &str) -> String {
    if path.is_empty() || path.ends_with('.') {
        path.to_owned()
    } else {
        format!("{path}.")
    }
}

/// Records connection-request credentials a SetParameterValues wrote (an empty password is not
/// a credential: secured values read back empty). Returns whether the record changed.
fn note_cr_credentials(meta: &mut DeviceMeta, values: &[ParameterValue]) -> bool {
    let mut changed = false;
    for p in values {
        // `<root>.ManagementServer.<leaf>`, directly under the root object.
        let Some((head, leaf)) = p.name.rsplit_once('.') else {
            continue;
        };
        if !head.ends_with(".ManagementServer") || head.matches('.').count() != 1 {
            continue;
        }
        let slot = match leaf {
            "ConnectionRequestUsername" => &mut meta.cr_username,
            "ConnectionRequestPassword" if !p.value.is_empty() => &mut meta.cr_password,
            _ => continue,
        };
        if *slot != p.value {
            slot.clone_from(&p.value);
            changed = true;
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_are_found_in_order_and_out_of_order() {
        let mut l = Leaves {
            order: vec![
                ("a.x".into(), true),
                ("a.y".into(), false),
                ("b.z".into(), true),
            ],
            ..Leaves::default()
        };
        assert_eq!(l.writable("a.x"), Some(true));
        assert_eq!(l.writable("a.y"), Some(false));
        assert!(l.index.is_none(), "in-order lookups build no index");
        assert_eq!(l.writable("a.x"), Some(true));
        assert_eq!(l.writable("nope"), None);
        assert_eq!(l.writable("b.z"), Some(true));
    }

    #[test]
    fn a_one_level_listing_of_the_root_records_it_and_keeps_the_acs_own_nodes() {
        let mut tree = ParamTree::new();
        tree.insert("Device", Param::object(None, 0));
        tree.insert("VirtualParameters", Param::object(None, 5));
        tree.insert("Reboot", Param::leaf(None, Some(false), 5));
        let answer = vec![cwmp::ParameterInfo {
            name: "Device.".into(),
            writable: false,
        }];
        let (set, remove) = listed("", true, answer, Some(&tree), 9);
        assert_eq!(set[0], (String::new(), Param::object(None, 9)));
        // `Device` is known writable now, but its own children are still never listed.
        assert_eq!(set[1], ("Device".into(), Param::object(Some(false), 0)));
        assert!(remove.is_empty(), "{remove:?}");
    }

    #[test]
    fn a_refresh_writes_objects_first_then_values_with_their_writability() {
        let mut job = Job::refresh("Device");
        let mut meta = DeviceMeta::new(
            acs_store::DeviceId::parse("A-B-C").unwrap(),
            Default::default(),
        );
        assert!(
            matches!(job.request(), Body::GetParameterNames { ref path, next_level: false } if path == "Device.")
        );
        let gpn = Body::GetParameterNamesResponse {
            parameters: vec![
                cwmp::ParameterInfo {
                    name: "Device.".into(),
                    writable: false,
                },
                cwmp::ParameterInfo {
                    name: "Device.WiFi.SSID.1.SSID".into(),
                    writable: true,
                },
                cwmp::ParameterInfo {
                    name: "Device.DeviceInfo.UpTime".into(),
                    writable: false,
                },
            ],
        };
        let a = job.apply(gpn, 5, &mut meta, None).unwrap();
        assert!(!a.done);
        assert!(
            a.set.is_empty() && a.remove.is_empty(),
            "nothing is written before the values"
        );
        assert!(
            matches!(job.request(), Body::GetParameterValues { ref names } if names == &["Device."])
        );
        let gpv = Body::GetParameterValuesResponse {
            parameters: vec![
                ParameterValue::new("Device.DeviceInfo.UpTime", "7", XsdType::UnsignedInt),
                ParameterValue::new("Device.WiFi.SSID.1.SSID", "x", XsdType::String),
            ],
        };
        let a = job.apply(gpv, 6, &mut meta, None).unwrap();
        assert!(a.done);
        assert_eq!(a.remove, vec!["Device".to_owned()]);
        assert_eq!(a.set.len(), 3, "the root object and both values");
        let ssid = a.set.iter().find(|(p, _)| p.ends_with("SSID")).unwrap();
        assert_eq!(ssid.1.writable, Some(true));
        let up = a.set.iter().find(|(p, _)| p.ends_with("UpTime")).unwrap();
        assert_eq!(up.1.writable, Some(false));
    }

    #[test]
    fn a_mismatched_answer_is_an_8003_fault() {
        let mut job = Job::refresh("Device");
        let mut meta = DeviceMeta::new(
            acs_store::DeviceId::parse("A-B-C").unwrap(),
            Default::default(),
        );
        let err = job
            .apply(Body::RebootResponse, 1, &mut meta, None)
            .unwrap_err();
        assert_eq!(err.code, 8003);
    }
}
