//! [`LambdaWorker`]: a job's worker as an AWS Lambda function. One invocation works one segment
//! for a time budget and says whether it is done; one without a segment finishes the job — as
//! the state machine of docs/workers.md drives it.

use serde::Deserialize;
use serde_json::Value;

use crate::cli::Cli;
use crate::connect::Aws;
use crate::jobs;

/// The longest budget an invocation may be given: Lambda stops a function at 15 minutes, and a
/// segment needs time to save its checkpoint and release its lease after the budget.
const LONGEST_BUDGET: u64 = 840;
/// The failed records an answer names (each is counted).
const NAMED_IN_AN_ANSWER: usize = 20;

/// A job's worker as an AWS Lambda function, with the models of its [`Cli`]. Its function's
/// `main` hands each invocation's payload to [`handle`](Self::handle) (with the
/// `lambda_runtime` crate: `lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| …))`;
/// `examples/aws/job_worker_lambda.rs` is one).
///
/// An invocation's payload, as the state machine's Map gives it for each segment (the `job`
/// is the state machine's input, the same for every invocation):
///
/// ```json
/// {"job": {"command": "rotate", "mode": "rewrap", "table": "customers", "model": "customers",
///          "name": "rewrap-2027-01:customers", "segments": 64, "job_table": "crypt-model-jobs",
///          "budget_seconds": 780, "rate": 50},
///  "segment": 17}
/// ```
///
/// In the job, `command` is `migrate`, `rotate` (with `mode`: `rewrap` or `reencrypt`) or
/// `backfill-index`; `model` is needed when the function knows several; `name` is required (a
/// worker joins whatever job has the name, and a finished one under a default name would end at
/// once: give each rotation its own); `budget_seconds` (600 by default, at most 840) is how long
/// the invocation works before it saves and answers; `rate` (records per second), `job_rate`
/// and `lease_seconds` (60) as the command line's `--rate`, `--job-rate` and `--lease`. The
/// keys and tables come from the function's environment as the command line reads them
/// (`CRYPT_MODEL_KMS_KEY`, `CRYPT_MODEL_READ_KEYS`, `CRYPT_MODEL_INDEX_SECRET_FILE`,
/// `CRYPT_MODEL_MIGRATION_PLANS_TABLE`, …), or from the flags the function's own code gives
/// ([`with_flags`](LambdaWorker::with_flags)) — never from the payload, so that whoever may
/// start the state machine chooses a job, not what the function's role may do besides.
/// Without `segment`, the invocation is a worker over the whole job: once every segment is
/// done, it finishes it (a rotation of a model with a key per owner rewraps the key table's
/// rows; a migration's plan stays open: close it after an audit, docs/workers.md).
///
/// The answer is the job's report as `crypt-model … --json` prints it (of the segment, or of
/// the whole job; at most the first 20 failed records named, all counted), with `"done":
/// true` once the segment (or the job) is done; the state machine invokes again until it is
/// (a segment another worker still holds answers `"done": false` after the budget). An error
/// (the store or the key provider down) is the invocation's error, which the state machine
/// retries.
pub struct LambdaWorker {
    cli: Cli,
    aws: Aws,
    flags: Vec<String>,
}

/// One invocation's payload.
#[derive(Deserialize)]
struct Payload {
    job: Event,
    segment: Option<u32>,
}

/// The job, as the state machine's input names it.
#[derive(Deserialize)]
struct Event {
    command: String,
    table: String,
    model: Option<String>,
    mode: Option<String>,
    name: String,
    segments: u32,
    job_table: String,
    budget_seconds: Option<u64>,
    rate: Option<u32>,
    lease_seconds: Option<u64>,
    job_rate: Option<u32>,
}

impl Event {
    /// The command line an invocation for `segment` (none: the whole job) runs.
    fn arguments(&self, segment: Option<u32>) -> Result<Vec<String>, String> {
        if !matches!(
            self.command.as_str(),
            "migrate" | "rotate" | "backfill-index"
        ) {
            return Err(format!(
                "`command` is migrate, rotate or backfill-index, not `{}`",
                self.command
            ));
        }
        let budget = self.budget_seconds.unwrap_or(600);
        if !(1..=LONGEST_BUDGET).contains(&budget) {
            return Err(format!(
                "`budget_seconds` is 1 to {LONGEST_BUDGET} (Lambda stops a function at 900)"
            ));
        }
        let mut args: Vec<String> = ["crypt-model", &self.command, "--table", &self.table]
            .map(str::to_owned)
            .into();
        let mut flag = |name: &str, value: String| {
            args.push(name.to_owned());
            args.push(value);
        };
        if let Some(model) = &self.model {
            flag("--model", model.clone());
        }
        if let Some(mode) = &self.mode {
            flag("--mode", mode.clone());
        }
        flag("--name", self.name.clone());
        flag("--segments", self.segments.to_string());
        if let Some(segment) = segment {
            let next = segment.checked_add(1).ok_or("`segment` is out of range")?;
            flag("--run-segments", format!("{segment}..{next}"));
        }
        flag("--job-table", self.job_table.clone());
        flag("--concurrent", "1".to_owned());
        flag("--time-budget", budget.to_string());
        if let Some(rate) = self.rate {
            flag("--rate", rate.to_string());
        }
        if let Some(lease) = self.lease_seconds {
            flag("--lease", lease.to_string());
        }
        if let Some(rate) = self.job_rate {
            flag("--job-rate", rate.to_string());
        }
        args.extend(["--worker".to_owned(), "--json".to_owned()]);
        Ok(args)
    }
}

impl Cli {
    /// This command line's jobs as an AWS Lambda function's worker, on the AWS configuration
    /// `config` (`aws_config::load_from_env().await` in a function).
    pub fn lambda(self, config: aws_config::SdkConfig) -> LambdaWorker {
        LambdaWorker {
            cli: self,
            aws: Aws::from_config(config),
            flags: Vec::new(),
        }
    }
}

impl LambdaWorker {
    /// Command-line flags every invocation runs with, besides the environment's (`["--kms-key",
    /// "alias/customers-2027", "--read-key", "alias/customers-2026"]`): set by the function's
    /// code, never by a payload.
    pub fn with_flags<I, F>(mut self, flags: I) -> Self
    where
        I: IntoIterator<Item = F>,
        F: Into<String>,
    {
        self.flags = flags.into_iter().map(Into::into).collect();
        self
    }

    /// Handles one invocation: works its segment (or finishes the job) and answers with the
    /// report. Errors say what failed and what to do; the state machine retries them.
    pub async fn handle(&self, payload: Value) -> Result<Value, String> {
        let payload: Payload = serde_json::from_value(payload).map_err(|e| {
            format!(
                "the payload is not a crypt-model job's (`{{\"job\": {{…}}, \"segment\": N}}`): {e}"
            )
        })?;
        let mut arguments = payload.job.arguments(payload.segment)?;
        arguments.extend(self.flags.iter().cloned());
        let call = self.cli.parse_job(&self.aws, arguments).await?;
        let done = jobs::execute(&self.aws, call).await?;
        if let Some(error) = &done.rows_error {
            return Err(format!(
                "the records are done, but the key table's rows could not be rewrapped: {error}"
            ));
        }
        let mut answer = done.to_json();
        // A Step Functions state carries at most 256 KB: the report names 20 failed records.
        if let Some(failed) = answer["failed"].as_array_mut() {
            failed.truncate(NAMED_IN_AN_ANSWER);
        }
        Ok(answer)
    }
}
