//! Criterion benchmark of CWMP envelope parse and serialize.
fn main() {}
