//! A team's own `crypt-model` binary, as `crypt_model_cli::Cli` documents it: the published
//! command line with the team's models registered. The command line's end-to-end tests
//! (`tests/cli.rs`) run it.

use crypt_model_tests::cli_models::{Account, AccountAes, Customer};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = crypt_model_cli::Cli::new().model::<Customer>();
    // The test of a table's move to suite 2 runs the release that moved `Account` there.
    let cli = match std::env::var_os("CRYPT_MODEL_TEST_ACCOUNTS_AES") {
        Some(_) => cli.model::<AccountAes>(),
        None => cli.model::<Account>(),
    };
    cli.run().await
}
