//! The session's side of the rest of the CWMP RPC set: the CPE's DUStateChangeComplete,
//! AutonomousDUStateChangeComplete, AutonomousTransferComplete and RequestDownload, the answer
//! to its GetRPCMethods, and the sweep of expired and timed-out tasks before any is sent.
//!
//! **HoldRequests**, the one case where the ACS needs the CPE to wait: a RequestDownload the
//! file server can serve is answered with `HoldRequests` set ([`HOLD_FOR_REQUESTED_DOWNLOAD`]),
//! so the CPE's next POST is empty and the Download the ACS chose goes out at once, before the
//! CPE sends any further request of its own (those wait for a message without the header, or
//! for its next session).

use super::{Need, Read, Session, Stage};
use crate::jobs::Job;
use crate::rpcs::{self, RpcApplied};
use crate::task_sweep;
use acs_store::{Op, TaskRecord};
use cwmp::Body;

/// The case in which the ACS sets `HoldRequests`: it answers a RequestDownload it can serve and
/// has queued the Download, which must go before the CPE's further requests.
pub(crate) const HOLD_FOR_REQUESTED_DOWNLOAD: &str = "requested download queued";

/// The methods the ACS answers, GenieACS's three first, in its order; then the CPE requests
/// GenieACS answers with a fault and Fibreplane implements.
const ACS_METHODS: [&str; 7] = [
    "Inform",
    "GetRPCMethods",
    "TransferComplete",
    "AutonomousTransferComplete",
    "RequestDownload",
    "DUStateChangeComplete",
    "AutonomousDUStateChangeComplete",
];

impl Session {
    /// Drops expired tasks and faults parked transfers past the download timeout before the
    /// session picks what to send; returns the tasks still to consider.
    pub(super) fn sweep_tasks(&mut self, tasks: Vec<TaskRecord>, now_ms: i64) -> Vec<TaskRecord> {
        let swept = task_sweep::sweep(
            tasks,
            now_ms,
            self.policy.download_timeout_ms,
            self.policy.retry,
        );
        for _ in 0..swept.timed_out {
            self.effects
                .push_back(super::Effect::Count(super::Counted::TaskFault));
        }
        self.push_fault_ops(swept.ops);
        self.outbox.notify.extend(swept.notify);
        swept.live
    }

    /// Records what the CPE's request reports, asking for the reads that needs first. Runs
    /// before the request is answered, so the answer goes out only once this is durable.
    pub(super) fn record_cpe_request(&mut self, now_ms: i64) -> Result<(), Need> {
        let Stage::CpeRequest(body) = &self.stage else {
            return Ok(());
        };
        match body {
            Body::DuStateChangeComplete {
                results,
                command_key,
            } => {
                let applied = rpcs::du_results("DUStateChange", results, now_ms);
                if let crate::transfer::Target::Task(id) = crate::transfer::target(command_key) {
                    let fresh = self.fresh_tasks.take().ok_or(Need(Read::Tasks))?;
                    let task = fresh.into_iter().find(|t| t.id == id);
                    // The first failed operation, if any, is the task's fault.
                    let fault = results
                        .iter()
                        .map(|r| r.fault.clone())
                        .find(|f| f.code != 0)
                        .unwrap_or_default();
                    let tc = cwmp::TransferComplete {
                        command_key: command_key.clone(),
                        fault,
                        ..cwmp::TransferComplete::default()
                    };
                    if let Some((ops, ok)) =
                        crate::transfer::task_ops(task, &tc, now_ms, self.policy.retry)
                    {
                        let counted = if ok {
                            super::Counted::TaskDone
                        } else {
                            super::Counted::TaskFault
                        };
                        self.effects.push_back(super::Effect::Count(counted));
                        self.push_fault_ops(ops);
                    }
                    self.outbox.notify.push(id);
                }
                self.record(applied);
            }
            Body::AutonomousDuStateChangeComplete { results } => {
                let applied = rpcs::du_results("AutonomousDUStateChange", results, now_ms);
                self.record(applied);
            }
            Body::AutonomousTransferComplete(atc) => {
                tracing::info!(device = %self.device, url = %atc.transfer_url, code = atc.fault.code, "autonomous transfer complete");
                let applied = rpcs::autonomous_transfer(atc, now_ms);
                self.record(applied);
            }
            Body::RequestDownload { file_type, .. } => {
                let docs = self.file_docs.take().ok_or(Need(Read::Files))?;
                let file_type = file_type.clone();
                match self.pick_file(&file_type, &docs) {
                    Some((name, size)) => {
                        let base = self.policy.file_server_url.clone();
                        tracing::info!(device = %self.device, %file_type, file = %name, "serving a requested download");
                        self.jobs
                            .push_front(Job::requested_download(cwmp::Download {
                                command_key: format!("request_download_{now_ms}"),
                                file_type,
                                url: super::provisioning::file_url(&base, &name),
                                file_size: size,
                                ..cwmp::Download::default()
                            }));
                        self.hold_reason = Some(HOLD_FOR_REQUESTED_DOWNLOAD);
                    }
                    None => {
                        tracing::info!(device = %self.device, %file_type, "requested download: no such file");
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The newest file of `file_type` whose `oui`/`productClass` metadata, where set, is the
    /// device's: its name and length.
    fn pick_file(&self, file_type: &str, docs: &[(String, Vec<u8>)]) -> Option<(String, u64)> {
        let id = &self.meta.identity;
        docs.iter()
            .filter_map(|(name, body)| {
                let doc: serde_json::Value = serde_json::from_slice(body).ok()?;
                let meta = doc.get("metadata")?;
                let field = |k: &str| meta.get(k).and_then(serde_json::Value::as_str);
                let fits = |k: &str, want: &str| field(k).is_none_or(|v| v.is_empty() || v == want);
                (field("fileType") == Some(file_type)
                    && fits("oui", &id.oui)
                    && fits("productClass", &id.product_class))
                .then(|| {
                    let date = doc.get("uploadDate").and_then(|d| d.as_str()).unwrap_or("");
                    let len = doc.get("length").and_then(serde_json::Value::as_u64);
                    (date.to_owned(), name.clone(), len.unwrap_or(0))
                })
            })
            .max()
            .map(|(_, name, len)| (name, len))
    }

    /// Writes a record into the tree (and the session's copy of it).
    fn record(&mut self, applied: RpcApplied) {
        let op = Op::UpdateTree {
            id: self.device.clone(),
            set: applied.set,
            remove_subtrees: applied.remove,
        };
        self.apply_to_tree(&op);
        self.outbox.ops.push(op);
    }
}

/// The answer to a CPE request of the rest of the RPC set; `None` for the others.
pub(super) fn answer(body: &Body) -> Option<Body> {
    Some(match body {
        Body::GetRpcMethods => Body::GetRpcMethodsResponse {
            methods: ACS_METHODS.map(String::from).to_vec(),
        },
        Body::DuStateChangeComplete { .. } => Body::DuStateChangeCompleteResponse,
        Body::AutonomousDuStateChangeComplete { .. } => {
            Body::AutonomousDuStateChangeCompleteResponse
        }
        _ => return None,
    })
}
