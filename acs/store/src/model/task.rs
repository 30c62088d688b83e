//! Queued device tasks and recorded faults.

use serde::{Deserialize, Serialize};

use super::DeviceId;

/// A task queued for a device, executed in its next CWMP session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// Task id; `0` in [`crate::Op::PutTask`] asks the store to allocate one.
    pub id: u64,
    /// The device the task is for.
    pub device: DeviceId,
    /// What to do.
    pub kind: TaskKind,
    /// When the task was created (ms since the Unix epoch).
    pub created_ms: i64,
    /// Where the task stands.
    pub status: TaskStatus,
    /// How many sessions have tried it.
    pub attempts: u32,
    /// Do not run before this time (retry back-off).
    pub not_before_ms: i64,
    /// Drop the task if still pending at this time.
    pub expiry_ms: Option<i64>,
}

/// The task types GenieACS's NBI offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskKind {
    /// Read parameter values.
    GetParameterValues {
        /// Parameter or object paths.
        names: Vec<String>,
    },
    /// Write parameter values.
    SetParameterValues {
        /// `(path, value text, xsd local type)` triples.
        values: Vec<(String, String, String)>,
        /// The `ParameterKey` to send.
        parameter_key: String,
    },
    /// Re-enumerate an object and read its values.
    RefreshObject {
        /// The object path.
        path: String,
    },
    /// Create an object instance.
    AddObject {
        /// The multi-instance object path.
        path: String,
        /// The `ParameterKey` to send.
        parameter_key: String,
    },
    /// Delete an object instance.
    DeleteObject {
        /// The instance path.
        path: String,
        /// The `ParameterKey` to send.
        parameter_key: String,
    },
    /// Reboot the device.
    Reboot,
    /// Factory-reset the device.
    FactoryReset,
    /// Ask the device to download a file (firmware, configuration).
    Download {
        /// TR-069 file type, e.g. `1 Firmware Upgrade Image`.
        file_type: String,
        /// Where to fetch it.
        url: String,
        /// HTTP username, may be empty.
        username: String,
        /// HTTP password, may be empty.
        password: String,
        /// Size in bytes, 0 if unknown.
        file_size: u64,
        /// Target file name, may be empty.
        target_file_name: String,
    },
    // The variants below are the rest of the CWMP RPC set; GenieACS has no task for them.
    // New variants go at the end: records are encoded by variant index.
    /// Ask the device which RPCs it supports (GetRPCMethods).
    GetRpcMethods,
    /// Ask the device to inform again after a delay (ScheduleInform).
    ScheduleInform {
        /// Seconds until the Inform.
        delay_seconds: u32,
        /// Echoed in `M ScheduleInform`; empty gives `task_<id>`.
        command_key: String,
    },
    /// Ask the device to upload a file (configuration, log) to `url` (Upload).
    Upload {
        /// TR-069 file type, e.g. `1 Vendor Configuration File`.
        file_type: String,
        /// Where the device PUTs the file.
        url: String,
        /// Seconds the device waits before starting.
        delay_seconds: u32,
    },
    /// A Download bound to time windows (ScheduleDownload).
    ScheduleDownload {
        /// TR-069 file type.
        file_type: String,
        /// Where to fetch it.
        url: String,
        /// Size in bytes, 0 if unknown.
        file_size: u64,
        /// Target file name, may be empty.
        target_file_name: String,
        /// One or two windows in which the transfer may happen.
        windows: Vec<TransferWindow>,
    },
    /// Cancel a Download/Upload the device has not started (CancelTransfer).
    CancelTransfer {
        /// The command key of the transfer.
        command_key: String,
    },
    /// Ask the device for its queued transfers the ACS requested (GetQueuedTransfers).
    GetQueuedTransfers,
    /// Ask the device for all its queued transfers (GetAllQueuedTransfers).
    GetAllQueuedTransfers,
    /// Install, update or uninstall deployment units (ChangeDUState).
    ChangeDuState {
        /// The operations, in order.
        operations: Vec<DuOp>,
    },
    /// GenieACS's `provisions` task: provisions (built-in or script, each a name and its
    /// arguments) run on the task's channel until they settle.
    Provisions {
        /// `[name, args…]` per provision, as the NBI received them.
        provisions: Vec<Vec<ProvisionArg>>,
    },
}

/// One element of a `provisions` task's provision: GenieACS accepts `null`, booleans, numbers
/// and strings (the first is the provision's name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProvisionArg {
    /// `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A number, as its JSON text (kept exact, and comparable).
    Number(String),
    /// A string.
    Text(String),
}

/// A time window of a ScheduleDownload task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferWindow {
    /// Seconds after the request at which it opens.
    pub start_secs: u32,
    /// Seconds after the request at which it closes.
    pub end_secs: u32,
    /// TR-069 window mode, e.g. `1 At Any Time`.
    pub mode: String,
    /// Text for the user when the mode asks for confirmation.
    pub user_message: String,
    /// Retries allowed in the window; -1 leaves it to the device.
    pub max_retries: i32,
}

/// One operation of a ChangeDUState task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DuOp {
    /// Install a unit from `url`.
    Install {
        /// Where the device fetches the unit.
        url: String,
        /// The unit's UUID, may be empty.
        uuid: String,
        /// Execution environment, may be empty.
        execution_env_ref: String,
    },
    /// Update a unit (from `url`, or its own when empty).
    Update {
        /// The unit's UUID.
        uuid: String,
        /// The version to update, may be empty.
        version: String,
        /// Where the device fetches the new version, may be empty.
        url: String,
    },
    /// Uninstall a unit.
    Uninstall {
        /// The unit's UUID.
        uuid: String,
        /// The version, may be empty.
        version: String,
        /// Execution environment, may be empty.
        execution_env_ref: String,
    },
}

impl TaskKind {
    /// The GenieACS task name, e.g. `setParameterValues`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::GetParameterValues { .. } => "getParameterValues",
            Self::SetParameterValues { .. } => "setParameterValues",
            Self::RefreshObject { .. } => "refreshObject",
            Self::AddObject { .. } => "addObject",
            Self::DeleteObject { .. } => "deleteObject",
            Self::Reboot => "reboot",
            Self::FactoryReset => "factoryReset",
            Self::Download { .. } => "download",
            Self::GetRpcMethods => "getRPCMethods",
            Self::ScheduleInform { .. } => "scheduleInform",
            Self::Upload { .. } => "upload",
            Self::ScheduleDownload { .. } => "scheduleDownload",
            Self::CancelTransfer { .. } => "cancelTransfer",
            Self::GetQueuedTransfers => "getQueuedTransfers",
            Self::GetAllQueuedTransfers => "getAllQueuedTransfers",
            Self::ChangeDuState { .. } => "changeDUState",
            Self::Provisions { .. } => "provisions",
        }
    }
}

/// Where a task stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskStatus {
    /// Not yet completed.
    Pending,
    /// Completed successfully.
    Done {
        /// When it completed.
        finished_ms: i64,
    },
    /// Failed; a matching [`FaultRecord`] usually exists on channel `task_<id>`.
    Faulted {
        /// Fault code, e.g. `cwmp.9005`.
        code: String,
        /// Fault message.
        message: String,
        /// When it faulted.
        at_ms: i64,
    },
}

/// A fault recorded against a device, keyed by `(device, channel)` as in GenieACS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRecord {
    /// The device.
    pub device: DeviceId,
    /// `task_<id>` or a provisioning channel name.
    pub channel: String,
    /// The task that faulted, if any.
    pub task_id: Option<u64>,
    /// Fault code, e.g. `cwmp.9005`.
    pub code: String,
    /// Fault message.
    pub message: String,
    /// Detail (e.g. the SOAP fault detail as text).
    pub detail: String,
    /// How many times the channel has been retried.
    pub retries: u32,
    /// When the fault was recorded.
    pub timestamp_ms: i64,
}
