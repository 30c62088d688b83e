//! Benchmarks and load generators for Fibreplane.
#![warn(missing_docs)]
