//! Answers to ACS requests: the RPC dispatcher of a virtual CPE.
//!
//! Parameter RPCs are answered from the model at once. Reboot, FactoryReset, Download and
//! ScheduleInform only make sense after the session ends, so they are answered immediately and
//! leave a [`FollowUp`] that the CPE's task performs later, as a real CPE does; so does a
//! SetParameterValues that requests a diagnostics test.

use cwmp::codec::UNKNOWN_TIME;
use cwmp::{Body, Download, DuOperation, Upload};

use crate::model::CpeModel;
use crate::model_rpc::fault;

/// Work a CPE does after the session in which the ACS asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FollowUp {
    /// Reboot, then inform `1 BOOT` + `M Reboot`.
    Reboot { command_key: String },
    /// Forget the configuration, then inform `0 BOOTSTRAP` + `1 BOOT`.
    FactoryReset,
    /// Fetch the file, then inform `7 TRANSFER COMPLETE` + `M Download` with TransferComplete.
    Download(Box<Download>),
    /// Send the file, then inform `7 TRANSFER COMPLETE` + `M Upload` with TransferComplete.
    Upload(Box<Upload>),
    /// A ScheduleDownload: fetched when its first window opens, reported with
    /// `M ScheduleDownload`.
    ScheduledDownload(Box<Download>),
    /// Install/update/uninstall deployment units, then inform `11 DU STATE CHANGE COMPLETE` +
    /// `M ChangeDUState` with DUStateChangeComplete.
    ChangeDuState {
        operations: Vec<DuOperation>,
        command_key: String,
    },
    /// Inform `3 SCHEDULED` + `M ScheduleInform` after the delay.
    ScheduleInform {
        delay_seconds: u32,
        command_key: String,
    },
    /// Crash and restart, then inform `1 BOOT` (a discovery quirk).
    Restart,
    /// Run the diagnostics test requested on `object`, then inform `8 DIAGNOSTICS COMPLETE`;
    /// `generation` tells whether a later write superseded it.
    Diagnostic { object: String, generation: u64 },
}

/// The methods this CPE answers (GetRPCMethodsResponse).
const METHODS: &[&str] = &[
    "GetRPCMethods",
    "GetParameterNames",
    "GetParameterValues",
    "SetParameterValues",
    "GetParameterAttributes",
    "SetParameterAttributes",
    "AddObject",
    "DeleteObject",
    "Reboot",
    "FactoryReset",
    "Download",
    "ScheduleInform",
    "Upload",
    "ScheduleDownload",
    "CancelTransfer",
    "GetQueuedTransfers",
    "GetAllQueuedTransfers",
    "ChangeDUState",
];

/// Computes the answer to `request`, pushing any after-session work onto `follow`.
pub(crate) fn answer(model: &mut CpeModel, request: Body, follow: &mut Vec<FollowUp>) -> Body {
    let result = match request {
        Body::GetRpcMethods => Ok(Body::GetRpcMethodsResponse {
            methods: METHODS.iter().map(|m| (*m).to_owned()).collect(),
        }),
        Body::GetParameterNames { path, next_level } => model
            .get_parameter_names(&path, next_level)
            .map(|parameters| Body::GetParameterNamesResponse { parameters }),
        Body::GetParameterValues { names } => model
            .get_parameter_values(&names)
            .map(|parameters| Body::GetParameterValuesResponse { parameters }),
        Body::SetParameterValues {
            parameters,
            parameter_key,
        } => model
            .set_parameter_values(&parameters, &parameter_key)
            .map(|status| {
                follow.extend(crate::diag::after_set(model, &parameters));
                Body::SetParameterValuesResponse { status }
            }),
        Body::GetParameterAttributes { names } => model
            .get_parameter_attributes(&names)
            .map(|parameters| Body::GetParameterAttributesResponse { parameters }),
        Body::SetParameterAttributes { parameters } => model
            .set_parameter_attributes(&parameters)
            .map(|()| Body::SetParameterAttributesResponse),
        Body::AddObject {
            object_name,
            parameter_key,
        } => model
            .add_object(&object_name, &parameter_key)
            .map(|instance_number| Body::AddObjectResponse {
                instance_number,
                status: 0,
            }),
        Body::DeleteObject {
            object_name,
            parameter_key,
        } => model
            .delete_object(&object_name, &parameter_key)
            .map(|()| Body::DeleteObjectResponse { status: 0 }),
        Body::Reboot { command_key } => {
            follow.push(FollowUp::Reboot { command_key });
            Ok(Body::RebootResponse)
        }
        Body::FactoryReset => {
            follow.push(FollowUp::FactoryReset);
            Ok(Body::FactoryResetResponse)
        }
        Body::Download(d) => {
            follow.push(FollowUp::Download(Box::new(d)));
            // Status 1: the transfer happens after the session; TransferComplete follows.
            Ok(Body::DownloadResponse {
                status: 1,
                start_time: UNKNOWN_TIME.to_owned(),
                complete_time: UNKNOWN_TIME.to_owned(),
            })
        }
        Body::ScheduleInform {
            delay_seconds,
            command_key,
        } => {
            follow.push(FollowUp::ScheduleInform {
                delay_seconds,
                command_key,
            });
            Ok(Body::ScheduleInformResponse)
        }
        _ => Err(fault(9000)),
    };
    result.unwrap_or_else(Body::Fault)
}

/// The text of the SOAP header's `ID` element, found without a full parse (used only when the
/// body names a method the parser does not know).
pub(crate) fn header_id(xml: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(xml).ok()?;
    let mut rest = text;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest.find(|c: char| c.is_whitespace() || c == '>')?;
        let name = &rest[..end];
        if name.rsplit(':').next() == Some("ID") {
            let open = rest.find('>')?;
            let content = &rest[open + 1..];
            let close = content.find('<')?;
            return Some(content[..close].trim().chars().take(64).collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_id_finds_the_id() {
        let x = b"<s:Envelope><s:Header><cwmp:ID s:mustUnderstand=\"1\">42</cwmp:ID></s:Header>";
        assert_eq!(header_id(x).as_deref(), Some("42"));
        assert_eq!(header_id(b"<a><b>"), None);
        assert_eq!(header_id(b"<ID>7</ID>").as_deref(), Some("7"));
    }
}
