//! Integration tests for acs-store: one binary, one module per concern.
//!
//! The conformance modules are written once against `support::Store` (the async `StoreWriter` and
//! `StoreReader` that `acs_store::open` returns, driven synchronously) and instantiated for every
//! engine by `support::for_each_backend!`, so redb and sled are held to exactly the same contract
//! through the API the ACS uses, group commit included.

mod support;

mod chunked_tree;
mod conformance_devices;
mod conformance_tasks;
mod conformance_tree;
mod corrupt;
mod crash;
mod group_commit;
mod plugged_backend;
mod random_ops;
mod size;
