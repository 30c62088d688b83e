//! The crate's single integration-test binary; each module is one concern.

mod common;
mod fuzz;
mod golden;
mod pair;
mod acs_rules;
mod roundtrip;
mod session_fuzz;
