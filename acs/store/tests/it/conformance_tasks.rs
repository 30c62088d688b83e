//! Tasks, faults, leases and the delete cascade.

use acs_store::{
    DeviceId, Expect, FaultRecord, Index, Op, Outcome, TaskKind, TaskRecord, TaskStatus,
};

use crate::support::{Harness, apply1, device, for_each_backend, id, leaf, put_ok};

for_each_backend!(
    task_ids_are_monotonic_across_reopen,
    tasks_by_device,
    faults_by_channel,
    leases,
    readers_see_the_store_clock,
    delete_cascades
);

pub(crate) fn task(dev: &DeviceId, kind: TaskKind) -> TaskRecord {
    TaskRecord {
        id: 0,
        device: dev.clone(),
        kind,
        created_ms: 1,
        status: TaskStatus::Pending,
        attempts: 0,
        not_before_ms: 0,
        expiry_ms: None,
    }
}

fn task_id(out: &Outcome) -> u64 {
    match out {
        Outcome::Done {
            task_id: Some(t), ..
        } => *t,
        other => panic!("expected a task id, got {other:?}"),
    }
}

fn fault(dev: &str, channel: &str, code: &str) -> FaultRecord {
    FaultRecord {
        device: id(dev),
        channel: channel.into(),
        task_id: None,
        code: code.into(),
        message: "Invalid arguments".into(),
        detail: "<detail/>".into(),
        retries: 1,
        timestamp_ms: 5,
    }
}

fn task_ids_are_monotonic_across_reopen(h: &Harness) {
    let d = id("dev");
    {
        let s = h.open();
        let out = s
            .apply(vec![
                Op::PutTask(task(&d, TaskKind::Reboot)),
                Op::PutTask(task(&d, TaskKind::FactoryReset)),
            ])
            .unwrap();
        assert_eq!(out.iter().map(task_id).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(task_id(&apply1(&s, Op::DeleteTask(2))), 2);
        assert!(s.task(2).unwrap().is_none());
    }
    let s = h.open();
    // The deleted id 2 is never handed out again, even after a restart.
    assert_eq!(
        task_id(&apply1(&s, Op::PutTask(task(&d, TaskKind::Reboot)))),
        3
    );
    // An explicit id raises the counter so later allocations cannot collide with it.
    let mut explicit = task(&d, TaskKind::Reboot);
    explicit.id = 10;
    assert_eq!(task_id(&apply1(&s, Op::PutTask(explicit))), 10);
    assert_eq!(
        task_id(&apply1(&s, Op::PutTask(task(&d, TaskKind::Reboot)))),
        11
    );
}

fn tasks_by_device(h: &Harness) {
    let s = h.open();
    let s = &s;
    let (a, b, a2) = (id("a"), id("b"), id("a-2"));
    let kinds = [
        TaskKind::GetParameterValues {
            names: vec!["Device.".into()],
        },
        TaskKind::SetParameterValues {
            values: vec![(
                "Device.WiFi.SSID.1.SSID".into(),
                "x".into(),
                "string".into(),
            )],
            parameter_key: "k".into(),
        },
        TaskKind::Download {
            file_type: "1 Firmware Upgrade Image".into(),
            url: "http://fw/x.bin".into(),
            username: String::new(),
            password: String::new(),
            file_size: 123,
            target_file_name: String::new(),
        },
    ];
    for (i, kind) in kinds.iter().enumerate() {
        for dev in [&a, &b, &a2] {
            apply1(s, Op::PutTask(task(dev, kind.clone())));
        }
        assert_eq!(s.tasks(None).unwrap().len(), 3 * (i + 1));
    }
    let of = |d| {
        s.tasks(Some(d))
            .unwrap()
            .iter()
            .map(|t| t.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(of(&a), [1, 4, 7]);
    assert_eq!(of(&a2), [3, 6, 9]);
    assert_eq!(
        s.tasks(None)
            .unwrap()
            .iter()
            .map(|t| t.id)
            .collect::<Vec<_>>(),
        (1..=9).collect::<Vec<_>>()
    );
    assert_eq!(
        s.task(4).unwrap().expect("task 4").kind.name(),
        "setParameterValues"
    );

    // Updating a task in place, and moving it to another device, keeps the per-device view exact.
    let mut t = s.task(4).unwrap().expect("task 4");
    t.status = TaskStatus::Faulted {
        code: "cwmp.9005".into(),
        message: "bad".into(),
        at_ms: 9,
    };
    t.attempts = 2;
    t.device = b.clone();
    assert_eq!(task_id(&apply1(s, Op::PutTask(t.clone()))), 4);
    assert_eq!(of(&a), [1, 7]);
    assert_eq!(of(&b), [2, 4, 5, 8]);
    assert_eq!(s.task(4).unwrap(), Some(t));
    apply1(s, Op::DeleteTask(7));
    apply1(s, Op::DeleteTask(999));
    assert_eq!(of(&a), [1]);
}

fn faults_by_channel(h: &Harness) {
    let s = h.open();
    let s = &s;
    s.apply(vec![
        Op::PutFault(fault("a", "task_1", "cwmp.9005")),
        Op::PutFault(fault("a", "default", "script.error")),
        Op::PutFault(fault("b", "task_2", "cwmp.9002")),
    ])
    .unwrap();
    // Same (device, channel): replaced, not duplicated.
    let mut again = fault("a", "task_1", "cwmp.9005");
    again.retries = 2;
    apply1(s, Op::PutFault(again.clone()));
    let a = s.faults(Some(&id("a"))).unwrap();
    assert_eq!(
        a.iter().map(|f| f.channel.as_str()).collect::<Vec<_>>(),
        ["default", "task_1"]
    );
    assert_eq!(a[1], again);
    assert_eq!(s.faults(None).unwrap().len(), 3);
    apply1(
        s,
        Op::DeleteFault {
            device: id("a"),
            channel: "default".into(),
        },
    );
    assert_eq!(s.faults(Some(&id("a"))).unwrap(), [again]);
    assert!(s.faults(Some(&id("c"))).unwrap().is_empty());
}

/// Leases are timed by the store's clock (the harness's manual one), never by the caller.
fn leases(h: &Harness) {
    let s = h.open();
    let at = |ms| h.clock.set(ms);
    let (d, e) = (id("d"), id("e"));
    at(1_000);
    assert!(s.try_lease(&d, 1, 100).unwrap());
    at(1_050);
    assert!(
        !s.try_lease(&d, 2, 100).unwrap(),
        "held by owner 1 until 1100"
    );
    assert!(s.try_lease(&e, 2, 100).unwrap(), "leases are per device");
    at(1_090);
    assert!(s.try_lease(&d, 1, 100).unwrap(), "the holder may renew");
    at(1_150);
    assert!(
        !s.try_lease(&d, 2, 100).unwrap(),
        "renewal extended it to 1190"
    );
    at(1_189);
    assert!(
        !s.try_lease(&d, 2, 100).unwrap(),
        "still held 1 ms before expiry"
    );
    at(1_190);
    assert!(
        s.try_lease(&d, 2, 100).unwrap(),
        "expired leases are taken over"
    );
    s.release(&d, 1).unwrap();
    at(1_200);
    assert!(
        !s.try_lease(&d, 3, 100).unwrap(),
        "a non-holder cannot release"
    );
    s.release(&d, 2).unwrap();
    assert!(s.try_lease(&d, 3, 100).unwrap(), "released by its holder");
}

/// The store's clock is the one its readers see.
fn readers_see_the_store_clock(h: &Harness) {
    let s = h.open();
    h.clock.set(1_234);
    assert_eq!(s.writer().reader().now_ms(), 1_234);
    h.clock.advance(6);
    assert_eq!(s.writer().reader().now_ms(), 1_240);
}

fn delete_cascades(h: &Harness) {
    let s = h.open();
    let s = &s;
    for dev in ["victim", "victim-2"] {
        let mut meta = device(dev, &format!("S-{dev}"));
        meta.tags.insert("t".into());
        put_ok(s, meta, Expect::Absent);
        s.apply(vec![
            Op::UpdateTree {
                id: id(dev),
                set: vec![("Device.A.B".into(), leaf("x", 1))],
                remove_subtrees: vec![],
            },
            Op::PutTask(task(&id(dev), TaskKind::Reboot)),
            Op::PutFault(fault(dev, "task_1", "cwmp.9005")),
        ])
        .unwrap();
    }
    apply1(s, Op::DeleteDevice { id: id("victim") });
    let v = id("victim");
    assert!(s.get(&v).unwrap().is_none());
    assert!(s.get_tree(&v).unwrap().is_empty());
    assert!(s.tasks(Some(&v)).unwrap().is_empty());
    assert!(s.task(1).unwrap().is_none());
    assert!(s.faults(Some(&v)).unwrap().is_empty());
    assert_eq!(s.scan_index(Index::Tag, "t").unwrap(), [id("victim-2")]);
    // The neighbour, whose id extends the victim's, is untouched.
    let n = id("victim-2");
    assert_eq!(s.get_tree(&n).unwrap().len(), 1);
    assert_eq!(s.tasks(Some(&n)).unwrap().len(), 1);
    assert_eq!(s.faults(None).unwrap().len(), 1);
    assert_eq!(s.count().unwrap(), 1);
}
