//! Extensions through real Node.js children (scripts/deps/node.sh installs Node.js).

use std::time::{Duration, Instant};

use script::ext::{ExtConfig, ExtensionHost};
use serde_json::json;

const EXTENSION: &str = r#"
"use strict";
exports.echo = (args, cb) => { console.log("echo called"); cb(null, {args: args, pid: process.pid}); };
exports.fail = (args, cb) => cb(new TypeError("bad " + args[0]));
exports.never = (args, cb) => {};
exports.crash = (args, cb) => { setTimeout(() => { throw new RangeError("boom"); }, 1); };
"#;

fn host(timeout_ms: u64) -> (tempfile::TempDir, ExtensionHost) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("tools.js"), EXTENSION).expect("write");
    std::fs::write(dir.path().join("broken.js"), "this is not javascript").expect("write");
    let mut config = ExtConfig::new(dir.path());
    config.timeout = Duration::from_millis(timeout_ms);
    (dir, ExtensionHost::new(config))
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn a_call_answers_and_one_child_serves_every_call_of_its_file() {
    let (_dir, host) = host(3000);
    let a = host
        .call(&args(&["tools", "echo", "1", "x"]))
        .await
        .expect("answer");
    assert_eq!(a["args"], json!(["1", "x"]));
    let b = host
        .call(&args(&["tools.js", "echo"]))
        .await
        .expect("answer");
    let c = host.call(&args(&["tools", "echo"])).await.expect("answer");
    assert_eq!(a["pid"], c["pid"], "one long-lived child per file");
    assert!(b["pid"].is_number());
}

#[tokio::test]
async fn errors_missing_functions_and_bad_files_are_faults() {
    let (_dir, host) = host(3000);
    let f = host
        .call(&args(&["tools", "fail", "x"]))
        .await
        .expect_err("fault");
    assert_eq!(
        (f.code.as_str(), f.message.as_str()),
        ("ext.TypeError", "bad x")
    );
    let f = host
        .call(&args(&["tools", "nope"]))
        .await
        .expect_err("fault");
    assert_eq!(f.message, "No such function 'nope' in extension 'tools'");
    let f = host.call(&args(&["broken", "x"])).await.expect_err("fault");
    assert_eq!(f.code, "ext.SyntaxError");
    let f = host
        .call(&args(&["missing", "x"]))
        .await
        .expect_err("fault");
    assert_eq!(f.code, "ext.Error");
    let f = host
        .call(&args(&["../etc/passwd", "x"]))
        .await
        .expect_err("fault");
    assert_eq!(f.message, "Invalid extension file name '../etc/passwd'");
}

#[tokio::test]
async fn a_call_that_never_answers_times_out_and_the_child_goes_on() {
    let (_dir, host) = host(300);
    let start = Instant::now();
    let f = host
        .call(&args(&["tools", "never"]))
        .await
        .expect_err("timeout");
    assert_eq!(
        (f.code.as_str(), f.message.as_str()),
        ("timeout", "Extension timed out")
    );
    assert!(start.elapsed() < Duration::from_secs(2));
    assert!(host.call(&args(&["tools", "echo"])).await.is_ok());
}

#[tokio::test]
async fn a_crashing_extension_faults_its_call_and_a_new_child_takes_over() {
    let (_dir, host) = host(3000);
    let first = host.call(&args(&["tools", "echo"])).await.expect("answer");
    let f = host
        .call(&args(&["tools", "crash"]))
        .await
        .expect_err("fault");
    assert_eq!(
        (f.code.as_str(), f.message.as_str()),
        ("ext.RangeError", "boom")
    );
    let next = host.call(&args(&["tools", "echo"])).await.expect("answer");
    assert_ne!(first["pid"], next["pid"]);
}

#[tokio::test]
async fn a_missing_runtime_is_a_clear_fault() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = ExtConfig::new(dir.path());
    config.node = "/nonexistent/node".into();
    let host = ExtensionHost::new(config);
    let f = host
        .call(&args(&["tools", "echo"]))
        .await
        .expect_err("fault");
    assert_eq!(f.code, "ext");
    assert!(
        f.message
            .starts_with("Cannot start Node.js (/nonexistent/node)"),
        "{}",
        f.message
    );
}
