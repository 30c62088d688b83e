//! Skeleton crate: the issue that owns `olt-poller/` fills it. It compiles so the workspace layout is
//! fixed from the first commit.
#![warn(missing_docs)]

/// The crate's name, so the skeleton exposes one documented item.
pub const CRATE: &str = "olt-poller";
