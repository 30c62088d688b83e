//! The CPE's transfer queue and software modules: Upload, ScheduleDownload, CancelTransfer,
//! GetQueuedTransfers, GetAllQueuedTransfers and ChangeDUState.
//!
//! A transfer the ACS requests waits in the CPE's timers until its delay (or its time window)
//! has passed: until then it is "not yet started" (state 1) and may be cancelled; once its
//! timer fires it runs and reports with TransferComplete. Deployment units are kept in the
//! CPE's state: an install fetches the unit's URL (a real HTTP GET), an uninstall needs a unit
//! that is installed. Results go back in DUStateChangeComplete after the session.

use std::time::Duration;

use cwmp::{AllQueuedTransfer, Body, DuOperation, FaultStruct, OpResult, QueuedTransfer};

use crate::agent::CpeState;
use crate::model_rpc::fault;
use crate::respond::FollowUp;

/// Answers the RPCs that need the CPE's state beyond its data model; `None` hands the request
/// to the model's dispatcher. `follow` holds this session's after-session work so far.
pub(crate) fn answer(
    st: &mut CpeState,
    request: &Body,
    follow: &mut Vec<FollowUp>,
) -> Option<Body> {
    Some(match request {
        Body::Upload(u) => {
            follow.push(FollowUp::Upload(Box::new(u.clone())));
            Body::UploadResponse {
                status: 1,
                start_time: String::new(),
                complete_time: String::new(),
            }
        }
        Body::ScheduleDownload(d) => {
            let Some(first) = d.time_windows.first() else {
                return Some(Body::Fault(fault(9003)));
            };
            let download = cwmp::Download {
                command_key: d.command_key.clone(),
                file_type: d.file_type.clone(),
                url: d.url.clone(),
                username: d.username.clone(),
                password: d.password.clone(),
                file_size: d.file_size,
                target_file_name: d.target_file_name.clone(),
                // The transfer starts when its first window opens.
                delay_seconds: first.window_start,
                ..cwmp::Download::default()
            };
            follow.push(FollowUp::ScheduledDownload(Box::new(download)));
            Body::ScheduleDownloadResponse
        }
        Body::CancelTransfer { command_key } => {
            let queued = |f: &FollowUp| transfer_key(f) == Some(command_key.as_str());
            let before = st.timers.len() + follow.len();
            st.timers.retain(|(_, f)| !queued(f));
            follow.retain(|f| !queued(f));
            if st.timers.len() + follow.len() == before {
                // TR-069: 9021, the transfer is not queued (unknown, or already running).
                return Some(Body::Fault(cwmp::Fault::new(
                    9021,
                    "Cancelation of file transfer not permitted in current transfer state",
                )));
            }
            Body::CancelTransferResponse
        }
        Body::GetQueuedTransfers => Body::GetQueuedTransfersResponse {
            transfers: queued(st, follow)
                .map(|(f, _)| QueuedTransfer {
                    command_key: transfer_key(f).unwrap_or_default().to_owned(),
                    state: 1,
                })
                .collect(),
        },
        Body::GetAllQueuedTransfers => Body::GetAllQueuedTransfersResponse {
            transfers: queued(st, follow).map(|(_, t)| t).collect(),
        },
        Body::ChangeDuState {
            operations,
            command_key,
        } => {
            if operations.is_empty() {
                return Some(Body::Fault(fault(9003)));
            }
            follow.push(FollowUp::ChangeDuState {
                operations: operations.clone(),
                command_key: command_key.clone(),
            });
            Body::ChangeDuStateResponse
        }
        _ => return None,
    })
}

/// The command key of a transfer follow-up.
fn transfer_key(f: &FollowUp) -> Option<&str> {
    match f {
        FollowUp::Download(d) | FollowUp::ScheduledDownload(d) => Some(&d.command_key),
        FollowUp::Upload(u) => Some(&u.command_key),
        _ => None,
    }
}

/// The transfers not yet started, with their GetAllQueuedTransfers entries.
fn queued<'a>(
    st: &'a CpeState,
    follow: &'a [FollowUp],
) -> impl Iterator<Item = (&'a FollowUp, AllQueuedTransfer)> {
    st.timers
        .iter()
        .map(|(_, f)| f)
        .chain(follow.iter())
        .filter_map(|f| {
            let entry = match f {
                FollowUp::Download(d) | FollowUp::ScheduledDownload(d) => AllQueuedTransfer {
                    command_key: d.command_key.clone(),
                    state: 1,
                    is_download: true,
                    file_type: d.file_type.clone(),
                    file_size: d.file_size,
                    target_file_name: d.target_file_name.clone(),
                },
                FollowUp::Upload(u) => AllQueuedTransfer {
                    command_key: u.command_key.clone(),
                    state: 1,
                    is_download: false,
                    file_type: u.file_type.clone(),
                    ..AllQueuedTransfer::default()
                },
                _ => return None,
            };
            Some((f, entry))
        })
}

/// How long after the session a transfer follow-up starts: its DelaySeconds (or window start),
/// capped for a lab run.
pub(crate) fn start_delay(f: &FollowUp) -> Option<Duration> {
    const MAX: Duration = Duration::from_secs(3600);
    let secs = match f {
        FollowUp::Download(d) | FollowUp::ScheduledDownload(d) => d.delay_seconds,
        FollowUp::Upload(u) => u.delay_seconds,
        _ => return None,
    };
    Some(Duration::from_secs(u64::from(secs)).min(MAX))
}

/// An installed deployment unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeploymentUnit {
    pub(crate) uuid: String,
    pub(crate) version: String,
    pub(crate) url: String,
}

/// Performs ChangeDUState's operations in order (installs fetch their URL); one result each.
pub(crate) async fn change_du_state(
    units: &std::sync::Mutex<Vec<DeploymentUnit>>,
    operations: &[DuOperation],
    timeout: Duration,
) -> Vec<OpResult> {
    let mut results = Vec::with_capacity(operations.len());
    for op in operations {
        let start_time = crate::time::now_datetime();
        let (uuid, version, state, fault) = match op {
            DuOperation::Install { url, uuid, .. } => {
                let got = crate::download::fetch(url, "", "", timeout).await;
                let uuid = if uuid.is_empty() {
                    format!("lab-du-{}", rand::random::<u32>())
                } else {
                    uuid.clone()
                };
                if got.fault.code == 0 {
                    let mut list = lock(units);
                    list.retain(|u| u.uuid != uuid);
                    list.push(DeploymentUnit {
                        uuid: uuid.clone(),
                        version: "1.0".into(),
                        url: url.clone(),
                    });
                    (uuid, "1.0".to_owned(), "Installed", FaultStruct::default())
                } else {
                    // 9017 download failure becomes the DU's "unable to download" fault.
                    (uuid, String::new(), "Failed", got.fault)
                }
            }
            DuOperation::Update { uuid, .. } | DuOperation::Uninstall { uuid, .. } => {
                let mut list = lock(units);
                let Some(i) = list.iter().position(|u| u.uuid == *uuid) else {
                    results.push(OpResult {
                        uuid: uuid.clone(),
                        current_state: "Failed".into(),
                        start_time,
                        fault: FaultStruct {
                            code: 9028,
                            string: "Unknown Deployment Unit".into(),
                        },
                        ..OpResult::default()
                    });
                    continue;
                };
                if matches!(op, DuOperation::Uninstall { .. }) {
                    let unit = list.remove(i);
                    (
                        unit.uuid,
                        unit.version,
                        "Uninstalled",
                        FaultStruct::default(),
                    )
                } else {
                    let unit = &mut list[i];
                    unit.version = "1.1".into();
                    (
                        unit.uuid.clone(),
                        unit.version.clone(),
                        "Installed",
                        FaultStruct::default(),
                    )
                }
            }
        };
        let index = lock(units)
            .iter()
            .position(|u| u.uuid == uuid)
            .map_or(0, |i| i + 1);
        results.push(OpResult {
            uuid,
            deployment_unit_ref: if index > 0 {
                format!("Device.SoftwareModules.DeploymentUnit.{index}")
            } else {
                String::new()
            },
            version,
            current_state: state.to_owned(),
            resolved: fault.code == 0,
            start_time,
            complete_time: crate::time::now_datetime(),
            fault,
            ..OpResult::default()
        });
    }
    results
}

fn lock(
    units: &std::sync::Mutex<Vec<DeploymentUnit>>,
) -> std::sync::MutexGuard<'_, Vec<DeploymentUnit>> {
    units
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
