//! The session's logic in virtual time: no sockets, no store, no clock. A small in-memory
//! world answers the session's reads and applies its writes, and every effect is recorded, so
//! the tests see exactly what the session asked for and in which order.

use super::*;
use crate::presets::{self, PresetSet};
use acs_store::{Param, TaskKind, Value};
use cwmp::{AcsSessionConfig, CwmpVersion, ParameterValue, XsdType};
use std::time::Duration;

const DEVICE: &str = "0C8063-XX230v-SIM0001";
const RETRY_BASE_MS: i64 = 300_000;
const T0_MS: i64 = 1_800_000_000_000;

fn device() -> DeviceId {
    DeviceId::parse(DEVICE).unwrap()
}

fn obj() -> Param {
    Param::object(Some(false), 10)
}

fn leaf(v: &str, writable: bool) -> Param {
    Param::leaf(Some(Value::String(v.into())), Some(writable), 10)
}

/// A small TR-181 tree: one SSID, the device info.
fn tree() -> ParamTree {
    let mut t = ParamTree::new();
    for o in [
        "Device",
        "Device.WiFi",
        "Device.WiFi.SSID",
        "Device.WiFi.SSID.1",
    ] {
        t.insert(o, obj());
    }
    t.insert("Device.WiFi.SSID.1.SSID", leaf("old", true));
    t.insert("Device.DeviceInfo", obj());
    t.insert("Device.DeviceInfo.UpTime", leaf("5", false));
    t
}

fn task(id: u64, kind: TaskKind) -> TaskRecord {
    TaskRecord {
        id,
        device: device(),
        kind,
        created_ms: T0_MS - 1_000,
        status: TaskStatus::Pending,
        attempts: 0,
        not_before_ms: 0,
        expiry_ms: None,
    }
}

/// A queued read of the device's uptime.
fn uptime_task(id: u64) -> TaskRecord {
    task(
        id,
        TaskKind::GetParameterValues {
            names: vec!["Device.DeviceInfo.UpTime".into()],
        },
    )
}

fn preset(name: &str, doc: serde_json::Value) -> presets::Preset {
    presets::parse(name, &doc, &|_| None)
}

/// A preset on channel `wifi` that names the SSID.
fn wifi_preset() -> presets::Preset {
    preset(
        "wifi",
        serde_json::json!({"channel": "wifi", "configurations": [
            {"type": "value", "name": "Device.WiFi.SSID.1.SSID", "value": "Fibre"}]}),
    )
}

/// An earlier CPE fault on channel `wifi`.
fn wifi_fault(retries: u32, timestamp_ms: i64) -> FaultRecord {
    FaultRecord {
        device: device(),
        channel: "wifi".into(),
        task_id: None,
        code: "cwmp.9007".into(),
        message: "old".into(),
        detail: String::new(),
        retries,
        timestamp_ms,
    }
}

/// What the store and the rest of the ACS look like to the session, and what it did to them.
struct World {
    base: Instant,
    now: Now,
    tree: ParamTree,
    tasks: Vec<TaskRecord>,
    faults: Vec<FaultRecord>,
    meta: Versioned<DeviceMeta>,
    /// The task queue's mark for the device.
    mark: Option<u64>,
    /// Every effect, in order, as a short label (`read:Tree`, `apply:3`, `reply:End`, …).
    log: Vec<String>,
    applied: Vec<Vec<Op>>,
    published: Vec<DeviceEvent>,
    notified: Vec<u64>,
    unmarked: Vec<u64>,
    /// The next read or write fails.
    fail_read: bool,
    fail_write: bool,
    /// The next `PutDevice` conflicts (someone else wrote the record).
    conflict_meta: bool,
    /// The provision and virtual-parameter scripts presets name.
    scripts: crate::provision::script::Scripts,
    /// What extensions answer, by the call's arguments.
    ext_answers: Vec<(Vec<String>, serde_json::Value)>,
}

impl World {
    fn new() -> Self {
        let mut meta = DeviceMeta::new(device(), acs_store::Identity::default());
        meta.root = "Device".into();
        meta.last_inform_ms = T0_MS;
        Self {
            base: Instant::now(),
            now: Now {
                at: Instant::now(),
                ms: T0_MS,
            },
            tree: tree(),
            tasks: Vec::new(),
            faults: Vec::new(),
            meta: Versioned {
                value: meta,
                revision: 1,
            },
            mark: None,
            log: Vec::new(),
            applied: Vec::new(),
            published: Vec::new(),
            notified: Vec::new(),
            unmarked: Vec::new(),
            scripts: Default::default(),
            ext_answers: Vec::new(),
            fail_read: false,
            fail_write: false,
            conflict_meta: false,
        }
    }

    fn advance(&mut self, d: Duration) {
        self.now.at += d;
        self.now.ms += d.as_millis() as i64;
    }

    /// A session whose Inform (with `events`) was accepted just now.
    fn session(
        &mut self,
        events: &[&str],
        presets: Vec<presets::Preset>,
        jobs: Vec<Job>,
    ) -> Session {
        self.base = self.now.at;
        let mut machine = AcsSession::new(
            self.now.at,
            AcsSessionConfig {
                session_timeout: Duration::from_secs(30),
                ..AcsSessionConfig::default()
            },
        );
        let inform = cwmp::Inform {
            device_id: cwmp::DeviceIdStruct {
                manufacturer: "TP-Link".into(),
                oui: "0C8063".into(),
                product_class: "XX230v".into(),
                serial_number: "SIM0001".into(),
            },
            events: events.iter().map(|e| cwmp::EventStruct::new(*e)).collect(),
            max_envelopes: 1,
            current_time: "2027-01-15T08:00:00Z".into(),
            retry_count: 0,
            parameters: Vec::new(),
        };
        let env = Envelope::new(CwmpVersion::V1_2, "1", Body::Inform(inform));
        assert!(matches!(
            machine.receive(self.now.at, Some(env)),
            AcsEvent::Inform(_)
        ));
        machine.accept_inform(self.now.at);
        // As the server does: presets go to the session when some exist or scripts do.
        let scripts =
            !self.scripts.provisions.is_empty() || !self.scripts.virtual_parameters.is_empty();
        let set = (!presets.is_empty() || scripts)
            .then(|| Arc::new(PresetSet::new(presets).with_scripts(self.scripts.clone())));
        Session::new(
            device(),
            machine,
            self.meta.value.clone(),
            self.meta.revision,
            jobs,
            events.iter().map(|e| (*e).to_owned()).collect(),
            set,
            Arc::new(Policy {
                retry: RetryPolicy {
                    max_attempts: 3,
                    base_ms: RETRY_BASE_MS,
                },
                file_server_url: "http://files.lab:7567".into(),
                download_timeout_ms: 3_600_000,
            }),
            42,
            self.now.at,
        )
    }

    /// One POST: feeds it, performs the effects against the world, returns the reply.
    fn post(&mut self, s: &mut Session, msg: Option<Envelope>) -> Reply {
        s.handle(self.now, Input::Message(msg));
        loop {
            let Some(effect) = s.poll_effect() else {
                panic!("a turn must end with a reply; log: {:?}", self.log);
            };
            match effect {
                Effect::Read(read) => {
                    self.log.push(format!("read:{read:?}"));
                    let out = self.read(read);
                    s.handle(self.now, Input::Read(out));
                }
                Effect::Apply(ops) => {
                    self.log.push(format!("apply:{}", ops.len()));
                    let out = self.apply(ops);
                    s.handle(self.now, Input::Applied(out));
                }
                Effect::Publish(e) => {
                    self.log.push("publish".into());
                    self.published.push(e);
                }
                Effect::NotifyTasks(ids) => {
                    self.log.push(format!("notify:{ids:?}"));
                    self.notified.extend(ids);
                }
                Effect::NoTasks(g) => {
                    self.log.push("unmark".into());
                    self.unmarked.push(g);
                }
                Effect::Count(c) => self.log.push(format!("count:{c:?}")),
                Effect::Reply(r) => {
                    self.log.push(format!("reply:{}", label(&r)));
                    return r;
                }
            }
        }
    }

    /// The CPE's answer to the RPC in `reply`, echoing its ID.
    fn answer(&mut self, s: &mut Session, reply: &Reply, body: Body) -> Reply {
        let Reply::Envelope(req) = reply else {
            panic!("no RPC to answer: {reply:?}");
        };
        let env = Envelope::new(
            CwmpVersion::V1_2,
            req.header.id.clone().unwrap_or_default(),
            body,
        );
        self.post(s, Some(env))
    }

    fn read(&mut self, read: Read) -> Result<ReadOutput, StoreError> {
        if std::mem::take(&mut self.fail_read) {
            return Err(StoreError::Engine("disk on fire".into()));
        }
        Ok(match read {
            Read::Tree => ReadOutput::Tree(self.tree.clone()),
            Read::ScopedTree(scope) => ReadOutput::Tree(
                self.tree
                    .iter()
                    .filter(|(p, _)| scope.selects(p))
                    .map(|(p, v)| (p.to_owned(), v.clone()))
                    .collect(),
            ),
            Read::Faults => ReadOutput::Faults(self.faults.clone()),
            Read::Tasks => ReadOutput::Tasks(self.tasks.clone()),
            Read::QueuedTasks => ReadOutput::QueuedTasks {
                generation: self.mark,
                tasks: if self.mark.is_some() {
                    self.tasks.clone()
                } else {
                    Vec::new()
                },
            },
            Read::Meta => ReadOutput::Meta(Some(Box::new(self.meta.clone()))),
            Read::File(name) => ReadOutput::File(name, Some(br#"{"length": 1234}"#.to_vec())),
            Read::Extension(call) => {
                let answer = self.ext_answers.iter().find(|(a, _)| *a == call.args);
                let answer = answer.map(|(_, v)| v.clone()).ok_or_else(|| script::Fault {
                    code: "ext".into(),
                    message: "no such extension".into(),
                    detail: None,
                });
                ReadOutput::Extension(Box::new((call.key, answer)))
            }
            // No session test serves a RequestDownload; the loopback tests do.
            Read::Files => ReadOutput::Files(Vec::new()),
        })
    }

    fn apply(&mut self, ops: Vec<Op>) -> Result<Vec<Outcome>, StoreError> {
        if std::mem::take(&mut self.fail_write) {
            return Err(StoreError::Engine("disk full".into()));
        }
        self.applied.push(ops.clone());
        let done = Outcome::Done {
            revision: None,
            task_id: None,
        };
        let mut out = Vec::new();
        for op in ops {
            out.push(match op {
                Op::PutDevice { meta, expect } => {
                    if std::mem::take(&mut self.conflict_meta) {
                        self.meta.revision += 1;
                        self.meta.value.tags.insert("from-nbi".into());
                    }
                    if expect != Expect::Revision(self.meta.revision) {
                        Outcome::Conflict {
                            current: Some(self.meta.revision),
                        }
                    } else {
                        self.meta.revision += 1;
                        self.meta.value = meta;
                        Outcome::Done {
                            revision: Some(self.meta.revision),
                            task_id: None,
                        }
                    }
                }
                Op::UpdateTree {
                    set,
                    remove_subtrees,
                    ..
                } => {
                    for p in remove_subtrees {
                        self.tree.remove_subtree(&p);
                    }
                    for (path, p) in set {
                        self.tree.insert(path, p);
                    }
                    done.clone()
                }
                Op::PutTask(t) => {
                    self.tasks.retain(|x| x.id != t.id);
                    self.tasks.push(t);
                    done.clone()
                }
                Op::PutFault(f) => {
                    self.faults.retain(|x| x.channel != f.channel);
                    self.faults.push(f);
                    done.clone()
                }
                Op::DeleteFault { channel, .. } => {
                    self.faults.retain(|x| x.channel != channel);
                    done.clone()
                }
                _ => done.clone(),
            });
        }
        Ok(out)
    }
}

fn label(r: &Reply) -> String {
    match r {
        Reply::Envelope(env) => env.body.name().to_owned(),
        Reply::End => "End".into(),
        Reply::BadRequest(_) => "BadRequest".into(),
        Reply::Unavailable => "Unavailable".into(),
    }
}

fn gpv_answer(values: &[(&str, &str)]) -> Body {
    Body::GetParameterValuesResponse {
        parameters: values
            .iter()
            .map(|(n, v)| ParameterValue::new(*n, *v, XsdType::String))
            .collect(),
    }
}

#[test]
fn a_periodic_inform_without_tasks_or_presets_reads_nothing_and_ends() {
    let mut w = World::new();
    let mut s = w.session(&["2 PERIODIC"], Vec::new(), Vec::new());
    let r = w.post(&mut s, None);
    assert_eq!(r, Reply::End);
    // The task queue is asked, but with no mark the driver answers without the store.
    assert_eq!(w.log, ["read:QueuedTasks", "reply:End"]);
    assert!(w.applied.is_empty());
    assert!(s.machine.is_finished());
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn a_task_is_durable_before_the_next_reply_and_its_waiters_hear_after() {
    let mut w = World::new();
    w.tasks.push(uptime_task(7));
    w.mark = Some(1);
    let mut s = w.session(&["6 CONNECTION REQUEST"], Vec::new(), Vec::new());
    let rpc = w.post(&mut s, None);
    assert_eq!(label(&rpc), "GetParameterValues");
    w.advance(Duration::from_millis(40));
    let end = w.answer(
        &mut s,
        &rpc,
        gpv_answer(&[("Device.DeviceInfo.UpTime", "77")]),
    );
    assert_eq!(end, Reply::End);
    assert_eq!(
        w.log,
        [
            "read:QueuedTasks",
            "reply:GetParameterValues",
            "read:Tree",
            "read:Tasks",
            "count:TaskDone",
            "apply:3",
            "notify:[7]",
            "reply:End"
        ]
    );
    let t = w.tasks.iter().find(|t| t.id == 7).unwrap();
    assert!(matches!(t.status, TaskStatus::Done { finished_ms } if finished_ms == T0_MS + 40));
    let up = w.tree.get("Device.DeviceInfo.UpTime").unwrap();
    assert_eq!(up.value, Some(Value::String("77".into())));
    assert_eq!(
        up.writable,
        Some(false),
        "writable comes from the known tree"
    );
    assert_eq!(w.notified, [7]);
}

#[test]
fn a_task_not_yet_due_waits_and_an_empty_queue_clears_the_mark() {
    let mut w = World::new();
    let mut later = task(3, TaskKind::Reboot);
    later.not_before_ms = T0_MS + 60_000;
    w.tasks.push(later);
    w.mark = Some(4);
    let mut s = w.session(&["2 PERIODIC"], Vec::new(), Vec::new());
    assert_eq!(w.post(&mut s, None), Reply::End);
    assert!(w.unmarked.is_empty(), "a pending task keeps the mark");

    let mut w = World::new();
    let mut done = task(3, TaskKind::Reboot);
    done.status = TaskStatus::Done { finished_ms: 1 };
    w.tasks.push(done);
    w.mark = Some(9);
    let mut s = w.session(&["2 PERIODIC"], Vec::new(), Vec::new());
    assert_eq!(w.post(&mut s, None), Reply::End);
    assert_eq!(w.unmarked, [9]);
}

#[test]
fn a_cpe_fault_on_a_task_schedules_its_retry_and_wakes_its_waiters() {
    let mut w = World::new();
    w.tasks.push(task(5, TaskKind::Reboot));
    w.mark = Some(1);
    let mut s = w.session(&["2 PERIODIC"], Vec::new(), Vec::new());
    let rpc = w.post(&mut s, None);
    assert_eq!(label(&rpc), "Reboot");
    let end = w.answer(&mut s, &rpc, Body::Fault(Fault::new(9002, "busy")));
    assert_eq!(end, Reply::End);
    let t = w.tasks.iter().find(|t| t.id == 5).unwrap();
    assert_eq!(t.attempts, 1);
    assert_eq!(t.status, TaskStatus::Pending);
    assert_eq!(t.not_before_ms, T0_MS + RETRY_BASE_MS);
    let f = w.faults.iter().find(|f| f.channel == "task_5").unwrap();
    assert_eq!(
        (f.code.as_str(), f.retries, f.task_id),
        ("cwmp.9002", 0, Some(5))
    );
    assert_eq!(w.notified, [5]);
}

#[test]
fn a_failed_store_read_ends_the_session_with_503_and_nothing_written() {
    let mut w = World::new();
    w.tasks.push(uptime_task(1));
    w.mark = Some(1);
    let mut s = w.session(&["2 PERIODIC"], Vec::new(), Vec::new());
    let rpc = w.post(&mut s, None);
    // The tree read that folding the answer needs fails: the answer must not be folded into an
    // empty tree, and the task must not be finished.
    w.fail_read = true;
    let r = w.answer(
        &mut s,
        &rpc,
        gpv_answer(&[("Device.DeviceInfo.UpTime", "9")]),
    );
    assert_eq!(r, Reply::Unavailable);
    assert!(w.applied.is_empty());
    assert!(w.notified.is_empty());
    assert_eq!(
        w.tasks[0].status,
        TaskStatus::Pending,
        "the task runs again next session"
    );
    assert!(s.machine.is_finished());
}

#[test]
fn a_failed_write_ends_the_session_with_503_and_announces_nothing() {
    let mut w = World::new();
    w.tasks.push(task(2, TaskKind::Reboot));
    w.mark = Some(1);
    let mut s = w.session(&["2 PERIODIC"], Vec::new(), Vec::new());
    let rpc = w.post(&mut s, None);
    w.fail_write = true;
    let r = w.answer(&mut s, &rpc, Body::RebootResponse);
    assert_eq!(r, Reply::Unavailable);
    assert!(
        w.notified.is_empty(),
        "waiters hear only of durable changes"
    );
    assert_eq!(w.tasks[0].status, TaskStatus::Pending);
}

#[test]
fn a_preset_converges_and_is_announced_only_once_durable() {
    let mut w = World::new();
    let p = preset(
        "wifi",
        serde_json::json!({"channel": "wifi", "configurations": [
            {"type": "value", "name": "Device.WiFi.SSID.1.SSID", "value": "Fibre"},
            {"type": "add_tag", "tag": "configured"}]}),
    );
    let mut s = w.session(&["2 PERIODIC"], vec![p], Vec::new());
    let rpc = w.post(&mut s, None);
    assert_eq!(label(&rpc), "SetParameterValues");
    let end = w.answer(&mut s, &rpc, Body::SetParameterValuesResponse { status: 0 });
    assert_eq!(end, Reply::End);
    assert!(
        w.meta.value.tags.contains("configured"),
        "the tag is stored"
    );
    assert_eq!(
        w.tree.get("Device.WiFi.SSID.1.SSID").unwrap().value,
        Some(Value::String("Fibre".into()))
    );
    let converged = w.published.iter().find_map(|e| match e {
        DeviceEvent::ChannelConverged {
            channel, written, ..
        } => Some((channel.clone(), written.clone())),
        _ => None,
    });
    assert_eq!(
        converged,
        Some(("wifi".into(), vec![("Device.WiFi.SSID.1.SSID".into(), 0)]))
    );
    let last_apply = w.log.iter().rposition(|l| l.starts_with("apply")).unwrap();
    let publish = w.log.iter().position(|l| l == "publish").unwrap();
    assert!(
        publish > last_apply,
        "announced after the write: {:?}",
        w.log
    );
}

#[test]
fn a_cpe_fault_on_a_preset_is_kept_on_its_channel_with_one_more_retry() {
    let mut w = World::new();
    // Long enough ago that the channel's back-off (300 s × 2²) is over.
    w.faults.push(wifi_fault(2, T0_MS - 3_600_000));
    let p = wifi_preset();
    let mut s = w.session(&["2 PERIODIC"], vec![p], Vec::new());
    let rpc = w.post(&mut s, None);
    let end = w.answer(&mut s, &rpc, Body::Fault(Fault::new(9007, "bad value")));
    assert_eq!(end, Reply::End);
    let f = w.faults.iter().find(|f| f.channel == "wifi").unwrap();
    assert_eq!((f.code.as_str(), f.retries), ("cwmp.9007", 3));
    assert!(w.published.iter().any(|e| matches!(e,
        DeviceEvent::ChannelFaulted { channel, code, .. } if channel == "wifi" && code == "cwmp.9007")));
    assert!(
        !w.published
            .iter()
            .any(|e| matches!(e, DeviceEvent::ChannelConverged { .. }))
    );
}

#[test]
fn a_faulted_channel_waits_out_its_back_off() {
    let mut w = World::new();
    w.faults.push(wifi_fault(0, T0_MS - 1_000));
    let p = wifi_preset();
    let mut s = w.session(&["2 PERIODIC"], vec![p], Vec::new());
    assert_eq!(
        w.post(&mut s, None),
        Reply::End,
        "nothing sent before the retry time"
    );
}

#[test]
fn fault_9005_splits_a_preset_read_then_drops_the_missing_parameter() {
    let mut w = World::new();
    let ghost = "Device.DeviceInfo.X_Ghost";
    w.tree.insert(ghost, leaf("old", false));
    let p = preset(
        "boot",
        serde_json::json!({"channel": "boot", "configurations": [
            {"type": "age", "name": ghost, "age": 60},
            {"type": "age", "name": "Device.DeviceInfo.UpTime", "age": 60}]}),
    );
    let mut s = w.session(&["1 BOOT"], vec![p], Vec::new());
    let rpc = w.post(&mut s, None);
    let Reply::Envelope(env) = &rpc else {
        panic!("expected a read")
    };
    let Body::GetParameterValues { names } = &env.body else {
        panic!("expected GetParameterValues, got {}", env.body.name())
    };
    assert_eq!(names.len(), 2);
    let half = w.answer(&mut s, &rpc, Body::Fault(Fault::new(9005, "invalid name")));
    let Reply::Envelope(first) = &half else {
        panic!("expected the first half")
    };
    let Body::GetParameterValues { names } = &first.body else {
        panic!("expected GetParameterValues")
    };
    assert_eq!(names.len(), 1);
    // Whichever half holds the ghost faults again; the other is answered.
    let mut reply = half;
    for _ in 0..4 {
        let Reply::Envelope(env) = &reply else { break };
        let Body::GetParameterValues { names } = &env.body else {
            panic!("only reads expected")
        };
        let body = if names[0] == ghost {
            Body::Fault(Fault::new(9005, "invalid name"))
        } else {
            gpv_answer(&[(names[0].as_str(), "88")])
        };
        reply = w.answer(&mut s, &reply.clone_envelope(), body);
    }
    assert_eq!(reply, Reply::End);
    assert!(
        w.tree.get(ghost).is_none(),
        "the ghost is dropped from the tree"
    );
    assert!(w.faults.is_empty(), "9005 recovery keeps no fault");
}

#[test]
fn a_conflicting_record_write_keeps_the_stored_tags_and_is_retried() {
    let mut w = World::new();
    let p = preset(
        "tag",
        serde_json::json!({"channel": "tag", "configurations": [{"type": "add_tag", "tag": "mine"}]}),
    );
    let mut s = w.session(&["2 PERIODIC"], vec![p], Vec::new());
    w.conflict_meta = true;
    assert_eq!(w.post(&mut s, None), Reply::End);
    let tags = &w.meta.value.tags;
    assert!(
        tags.contains("mine") && tags.contains("from-nbi"),
        "{tags:?}"
    );
    assert!(w.log.contains(&"read:Meta".to_owned()), "{:?}", w.log);
}

#[test]
fn a_silent_cpe_times_out_in_virtual_time() {
    let mut w = World::new();
    let mut s = w.session(&["2 PERIODIC"], Vec::new(), Vec::new());
    let deadline = s.poll_timeout().unwrap();
    assert_eq!(deadline, w.base + Duration::from_secs(30));
    assert!(!s.handle_timeout(deadline - Duration::from_millis(1)));
    assert!(s.handle_timeout(deadline + Duration::from_millis(1)));
    let effects: Vec<Effect> = std::iter::from_fn(|| s.poll_effect()).collect();
    assert!(matches!(
        effects.as_slice(),
        [
            Effect::Count(Counted::Expired),
            Effect::Publish(DeviceEvent::SessionEnded { .. })
        ]
    ));
    assert_eq!(s.poll_timeout(), None);
    // A POST that arrives after the end is refused.
    w.advance(Duration::from_secs(31));
    assert!(matches!(w.post(&mut s, None), Reply::BadRequest(_)));
}

#[test]
fn a_transfer_complete_finishes_its_download_task() {
    let mut w = World::new();
    let mut t = task(
        11,
        TaskKind::Download {
            file_type: "1 Firmware Upgrade Image".into(),
            url: "http://files.lab:7567/fw.bin".into(),
            username: String::new(),
            password: String::new(),
            file_size: 0,
            target_file_name: String::new(),
        },
    );
    t.not_before_ms = i64::MAX;
    w.tasks.push(t);
    let mut s = w.session(&["7 TRANSFER COMPLETE"], Vec::new(), Vec::new());
    let tc = Body::TransferComplete(cwmp::TransferComplete {
        command_key: "task_11".into(),
        ..Default::default()
    });
    let r = w.post(&mut s, Some(Envelope::new(CwmpVersion::V1_2, "9", tc)));
    assert_eq!(label(&r), "TransferCompleteResponse");
    assert!(matches!(w.tasks[0].status, TaskStatus::Done { .. }));
    assert_eq!(w.notified, [11]);
    let apply = w.log.iter().position(|l| l.starts_with("apply")).unwrap();
    let reply = w.log.iter().position(|l| l.starts_with("reply")).unwrap();
    assert!(
        apply < reply,
        "stored before it is acknowledged: {:?}",
        w.log
    );
}

impl Reply {
    /// A copy of an envelope reply, for tests that answer it after matching on it.
    fn clone_envelope(&self) -> Self {
        match self {
            Self::Envelope(e) => Self::Envelope(e.clone()),
            _ => Self::End,
        }
    }
}

mod scripts;
mod task_provisions;
