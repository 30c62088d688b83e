//! Interned element names and short-string comparison for the first pass.
//!
//! The arena identifies elements by `&'static str` names from one table, so matching in the
//! mapper never allocates; everything here runs once or more per element, hence the care.

/// Every local name the mapper looks at.
const NAMES: [&str; 163] = [
    "Envelope",
    "Header",
    "Body",
    "Fault",
    "ID",
    "HoldRequests",
    "SessionTimeout",
    "sessionTimeout",
    "SupportedCWMPVersions",
    "UseCWMPVersion",
    "NoMoreRequests",
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
    "Upload",
    "ScheduleInform",
    "GetRPCMethodsResponse",
    "GetParameterNamesResponse",
    "GetParameterValuesResponse",
    "SetParameterValuesResponse",
    "GetParameterAttributesResponse",
    "SetParameterAttributesResponse",
    "AddObjectResponse",
    "DeleteObjectResponse",
    "RebootResponse",
    "FactoryResetResponse",
    "DownloadResponse",
    "UploadResponse",
    "ScheduleInformResponse",
    "Inform",
    "TransferComplete",
    "AutonomousTransferComplete",
    "RequestDownload",
    "InformResponse",
    "TransferCompleteResponse",
    "AutonomousTransferCompleteResponse",
    "RequestDownloadResponse",
    "ParameterPath",
    "NextLevel",
    "ParameterNames",
    "string",
    "ParameterList",
    "ParameterKey",
    "ParameterValueStruct",
    "Name",
    "Value",
    "SetParameterAttributesStruct",
    "NotificationChange",
    "Notification",
    "AccessListChange",
    "AccessList",
    "ObjectName",
    "CommandKey",
    "FileType",
    "URL",
    "Username",
    "Password",
    "FileSize",
    "TargetFileName",
    "DelaySeconds",
    "SuccessURL",
    "FailureURL",
    "MethodList",
    "ParameterInfoStruct",
    "Writable",
    "Status",
    "ParameterAttributeStruct",
    "InstanceNumber",
    "StartTime",
    "CompleteTime",
    "DeviceId",
    "Manufacturer",
    "OUI",
    "ProductClass",
    "SerialNumber",
    "Event",
    "EventStruct",
    "EventCode",
    "MaxEnvelopes",
    "CurrentTime",
    "RetryCount",
    "FaultStruct",
    "FaultCode",
    "FaultString",
    "AnnounceURL",
    "TransferURL",
    "IsDownload",
    "FileTypeArg",
    "ArgStruct",
    "faultcode",
    "faultstring",
    "detail",
    "SetParameterValuesFault",
    "ParameterName",
    "ScheduleDownload",
    "CancelTransfer",
    "GetQueuedTransfers",
    "GetAllQueuedTransfers",
    "ChangeDUState",
    "ScheduleDownloadResponse",
    "CancelTransferResponse",
    "GetQueuedTransfersResponse",
    "GetAllQueuedTransfersResponse",
    "ChangeDUStateResponse",
    "DUStateChangeComplete",
    "AutonomousDUStateChangeComplete",
    "DUStateChangeCompleteResponse",
    "AutonomousDUStateChangeCompleteResponse",
    "TimeWindowList",
    "TimeWindowStruct",
    "WindowStart",
    "WindowEnd",
    "WindowMode",
    "UserMessage",
    "MaxRetries",
    "TransferList",
    "QueuedTransferStruct",
    "AllQueuedTransferStruct",
    "State",
    "Operations",
    "InstallOpStruct",
    "UpdateOpStruct",
    "UninstallOpStruct",
    "UUID",
    "ExecutionEnvRef",
    "Version",
    "Results",
    "OpResultStruct",
    "AutonOpResultStruct",
    "DeploymentUnitRef",
    "CurrentState",
    "Resolved",
    "ExecutionUnitRefList",
    "OperationPerformed",
    "SetVouchers",
    "GetOptions",
    "SetVouchersResponse",
    "GetOptionsResponse",
    "Kicked",
    "KickedResponse",
    "VoucherList",
    "OptionName",
    "OptionList",
    "OptionStruct",
    "VoucherSN",
    "Mode",
    "StartDate",
    "ExpirationDate",
    "IsTransferable",
    "Command",
    "Referer",
    "Arg",
    "Next",
    "NextURL",
    "base64",
];

/// [`NAMES`] bucketed by length at compile time, so interning compares against a handful of
/// candidates instead of walking a 100-arm string match for every element.
static BY_LEN: [[&str; 20]; 40] = {
    let mut t = [[""; 20]; 40];
    let mut i = 0;
    while i < NAMES.len() {
        let n = NAMES[i];
        let mut j = 0;
        // A full bucket or an over-long name fails the build, not a parse.
        while !t[n.len()][j].is_empty() {
            j += 1;
        }
        t[n.len()][j] = n;
        i += 1;
    }
    t
};

/// Interns the local names the mapper looks at; everything else maps to `""`.
pub(super) fn intern(s: &str) -> &'static str {
    let (Some(bucket), Some(&first)) = (BY_LEN.get(s.len()), s.as_bytes().first()) else {
        return "";
    };
    for &n in bucket {
        if n.is_empty() {
            break;
        }
        if n.as_bytes()[0] == first && same(n, s) {
            return n;
        }
    }
    ""
}

/// Byte equality written out, because for names of a few bytes a call to `memcmp` costs more
/// than the comparison: words at a time, the last one overlapping.
#[inline]
pub(super) fn same(a: &str, b: &str) -> bool {
    same_bytes(a.as_bytes(), b.as_bytes())
}

/// [`same`] for byte strings.
#[inline]
pub(super) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], i: usize| u64::from_le_bytes(s[i..i + 8].try_into().unwrap_or_default());
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    let mut i = 0;
    while i + 8 < n {
        if word(a, i) != word(b, i) {
            return false;
        }
        i += 8;
    }
    word(a, n - 8) == word(b, n - 8)
}

/// Whether an element counts against [`crate::Limits::max_parameters`]: every list entry type.
pub(super) fn is_list_entry(name: &str) -> bool {
    matches!(
        name,
        "ParameterValueStruct"
            | "ParameterInfoStruct"
            | "ParameterAttributeStruct"
            | "SetParameterAttributesStruct"
            | "string"
            | "EventStruct"
            | "ArgStruct"
            | "SetParameterValuesFault"
            | "TimeWindowStruct"
            | "QueuedTransferStruct"
            | "AllQueuedTransferStruct"
            | "InstallOpStruct"
            | "UpdateOpStruct"
            | "UninstallOpStruct"
            | "OpResultStruct"
            | "AutonOpResultStruct"
            | "OptionStruct"
            | "base64"
    )
}
