//! The proof scenarios' short variants and the crate graph's checks, in the default test suite
//! so none can rot. The scenarios run the `fibreplane` binary as a child process, built here by
//! the cargo that runs the tests (`binary.rs`); the graph checks read `cargo metadata`.

mod binary;
mod graph;
mod neighbours;
mod scenarios;
