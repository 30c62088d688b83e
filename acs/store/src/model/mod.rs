//! The domain model of persisted ACS state: devices, their parameter trees, tasks and faults.
//!
//! These types are what the rest of the ACS sees; none of them mention a storage engine. The
//! compact on-disk form lives in the private `codec` module.

mod device;
mod scope;
mod task;
mod tree;
mod value;

pub use device::{DeviceId, DeviceMeta, Identity, Versioned, normalize_mac};
pub use scope::{ScopeSegment, TreeScope, segments as scope_segments};
pub use task::{DuOp, FaultRecord, ProvisionArg, TaskKind, TaskRecord, TaskStatus, TransferWindow};
pub(crate) use tree::in_subtree as tree_in_subtree;
pub use tree::{Attributes, Param, ParamTree};
pub use value::Value;
