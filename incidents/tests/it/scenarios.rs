//! End to end: outages made with olt-sim's control API, seen by the real poller, correlated by
//! the service. Tests assert what happens, never how long it takes.

use std::time::Duration;

use incidents::IncidentEvent;
use incidents::correlate::IncidentKind;

use crate::kuma::{DOWN, UP};
use crate::lab::{Lab, ONUS, customer_of, lab_config};
use crate::support::{post_kuma, wait_for};

#[tokio::test]
async fn a_fibre_cut_lists_every_onu_of_the_port_and_their_customers() {
    let mut lab = Lab::start("olt-cut", lab_config()).await;
    let mut want = lab.up_serials(2, None);
    want.sort();
    let cut = lab.control("/cut", r#"{"port":2}"#).await;
    assert_eq!(cut, want.len());
    assert!(cut as u32 >= ONUS * 7 / 10);
    lab.poll().await;
    let inc = lab.opened().await;
    Lab::assert_kind(&inc, IncidentKind::FibreCut);
    assert_eq!(Lab::serials(&inc), want);
    let mut customers: Vec<_> = want.iter().map(|s| customer_of(s)).collect();
    customers.sort();
    assert_eq!(inc.customers, customers);
    assert!(
        inc.onus
            .iter()
            .all(|m| m.subscriber.service_location.is_some())
    );
    assert_eq!(inc.ports.len(), 1);
    assert_eq!(inc.ports[0].name.as_deref(), Some("GPON 0/1/2"));
    let listed = lab.outages().await;
    assert_eq!(listed["incidents"][0]["kind"], "fibre_cut");

    lab.control("/restore", r#"{"port":2}"#).await;
    lab.poll().await;
    let done = lab.resolved(inc.id).await;
    assert_eq!(done.onus_offline, 0);
}

#[tokio::test]
async fn a_cut_branch_is_a_splitter_branch() {
    let mut lab = Lab::start("olt-branch", lab_config()).await;
    let ids = [3, 4, 5, 6, 7];
    let mut want = lab.up_serials(1, Some(&ids));
    want.sort();
    let changed = lab
        .control("/cut", r#"{"port":1,"onus":[3,4,5,6,7]}"#)
        .await;
    assert_eq!(changed, want.len());
    assert!(changed >= 2);
    lab.poll().await;
    let inc = lab.opened().await;
    Lab::assert_kind(&inc, IncidentKind::SplitterBranch);
    assert_eq!(Lab::serials(&inc), want);
    lab.control("/restore", r#"{"port":1}"#).await;
    lab.poll().await;
    lab.resolved(inc.id).await;
}

#[tokio::test]
async fn dying_gasps_across_ports_are_a_power_outage() {
    let mut lab = Lab::start("olt-power", lab_config()).await;
    // Three ONUs on each of ports 0, 1 and 3 lose mains power.
    let changed = lab
        .control("/power", r#"{"onus":[0,1,2,16,17,18,48,49,50]}"#)
        .await;
    assert!(changed >= 6, "{changed}");
    lab.poll().await;
    let inc = lab.opened().await;
    Lab::assert_kind(&inc, IncidentKind::PowerOutage);
    assert_eq!(inc.onus.len(), changed);
    assert!(inc.ports.len() >= 2, "{inc:#?}");
    lab.control("/restore", "{}").await;
    lab.poll().await;
    lab.resolved(inc.id).await;
}

/// A captured Kuma body whose monitor is tagged `olt=<olt>`.
fn tagged(body: &str, olt: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(body).unwrap();
    v["monitor"]["tags"] = serde_json::json!([{"tag_id": 1, "monitor_id": 42, "name": "olt", "value": olt, "color": "#000"}]);
    v.to_string()
}

#[tokio::test]
async fn a_dead_olt_and_a_kuma_down_are_one_incident_without_onu_noise() {
    let mut lab = Lab::start("olt-dead", lab_config()).await;
    lab.control("/faults", r#"{"drop_all":true}"#).await;
    assert!(!lab.poll().await, "the OLT no longer answers");
    let inc = lab.opened().await;
    Lab::assert_kind(&inc, IncidentKind::OltUnreachable);
    assert!(inc.evidence.snmp_down_since.is_some());
    // Kuma's monitor of the same OLT (tagged olt=olt-dead) goes down too.
    let body = tagged(DOWN, "olt-dead");
    let (s, _) = post_kuma(lab.api, body.as_bytes()).await;
    assert_eq!(s, 202);
    let updated = wait_for(&mut lab.events, 20, |e| {
        matches!(e, IncidentEvent::Updated { .. }) && !e.incident().evidence.kuma.is_empty()
    })
    .await;
    assert_eq!(
        updated.incident().id,
        inc.id,
        "the same incident, not a second one"
    );
    // Meanwhile a port is cut: nothing can be seen of it while the OLT is dead.
    lab.control("/cut", r#"{"port":0}"#).await;
    assert!(!lab.poll().await);
    let listed = lab.outages().await;
    assert_eq!(
        listed["incidents"].as_array().unwrap().len(),
        1,
        "{listed:#}"
    );

    // The OLT answers again and Kuma says UP: resolved. The cut port is then a fibre cut.
    lab.control("/faults", r#"{"drop_all":false}"#).await;
    assert!(lab.poll().await);
    let up = tagged(UP, "olt-dead");
    let (s, _) = post_kuma(lab.api, up.as_bytes()).await;
    assert_eq!(s, 202);
    // Two things follow, in either order: the OLT incident resolves (after the quiet time) and
    // the ONUs held back while it was dead are correlated.
    let (mut olt_resolved, mut cut) = (false, None);
    while !olt_resolved || cut.is_none() {
        let ev = wait_for(&mut lab.events, 20, |_| true).await;
        match ev {
            IncidentEvent::Resolved { incident } if incident.id == inc.id => olt_resolved = true,
            IncidentEvent::Opened { incident } => cut = Some(incident),
            _ => {}
        }
    }
    let cut = cut.unwrap();
    Lab::assert_kind(&cut, IncidentKind::FibreCut);
    lab.control("/restore", "{}").await;
    lab.poll().await;
    lab.resolved(cut.id).await;
}

#[tokio::test]
async fn one_onu_is_a_single_onu_incident() {
    let mut lab = Lab::start("olt-single", lab_config()).await;
    let id = (0..ONUS)
        .find(|&i| !lab.up_serials(3, Some(&[i])).is_empty())
        .unwrap();
    let want = lab.up_serials(3, Some(&[id]));
    lab.control("/cut", &format!(r#"{{"port":3,"onus":[{id}]}}"#))
        .await;
    lab.poll().await;
    let inc = lab.opened().await;
    Lab::assert_kind(&inc, IncidentKind::SingleOnu);
    assert_eq!(Lab::serials(&inc), want);
    assert_eq!(inc.cause, Some(olt_poller::DownCause::Los));
    lab.control("/restore", r#"{"port":3}"#).await;
    lab.poll().await;
    lab.resolved(inc.id).await;
}

#[tokio::test]
async fn a_flapping_onu_makes_at_most_one_incident() {
    let mut config = lab_config();
    // The ONU stays down long enough each time to become an incident.
    config.correlator.single_onu_delay = Duration::from_millis(200);
    let mut lab = Lab::start("olt-flap", config).await;
    let id = (0..ONUS)
        .find(|&i| !lab.up_serials(0, Some(&[i])).is_empty())
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..6 {
        lab.control("/cut", &format!(r#"{{"port":0,"onus":[{id}]}}"#))
            .await;
        lab.poll().await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        lab.control("/restore", r#"{"port":0}"#).await;
        lab.poll().await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        while let Ok(ev) = lab.events.try_recv() {
            seen.push(ev);
        }
    }
    let ids: std::collections::BTreeSet<_> = seen.iter().map(|e| e.incident().id).collect();
    assert!(ids.len() <= 1, "{seen:#?}");
    let opened = seen.iter().filter(|e| e.name() == "opened").count();
    let resolved = seen.iter().filter(|e| e.name() == "resolved").count();
    assert!(
        opened <= 1 && resolved <= 1,
        "opened {opened}, resolved {resolved}"
    );
}
