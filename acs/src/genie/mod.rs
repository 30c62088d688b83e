//! GenieACS's data shapes and query language, shared by the NBI (which serves them) and the
//! ACS's presets (whose preconditions are queries over the same device document).

pub mod auth;
pub mod config;
pub mod date;
pub mod doc;
pub mod expr;
pub mod query;
pub mod schedule;
