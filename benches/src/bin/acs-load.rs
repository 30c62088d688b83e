//! Load generator: drives cpe-sim against `fibreplane acs` and reports sessions/s and CPU cost.
fn main() {}
