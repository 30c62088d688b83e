//! incidents integration tests.
