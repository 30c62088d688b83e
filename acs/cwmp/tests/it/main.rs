//! The crate's single integration-test binary; each module is one concern.

mod acs_rules;
mod common;
mod fuzz;
mod golden;
mod pair;
mod roundtrip;
mod session_fuzz;
