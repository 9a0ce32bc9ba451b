//! Workspace-level tests of crypt-model. The code is in the test targets beside this file
//! (`examples.rs`); this library is empty.
