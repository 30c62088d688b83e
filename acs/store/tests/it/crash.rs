//! Kill-and-reopen crash tests.
//!
//! The parent test re-executes this test binary filtered to `crash::child_writer`, which applies
//! batches in a loop through the store's writer (its thread and group commit, as the ACS writes)
//! and prints `ACK <n>` after each `apply` returns. The parent SIGKILLs it at a
//! varying moment after at least 50 acks, reopens the store and checks that it opens cleanly, that
//! every acknowledged batch is fully present (records, tree, indexes, task, fault) and that the
//! batch in flight is either entirely present or entirely absent. Several rounds reuse the same
//! store, so each round also recovers from the previous crash.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use acs_store::{
    DeviceId, EngineKind, Expect, FaultRecord, Index, Op, Param, ParamTree, TaskKind, Value,
};

use crate::conformance_tasks::task;
use crate::support::{Harness, Store, device, for_each_backend, id};

/// Set in the child's environment to `<backend>|<path>|<round>`.
const CHILD_ENV: &str = "ACS_STORE_CRASH_CHILD";
const ROUNDS: u32 = 3;
const MIN_ACKS: u64 = 50;

for_each_backend!(kill_and_reopen);

fn dev(round: u32, n: u64) -> DeviceId {
    id(&format!("c{round}-{n}"))
}

fn tree_of(round: u32, n: u64) -> ParamTree {
    let p = |value| Param {
        object: false,
        writable: Some(true),
        value: Some(value),
        timestamp_ms: n as i64,
        attributes: None,
    };
    [
        (
            "Device.DeviceInfo.SerialNumber",
            p(Value::String(format!("S{round}-{n}"))),
        ),
        (
            "Device.WiFi.SSID.1.SSID",
            p(Value::String(format!("ssid-{n}"))),
        ),
        (
            "Device.WiFi.SSID.1.Enable",
            p(Value::Boolean(n.is_multiple_of(2))),
        ),
        ("Device.Hosts.HostNumberOfEntries", p(Value::UnsignedInt(n))),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn mac(round: u32, n: u64) -> String {
    format!(
        "02:00:00:{round:02X}:{:02X}:{:02X}",
        (n >> 8) & 0xFF,
        n & 0xFF
    )
}

fn fault(round: u32, n: u64) -> FaultRecord {
    FaultRecord {
        device: dev(round, n),
        channel: "task_x".into(),
        task_id: None,
        code: "cwmp.9002".into(),
        message: format!("fault {n}"),
        detail: String::new(),
        retries: 0,
        timestamp_ms: n as i64,
    }
}

/// Batch `n` of `round`: a new device with everything attached, plus an update of one shared
/// device whose serial and tree change every time (so stale index keys would show).
fn batch(round: u32, n: u64) -> Vec<Op> {
    let d = dev(round, n);
    let mut meta = device(d.as_str(), &format!("S{round}-{n}"));
    meta.macs = vec![mac(round, n)];
    meta.tags.insert(format!("r{round}"));
    let mut shared = device("shared", &format!("SH{round}-{n}"));
    shared.tags.insert(format!("n{round}-{n}"));
    let counter = Param {
        object: false,
        writable: None,
        value: Some(Value::UnsignedLong(n)),
        timestamp_ms: 0,
        attributes: None,
    };
    vec![
        Op::PutDevice {
            meta,
            expect: Expect::Absent,
        },
        Op::UpdateTree {
            id: d.clone(),
            set: tree_of(round, n)
                .iter()
                .map(|(k, v)| (k.to_owned(), v.clone()))
                .collect(),
            remove_subtrees: vec![],
        },
        Op::PutTask(task(
            &d,
            TaskKind::GetParameterValues {
                names: vec![format!("{round}-{n}")],
            },
        )),
        Op::PutFault(fault(round, n)),
        Op::PutDevice {
            meta: shared,
            expect: Expect::Any,
        },
        Op::UpdateTree {
            id: id("shared"),
            set: vec![(format!("Device.Counter.Value.{n}"), counter)],
            remove_subtrees: vec!["Device.Counter".into()],
        },
    ]
}

/// Applies batches `1..=limit`, acknowledging each on `out` only after `apply` has returned.
fn write_batches(store: &Store, round: u32, limit: u64, out: &mut impl Write) {
    for n in 1..=limit {
        store.apply(batch(round, n)).expect("apply");
        writeln!(out, "ACK {n}")
            .and_then(|()| out.flush())
            .expect("ack");
    }
}

/// Checks round `round` after a crash with `acked` acknowledged batches; returns how many batches
/// of the round are present. `earlier` holds the present-batch counts of previous rounds.
fn verify(s: &Store, round: u32, acked: u64, earlier: &[u64]) -> u64 {
    let mut last = 0;
    while s.get(&dev(round, last + 1)).unwrap().is_some() {
        last += 1;
    }
    // The kill can land between commit and the ack being printed, never before a printed ack.
    assert!(
        last == acked || last == acked + 1,
        "round {round}: {last} batches present, {acked} acked"
    );
    for n in 1..=last {
        let d = dev(round, n);
        let meta = s.get(&d).unwrap().expect("meta");
        assert_eq!(meta.revision, 1);
        assert_eq!(
            s.scan_index(Index::Serial, &format!("S{round}-{n}"))
                .unwrap(),
            std::slice::from_ref(&d)
        );
        assert_eq!(
            s.scan_index(Index::Mac, &mac(round, n)).unwrap(),
            std::slice::from_ref(&d)
        );
        assert_eq!(s.get_tree(&d).unwrap(), tree_of(round, n), "tree of {d}");
        let tasks = s.tasks(Some(&d)).unwrap();
        assert_eq!(tasks.len(), 1, "tasks of {d}");
        assert_eq!(s.faults(Some(&d)).unwrap(), [fault(round, n)]);
    }
    // Nothing of the batch after the last one may be visible.
    let next = dev(round, last + 1);
    assert!(s.get_tree(&next).unwrap().is_empty());
    assert!(s.tasks(Some(&next)).unwrap().is_empty());
    assert!(s.faults(Some(&next)).unwrap().is_empty());
    assert!(
        s.scan_index(Index::Serial, &format!("S{round}-{}", last + 1))
            .unwrap()
            .is_empty()
    );

    // The shared device reflects exactly the last batch, with no stale index keys.
    let total: u64 = earlier.iter().sum::<u64>() + last;
    let shared = s.get(&id("shared")).unwrap().expect("shared");
    assert_eq!(shared.revision, total);
    assert_eq!(
        shared.value.identity.serial_number,
        format!("SH{round}-{last}")
    );
    assert_eq!(
        s.scan_index(Index::Serial, &format!("SH{round}-{last}"))
            .unwrap(),
        [id("shared")]
    );
    assert!(
        s.scan_index(Index::Serial, &format!("SH{round}-{}", last - 1))
            .unwrap()
            .is_empty()
    );
    assert!(
        s.scan_index(Index::Tag, &format!("n{round}-{}", last - 1))
            .unwrap()
            .is_empty()
    );
    let counter: Vec<String> = s
        .get_tree(&id("shared"))
        .unwrap()
        .iter()
        .map(|(k, _)| k.to_owned())
        .collect();
    assert_eq!(counter, [format!("Device.Counter.Value.{last}")]);

    // Task ids were allocated in batch order across all rounds and restarts.
    let owners: Vec<DeviceId> = s
        .tasks(None)
        .unwrap()
        .into_iter()
        .map(|t| t.device)
        .collect();
    let mut want = Vec::new();
    for (r, &count) in earlier.iter().chain([&last]).enumerate() {
        want.extend((1..=count).map(|n| dev(r as u32 + 1, n)));
    }
    assert_eq!(owners, want);
    assert_eq!(
        s.count().unwrap(),
        total + u64::from(total > 0),
        "devices plus `shared`"
    );
    last
}

fn kill_and_reopen(h: &Harness) {
    let exe = std::env::current_exe().expect("test binary path");
    let backend = match h.backend {
        EngineKind::Redb => "redb",
        EngineKind::Sled => "sled",
    };
    let mut present = Vec::new();
    for round in 1..=ROUNDS {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash::child_writer",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(
                CHILD_ENV,
                format!("{backend}|{}|{round}", h.path().display()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn child");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let target = MIN_ACKS + jitter() % 40;
        let mut acked = 0;
        let started = Instant::now();
        while acked < target {
            let line = lines
                .next()
                .expect("child exited before enough acks")
                .expect("read");
            acked = parse_ack(&line).unwrap_or(acked);
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "child too slow"
            );
        }
        // Land the kill at a varying point of the next batch.
        std::thread::sleep(Duration::from_micros(jitter() % 3_000));
        child.kill().expect("kill");
        child.wait().expect("wait");
        // Acks the child printed before dying are acknowledgements too.
        for line in lines.map_while(Result::ok) {
            acked = parse_ack(&line).unwrap_or(acked);
        }
        let store = Store::open(h.backend, &h.path(), h.clock.clone())
            .expect("store must reopen after SIGKILL");
        let last = verify(&store, round, acked, &present);
        present.push(last);
    }
    assert!(present.iter().all(|&n| n >= MIN_ACKS));
}

/// The child half: runs only when the parent sets `CHILD_ENV`. Run directly (as part of the
/// normal suite) it does a short in-process pass of the same writer and verifier instead.
#[test]
fn child_writer() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        let h = Harness::new(EngineKind::Redb);
        let s = h.open();
        let mut acks = Vec::new();
        write_batches(&s, 1, 5, &mut acks);
        assert_eq!(String::from_utf8(acks).unwrap().lines().count(), 5);
        assert_eq!(verify(&s, 1, 5, &[]), 5);
        return;
    };
    let mut parts = spec.splitn(3, '|');
    let (backend, path, round) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let backend = if backend == "sled" {
        EngineKind::Sled
    } else {
        EngineKind::Redb
    };
    let clock = std::sync::Arc::new(acs_store::ManualClock::new(0));
    let store = Store::open(backend, std::path::Path::new(path), clock).expect("child open");
    // Bounded so an orphaned child cannot run forever if the parent dies.
    write_batches(
        &store,
        round.parse().unwrap(),
        100_000,
        &mut std::io::stdout().lock(),
    );
}

fn parse_ack(line: &str) -> Option<u64> {
    let at = line.find("ACK ")?;
    line[at + 4..].trim().parse().ok()
}

fn jitter() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    u64::from(nanos / 1000)
}
