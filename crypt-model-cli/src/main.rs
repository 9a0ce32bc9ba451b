//! `crypt-model`: the operator's command line, as published — it knows no model, so it runs the
//! model-free commands (`audit`). A team builds its own with its models
//! (`crypt_model_cli::Cli::new().model::<…>()`) for the commands that open or seal records.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    crypt_model_cli::Cli::new().run().await
}
