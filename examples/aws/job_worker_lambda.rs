//! A crypt-model job's worker as an AWS Lambda function (docs/workers.md): each invocation
//! works one segment of a migration, a rotation or a backfill for a time budget and answers
//! whether it is done, as the state machine of `docs/workers/state-machine.asl.json` drives it.
//! A team builds it with its own models (here `Customer`), for `provided.al2023`, as
//! `bootstrap` in the zip that `docs/workers/template.yaml` deploys.
//!
//! Outside Lambda (no `AWS_LAMBDA_RUNTIME_API`), it reads one payload from standard input and
//! prints the answer, against whatever `AWS_ENDPOINT_URL` names (moto, say):
//!
//! ```text
//! echo '{"job": {"command": "migrate", "table": "customers", "segments": 4,
//!         "job_table": "crypt-model-jobs", "budget_seconds": 60}, "segment": 0}' \
//!   | cargo run -p crypt-model-aws-examples --example job_worker_lambda
//! ```

use crypt_model::{EncryptedItem, Sensitive};
use crypt_model_cli::Cli;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

/// The model of the records the job works, as the application declares it.
#[derive(EncryptedItem)]
#[crypt_model(table = "customers", migrate_from_plaintext)]
struct Customer {
    #[partition_key]
    #[owner]
    customer_id: String,
    #[sensitive]
    card: Sensitive<String>,
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .without_time()
        .with_ansi(false)
        .init();
    let config = aws_config::load_from_env().await;
    let worker = Cli::new().model::<Customer>().lambda(config);
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        let payload: Value = serde_json::from_reader(std::io::stdin())?;
        let answer = worker.handle(payload).await?;
        println!("{answer}");
        return Ok(());
    }
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let worker = &worker;
        async move { worker.handle(event.payload).await }
    }))
    .await
}
