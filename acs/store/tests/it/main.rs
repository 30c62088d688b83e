//! Integration tests for acs-store: one binary, one module per concern.
//!
//! The conformance modules are written once against `&dyn DeviceStore` and instantiated for every
//! backend by `support::for_each_backend!`, so redb and sled are held to exactly the same contract.

mod support;

mod chunked_tree;
mod conformance_devices;
mod conformance_tasks;
mod conformance_tree;
mod corrupt;
mod crash;
mod random_ops;
mod size;
