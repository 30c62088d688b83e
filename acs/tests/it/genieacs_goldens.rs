//! Compatibility with GenieACS 1.2.16 itself: each scenario of `testdata/genieacs-scripts/`
//! (provisions, virtual parameters and presets written here; see its NOTICE) is loaded into
//! Fibreplane as the NBI would store it, the scenario's cpe-sim model runs the same sessions
//! with the same device id (which seeds `Math.random` and the `Date.now` offsets), and the
//! resulting device document and faults, normalised as the goldens were, must equal what
//! GenieACS produced (`goldens/`, recorded by `benches/genieacs/goldens.sh`).
//!
//! The ACS is configured as GenieACS behaves out of the box: no CPE authentication, no
//! discovery or connection-request credentials of its own, so that every RPC comes from the
//! scenario's presets.
//!
//! These comparisons are the acceptance test of the script engine (issue 16 item 1), and every
//! scenario matches GenieACS: what Informs alone store (with the objects above their
//! parameters); declarative presets (a subtree listed by name only, values read where
//! declared, an untyped value written in the parameter's own type); GenieACS's seeded-preset
//! and community script patterns (the root listed one level for a data model the device lacks,
//! named paths reached by one-level listings, alias filters' keys read first, writable virtual
//! parameters written through); every sandbox function; and script faults (one per channel,
//! each retried alone at once as GenieACS's `retryNow` does).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::harness;
use acs::store::Op;
use acs::{AcsConfig, CpeAuthMode, DeviceId};
use fibreplane_lab::genie_golden::{self, Golden, Scenario, ScriptDir, SessionRecord};
use fibreplane_lab::{BaseModel, CpeAuth, Fleet, SimConfig};

fn scripts() -> ScriptDir {
    ScriptDir::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/genieacs-scripts"))
}

fn scenario(name: &str) -> Scenario {
    let all = scripts().scenarios().expect("scenarios");
    all.into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no scenario {name}"))
}

fn model(name: &str) -> BaseModel {
    if name == "xx230v" {
        return BaseModel::xx230v();
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("testdata/trees/{name}.csv"));
    let text = std::fs::read_to_string(&path).expect("model CSV");
    BaseModel::from_csv(&text).expect("model parses")
}

/// Stores the scenario's provisions, virtual parameters and presets as `PUT /provisions/…`,
/// `/virtual_parameters/…` and `/presets/…` store them.
async fn load(t: &harness::TestAcs, s: &Scenario) {
    let dir = scripts();
    let mut ops = Vec::new();
    let script_doc = |name: &str, script: String| {
        serde_json::json!({"_id": name, "script": script})
            .to_string()
            .into_bytes()
    };
    for p in &s.provisions {
        ops.push(Op::PutDoc {
            collection: "provisions".into(),
            name: p.clone(),
            body: script_doc(p, dir.provision(p).expect("provision")),
        });
    }
    for v in &s.virtual_parameters {
        ops.push(Op::PutDoc {
            collection: "virtual_parameters".into(),
            name: v.clone(),
            body: script_doc(v, dir.virtual_parameter(v).expect("vparam")),
        });
    }
    for (name, preset) in &s.presets {
        let mut doc = preset.clone();
        if let Some(obj) = doc.as_object_mut() {
            obj.insert("_id".into(), serde_json::Value::String(name.clone()));
        }
        ops.push(Op::PutDoc {
            collection: "presets".into(),
            name: name.clone(),
            body: doc.to_string().into_bytes(),
        });
    }
    t.acs.write(ops).await.expect("store scenario documents");
}

/// Runs scenario `name` against Fibreplane and returns its result in the goldens' shape.
async fn run(name: &str) -> (Golden, Golden) {
    let s = scenario(name);
    let golden = scripts().golden(name).expect("golden");
    let t = harness::start(AcsConfig {
        cpe_auth: CpeAuthMode::None,
        refresh_on_bootstrap: false,
        manage_cr_credentials: false,
        // GenieACS ran with `EXT_DIR` set to the scenarios' `ext/` (Node.js, which
        // `scripts/deps/node.sh` installs, runs them).
        ext_dir: Some(scripts().ext_dir()),
        ..harness::config(Path::new("."))
    })
    .await;
    load(&t, &s).await;
    let fleet = Fleet::start(SimConfig {
        acs_url: t.url(),
        model: Arc::new(model(&s.model)),
        serial_prefix: s.serial_prefix.clone(),
        auth: CpeAuth::None,
        stagger: Duration::ZERO,
        ..SimConfig::default()
    })
    .await
    .expect("fleet");
    let device_id = fleet.device_id(0);
    assert_eq!(
        device_id, golden.device_id,
        "the same device as in GenieACS"
    );
    let mut sessions = Vec::new();
    for events in &s.sessions {
        let events: Vec<&str> = events.iter().map(String::as_str).collect();
        let r = fleet.inform(0, &events).await.expect("session");
        sessions.push(SessionRecord {
            events: r.events,
            rpcs: r.acs_requests,
            cpe_faults: r.faults,
        });
    }
    fleet.shutdown().await;
    let dev = DeviceId::parse(&device_id).expect("device id");
    let store = t.acs.store();
    let meta = store
        .get(&dev)
        .await
        .expect("read")
        .expect("registered")
        .value;
    let tree = store.get_tree(&dev).await.expect("tree");
    let doc: serde_json::Value =
        serde_json::from_str(&acs::genie::doc::device(&meta, &tree).json()).expect("doc JSON");
    let faults: Vec<serde_json::Value> = store
        .faults(Some(&dev))
        .await
        .expect("faults")
        .iter()
        .map(|f| serde_json::from_str(&acs::genie::doc::fault(f).json()).expect("fault JSON"))
        .collect();
    let actual = Golden {
        scenario: name.to_owned(),
        device_id,
        reference: "Fibreplane".into(),
        sessions,
        parameters: genie_golden::normalise(&doc).expect("normalise"),
        faults: genie_golden::normalise_faults(&serde_json::Value::Array(faults)).expect("faults"),
    };
    (golden, actual)
}

async fn check(name: &str) {
    let (golden, actual) = run(name).await;
    if let Some(report) = genie_golden::diff(&golden, &actual) {
        panic!(
            "{report}\nFibreplane's sessions: {:?}\nGenieACS's sessions: {:?}",
            actual.sessions, golden.sessions
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn informs_alone_store_what_genieacs_stores_on_tr181() {
    check("inform-only-tr181").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn informs_alone_store_what_genieacs_stores_on_tr098() {
    check("inform-only-tr098").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declarative_presets_build_the_tree_genieacs_builds() {
    check("declarative-tr181").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_preset_patterns_build_the_tree_genieacs_builds_on_tr181() {
    check("defaults-tr181").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_preset_patterns_build_the_tree_genieacs_builds_on_tr098() {
    check("defaults-tr098").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sandbox_function_gives_what_genieacs_gives() {
    check("sandbox-tr181").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn community_scripts_build_the_tree_genieacs_builds_on_tr181() {
    check("community-tr181").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn community_scripts_build_the_tree_genieacs_builds_on_tr098() {
    check("community-tr098").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn script_faults_are_recorded_as_genieacs_records_them() {
    check("faults-tr181").await;
}

#[test]
fn every_scenario_has_a_golden_and_a_test() {
    let dir = scripts();
    let names: Vec<String> = dir
        .scenarios()
        .expect("scenarios")
        .into_iter()
        .map(|s| s.name)
        .collect();
    let tested = [
        "community-tr098",
        "community-tr181",
        "declarative-tr181",
        "defaults-tr098",
        "defaults-tr181",
        "faults-tr181",
        "inform-only-tr098",
        "inform-only-tr181",
        "sandbox-tr181",
    ];
    assert_eq!(names, tested);
    for n in &names {
        let g = dir.golden(n).expect("golden");
        assert_eq!(&g.scenario, n);
        assert!(
            g.reference.starts_with("GenieACS 1.2.16"),
            "{}",
            g.reference
        );
        assert!(!g.parameters.is_empty(), "{n}");
    }
}
