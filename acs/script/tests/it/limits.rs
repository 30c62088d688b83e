//! A run that loops or allocates without bound becomes a fault, and the engine goes on.

use std::time::{Duration, Instant};

use crate::common::{Runner, logged};
use script::{End, Limits};

#[test]
fn an_endless_loop_is_stopped_by_the_cpu_budget() {
    let mut r = Runner::with_limits(Limits {
        cpu: Duration::from_millis(20),
        heap: 8 << 20,
    });
    let start = Instant::now();
    let out = r.run("for (;;) {}", 0);
    let End::Fault(f) = out.end else {
        panic!("{out:?}")
    };
    assert_eq!(f.code, "script.Error");
    assert_eq!(f.message, "Script execution timed out after 20ms");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    // A loop that catches everything cannot swallow the interrupt.
    let out = r.run("for (;;) { try { for (;;) {} } catch (e) {} }", 0);
    assert!(
        matches!(out.end, End::Fault(ref f) if f.message.contains("timed out")),
        "{out:?}"
    );
    // The engine was rebuilt and runs the next script.
    assert_eq!(logged(&r.run("log('next');", 0)), vec!["next"]);
}

#[test]
fn unbounded_allocation_is_stopped_by_the_heap_cap() {
    let mut r = Runner::with_limits(Limits {
        cpu: Duration::from_secs(5),
        heap: 2 << 20,
    });
    let out = r.run(
        "const a = []; for (;;) a.push('x'.repeat(1000) + a.length);",
        0,
    );
    let End::Fault(f) = out.end else {
        panic!("{out:?}")
    };
    assert_eq!(
        f.message,
        "Script exceeded its memory limit of 2097152 bytes"
    );
    // Catching the error does not help either.
    let out = r.run("const a = []; try { for (;;) a.push('y'.repeat(1000) + a.length); } catch (e) { log('caught'); }", 0);
    match out.end {
        End::Fault(f) => assert!(f.message.contains("memory limit"), "{f:?}"),
        // QuickJS may let the catch run once memory is freed by unwinding; then the run ends
        // normally with the log line, and in no case does the worker stall.
        End::Completed(_) => assert_eq!(logged(&out), vec!["caught"]),
        other => panic!("{other:?}"),
    }
    assert_eq!(logged(&r.run("log('next');", 0)), vec!["next"]);
}

#[test]
fn deep_recursion_is_a_range_error_not_a_crash() {
    let mut r = Runner::new();
    let out = r.run("function f(n) { return f(n + 1) + 1; } f(0);", 0);
    let End::Fault(f) = out.end else {
        panic!("{out:?}")
    };
    assert!(
        f.code == "script.RangeError" || f.code == "script.InternalError",
        "{f:?}"
    );
}

/// The memory a concurrent session costs: the engine is one per worker thread, so a session
/// holds only its cache between runs. The bench figure in benches/README.md is this test's.
#[test]
fn a_session_costs_far_less_than_a_mebibyte() {
    let mut r = Runner::new();
    let src = r#"
        const id = declare("DeviceID.ID", {value: 1}).value[0];
        for (const s of declare("Device.WiFi.SSID.*.SSID", {value: 1})) log(s.value[0]);
        declare("Device.ManagementServer.PeriodicInformInterval", {value: Date.now(3600000)}, {value: 300});
        declare("VirtualParameters.X", {value: Date.now()});
    "#;
    let (out, _) = r.settle(src);
    assert_eq!(out.end, End::Completed(None));
    let session = r.cache.bytes() + size_of::<script::SessionCache>();
    let engine = r.engine.heap_bytes() as usize;
    eprintln!("engine heap {engine} B per worker thread; session cache {session} B");
    assert!(session < 16 << 10, "session cache {session}");
    assert!(engine < 1 << 20, "engine heap {engine}");
}

#[test]
fn an_engine_stays_small() {
    let mut r = Runner::new();
    for i in 0..50 {
        let _ = r.run(&format!("declare('Device.X{i}', {{value: 1}}).value;"), 0);
    }
    // One engine serves every session of a worker; a session keeps only its cache.
    let heap = r.engine.heap_bytes();
    assert!(heap < 2 << 20, "engine heap {heap}");
    assert!(heap > 100_000, "engine heap {heap}");
}
