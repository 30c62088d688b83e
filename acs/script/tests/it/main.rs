//! The script crate's integration tests: the sandbox as scripts see it.

mod common;
#[cfg(feature = "ext")]
mod ext;
mod limits;
mod sandbox;
mod time_random;
mod virtual_params;
