//! The background task of one virtual CPE: decides when to open a session (connection request,
//! retry, first contact, periodic inform, queued event) and performs after-session work
//! (reboot, factory reset, download, scheduled inform).

use std::sync::Arc;
use std::time::Instant;

use cwmp::codec::UNKNOWN_TIME;
use cwmp::{Body, EventStruct, TransferComplete};
use tokio::sync::watch;

use crate::agent::{CONNECTION_REQUEST, Cpe, CpeState, add_event, run_session};
use crate::diag::Test;
use crate::fleet::Shared;
use crate::respond::FollowUp;

/// The event that reports a finished diagnostics test (lost by a reboot).
const DIAGNOSTICS_COMPLETE: &str = "8 DIAGNOSTICS COMPLETE";

/// What the task does next.
#[derive(Debug)]
enum Action {
    Session(Vec<EventStruct>),
    FollowUp(FollowUp),
    /// Nothing due: sleep until the instant (or until woken).
    Wait(Option<Instant>),
}

/// Picks the next piece of work, most urgent first.
fn next_action(st: &mut CpeState, now: Instant) -> Action {
    if let Some(i) = st.timers.iter().position(|(due, _)| *due <= now) {
        return Action::FollowUp(st.timers.swap_remove(i).1);
    }
    if std::mem::take(&mut st.cr_requested) {
        return Action::Session(vec![EventStruct::new(CONNECTION_REQUEST)]);
    }
    if st.retry_at.is_some_and(|t| t <= now) {
        st.retry_at = None;
        return Action::Session(Vec::new());
    }
    if st.boot_at.is_some_and(|t| t <= now) {
        st.boot_at = None;
        if !st.contacted {
            return Action::Session(Vec::new());
        }
    }
    if st.next_periodic.is_some_and(|t| t <= now) {
        st.next_periodic = None;
        return Action::Session(vec![EventStruct::new("2 PERIODIC")]);
    }
    // A queued event (a value change) is delivered at once, unless a retry is already planned.
    if st.contacted && !st.pending_events.is_empty() && st.retry_at.is_none() {
        return Action::Session(Vec::new());
    }
    let next = st
        .timers
        .iter()
        .map(|(t, _)| *t)
        .chain(st.retry_at)
        .chain(st.boot_at)
        .chain(st.next_periodic)
        .min();
    Action::Wait(next)
}

/// Runs until shutdown. Sessions are not interrupted by shutdown; the fleet aborts stragglers.
pub(crate) async fn cpe_task(
    shared: Arc<Shared>,
    cpe: Arc<Cpe>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        let action = next_action(&mut cpe.lock(), Instant::now());
        match action {
            Action::Session(extra) => {
                // Failures are recorded and rescheduled by run_session itself.
                let _ = run_session(&shared, &cpe, &extra).await;
            }
            Action::FollowUp(f) => perform(&shared, &cpe, f).await,
            Action::Wait(deadline) => {
                let sleep = async {
                    match deadline {
                        Some(d) => tokio::time::sleep_until(d.into()).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    () = cpe.wake.notified() => {}
                    () = sleep => {}
                    _ = shutdown.changed() => return,
                }
            }
        }
    }
}

/// Events that a reboot loses (TR-069 §3.2.1 "retry until reboot").
fn survives_reboot(e: &EventStruct) -> bool {
    !matches!(
        e.code.as_str(),
        "1 BOOT" | "4 VALUE CHANGE" | CONNECTION_REQUEST | DIAGNOSTICS_COMPLETE
    )
}

/// Simulates a power cycle: the CPE is unreachable for the reboot delay, then its volatile
/// state is gone (tests in flight too). Configuration (the model) survives.
pub(crate) async fn reboot(shared: &Shared, cpe: &Cpe) {
    cpe.lock().down_until = Some(Instant::now() + shared.reboot_delay);
    tokio::time::sleep(shared.reboot_delay).await;
    let mut st = cpe.lock();
    st.down_until = None;
    st.pending_events.retain(survives_reboot);
    st.cr_requested = false;
    st.changed.clear();
    st.cr_nonces.clear();
    st.next_periodic = None;
    crate::diag::on_reboot(&mut st.model);
    add_event(&mut st.pending_events, EventStruct::new("1 BOOT"));
}

/// Performs after-session work, then opens the session that reports it. A diagnostics test runs
/// in a task of its own, so the CPE keeps answering connection requests meanwhile.
async fn perform(shared: &Arc<Shared>, cpe: &Arc<Cpe>, f: FollowUp) {
    match f {
        FollowUp::Diagnostic { object, generation } => {
            let test = {
                let st = cpe.lock();
                if !st.model.diag.is_current(&object, generation) {
                    return;
                }
                Test::read(&st.model, &object)
            };
            if let Some(test) = test {
                let (shared, cpe) = (shared.clone(), cpe.clone());
                tokio::spawn(async move {
                    diagnose(&shared, &cpe, &object, generation, test).await;
                });
            }
            return;
        }
        FollowUp::Reboot { command_key } => {
            reboot(shared, cpe).await;
            let ev = EventStruct {
                code: "M Reboot".into(),
                command_key,
            };
            add_event(&mut cpe.lock().pending_events, ev);
        }
        FollowUp::Restart => reboot(shared, cpe).await,
        FollowUp::FactoryReset => {
            reboot(shared, cpe).await;
            let mut st = cpe.lock();
            st.model.factory_reset();
            st.pending_requests.clear();
            st.timers.clear();
            st.pending_events = vec![EventStruct::new("0 BOOTSTRAP"), EventStruct::new("1 BOOT")];
        }
        FollowUp::Upload(u) => {
            let start_time = crate::time::now_datetime();
            let content = upload_content(&cpe.lock().model, &u.file_type);
            let out = crate::download::put(&u.url, content, shared.session_timeout * 4).await;
            tracing::debug!(cpe = %cpe.device_id, bytes = out.bytes, code = out.fault.code, "upload");
            transfer_complete(cpe, &u.command_key, "M Upload", out, start_time);
        }
        FollowUp::ChangeDuState {
            operations,
            command_key,
        } => {
            let results = crate::transfers::change_du_state(
                &cpe.units,
                &operations,
                shared.session_timeout * 4,
            )
            .await;
            let mut st = cpe.lock();
            st.pending_requests.push(Body::DuStateChangeComplete {
                results,
                command_key: command_key.clone(),
            });
            add_event(
                &mut st.pending_events,
                EventStruct::new("11 DU STATE CHANGE COMPLETE"),
            );
            let ev = EventStruct {
                code: "M ChangeDUState".into(),
                command_key,
            };
            add_event(&mut st.pending_events, ev);
        }
        FollowUp::ScheduledDownload(d) => {
            let start_time = crate::time::now_datetime();
            let out = crate::download::fetch(
                &d.url,
                &d.username,
                &d.password,
                shared.session_timeout * 4,
            )
            .await;
            transfer_complete(cpe, &d.command_key, "M ScheduleDownload", out, start_time);
        }
        FollowUp::Download(d) => {
            // Its DelaySeconds were spent in the transfer queue (see `transfers.rs`).
            let start_time = crate::time::now_datetime();
            let out = crate::download::fetch(
                &d.url,
                &d.username,
                &d.password,
                shared.session_timeout * 4,
            )
            .await;
            tracing::debug!(cpe = %cpe.device_id, bytes = out.bytes, code = out.fault.code, "download");
            let complete_time = if out.fault.code == 0 {
                crate::time::now_datetime()
            } else {
                UNKNOWN_TIME.to_owned()
            };
            let mut st = cpe.lock();
            st.pending_requests
                .push(Body::TransferComplete(TransferComplete {
                    command_key: d.command_key.clone(),
                    fault: out.fault,
                    start_time,
                    complete_time,
                }));
            add_event(
                &mut st.pending_events,
                EventStruct::new("7 TRANSFER COMPLETE"),
            );
            let ev = EventStruct {
                code: "M Download".into(),
                command_key: d.command_key,
            };
            add_event(&mut st.pending_events, ev);
        }
        FollowUp::ScheduleInform { command_key, .. } => {
            let mut st = cpe.lock();
            add_event(&mut st.pending_events, EventStruct::new("3 SCHEDULED"));
            let ev = EventStruct {
                code: "M ScheduleInform".into(),
                command_key,
            };
            add_event(&mut st.pending_events, ev);
        }
    }
    let _ = run_session(shared, cpe, &[]).await;
}

/// Queues the TransferComplete of a finished transfer with `7 TRANSFER COMPLETE` and its
/// `M <method>` event.
fn transfer_complete(
    cpe: &Cpe,
    command_key: &str,
    method_event: &str,
    out: crate::download::Outcome,
    start_time: String,
) {
    let complete_time = if out.fault.code == 0 {
        crate::time::now_datetime()
    } else {
        UNKNOWN_TIME.to_owned()
    };
    let mut st = cpe.lock();
    st.pending_requests
        .push(Body::TransferComplete(TransferComplete {
            command_key: command_key.to_owned(),
            fault: out.fault,
            start_time,
            complete_time,
        }));
    add_event(
        &mut st.pending_events,
        EventStruct::new("7 TRANSFER COMPLETE"),
    );
    let ev = EventStruct {
        code: method_event.into(),
        command_key: command_key.to_owned(),
    };
    add_event(&mut st.pending_events, ev);
}

/// What an Upload sends: for a configuration file, the CPE's parameters as `path=value` lines
/// (as GetParameterValues reads them: secrets read back empty); for anything else, a short log.
fn upload_content(model: &crate::model::CpeModel, file_type: &str) -> bytes::Bytes {
    if file_type.starts_with("1 ") {
        let mut out = String::from("# lab CPE configuration backup\n");
        for p in model
            .get_parameter_values(&[String::new()])
            .unwrap_or_default()
        {
            out.push_str(&p.name);
            out.push('=');
            out.push_str(&p.value);
            out.push('\n');
        }
        bytes::Bytes::from(out)
    } else {
        let now = crate::time::now_datetime();
        bytes::Bytes::from(format!(
            "{now} lab-cpe: boot ok\n{now} lab-cpe: cwmp session ok\n"
        ))
    }
}

/// Runs one diagnostics test and, unless a later write superseded it, writes its results and
/// queues `8 DIAGNOSTICS COMPLETE` (which the CPE's task delivers in a new session).
async fn diagnose(shared: &Shared, cpe: &Cpe, object: &str, generation: u64, test: Test) {
    let outcome = crate::diag::run(&test, shared.diag).await;
    let mut st = cpe.lock();
    if !st.model.diag.finish(object, generation) {
        tracing::debug!(cpe = %cpe.device_id, object, "diagnostic superseded; result dropped");
        return;
    }
    let state = crate::diag::apply(&mut st.model, object, test.kind(), &outcome);
    tracing::debug!(cpe = %cpe.device_id, object, state, "diagnostic finished");
    if !shared.drop_diagnostics_complete {
        add_event(
            &mut st.pending_events,
            EventStruct::new(DIAGNOSTICS_COMPLETE),
        );
    }
    drop(st);
    cpe.wake.notify_one();
}
