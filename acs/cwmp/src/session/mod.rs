//! The two CWMP session state machines, in the style of quinn-proto: the driver feeds input with
//! the current time and gets back an event saying what to do next. Neither machine performs IO
//! or reads a clock, so tests run them against each other in virtual time.

pub mod acs;
pub mod cpe;

use crate::rpc::Body;

/// The response body name that answers `request`, or `None` if `request` is not a request.
pub(crate) fn response_name(request: &Body) -> Option<&'static str> {
    Some(match request {
        Body::GetRpcMethods => "GetRPCMethodsResponse",
        Body::GetParameterNames { .. } => "GetParameterNamesResponse",
        Body::GetParameterValues { .. } => "GetParameterValuesResponse",
        Body::SetParameterValues { .. } => "SetParameterValuesResponse",
        Body::GetParameterAttributes { .. } => "GetParameterAttributesResponse",
        Body::SetParameterAttributes { .. } => "SetParameterAttributesResponse",
        Body::AddObject { .. } => "AddObjectResponse",
        Body::DeleteObject { .. } => "DeleteObjectResponse",
        Body::Reboot { .. } => "RebootResponse",
        Body::FactoryReset => "FactoryResetResponse",
        Body::Download(_) => "DownloadResponse",
        Body::Upload(_) => "UploadResponse",
        Body::ScheduleInform { .. } => "ScheduleInformResponse",
        Body::Inform(_) => "InformResponse",
        Body::TransferComplete(_) => "TransferCompleteResponse",
        Body::AutonomousTransferComplete(_) => "AutonomousTransferCompleteResponse",
        Body::RequestDownload { .. } => "RequestDownloadResponse",
        Body::ScheduleDownload(_) => "ScheduleDownloadResponse",
        Body::CancelTransfer { .. } => "CancelTransferResponse",
        Body::GetQueuedTransfers => "GetQueuedTransfersResponse",
        Body::GetAllQueuedTransfers => "GetAllQueuedTransfersResponse",
        Body::ChangeDuState { .. } => "ChangeDUStateResponse",
        Body::SetVouchers { .. } => "SetVouchersResponse",
        Body::GetOptions { .. } => "GetOptionsResponse",
        Body::Kicked { .. } => "KickedResponse",
        Body::DuStateChangeComplete { .. } => "DUStateChangeCompleteResponse",
        Body::AutonomousDuStateChangeComplete { .. } => "AutonomousDUStateChangeCompleteResponse",
        _ => return None,
    })
}

/// Builds a per-session message ID. IDs only pair requests with responses inside one session,
/// so a prefix naming the role plus a counter is unique enough and keeps the crate free of
/// randomness.
pub(crate) fn message_id(prefix: &str, counter: &mut u64) -> String {
    *counter += 1;
    format!("{prefix}-{counter}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_request_has_a_response_name() {
        assert_eq!(
            response_name(&Body::FactoryReset),
            Some("FactoryResetResponse")
        );
        assert_eq!(response_name(&Body::RebootResponse), None);
        let mut n = 0;
        assert_eq!(message_id("acs", &mut n), "acs-1");
        assert_eq!(message_id("acs", &mut n), "acs-2");
    }
}
