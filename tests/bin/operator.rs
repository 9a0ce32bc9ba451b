//! A team's own `crypt-model` binary, as `crypt_model_cli::Cli` documents it: the published
//! command line with the team's models registered. The command line's end-to-end tests
//! (`tests/cli.rs`) run it.

use crypt_model_tests::cli_models::{Account, Customer};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    crypt_model_cli::Cli::new()
        .model::<Customer>()
        .model::<Account>()
        .run()
        .await
}
