//! The CWMP message model: every RPC of the TR-069 Amendment 6 ACS and CPE method sets, their
//! responses, and the SOAP Fault. These are wire types: they carry exactly what the envelope
//! carries, with values kept as the strings the peer sent (the `xsi:type` travels beside them).

use std::fmt;

/// A CWMP namespace version. The ACS answers in the version the CPE used in its Inform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum CwmpVersion {
    /// `urn:dslforum-org:cwmp-1-0`
    #[default]
    V1_0,
    /// `urn:dslforum-org:cwmp-1-1`
    V1_1,
    /// `urn:dslforum-org:cwmp-1-2` (also the target namespace of the 1.3 and 1.4 XSDs)
    V1_2,
    /// `urn:dslforum-org:cwmp-1-3` (sent by real stacks, in no BBF XSD)
    V1_3,
    /// `urn:dslforum-org:cwmp-1-4` (sent by real stacks, in no BBF XSD)
    V1_4,
}

impl CwmpVersion {
    /// Every version, oldest first.
    pub const ALL: [Self; 5] = [Self::V1_0, Self::V1_1, Self::V1_2, Self::V1_3, Self::V1_4];

    /// The namespace URN written on the wire.
    pub fn urn(self) -> &'static str {
        match self {
            Self::V1_0 => "urn:dslforum-org:cwmp-1-0",
            Self::V1_1 => "urn:dslforum-org:cwmp-1-1",
            Self::V1_2 => "urn:dslforum-org:cwmp-1-2",
            Self::V1_3 => "urn:dslforum-org:cwmp-1-3",
            Self::V1_4 => "urn:dslforum-org:cwmp-1-4",
        }
    }

    /// Maps a namespace URN back to a version; `None` for anything that is not a CWMP URN.
    pub fn from_urn(urn: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.urn() == urn)
    }

    /// The dotted form used by `SupportedCWMPVersions` / `UseCWMPVersion` (`1.2`).
    pub fn dotted(self) -> &'static str {
        match self {
            Self::V1_0 => "1.0",
            Self::V1_1 => "1.1",
            Self::V1_2 => "1.2",
            Self::V1_3 => "1.3",
            Self::V1_4 => "1.4",
        }
    }
}

/// The `xsi:type` of a parameter value. Unknown types are kept verbatim rather than rejected,
/// because vendors send types outside the TR-106 set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum XsdType {
    /// `xsd:string` (also the type assumed when the attribute is missing)
    #[default]
    String,
    /// `xsd:int`
    Int,
    /// `xsd:unsignedInt`
    UnsignedInt,
    /// `xsd:long`
    Long,
    /// `xsd:unsignedLong`
    UnsignedLong,
    /// `xsd:boolean`
    Boolean,
    /// `xsd:dateTime`
    DateTime,
    /// `xsd:base64Binary`
    Base64,
    /// `xsd:hexBinary`
    HexBinary,
    /// Any other type name, without its prefix.
    Other(String),
}

impl XsdType {
    /// Parses a type name with or without an `xsd:` (or any other) prefix.
    pub fn parse(s: &str) -> Self {
        // The part after the last colon, found by hand: `rsplit` costs more than the short
        // type names it is applied to, once per parameter value.
        let local = match s.bytes().rposition(|c| c == b':') {
            Some(i) => &s[i + 1..],
            None => s,
        };
        match local {
            "string" | "" => Self::String,
            "int" => Self::Int,
            "unsignedInt" => Self::UnsignedInt,
            "long" => Self::Long,
            "unsignedLong" => Self::UnsignedLong,
            "boolean" => Self::Boolean,
            "dateTime" => Self::DateTime,
            "base64Binary" | "base64" => Self::Base64,
            "hexBinary" => Self::HexBinary,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The local type name (`unsignedInt`), written as `xsd:<name>`.
    pub fn local_name(&self) -> &str {
        match self {
            Self::String => "string",
            Self::Int => "int",
            Self::UnsignedInt => "unsignedInt",
            Self::Long => "long",
            Self::UnsignedLong => "unsignedLong",
            Self::Boolean => "boolean",
            Self::DateTime => "dateTime",
            Self::Base64 => "base64Binary",
            Self::HexBinary => "hexBinary",
            Self::Other(s) => s,
        }
    }
}

impl fmt::Display for XsdType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "xsd:{}", self.local_name())
    }
}

/// `DeviceIdStruct` of the Inform.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceIdStruct {
    /// Manufacturer name.
    pub manufacturer: String,
    /// Organizationally unique identifier, six hex digits.
    pub oui: String,
    /// Product class; may be empty.
    pub product_class: String,
    /// Serial number.
    pub serial_number: String,
}

/// `EventStruct` of the Inform: a code such as `1 BOOT` or `M Reboot` and its command key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventStruct {
    /// The event code, for example `0 BOOTSTRAP` or `M Download`.
    pub code: String,
    /// The command key of the RPC that caused an `M` event; empty otherwise.
    pub command_key: String,
}

impl EventStruct {
    /// Builds an event with an empty command key.
    pub fn new(code: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            command_key: String::new(),
        }
    }
}

/// `ParameterValueStruct`: a name, a value, and the value's `xsi:type`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParameterValue {
    /// Full parameter path.
    pub name: String,
    /// The value as text.
    pub value: String,
    /// The value's type.
    pub xsd_type: XsdType,
}

impl ParameterValue {
    /// Builds a parameter value.
    pub fn new(name: impl Into<String>, value: impl Into<String>, xsd_type: XsdType) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            xsd_type,
        }
    }
}

/// `ParameterInfoStruct` of GetParameterNamesResponse.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParameterInfo {
    /// Path; objects end with `.`.
    pub name: String,
    /// Whether the parameter (or, for an object, AddObject/DeleteObject) is writable.
    pub writable: bool,
}

/// `ParameterAttributeStruct` of GetParameterAttributesResponse.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParameterAttribute {
    /// Path.
    pub name: String,
    /// 0 off, 1 passive, 2 active (3–6 in later amendments).
    pub notification: u32,
    /// Entities with write access besides the ACS (`Subscriber`).
    pub access_list: Vec<String>,
}

/// `SetParameterAttributesStruct`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetParameterAttribute {
    /// Path.
    pub name: String,
    /// Whether `notification` is to be changed.
    pub notification_change: bool,
    /// New notification value.
    pub notification: u32,
    /// Whether `access_list` is to be changed.
    pub access_list_change: bool,
    /// New access list.
    pub access_list: Vec<String>,
}

/// `FaultStruct` of TransferComplete: code 0 means success.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FaultStruct {
    /// The fault code; 0 for success.
    pub code: u32,
    /// Human-readable fault string.
    pub string: String,
}

/// One entry of a `SetParameterValuesFault` list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetParameterValuesFault {
    /// The offending parameter.
    pub name: String,
    /// Its fault code (9005, 9007, 9008, …).
    pub code: u32,
    /// Human-readable reason.
    pub string: String,
}

/// A SOAP Fault with its `cwmp:Fault` detail.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fault {
    /// `Client` or `Server` (the `faultcode`, without prefix).
    pub soap_code: String,
    /// The CWMP fault code.
    pub code: u32,
    /// The CWMP fault string.
    pub string: String,
    /// Per-parameter faults of a failed SetParameterValues.
    pub set_parameter_values_faults: Vec<SetParameterValuesFault>,
}

impl Fault {
    /// Builds a fault, choosing `Client` for 8003/9003–9008-style argument errors and `Server` for
    /// the rest, as CPE stacks do.
    pub fn new(code: u32, string: impl Into<String>) -> Self {
        let soap_code = match code {
            8001 | 8003 | 8006 | 9001 | 9003 | 9005..=9009 => "Client",
            _ => "Server",
        };
        Self {
            soap_code: soap_code.to_owned(),
            code,
            string: string.into(),
            set_parameter_values_faults: Vec::new(),
        }
    }
}

/// Arguments of the Download RPC.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Download {
    /// Command key echoed in TransferComplete (≤ 32 characters).
    pub command_key: String,
    /// `1 Firmware Upgrade Image`, `3 Vendor Configuration File`, …
    pub file_type: String,
    /// Where the CPE fetches the file.
    pub url: String,
    /// File-server user name (may be empty).
    pub username: String,
    /// File-server password (may be empty).
    pub password: String,
    /// Size in bytes, 0 if unknown.
    pub file_size: u64,
    /// Target file name on the CPE.
    pub target_file_name: String,
    /// Seconds to wait before starting.
    pub delay_seconds: u32,
    /// Redirect URL on success (optional).
    pub success_url: String,
    /// Redirect URL on failure (optional).
    pub failure_url: String,
}

/// Arguments of the Upload RPC.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Upload {
    /// Command key echoed in TransferComplete.
    pub command_key: String,
    /// `1 Vendor Configuration File`, `2 Vendor Log File`, …
    pub file_type: String,
    /// Destination URL.
    pub url: String,
    /// Destination user name.
    pub username: String,
    /// Destination password.
    pub password: String,
    /// Seconds to wait before starting.
    pub delay_seconds: u32,
}

/// Arguments of TransferComplete (CPE → ACS).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TransferComplete {
    /// Command key of the Download/Upload.
    pub command_key: String,
    /// Outcome; code 0 is success.
    pub fault: FaultStruct,
    /// When the transfer started (`dateTime` text).
    pub start_time: String,
    /// When it completed (`dateTime` text).
    pub complete_time: String,
}

/// Arguments of AutonomousTransferComplete (CPE → ACS).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AutonomousTransferComplete {
    /// Where the transfer was announced.
    pub announce_url: String,
    /// The file's URL.
    pub transfer_url: String,
    /// True for a download, false for an upload.
    pub is_download: bool,
    /// File type.
    pub file_type: String,
    /// File size in bytes.
    pub file_size: u64,
    /// Target file name.
    pub target_file_name: String,
    /// Outcome.
    pub fault: FaultStruct,
    /// Start time text.
    pub start_time: String,
    /// Completion time text.
    pub complete_time: String,
}

/// `TimeWindowStruct` of ScheduleDownload: when, relative to the request, the CPE may transfer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TimeWindow {
    /// Seconds after the request at which the window opens.
    pub window_start: u32,
    /// Seconds after the request at which the window closes.
    pub window_end: u32,
    /// `1 At Any Time`, `2 Immediately`, `3 When Idle` or `4 Confirmation Needed`.
    pub window_mode: String,
    /// Text shown to the user when the mode asks for confirmation.
    pub user_message: String,
    /// Retries the CPE may make inside the window; -1 leaves it to the CPE.
    pub max_retries: i32,
}

/// Arguments of the ScheduleDownload RPC (a Download bound to one or two time windows).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScheduleDownload {
    /// Command key echoed in TransferComplete.
    pub command_key: String,
    /// TR-069 file type, as for Download.
    pub file_type: String,
    /// Where the CPE fetches the file.
    pub url: String,
    /// File-server user name (may be empty).
    pub username: String,
    /// File-server password (may be empty).
    pub password: String,
    /// Size in bytes, 0 if unknown.
    pub file_size: u64,
    /// Target file name on the CPE.
    pub target_file_name: String,
    /// One or two windows in which the transfer may happen.
    pub time_windows: Vec<TimeWindow>,
}

/// `QueuedTransferStruct` of GetQueuedTransfersResponse.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueuedTransfer {
    /// The command key of the Download/ScheduleDownload.
    pub command_key: String,
    /// 1 not yet started, 2 in progress, 3 completed (awaiting TransferComplete).
    pub state: u32,
}

/// `AllQueuedTransferStruct` of GetAllQueuedTransfersResponse.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AllQueuedTransfer {
    /// The command key, empty for transfers another party requested.
    pub command_key: String,
    /// 1 not yet started, 2 in progress, 3 completed.
    pub state: u32,
    /// True for a download, false for an upload.
    pub is_download: bool,
    /// TR-069 file type.
    pub file_type: String,
    /// Size in bytes.
    pub file_size: u64,
    /// Target file name.
    pub target_file_name: String,
}

/// One operation of ChangeDUState (`InstallOpStruct`, `UpdateOpStruct`, `UninstallOpStruct`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DuOperation {
    /// Install a deployment unit from `url`.
    Install {
        /// Where the CPE fetches the unit.
        url: String,
        /// The unit's UUID (may be empty: the CPE derives one).
        uuid: String,
        /// File-server user name.
        username: String,
        /// File-server password.
        password: String,
        /// The execution environment to install into (empty: the CPE's choice).
        execution_env_ref: String,
    },
    /// Update an installed unit.
    Update {
        /// The unit's UUID (empty: every unit).
        uuid: String,
        /// The version to update (empty: every version).
        version: String,
        /// Where the CPE fetches the new version (empty: the unit's own URL).
        url: String,
        /// File-server user name.
        username: String,
        /// File-server password.
        password: String,
    },
    /// Uninstall a unit.
    Uninstall {
        /// The unit's UUID.
        uuid: String,
        /// The version to remove (empty: every version).
        version: String,
        /// The execution environment it is installed in.
        execution_env_ref: String,
    },
}

impl DuOperation {
    /// The operation's element name (`InstallOpStruct`, …).
    pub fn element(&self) -> &'static str {
        match self {
            Self::Install { .. } => "InstallOpStruct",
            Self::Update { .. } => "UpdateOpStruct",
            Self::Uninstall { .. } => "UninstallOpStruct",
        }
    }
}

/// `OpResultStruct` of DUStateChangeComplete, and with `operation_performed` set, the
/// `AutonOpResultStruct` of AutonomousDUStateChangeComplete.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OpResult {
    /// The unit's UUID.
    pub uuid: String,
    /// The unit's path in the CPE's `SoftwareModules.DeploymentUnit` table.
    pub deployment_unit_ref: String,
    /// The unit's version.
    pub version: String,
    /// `Installed`, `Uninstalled` or `Failed`.
    pub current_state: String,
    /// Whether the unit's dependencies were resolved.
    pub resolved: bool,
    /// Comma-separated paths of the execution units the unit holds.
    pub execution_unit_ref_list: String,
    /// When the operation started (`dateTime` text).
    pub start_time: String,
    /// When it completed (`dateTime` text).
    pub complete_time: String,
    /// Outcome; code 0 is success.
    pub fault: FaultStruct,
    /// `Install`, `Update` or `Uninstall`: only in autonomous results.
    pub operation_performed: String,
}

/// `OptionStruct` of GetOptionsResponse: an option a voucher enabled.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OptionInfo {
    /// The option's name.
    pub option_name: String,
    /// The serial number of the voucher that enabled it.
    pub voucher_sn: String,
    /// Bit 0 enabled, bit 1 setup (TR-069 A.4.1.2).
    pub state: u32,
    /// `0 Disabled`, `1 Enabled with expiration`, `2 Enabled without expiration`.
    pub mode: String,
    /// When it was enabled (`dateTime` text).
    pub start_date: String,
    /// When it expires (`dateTime` text; empty when it does not).
    pub expiration_date: String,
    /// Whether it may be moved to another CPE.
    pub is_transferable: bool,
}

/// The Inform RPC.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Inform {
    /// Identity of the CPE.
    pub device_id: DeviceIdStruct,
    /// Events being delivered.
    pub events: Vec<EventStruct>,
    /// Always 1 in practice.
    pub max_envelopes: u32,
    /// The CPE's clock (`dateTime` text).
    pub current_time: String,
    /// Failed session attempts since the last success.
    pub retry_count: u32,
    /// Forced-inform and changed parameters.
    pub parameters: Vec<ParameterValue>,
}

impl Inform {
    /// Whether the Inform carries the event code `code` (exact match).
    pub fn has_event(&self, code: &str) -> bool {
        self.events.iter().any(|e| e.code == code)
    }
}

/// The body of a CWMP envelope: one RPC, one response, or a Fault.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Body {
    // ---- ACS → CPE requests ----
    /// GetRPCMethods (either direction).
    GetRpcMethods,
    /// GetParameterNames.
    GetParameterNames {
        /// Path or partial path (ending in `.`); empty for the root.
        path: String,
        /// Only the next level below `path`.
        next_level: bool,
    },
    /// GetParameterValues.
    GetParameterValues {
        /// Full or partial paths.
        names: Vec<String>,
    },
    /// SetParameterValues.
    SetParameterValues {
        /// Values to set.
        parameters: Vec<ParameterValue>,
        /// ParameterKey to store on success (≤ 32 characters).
        parameter_key: String,
    },
    /// GetParameterAttributes.
    GetParameterAttributes {
        /// Full or partial paths.
        names: Vec<String>,
    },
    /// SetParameterAttributes.
    SetParameterAttributes {
        /// Attributes to set.
        parameters: Vec<SetParameterAttribute>,
    },
    /// AddObject.
    AddObject {
        /// Object path ending in `.`.
        object_name: String,
        /// ParameterKey to store on success.
        parameter_key: String,
    },
    /// DeleteObject.
    DeleteObject {
        /// Instance path ending in `.`.
        object_name: String,
        /// ParameterKey to store on success.
        parameter_key: String,
    },
    /// Reboot.
    Reboot {
        /// Echoed in `M Reboot`.
        command_key: String,
    },
    /// FactoryReset.
    FactoryReset,
    /// Download.
    Download(Download),
    /// Upload.
    Upload(Upload),
    /// ScheduleInform.
    ScheduleInform {
        /// Seconds until the scheduled Inform.
        delay_seconds: u32,
        /// Echoed in `M ScheduleInform`.
        command_key: String,
    },
    /// ScheduleDownload.
    ScheduleDownload(ScheduleDownload),
    /// CancelTransfer.
    CancelTransfer {
        /// The command key of the Download/Upload to cancel.
        command_key: String,
    },
    /// GetQueuedTransfers.
    GetQueuedTransfers,
    /// GetAllQueuedTransfers.
    GetAllQueuedTransfers,
    /// SetVouchers.
    SetVouchers {
        /// Signed vouchers, base64 text.
        vouchers: Vec<String>,
    },
    /// GetOptions.
    GetOptions {
        /// An option name, or empty for all.
        option_name: String,
    },
    /// ChangeDUState.
    ChangeDuState {
        /// The operations, performed in order.
        operations: Vec<DuOperation>,
        /// Echoed in DUStateChangeComplete and `M ChangeDUState`.
        command_key: String,
    },

    // ---- CPE → ACS responses ----
    /// GetRPCMethodsResponse (either direction).
    GetRpcMethodsResponse {
        /// Supported method names.
        methods: Vec<String>,
    },
    /// GetParameterNamesResponse.
    GetParameterNamesResponse {
        /// Names found.
        parameters: Vec<ParameterInfo>,
    },
    /// GetParameterValuesResponse.
    GetParameterValuesResponse {
        /// Values found.
        parameters: Vec<ParameterValue>,
    },
    /// SetParameterValuesResponse.
    SetParameterValuesResponse {
        /// 0 applied, 1 committed but applied later.
        status: u32,
    },
    /// GetParameterAttributesResponse.
    GetParameterAttributesResponse {
        /// Attributes found.
        parameters: Vec<ParameterAttribute>,
    },
    /// SetParameterAttributesResponse.
    SetParameterAttributesResponse,
    /// AddObjectResponse.
    AddObjectResponse {
        /// The new instance number.
        instance_number: u32,
        /// 0 applied, 1 later.
        status: u32,
    },
    /// DeleteObjectResponse.
    DeleteObjectResponse {
        /// 0 applied, 1 later.
        status: u32,
    },
    /// RebootResponse.
    RebootResponse,
    /// FactoryResetResponse.
    FactoryResetResponse,
    /// DownloadResponse.
    DownloadResponse {
        /// 0 done, 1 in progress (TransferComplete follows).
        status: u32,
        /// Start time text (unknown time when status is 1).
        start_time: String,
        /// Completion time text.
        complete_time: String,
    },
    /// UploadResponse.
    UploadResponse {
        /// 0 done, 1 in progress.
        status: u32,
        /// Start time text.
        start_time: String,
        /// Completion time text.
        complete_time: String,
    },
    /// ScheduleInformResponse.
    ScheduleInformResponse,
    /// ScheduleDownloadResponse.
    ScheduleDownloadResponse,
    /// CancelTransferResponse.
    CancelTransferResponse,
    /// GetQueuedTransfersResponse.
    GetQueuedTransfersResponse {
        /// The transfers the ACS requested that are not yet complete.
        transfers: Vec<QueuedTransfer>,
    },
    /// GetAllQueuedTransfersResponse.
    GetAllQueuedTransfersResponse {
        /// Every queued transfer, whoever requested it.
        transfers: Vec<AllQueuedTransfer>,
    },
    /// ChangeDUStateResponse.
    ChangeDuStateResponse,
    /// SetVouchersResponse.
    SetVouchersResponse,
    /// GetOptionsResponse.
    GetOptionsResponse {
        /// The options asked for.
        options: Vec<OptionInfo>,
    },

    // ---- CPE → ACS requests ----
    /// Inform.
    Inform(Inform),
    /// TransferComplete.
    TransferComplete(TransferComplete),
    /// AutonomousTransferComplete.
    AutonomousTransferComplete(AutonomousTransferComplete),
    /// RequestDownload.
    RequestDownload {
        /// Requested file type.
        file_type: String,
        /// Name/value arguments.
        arguments: Vec<(String, String)>,
    },
    /// DUStateChangeComplete.
    DuStateChangeComplete {
        /// One result per operation of the ChangeDUState.
        results: Vec<OpResult>,
        /// The ChangeDUState's command key.
        command_key: String,
    },
    /// AutonomousDUStateChangeComplete.
    AutonomousDuStateChangeComplete {
        /// One result per operation, each naming the operation performed.
        results: Vec<OpResult>,
    },
    /// Kicked (deprecated in CWMP 1.4, still in its method set).
    Kicked {
        /// The command the web page asked for.
        command: String,
        /// The page's referer.
        referer: String,
        /// The command's argument.
        arg: String,
        /// Where the browser goes next.
        next: String,
    },

    // ---- ACS → CPE responses ----
    /// InformResponse.
    InformResponse {
        /// Always 1.
        max_envelopes: u32,
    },
    /// TransferCompleteResponse.
    TransferCompleteResponse,
    /// AutonomousTransferCompleteResponse.
    AutonomousTransferCompleteResponse,
    /// RequestDownloadResponse.
    RequestDownloadResponse,
    /// DUStateChangeCompleteResponse.
    DuStateChangeCompleteResponse,
    /// AutonomousDUStateChangeCompleteResponse.
    AutonomousDuStateChangeCompleteResponse,
    /// KickedResponse.
    KickedResponse {
        /// Where the browser goes next.
        next_url: String,
    },

    /// A SOAP Fault with CWMP detail.
    Fault(Fault),
}

impl Body {
    /// The RPC element's local name (`GetParameterValuesResponse`), or `Fault`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::GetRpcMethods => "GetRPCMethods",
            Self::GetParameterNames { .. } => "GetParameterNames",
            Self::GetParameterValues { .. } => "GetParameterValues",
            Self::SetParameterValues { .. } => "SetParameterValues",
            Self::GetParameterAttributes { .. } => "GetParameterAttributes",
            Self::SetParameterAttributes { .. } => "SetParameterAttributes",
            Self::AddObject { .. } => "AddObject",
            Self::DeleteObject { .. } => "DeleteObject",
            Self::Reboot { .. } => "Reboot",
            Self::FactoryReset => "FactoryReset",
            Self::Download(_) => "Download",
            Self::Upload(_) => "Upload",
            Self::ScheduleInform { .. } => "ScheduleInform",
            Self::ScheduleDownload(_) => "ScheduleDownload",
            Self::CancelTransfer { .. } => "CancelTransfer",
            Self::GetQueuedTransfers => "GetQueuedTransfers",
            Self::GetAllQueuedTransfers => "GetAllQueuedTransfers",
            Self::ChangeDuState { .. } => "ChangeDUState",
            Self::SetVouchers { .. } => "SetVouchers",
            Self::GetOptions { .. } => "GetOptions",
            Self::GetRpcMethodsResponse { .. } => "GetRPCMethodsResponse",
            Self::GetParameterNamesResponse { .. } => "GetParameterNamesResponse",
            Self::GetParameterValuesResponse { .. } => "GetParameterValuesResponse",
            Self::SetParameterValuesResponse { .. } => "SetParameterValuesResponse",
            Self::GetParameterAttributesResponse { .. } => "GetParameterAttributesResponse",
            Self::SetParameterAttributesResponse => "SetParameterAttributesResponse",
            Self::AddObjectResponse { .. } => "AddObjectResponse",
            Self::DeleteObjectResponse { .. } => "DeleteObjectResponse",
            Self::RebootResponse => "RebootResponse",
            Self::FactoryResetResponse => "FactoryResetResponse",
            Self::DownloadResponse { .. } => "DownloadResponse",
            Self::UploadResponse { .. } => "UploadResponse",
            Self::ScheduleInformResponse => "ScheduleInformResponse",
            Self::ScheduleDownloadResponse => "ScheduleDownloadResponse",
            Self::CancelTransferResponse => "CancelTransferResponse",
            Self::GetQueuedTransfersResponse { .. } => "GetQueuedTransfersResponse",
            Self::GetAllQueuedTransfersResponse { .. } => "GetAllQueuedTransfersResponse",
            Self::ChangeDuStateResponse => "ChangeDUStateResponse",
            Self::SetVouchersResponse => "SetVouchersResponse",
            Self::GetOptionsResponse { .. } => "GetOptionsResponse",
            Self::Inform(_) => "Inform",
            Self::TransferComplete(_) => "TransferComplete",
            Self::AutonomousTransferComplete(_) => "AutonomousTransferComplete",
            Self::RequestDownload { .. } => "RequestDownload",
            Self::DuStateChangeComplete { .. } => "DUStateChangeComplete",
            Self::AutonomousDuStateChangeComplete { .. } => "AutonomousDUStateChangeComplete",
            Self::Kicked { .. } => "Kicked",
            Self::InformResponse { .. } => "InformResponse",
            Self::TransferCompleteResponse => "TransferCompleteResponse",
            Self::AutonomousTransferCompleteResponse => "AutonomousTransferCompleteResponse",
            Self::RequestDownloadResponse => "RequestDownloadResponse",
            Self::DuStateChangeCompleteResponse => "DUStateChangeCompleteResponse",
            Self::AutonomousDuStateChangeCompleteResponse => {
                "AutonomousDUStateChangeCompleteResponse"
            }
            Self::KickedResponse { .. } => "KickedResponse",
            Self::Fault(_) => "Fault",
        }
    }

    /// Whether this body is a request the CPE sends to the ACS (Inform, TransferComplete, …).
    pub fn is_cpe_request(&self) -> bool {
        matches!(
            self,
            Self::Inform(_)
                | Self::TransferComplete(_)
                | Self::AutonomousTransferComplete(_)
                | Self::RequestDownload { .. }
                | Self::DuStateChangeComplete { .. }
                | Self::AutonomousDuStateChangeComplete { .. }
                | Self::Kicked { .. }
                | Self::GetRpcMethods
        )
    }

    /// Whether this body is a request the ACS sends to the CPE.
    pub fn is_acs_request(&self) -> bool {
        matches!(
            self,
            Self::GetRpcMethods
                | Self::GetParameterNames { .. }
                | Self::GetParameterValues { .. }
                | Self::SetParameterValues { .. }
                | Self::GetParameterAttributes { .. }
                | Self::SetParameterAttributes { .. }
                | Self::AddObject { .. }
                | Self::DeleteObject { .. }
                | Self::Reboot { .. }
                | Self::FactoryReset
                | Self::Download(_)
                | Self::Upload(_)
                | Self::ScheduleInform { .. }
                | Self::ScheduleDownload(_)
                | Self::CancelTransfer { .. }
                | Self::GetQueuedTransfers
                | Self::GetAllQueuedTransfers
                | Self::ChangeDuState { .. }
                | Self::SetVouchers { .. }
                | Self::GetOptions { .. }
        )
    }
}

/// The SOAP header elements CWMP defines.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    /// `cwmp:ID`: pairs a request with its response.
    pub id: Option<String>,
    /// `cwmp:HoldRequests` (ACS → CPE only).
    pub hold_requests: Option<bool>,
    /// `cwmp:SessionTimeout` / `sessionTimeout` in seconds (CWMP 1.3, CPE → ACS).
    pub session_timeout: Option<u32>,
    /// `cwmp:SupportedCWMPVersions` (CWMP 1.4, CPE → ACS), e.g. `1.0,1.1,1.2,1.3,1.4`.
    pub supported_cwmp_versions: Option<String>,
    /// `cwmp:UseCWMPVersion` (CWMP 1.4, ACS → CPE).
    pub use_cwmp_version: Option<String>,
    /// Whether the obsolete `NoMoreRequests` header was present (parsed and ignored).
    pub no_more_requests: bool,
}

/// A complete CWMP SOAP envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The CWMP namespace the envelope uses.
    pub version: CwmpVersion,
    /// Header elements.
    pub header: Header,
    /// The single RPC in the body.
    pub body: Body,
}

impl Envelope {
    /// Builds an envelope with just an ID header.
    pub fn new(version: CwmpVersion, id: impl Into<String>, body: Body) -> Self {
        Self {
            version,
            header: Header {
                id: Some(id.into()),
                ..Header::default()
            },
            body,
        }
    }
}
