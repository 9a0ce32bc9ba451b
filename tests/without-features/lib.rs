//! Compile-fail cases (`ui.rs`) of a crate that depends on crypt-model with its default features
//! only: a field of another crate's type (`uuid`, `chrono`) gives errors that each name the
//! crypt-model feature to turn on. A crate of its own, since the other test crates turn every
//! feature on.
