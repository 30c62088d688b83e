//! Ways real CPE agents fail an ACS's whole-tree discovery, reproduced on demand.
//!
//! Some agents cannot serve a large subtree in one RPC: a GetParameterValues of a partial path
//! (which GenieACS never sends) or a GetParameterNames of the root with NextLevel false. They
//! fault, answer with a truncated list, go silent, drop the connection, or crash and come back
//! with a new Inform. Each [`DiscoveryQuirk`] is one of these, applied to any such request on a
//! subtree of more than [`LARGE`] parameters; smaller requests are answered normally.

use cwmp::{Body, Fault};

use crate::model::CpeModel;

/// Parameters under a partial path above which a quirky CPE misbehaves.
pub(crate) const LARGE: usize = 500;

/// How the CPE fails a request for a large subtree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscoveryQuirk {
    /// A partial-path GetParameterValues is answered with fault 9002 (internal error).
    PartialValuesFault,
    /// A partial-path GetParameterValues is answered with only its first [`LARGE`] values.
    PartialValuesTruncated,
    /// A partial-path GetParameterValues is never answered: the CPE stays silent on the open
    /// connection until its session timeout.
    PartialValuesSilent,
    /// A partial-path GetParameterValues makes the CPE drop the connection.
    PartialValuesDrop,
    /// A partial-path GetParameterValues makes the CPE restart: it drops the connection and
    /// comes back at once with a fresh Inform (`1 BOOT`).
    PartialValuesRestart,
    /// A GetParameterNames with NextLevel false of a large object is answered with fault 9002.
    DeepNamesFault,
}

/// What the CPE does instead of answering.
#[derive(Debug)]
pub(crate) enum Misbehaviour {
    /// Sends this answer.
    Answer(Box<Body>),
    /// Says nothing until its session times out.
    Silent,
    /// Closes the connection.
    Drop,
    /// Closes the connection and restarts.
    Restart,
}

/// What a quirky CPE does with `request`; `None` when it answers normally.
pub(crate) fn intercept(
    quirk: Option<DiscoveryQuirk>,
    model: &CpeModel,
    request: &Body,
) -> Option<Misbehaviour> {
    use DiscoveryQuirk as Q;
    let quirk = quirk?;
    match request {
        Body::GetParameterNames {
            path,
            next_level: false,
        } if quirk == Q::DeepNamesFault && large(model, path) => Some(Misbehaviour::Answer(
            Box::new(Body::Fault(internal_error())),
        )),
        Body::GetParameterValues { names } if quirk != Q::DeepNamesFault => {
            let partial = names.iter().find(|n| n.is_empty() || n.ends_with('.'))?;
            if !large(model, partial) {
                return None;
            }
            Some(match quirk {
                Q::PartialValuesFault => {
                    Misbehaviour::Answer(Box::new(Body::Fault(internal_error())))
                }
                Q::PartialValuesTruncated => {
                    let mut parameters = model.get_parameter_values(names).ok()?;
                    parameters.truncate(LARGE);
                    Misbehaviour::Answer(Box::new(Body::GetParameterValuesResponse { parameters }))
                }
                Q::PartialValuesSilent => Misbehaviour::Silent,
                Q::PartialValuesDrop => Misbehaviour::Drop,
                Q::PartialValuesRestart | Q::DeepNamesFault => Misbehaviour::Restart,
            })
        }
        _ => None,
    }
}

/// Whether more than [`LARGE`] parameters lie under `path`.
fn large(model: &CpeModel, path: &str) -> bool {
    model
        .get_parameter_names(path, false)
        .is_ok_and(|names| names.len() > LARGE)
}

fn internal_error() -> Fault {
    Fault::new(9002, "Internal error")
}
