//! The crate graph: the one `ARCHITECTURE.md` states ("Crate graph") is the one Cargo sees, no
//! dev-dependency closes a cycle between workspace crates, and the production build of the
//! `fibreplane` binary (`--no-default-features`) links none of the lab simulators.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Each workspace crate's normal dependencies on other workspace crates, as written `name` or,
/// for an optional one, `name [feature f]`.
type Graph = BTreeMap<String, BTreeSet<String>>;

fn workspace_root() -> &'static Path {
    // benches/ is one level below the root.
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Runs the cargo that runs this test, in the workspace root, and returns its stdout.
fn cargo(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO"))
        .current_dir(workspace_root())
        .args(args)
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("cargo prints UTF-8")
}

/// The workspace's packages as `cargo metadata` declares them (no resolution, no network).
fn packages() -> Vec<Value> {
    let text = cargo(&["metadata", "--format-version", "1", "--no-deps"]);
    let meta: Value = serde_json::from_str(&text).expect("cargo metadata prints JSON");
    meta["packages"]
        .as_array()
        .expect("metadata lists packages")
        .clone()
}

/// Dependencies of `kind` (`None` for normal ones) between workspace crates, optional ones
/// marked with the feature that enables them.
fn cargo_graph(packages: &[Value], kind: Option<&str>) -> Graph {
    let names: BTreeSet<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    let mut graph = Graph::new();
    for p in packages {
        let name = p["name"].as_str().unwrap_or_default();
        let deps = graph.entry(name.to_owned()).or_default();
        for d in p["dependencies"].as_array().into_iter().flatten() {
            let dep = d["name"].as_str().unwrap_or_default();
            if !names.contains(dep) || d["kind"].as_str() != kind {
                continue;
            }
            if d["optional"].as_bool() == Some(true) {
                deps.insert(format!("{dep} [feature {}]", enabling_feature(p, dep)));
            } else {
                deps.insert(dep.to_owned());
            }
        }
    }
    graph
}

/// The feature of `package` that turns on its optional dependency `dep`.
fn enabling_feature(package: &Value, dep: &str) -> String {
    let wanted = format!("dep:{dep}");
    package["features"]
        .as_object()
        .into_iter()
        .flatten()
        .find(|(_, enables)| {
            enables
                .as_array()
                .is_some_and(|e| e.iter().any(|x| x.as_str() == Some(wanted.as_str())))
        })
        .map_or_else(|| dep.to_owned(), |(feature, _)| feature.clone())
}

/// The graph the "Crate graph" section of ARCHITECTURE.md states: the first fenced block after
/// the heading, one line per crate, `crate → dep, dep` (`—` for none).
fn stated_graph() -> Graph {
    let path = workspace_root().join("ARCHITECTURE.md");
    let text = std::fs::read_to_string(&path).expect("ARCHITECTURE.md is readable");
    let section = text
        .split("\n## Crate graph\n")
        .nth(1)
        .expect("ARCHITECTURE.md has a \"## Crate graph\" section");
    let block = section
        .split("```")
        .nth(1)
        .expect("the section has a fenced block");
    let mut graph = Graph::new();
    // The fence's first line is its info string (`text`).
    for line in block.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let (krate, deps) = line
            .split_once('→')
            .unwrap_or_else(|| panic!("a graph line without →: {line:?}"));
        let deps = deps
            .split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty() && *d != "—")
            .map(str::to_owned)
            .collect();
        let previous = graph.insert(krate.trim().to_owned(), deps);
        assert!(previous.is_none(), "{} is listed twice", krate.trim());
    }
    graph
}

/// Every difference between two graphs, one readable line each.
fn differences(stated: &Graph, actual: &Graph) -> Vec<String> {
    let mut out = Vec::new();
    for krate in stated.keys().chain(actual.keys()).collect::<BTreeSet<_>>() {
        match (stated.get(krate), actual.get(krate)) {
            (None, _) => out.push(format!("{krate}: a workspace crate the list leaves out")),
            (_, None) => out.push(format!("{krate}: listed, but no such workspace crate")),
            (Some(s), Some(a)) => {
                for d in a.difference(s) {
                    out.push(format!(
                        "{krate} → {d}: in Cargo.toml, not in ARCHITECTURE.md"
                    ));
                }
                for d in s.difference(a) {
                    out.push(format!(
                        "{krate} → {d}: in ARCHITECTURE.md, not in Cargo.toml"
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn architecture_states_the_crate_graph_cargo_resolves() {
    let actual = cargo_graph(&packages(), None);
    let stated = stated_graph();
    let diff = differences(&stated, &actual);
    assert!(
        diff.is_empty(),
        "ARCHITECTURE.md's crate graph differs from cargo metadata:\n  {}",
        diff.join("\n  ")
    );
}

#[test]
fn the_graph_check_sees_a_difference() {
    let mut actual = Graph::new();
    actual.insert("a".into(), ["b".into()].into());
    actual.insert("b".into(), BTreeSet::new());
    let mut stated = actual.clone();
    stated.insert("a".into(), ["c".into()].into());
    assert_eq!(
        differences(&stated, &actual),
        [
            "a → b: in Cargo.toml, not in ARCHITECTURE.md",
            "a → c: in ARCHITECTURE.md, not in Cargo.toml",
        ]
    );
}

/// A cycle in `edges`, as the path that closes it, if there is one.
fn find_cycle(edges: &BTreeMap<&str, BTreeSet<&str>>) -> Option<Vec<String>> {
    fn visit<'a>(
        node: &'a str,
        edges: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|n| *n == node) {
            let mut cycle: Vec<String> = path[i..].iter().map(|n| (*n).to_owned()).collect();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if !done.insert(node) {
            return None;
        }
        path.push(node);
        for next in edges.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|n| visit(n, edges, &mut Vec::new(), &mut done))
}

#[test]
fn no_dependency_cycle_even_through_dev_dependencies() {
    let packages = packages();
    let normal = cargo_graph(&packages, None);
    let dev = cargo_graph(&packages, Some("dev"));
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (krate, deps) in normal.iter().chain(&dev) {
        let entry = edges.entry(krate.as_str()).or_default();
        // An optional dependency's feature mark is not part of its name. A crate's dev-dependency
        // on itself only turns on its own features for its tests (the store's `engine`): it
        // links nothing else, so it is no cycle between crates.
        entry.extend(
            deps.iter()
                .map(|d| d.split(" [").next().unwrap_or(d))
                .filter(|d| *d != krate.as_str()),
        );
    }
    assert_eq!(find_cycle(&edges), None);
    // The check finds a cycle when there is one.
    edges
        .entry("fibreplane-types")
        .or_default()
        .insert("fibreplane-benches");
    assert!(find_cycle(&edges).is_some());
}

/// The packages in the normal-dependency tree of the `fibreplane` package with `features`.
fn production_tree(features: &[&str]) -> BTreeSet<String> {
    let mut args = vec!["tree", "--package", "fibreplane", "--edges", "normal"];
    args.extend_from_slice(&["--prefix", "none", "--format", "{p}"]);
    args.extend_from_slice(features);
    cargo(&args)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_production_binary_links_no_lab_simulator() {
    let production = production_tree(&["--no-default-features"]);
    assert!(production.contains("fibreplane-acs"), "{production:?}");
    assert!(
        !production.contains("fibreplane-lab"),
        "a production build links the lab simulators: {production:?}"
    );
    // The default build (`fibreplane demo`) has them: the check above looks at the right graph.
    assert!(production_tree(&[]).contains("fibreplane-lab"));
}
