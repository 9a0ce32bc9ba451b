//! `crypt-model`: the operator's command line. Configured the AWS way (profile, region,
//! `AWS_ENDPOINT_URL`), as the AWS CLI is.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use crypt_model_cli::audit;

#[derive(Parser)]
#[command(
    name = "crypt-model",
    version,
    about = "Audit and maintain tables encrypted by crypt-model"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan a table for values that look like plaintext secrets, and report the format versions
    /// and key ids in use. Exits 1 when anything is found, 2 on an error.
    Audit {
        /// The DynamoDB table.
        #[arg(long)]
        table: String,
        /// Parallel scan segments.
        #[arg(long, default_value_t = 4)]
        segments: u32,
        /// The report as JSON (its shape is documented and stable).
        #[arg(long)]
        json: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = aws_config::load_from_env().await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    match cli.command {
        Command::Audit {
            table,
            segments,
            json,
        } => {
            if segments == 0 {
                eprintln!("crypt-model: --segments is at least 1");
                return ExitCode::from(2);
            }
            match audit::audit(&client, &table, segments).await {
                Ok(report) => {
                    if json {
                        println!("{}", report.to_json());
                    } else {
                        print!("{}", report.to_text());
                    }
                    if report.findings.is_empty() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    }
                }
                Err(error) => {
                    eprintln!("crypt-model: {error}");
                    ExitCode::from(2)
                }
            }
        }
    }
}
