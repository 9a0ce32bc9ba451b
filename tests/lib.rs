//! What the workspace's tests share: the secrets they write and the checks that search strings
//! for them, a log capture, keyrings that fail, a seeded generator, the soak workload, an example
//! service run as a process, and the model most of them store. The first five are crypt-model's
//! own test fixtures, included
//! from `crypt-model/tests/common/`, so that each is written once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../crypt-model/tests/common/capture.rs"]
pub mod capture;
pub mod cli_models;
#[path = "../crypt-model/tests/common/draw.rs"]
pub mod draw;
#[path = "../crypt-model/tests/common/keyrings.rs"]
pub mod keyrings;
#[path = "../crypt-model/tests/common/secrets.rs"]
pub mod secrets;
pub mod service;
#[path = "../crypt-model/tests/common/soak.rs"]
pub mod soak;

/// The path of the workspace's example `name`, built (every example, once) if need be.
pub fn example(name: &str) -> std::path::PathBuf {
    examples().join(name)
}

/// Builds every example of the workspace, once: with the workspace's features, as `cargo test
/// --workspace` already did, so that after it nothing is rebuilt. (`cargo run -p PACKAGE` would
/// resolve each package's features apart, and rebuild the crates under it.)
fn examples() -> &'static std::path::PathBuf {
    static EXAMPLES: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    EXAMPLES.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args(["build", "--quiet", "--workspace", "--examples"])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "the examples do not build");
        // This test runs as target/debug/deps/examples-HASH; the examples are in
        // target/debug/examples.
        let exe = std::env::current_exe().unwrap();
        exe.parent().unwrap().parent().unwrap().join("examples")
    })
}

pub use secrets::*;

/// A profile: owned by its partition key, with a sort key and one sensitive field (the
/// conformance suite's, so that both write the same one).
pub use crypt_model_conformance::{Profile, profile};
