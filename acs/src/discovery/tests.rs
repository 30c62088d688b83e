use super::*;
use cwmp::{ParameterInfo, XsdType};

/// A CPE's tree and the ways it can fail discovery.
#[derive(Default)]
struct Cpe {
    objects: Vec<String>,
    leaves: Vec<String>,
    /// Faults a GetParameterValues of a partial path.
    partial_values_fault: bool,
    /// Answers a partial-path read with only this many values.
    truncate_to: Option<usize>,
    /// Faults a whole (NextLevel false) listing of these objects.
    deep_names_fault: Vec<String>,
    /// Faults every GetParameterValues.
    values_fault: bool,
    /// Names it lists but then does not know (9005 when read by name).
    ghosts: Vec<String>,
}

fn cpe() -> Cpe {
    let mut c = Cpe::default();
    for o in [
        "Device.DeviceInfo",
        "Device.WiFi",
        "Device.WiFi.SSID",
        "Device.WiFi.SSID.1",
    ] {
        c.objects.push(o.into());
    }
    c.leaves.push("Device.DeviceInfo.UpTime".into());
    c.leaves.push("Device.DeviceInfo.SoftwareVersion".into());
    c.leaves.push("Device.RootDataModelVersion".into());
    for i in 0..70 {
        c.leaves.push(format!("Device.WiFi.SSID.1.X{i}"));
    }
    c
}

impl Cpe {
    fn under<'a>(&'a self, names: &'a [String], path: &'a str) -> impl Iterator<Item = &'a String> {
        names.iter().filter(move |n| n.starts_with(path))
    }

    fn answer(&self, req: Body) -> Result<Body, Fault> {
        let fault = |code| Err(Fault::new(code, "refused"));
        match req {
            Body::GetParameterNames { path, next_level } => {
                if !next_level && self.deep_names_fault.contains(&path) {
                    return fault(9002);
                }
                let depth = path.matches('.').count();
                let keep =
                    |n: &str, dots: usize| !next_level || n.matches('.').count() == depth + dots;
                let mut parameters: Vec<ParameterInfo> = self
                    .under(&self.objects, &path)
                    .filter(|o| keep(o, 0))
                    .map(|o| ParameterInfo {
                        name: format!("{o}."),
                        writable: false,
                    })
                    .collect();
                parameters.extend(self.under(&self.leaves, &path).filter(|l| keep(l, 0)).map(
                    |l| ParameterInfo {
                        name: l.clone(),
                        writable: l.contains(".X"),
                    },
                ));
                Ok(Body::GetParameterNamesResponse { parameters })
            }
            Body::GetParameterValues { names } => {
                if self.values_fault {
                    return fault(9002);
                }
                let mut parameters = Vec::new();
                for n in &names {
                    if n.ends_with('.') {
                        if self.partial_values_fault {
                            return fault(9002);
                        }
                        let mut all: Vec<&String> = self.under(&self.leaves, n).collect();
                        if let Some(k) = self.truncate_to {
                            all.truncate(k);
                        }
                        parameters.extend(
                            all.into_iter()
                                .map(|l| ParameterValue::new(l, "v", XsdType::String)),
                        );
                    } else if self.ghosts.contains(n) || !self.leaves.contains(n) {
                        return fault(9005);
                    } else {
                        parameters.push(ParameterValue::new(n, "v", XsdType::String));
                    }
                }
                Ok(Body::GetParameterValuesResponse { parameters })
            }
            other => panic!("discovery sent {}", other.name()),
        }
    }
}

fn device() -> DeviceId {
    DeviceId::parse("1C61B4-Device2-S1").unwrap()
}

fn meta() -> DeviceMeta {
    let mut m = DeviceMeta::new(device(), Default::default());
    m.identity.oui = "1C61B4".into();
    m.identity.product_class = "Device2".into();
    m.software_version = "1.2".into();
    m
}

/// What a discovery did: its RPCs, its tree, its documents and faults, and whether it fell back.
#[derive(Default, Debug)]
struct Run {
    rpcs: Vec<String>,
    set: Vec<(String, Param)>,
    ops: Vec<Op>,
    fallbacks: usize,
}

fn walk(mut w: Walker, c: &Cpe) -> Run {
    let mut run = Run::default();
    let mut meta = meta();
    for _ in 0..500 {
        let req = w.request();
        run.rpcs.push(match &req {
            Body::GetParameterNames { path, next_level } => format!("GPN {path} {next_level}"),
            Body::GetParameterValues { names } if names.len() == 1 && names[0].ends_with('.') => {
                format!("GPV {}", names[0])
            }
            Body::GetParameterValues { names } => format!("GPV x{}", names.len()),
            other => other.name().to_owned(),
        });
        let p = match c.answer(req) {
            Ok(b) => w.answer(b, 10, &mut meta).unwrap(),
            Err(f) => w.fault(&f, 10),
        };
        run.fallbacks += usize::from(p.fell_back);
        run.set.extend(p.set);
        run.ops.extend(p.ops);
        if p.done {
            return run;
        }
    }
    panic!("discovery never ended: {:?}", run.rpcs);
}

fn start(profile: Option<Profile>, unfinished: Option<Attempt>) -> Decision {
    decide(&device(), &meta(), "Device", false, profile, unfinished, 10)
}

fn walker(d: Decision) -> (Walker, Vec<Op>) {
    match d {
        Decision::Discover(mut w) => {
            let ops = w.take_start_ops();
            assert!(w.take_start_ops().is_empty(), "start ops are taken once");
            (*w, ops)
        }
        other => panic!("{other:?}"),
    }
}

fn leaves_of(run: &Run) -> usize {
    run.set.iter().filter(|(_, p)| !p.object).count()
}

fn profile_written(ops: &[Op]) -> Option<Profile> {
    ops.iter().rev().find_map(|op| match op {
        Op::PutDoc {
            collection, body, ..
        } if collection == PROFILES => parse_profile(body),
        _ => None,
    })
}

fn attempt_ended(ops: &[Op]) -> bool {
    matches!(ops.last(), Some(Op::DeleteDoc { collection, .. }) if collection == ATTEMPTS)
}

fn fault_of(ops: &[Op]) -> Option<&FaultRecord> {
    ops.iter().find_map(|op| match op {
        Op::PutFault(f) => Some(f),
        _ => None,
    })
}

#[test]
fn a_cpe_that_answers_is_discovered_in_two_rpcs_and_its_model_remembered() {
    let (w, ops) = walker(start(None, None));
    assert!(
        matches!(&ops[..], [Op::PutDoc { collection, .. }] if collection == ATTEMPTS),
        "the attempt is recorded first"
    );
    let c = cpe();
    let run = walk(w, &c);
    assert_eq!(run.rpcs, ["GPN Device. false", "GPV Device."]);
    assert_eq!(leaves_of(&run), c.leaves.len());
    assert_eq!(run.set[0].0, "Device", "the root is in the tree");
    let x = run
        .set
        .iter()
        .find(|(n, _)| n == "Device.WiFi.SSID.1.X3")
        .unwrap();
    assert_eq!(x.1.writable, Some(true));
    assert_eq!(profile_written(&run.ops).unwrap().mode, Mode::Fast);
    assert!(attempt_ended(&run.ops));
    assert_eq!(run.fallbacks, 0);
}

#[test]
fn a_faulted_partial_read_falls_back_to_batches_in_the_same_session() {
    let (w, _) = walker(start(None, None));
    let c = Cpe {
        partial_values_fault: true,
        ..cpe()
    };
    let run = walk(w, &c);
    assert_eq!(
        run.rpcs,
        [
            "GPN Device. false",
            "GPV Device.",
            "GPV x32",
            "GPV x32",
            "GPV x9"
        ]
    );
    assert_eq!(leaves_of(&run), c.leaves.len());
    let p = profile_written(&run.ops).unwrap();
    assert_eq!((p.mode, p.failures), (Mode::Leaves, 1));
    assert!(attempt_ended(&run.ops));
    assert_eq!(run.fallbacks, 1);
}

#[test]
fn a_truncated_partial_read_gets_the_rest_by_name() {
    let (w, _) = walker(start(None, None));
    let c = Cpe {
        truncate_to: Some(40),
        ..cpe()
    };
    let run = walk(w, &c);
    assert_eq!(
        run.rpcs,
        ["GPN Device. false", "GPV Device.", "GPV x32", "GPV x1"]
    );
    assert_eq!(leaves_of(&run), c.leaves.len());
    let p = profile_written(&run.ops).unwrap();
    assert_eq!(
        (p.mode, p.failures),
        (Mode::Leaves, 0),
        "not a failure, but read by name from now on"
    );
}

#[test]
fn a_model_known_to_need_batches_starts_with_them() {
    let known = Profile {
        mode: Mode::Leaves,
        failures: 1,
        updated_ms: 1,
    };
    let (w, _) = walker(start(Some(known), None));
    let run = walk(w, &cpe());
    assert_eq!(
        run.rpcs,
        ["GPN Device. false", "GPV x32", "GPV x32", "GPV x9"]
    );
    assert!(
        profile_written(&run.ops).is_none(),
        "nothing new to remember"
    );
}

#[test]
fn a_cpe_that_cannot_list_its_whole_tree_is_walked() {
    let (w, _) = walker(start(None, None));
    let c = Cpe {
        deep_names_fault: vec!["Device.".into(), "Device.WiFi.".into()],
        ..cpe()
    };
    let run = walk(w, &c);
    assert_eq!(
        &run.rpcs[..6],
        [
            "GPN Device. false",
            "GPN Device. true",
            "GPN Device.DeviceInfo. false",
            "GPN Device.WiFi. false",
            "GPN Device.WiFi. true",
            "GPN Device.WiFi.SSID. false"
        ]
    );
    assert_eq!(leaves_of(&run), c.leaves.len());
    assert_eq!(
        run.set.iter().filter(|(_, p)| p.object).count(),
        c.objects.len() + 1
    );
    assert_eq!(profile_written(&run.ops).unwrap().mode, Mode::Walk);
}

#[test]
fn a_listed_name_the_cpe_does_not_know_is_dropped_by_halving() {
    let (w, _) = walker(start(
        Some(Profile {
            mode: Mode::Leaves,
            failures: 0,
            updated_ms: 0,
        }),
        None,
    ));
    let mut c = cpe();
    c.ghosts.push("Device.WiFi.SSID.1.X7".into());
    let run = walk(w, &c);
    assert_eq!(leaves_of(&run), c.leaves.len() - 1);
    assert!(run.set.iter().all(|(n, _)| n != "Device.WiFi.SSID.1.X7"));
    assert!(fault_of(&run.ops).is_none());
}

#[test]
fn an_unfinished_attempt_counts_as_a_failure_and_the_next_mode_is_tried() {
    let lost = Attempt {
        mode: Mode::Fast,
        failed: 0,
    };
    let (w, ops) = walker(start(None, Some(lost)));
    let p = profile_written(&ops).unwrap();
    assert_eq!((p.mode, p.failures), (Mode::Leaves, 1));
    let run = walk(w, &cpe());
    assert_eq!(run.rpcs[1], "GPV x32");
}

#[test]
fn three_failed_attempts_end_in_a_fault_and_no_more_discovery() {
    // Every read faults: fast, then batches, then the walk fail in one session.
    let (w, _) = walker(start(None, None));
    let c = Cpe {
        values_fault: true,
        ..cpe()
    };
    let run = walk(w, &c);
    let f = fault_of(&run.ops).expect("a discovery fault");
    assert_eq!(
        (f.channel.as_str(), f.code.as_str()),
        (CHANNEL, "discovery_failed")
    );
    assert!(attempt_ended(&run.ops));
    assert_eq!(run.fallbacks, 3);
    // Lost attempts count the same way, across sessions.
    let lost = Attempt {
        mode: Mode::Walk,
        failed: 2,
    };
    assert!(matches!(start(None, Some(lost)), Decision::GiveUp(ops) if fault_of(&ops).is_some()));
    // And a standing fault means no discovery until it is deleted.
    assert!(matches!(
        decide(&device(), &meta(), "Device", true, None, None, 10),
        Decision::Skip
    ));
}

#[test]
fn an_answer_of_the_wrong_kind_is_an_error_not_a_panic() {
    let (mut w, _) = walker(start(None, None));
    let mut m = meta();
    let e = w.answer(Body::RebootResponse, 1, &mut m).unwrap_err();
    assert_eq!(e.code, 8002);
}
