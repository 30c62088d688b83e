//! What goes into a session and what comes out of it.
//!
//! The session never does IO: it takes [`Now`] and an [`Input`] and leaves [`Effect`]s to be
//! polled out. The driver (`driver.rs`) performs them — store reads and writes, events, task
//! waiters — and feeds the results back as inputs, so the session's logic runs the same in a
//! test's virtual time as behind a socket.

use crate::DeviceEvent;
use acs_store::{
    DeviceMeta, FaultRecord, Op, Outcome, ParamTree, StoreError, TaskRecord, Versioned,
};
use cwmp::Envelope;
use std::time::Instant;

/// The time an input is handled at: the monotonic instant the CWMP state machine counts
/// timeouts with, and the wall-clock milliseconds that go into records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Now {
    /// For session timeouts.
    pub(crate) at: Instant,
    /// Milliseconds since the Unix epoch, for records.
    pub(crate) ms: i64,
}

/// One input to a session.
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "an input is moved into the session once and consumed; boxing the envelope would \
              cost an allocation per POST"
)]
pub(crate) enum Input {
    /// A POST of the CPE: an envelope, or `None` for an empty POST.
    Message(Option<Envelope>),
    /// The result of the [`Effect::Read`] the session asked for.
    Read(Result<ReadOutput, StoreError>),
    /// The result of the [`Effect::Apply`] the session asked for: one outcome per op.
    Applied(Result<Vec<Outcome>, StoreError>),
}

/// A store read the session needs before it can go on. At most one read or write is in
/// flight at a time, and a read is asked for only when the session's own writes are durable,
/// so it always sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Read {
    /// The device's parameter tree.
    Tree,
    /// The nodes of the device's tree a scope selects: what provisioning reads when it knows
    /// what its presets and scripts need (`provision::scope`).
    ScopedTree(acs_store::TreeScope),
    /// The device's faults (every channel).
    Faults,
    /// The device's task records, fresh (to finish or fault the tasks of a job).
    Tasks,
    /// The device's queued tasks, if the task queue says it may have any (most devices have
    /// none, and then the driver answers without reading the store).
    QueuedTasks,
    /// The device's record as stored now (after a compare-and-swap conflict).
    Meta,
    /// The metadata document of a file a declared Download sends.
    File(String),
    /// The result of a script's `ext()` call, run by the extension host (not a store read,
    /// but IO the session waits for the same way).
    Extension(script::ExtCall),
    /// Every file's metadata document (to serve a RequestDownload by file type).
    Files,
}

/// What a [`Read`] found.
#[derive(Debug)]
pub(crate) enum ReadOutput {
    /// For [`Read::Tree`] and [`Read::ScopedTree`].
    Tree(ParamTree),
    /// For [`Read::Faults`].
    Faults(Vec<FaultRecord>),
    /// For [`Read::Tasks`].
    Tasks(Vec<TaskRecord>),
    /// For [`Read::QueuedTasks`]: the task queue's mark for the device (`None`: no tasks, and
    /// nothing was read) and the tasks read.
    QueuedTasks {
        /// The mark's generation when it was read.
        generation: Option<u64>,
        /// The device's task records.
        tasks: Vec<TaskRecord>,
    },
    /// For [`Read::Meta`] (boxed: a record is far larger than the other answers).
    Meta(Option<Box<Versioned<DeviceMeta>>>),
    /// For [`Read::File`]: the file's name and its metadata document, if it exists.
    File(String, Option<Vec<u8>>),
    /// For [`Read::Extension`]: the call's cache key and the extension's answer or fault
    /// (boxed: rare, and larger than the other answers).
    Extension(Box<(String, Result<serde_json::Value, script::Fault>)>),
    /// For [`Read::Files`]: each file's name and metadata document.
    Files(Vec<(String, Vec<u8>)>),
}

/// Something the session wants done. [`Effect::Read`] and [`Effect::Apply`] suspend it until
/// their result comes back as an [`Input`]; the others are done in order as they come.
#[derive(Debug)]
pub(crate) enum Effect {
    /// Read this from the store.
    Read(Read),
    /// Apply these ops durably, in one group commit.
    Apply(Vec<Op>),
    /// Publish this event (its writes are durable already).
    Publish(DeviceEvent),
    /// Wake the callers waiting for these tasks (their new state is durable).
    NotifyTasks(Vec<u64>),
    /// The device had no task pending when the queue's mark had this generation: forget the
    /// mark unless something was queued since.
    NoTasks(u64),
    /// Count this in the ACS's metrics.
    Count(Counted),
    /// Answer the CPE's POST with this; the session waits for its next POST.
    Reply(Reply),
}

/// What a session counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counted {
    /// A task completed.
    TaskDone,
    /// A CPE fault was recorded on a task.
    TaskFault,
    /// The CPE broke the protocol.
    Violation,
    /// The session expired.
    Expired,
    /// Discovery fell back to a more careful mode.
    DiscoveryFallback,
}

/// What the server sends back for one POST.
#[derive(Debug, PartialEq)]
pub(crate) enum Reply {
    /// 200 with this envelope.
    Envelope(Box<Envelope>),
    /// 204: the session is over.
    End,
    /// 400 with a reason: the session is over.
    BadRequest(String),
    /// 503: the store failed; the session is over and the CPE retries later, with nothing it
    /// sent lost (what was not written is asked for again).
    Unavailable,
}
