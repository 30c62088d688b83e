//! `POST /devices/<id>/tasks` with GenieACS's connection-request state machine, and the task and
//! fault deletions and retries.

use super::{Ctx, device_id, internal, json, respond, text, write_ok};
use crate::{doc, task_body};
use acs::{DeviceEvent, DeviceId, TaskOutcome, TaskRecord, TaskStatus};
use acs_store::{Op, Outcome, ParamTree, TaskKind};
use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::StatusCode;
use std::collections::HashMap;
use std::time::Duration;

/// GenieACS's wait for that session to end.
const SESSION_WAIT: Duration = Duration::from_secs(120);

/// GenieACS's wording for connection-request failures (it becomes a reason phrase and a body).
fn cr_message(e: &acs::CrError) -> String {
    use acs::CrError as E;
    match e {
        E::Offline | E::Timeout => "Device is offline".into(),
        E::NoUrl => "Invalid connection request URL".into(),
        E::AuthFailed => "Incorrect connection request credentials".into(),
        E::UnknownDevice => "No such device".into(),
        other => format!("Connection request error: {other}"),
    }
}

/// How long `POST /devices/{id}/tasks?connection_request` waits for the device's session to
/// start after the connection request, from the `timeout` query parameter: that is the only wait
/// it bounds, as in GenieACS (before it, a session already in progress is given up to 30 s to
/// end; the session, once started, is then given up to two minutes; and a task without
/// `connection_request` waits for nothing). GenieACS reads it with JavaScript's
/// `parseInt` and falls back to `cwmp.deviceOnlineThreshold` when that gives 0 or nothing, so
/// `3000ms` means 3 s, and `0`, `abc` or an absent value mean the threshold (4 s unless
/// configured, or imported from GenieACS's config); a negative value waits for nothing.
fn online_wait(timeout: Option<&str>, threshold: Duration) -> Duration {
    match timeout.and_then(js_parse_int) {
        None | Some(0) => threshold,
        Some(ms) => Duration::from_millis(u64::try_from(ms).unwrap_or(0)),
    }
}

/// JavaScript's `parseInt(s)` for decimal text: leading white space, an optional sign, then the
/// longest run of digits; `None` where JavaScript gives `NaN`. Saturates instead of losing
/// precision, far beyond any sensible wait.
fn js_parse_int(s: &str) -> Option<i64> {
    let t = s.trim_start();
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let run = digits.bytes().take_while(u8::is_ascii_digit).count();
    if run == 0 {
        return None;
    }
    let value = digits[..run].bytes().fold(0i64, |acc, d| {
        acc.saturating_mul(10).saturating_add(i64::from(d - b'0'))
    });
    Some(if negative { -value } else { value })
}

pub(super) async fn post_task(
    ctx: &Ctx,
    id: &str,
    params: &HashMap<String, String>,
    body: &Bytes,
) -> Response {
    let cr = params.contains_key("connection_request");
    let online_wait = online_wait(
        params.get("timeout").map(String::as_str),
        ctx.acs.device_online_threshold(),
    );
    let has_body = !body.iter().all(u8::is_ascii_whitespace);
    if !has_body && !cr {
        return text(StatusCode::BAD_REQUEST, "");
    }
    let Some(device) = device_id(id) else {
        return text(StatusCode::NOT_FOUND, "No such device");
    };
    let acs = &ctx.acs;
    let meta = match acs.device(&device).await {
        Ok(Some(m)) => m.value,
        Ok(None) => return text(StatusCode::NOT_FOUND, "No such device"),
        Err(e) => return internal(e),
    };
    if !has_body {
        return match acs.connection_request(&device).await {
            Ok(()) => respond(
                StatusCode::OK,
                None,
                "text/plain; charset=utf-8",
                Body::empty(),
            ),
            Err(e) => {
                let msg = cr_message(&e);
                respond(
                    StatusCode::GATEWAY_TIMEOUT,
                    Some(&msg),
                    "text/plain; charset=utf-8",
                    Body::from(msg.clone()),
                )
            }
        };
    }
    // The known tree gives each written value its type; a store that cannot say is a 503, not a
    // guess that every value is a string.
    let tree = if body.windows(18).any(|w| w == b"setParameterValues") {
        match acs.store().get_tree(&device).await {
            Ok(t) => t,
            Err(e) => return store_failed(&e),
        }
    } else {
        ParamTree::default()
    };
    let known_type = |path: &str| {
        tree.get(path)
            .and_then(|p| p.value.as_ref())
            .map(|v| v.xsd_type().to_owned())
    };
    let fs = ctx.config.fs_base_url.clone();
    let file_url = |name: &str| format!("{}/{}", fs.as_deref().unwrap_or(""), name);
    let new = match task_body::parse(
        body,
        &known_type,
        fs.is_some().then_some(&file_url as &dyn Fn(&str) -> String),
    ) {
        Ok(t) => t,
        Err(e) => return text(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let now = acs.now_ms();
    let mut kind = new.kind;
    // An upload opens a slot on the file server for its file (`uploads.rs`).
    let mut slot = None;
    if let (Some(name), TaskKind::Upload { file_type, url, .. }) =
        (&new.upload_file_name, &mut kind)
    {
        let name = if name.is_empty() {
            crate::uploads::default_name(device.as_str(), file_type, now)
        } else {
            name.clone()
        };
        let token = crate::uploads::new_token();
        *url = format!(
            "{}{}{token}",
            fs.as_deref().unwrap_or("").trim_end_matches('/'),
            crate::uploads::PREFIX
        );
        slot = Some(crate::uploads::open_slot(&token, &name, file_type, &meta));
    }
    let mut task = TaskRecord {
        id: 0,
        device: device.clone(),
        kind,
        created_ms: now,
        status: TaskStatus::Pending,
        attempts: 0,
        not_before_ms: 0,
        expiry_ms: new
            .expiry_secs
            .map(|s| now.saturating_add(s.saturating_mul(1000))),
    };
    // Subscribe before the connection request so the session's start cannot be missed.
    let mut events = acs.subscribe();
    // A device in session now is given up to 30 s to finish before its task is queued and the
    // connection request sent, as GenieACS waits on the session lock; if it is still in session
    // then, the task is queued for a later session and no connection request goes out.
    if cr && acs.in_session(&device) && !session_ends_within(acs, &mut events, &device).await {
        return match insert(acs, &mut task, slot.take()).await {
            Ok(()) => json(
                StatusCode::ACCEPTED,
                Some("Task queued but not processed"),
                &doc::task(&task),
            ),
            Err(r) => r,
        };
    }
    if let Err(r) = insert(acs, &mut task, slot.take()).await {
        return r;
    }
    if !cr {
        return json(StatusCode::ACCEPTED, None, &doc::task(&task));
    }
    if let Err(e) = acs.connection_request(&device).await {
        return json(
            StatusCode::ACCEPTED,
            Some(&cr_message(&e)),
            &doc::task(&task),
        );
    }
    let queued = "Task queued but not processed";
    let started = tokio::time::timeout(online_wait, async {
        loop {
            match events.recv().await {
                Ok(DeviceEvent::Informed { device: d, .. }) if d == device => return true,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return false,
                _ => {}
            }
        }
    })
    .await;
    if started != Ok(true) {
        return json(StatusCode::ACCEPTED, Some(queued), &doc::task(&task));
    }
    let outcome = tokio::select! {
        o = acs.wait_task(task.id, SESSION_WAIT) => o,
        () = session_end(&mut events, &device) => acs.wait_task(task.id, Duration::ZERO).await,
    };
    match outcome {
        Ok(TaskOutcome::Done(_)) => json(StatusCode::OK, None, &doc::task(&task)),
        Ok(TaskOutcome::Faulted(..)) => json(
            StatusCode::ACCEPTED,
            Some("Task faulted"),
            &doc::task(&task),
        ),
        Ok(TaskOutcome::Pending(_)) => json(StatusCode::ACCEPTED, Some(queued), &doc::task(&task)),
        // Deleted meanwhile (by another client): it will not run.
        Err(acs::AcsError::NoSuchTask) => {
            json(StatusCode::ACCEPTED, Some(queued), &doc::task(&task))
        }
        Err(e) => internal(e),
    }
}

/// How long a task POST with `connection_request` waits for a session in progress to end.
const SESSION_IN_PROGRESS_WAIT: Duration = Duration::from_secs(30);

/// Whether the device's session in progress ends within [`SESSION_IN_PROGRESS_WAIT`].
async fn session_ends_within(
    acs: &acs::Acs,
    events: &mut tokio::sync::broadcast::Receiver<DeviceEvent>,
    device: &DeviceId,
) -> bool {
    let ended = tokio::time::timeout(SESSION_IN_PROGRESS_WAIT, session_end(events, device));
    ended.await.is_ok() || !acs.in_session(device)
}

/// Stores a new task, setting its id.
/// Writes the task, with the op that opens its upload slot if it has one.
async fn insert(acs: &acs::Acs, task: &mut TaskRecord, slot: Option<Op>) -> Result<(), Response> {
    let mut ops = vec![Op::PutTask(task.clone())];
    ops.extend(slot);
    match acs.write(ops).await.as_deref() {
        Ok(
            [
                Outcome::Done {
                    task_id: Some(tid), ..
                },
                ..,
            ],
        ) => {
            task.id = *tid;
            Ok(())
        }
        Ok(_) => Err(internal("task id not assigned")),
        Err(e) => Err(internal(e)),
    }
}

async fn session_end(
    events: &mut tokio::sync::broadcast::Receiver<DeviceEvent>,
    device: &DeviceId,
) {
    loop {
        match events.recv().await {
            Ok(DeviceEvent::SessionEnded { device: d }) if &d == device => return,
            Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                std::future::pending::<()>().await
            }
            _ => {}
        }
    }
}

/// The store names a task's fault channel `task_<decimal id>`; the NBI shows `task_<24 hex>`.
fn channel_from_wire(channel: &str) -> String {
    match channel.strip_prefix("task_").and_then(doc::parse_task_id) {
        Some(id) => format!("task_{id}"),
        None => channel.to_owned(),
    }
}

/// The task a GenieACS task id names: 404 when there is none, 503 when the store cannot say.
async fn find_task(ctx: &Ctx, id: &str) -> Result<TaskRecord, Response> {
    let Some(tid) = doc::parse_task_id(id) else {
        return Err(text(StatusCode::NOT_FOUND, "Task not found"));
    };
    match ctx.acs.store().task(tid).await {
        Ok(Some(task)) => Ok(task),
        Ok(None) => Err(text(StatusCode::NOT_FOUND, "Task not found")),
        Err(e) => Err(store_failed(&e)),
    }
}

pub(super) async fn delete_task(ctx: &Ctx, id: &str) -> Response {
    let task = match find_task(ctx, id).await {
        Ok(task) => task,
        Err(r) => return r,
    };
    if ctx.acs.in_session(&task.device) {
        return text(StatusCode::SERVICE_UNAVAILABLE, "Device is in session");
    }
    let ops = vec![
        Op::DeleteTask(task.id),
        Op::DeleteFault {
            device: task.device.clone(),
            channel: format!("task_{}", task.id),
        },
    ];
    write_ok(ctx, ops).await
}

pub(super) async fn retry_task(ctx: &Ctx, id: &str) -> Response {
    let mut task = match find_task(ctx, id).await {
        Ok(task) => task,
        Err(r) => return r,
    };
    if ctx.acs.in_session(&task.device) {
        return text(StatusCode::SERVICE_UNAVAILABLE, "Device is in session");
    }
    let channel = format!("task_{}", task.id);
    let device = task.device.clone();
    task.status = TaskStatus::Pending;
    task.not_before_ms = 0;
    let ops = vec![Op::PutTask(task), Op::DeleteFault { device, channel }];
    write_ok(ctx, ops).await
}

pub(super) async fn delete_fault(ctx: &Ctx, id: &str) -> Response {
    let Some((dev, channel)) = id.rsplit_once(':') else {
        return text(StatusCode::OK, "");
    };
    let Some(device) = device_id(dev) else {
        return text(StatusCode::OK, "");
    };
    if ctx.acs.in_session(&device) {
        return text(StatusCode::SERVICE_UNAVAILABLE, "Device is in session");
    }
    let channel = channel_from_wire(channel);
    let mut ops = Vec::new();
    if let Some(tid) = channel.strip_prefix("task_").and_then(|t| t.parse().ok()) {
        ops.push(Op::DeleteTask(tid));
    }
    ops.push(Op::DeleteFault { device, channel });
    write_ok(ctx, ops).await
}

/// 503 for a store that failed: the client retries; nothing is guessed from a failed read.
fn store_failed(e: &acs::store::StoreError) -> Response {
    tracing::error!(error = %e, "store read failed");
    text(StatusCode::SERVICE_UNAVAILABLE, "store unavailable")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_reads_as_genieacs_reads_it() {
        let ms = |t: Option<&str>| online_wait(t, Duration::from_millis(4000)).as_millis();
        assert_eq!(ms(None), 4000);
        assert_eq!(ms(Some("1500")), 1500);
        assert_eq!(
            ms(Some("  3000ms")),
            3000,
            "parseInt stops at the first non-digit"
        );
        assert_eq!(ms(Some("+250")), 250);
        assert_eq!(ms(Some("0")), 4000, "0 is falsy: the default threshold");
        assert_eq!(ms(Some("abc")), 4000, "NaN: the default threshold");
        assert_eq!(ms(Some("")), 4000);
        assert_eq!(ms(Some("-5")), 0, "a negative wait waits for nothing");
        assert_eq!(js_parse_int("99999999999999999999999"), Some(i64::MAX));
    }
}
