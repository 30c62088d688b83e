//! `/metrics` as Prometheus reads it: a whole scrape of a stack with lab peers (an OLT polled
//! under a name with a quote and a backslash, CWMP sessions, a diagnostic, ERPNext requests)
//! piped through `promtool check metrics` (Debian's `prometheus` package, installed by
//! scripts/deps/prometheus.sh), which must have nothing to say.

use crate::harness::{self, Options, TOKEN, device};
use serde_json::json;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

/// An OLT name that corrupted the hand-written scrape: a quote and a backslash.
const ODD_OLT: &str = r#"olt "east" \ 2"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_passes_promtool_with_escaped_labels_and_filled_histograms() {
    let t = harness::start(Options {
        devices: 2,
        modems: 1,
        olt_alias: Some(ODD_OLT),
        ..Options::default()
    })
    .await;
    t.polled().await;
    let (status, ping) = t
        .post(
            &format!("/devices/{}/diagnostics/ping", device(0)),
            Some(TOKEN),
            &json!({"count": 1}),
        )
        .await;
    assert_eq!((status, &ping["ok"]), (200, &json!(true)), "{ping}");

    // The provisioner's first ERPNext sync runs at start; wait for its requests to show.
    let mut text = t.metrics().await;
    for _ in 0..100 {
        if text
            .contains("fibreplane_provisioning_erp_request_duration_seconds_count{outcome=\"ok\"}")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        text = t.metrics().await;
    }

    // The odd name is escaped by the library: `"` as `\"`, `\` as `\\`.
    let odd = r#"olt="olt \"east\" \\ 2""#;
    for line in [
        format!("fibreplane_olt_reachable{{{odd}}} 1\n"),
        "fibreplane_olt_reachable{olt=\"olt-demo\"} 1\n".to_owned(),
    ] {
        assert!(text.contains(&line), "{line} in\n{text}");
    }
    // The same olt-sim agent under both names: the same ONUs.
    let onus = sample(&text, "fibreplane_olt_onus{olt=\"olt-demo\"}");
    assert!(onus >= 2.0, "{text}");
    assert_eq!(
        sample(&text, &format!("fibreplane_olt_onus{{{odd}}}")),
        onus
    );
    // Every histogram has observations: both OLTs' polls, the sessions of the two CPEs'
    // registrations, the ping, the provisioner's ERPNext requests.
    for series in [
        format!("fibreplane_olt_poll_duration_seconds_count{{{odd},outcome=\"ok\"}}"),
        "fibreplane_olt_poll_duration_seconds_count{olt=\"olt-demo\",outcome=\"ok\"}".to_owned(),
        "fibreplane_acs_session_duration_seconds_count".to_owned(),
        "fibreplane_acs_diagnostic_duration_seconds_count{kind=\"ping\",outcome=\"ok\"}".to_owned(),
        "fibreplane_provisioning_erp_request_duration_seconds_count{outcome=\"ok\"}".to_owned(),
    ] {
        let n = sample(&text, &series);
        assert!(n >= 1.0, "{series} = {n} in\n{text}");
    }
    assert!(sample(&text, "fibreplane_acs_session_duration_seconds_count") >= 2.0);
    // The lab's CPEs answer the fast discovery: their model is remembered with it.
    let mode = text
        .lines()
        .find(|l| l.starts_with("fibreplane_acs_discovery_mode{"))
        .unwrap_or_else(|| panic!("a discovery profile in\n{text}"));
    assert!(
        mode.contains("mode=\"fast\"") && mode.ends_with(" 1"),
        "{mode}"
    );
    // Names the proof harness and the other tests read are kept.
    for name in [
        "fibreplane_acs_informs_total ",
        "fibreplane_mqtt_connected ",
        "fibreplane_bridge_sessions_left_open_total ",
        "fibreplane_bridge_sessions_taken_over_total ",
        "fibreplane_provisioning_erp_up ",
        "fibreplane_provisioning_erp_requests_total ",
        "fibreplane_kuma_webhooks_refused_total{reason=\"busy\"} ",
    ] {
        assert!(text.contains(name), "{name} in\n{text}");
    }

    let report = promtool_check(&text);
    assert_eq!(
        report, "",
        "promtool check metrics complained:\n{report}\n{text}"
    );
    t.stop().await;
}

/// The value of one sample, by its full name with labels.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no sample {series} in\n{text}"))
}

/// What `promtool check metrics` says about `text` (empty when it accepts it without a lint),
/// with its exit status when that is not success.
fn promtool_check(text: &str) -> String {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool: run scripts/deps/prometheus.sh (Debian's prometheus package)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let mut report = String::from_utf8_lossy(&out.stdout).into_owned();
    report.push_str(&String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        report.push_str(&format!("promtool exited with {}\n", out.status));
    }
    report
}
