//! Benchmarks and load generators for Fibreplane. The load generators run the real binaries
//! (`fibreplane`, `cpe-sim`) as separate processes so each one's CPU time is read from `/proc`
//! apart from the others.
#![warn(missing_docs)]

pub mod hostile;
pub mod lookup;
pub mod neighbours;
pub mod procs;
pub mod proof;
pub mod readme;
pub mod rng;
pub mod seed;
pub mod stored;
pub mod table;
