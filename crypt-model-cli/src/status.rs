//! `job status`: where a whole job stands, from its checkpoints alone (the job table that its
//! workers share, or a checkpoint directory), wherever its workers run.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand};
use crypt_model::lifecycle::{Checkpoints, FileCheckpoints, JobStatus};
use serde_json::json;

use crate::connect::{Aws, error_text};
use crate::job_report::printable;
use crate::progress::duration;

/// The `job` commands.
#[derive(Subcommand, Debug)]
pub(crate) enum JobCommand {
    /// Where a job stands: segments done, running (and the workers that hold them) and
    /// waiting; records seen, changed and failed; the rate and the time left. Reads the
    /// checkpoints only. Exits 0 when the job is complete, 1 when it is not, 2 on an error.
    Status(StatusArgs),
}

/// Which job, and where its checkpoints are.
#[derive(Args, Debug)]
pub(crate) struct StatusArgs {
    /// The job's name (`<kind>:<table>` unless the runs were given --name).
    #[arg(long)]
    name: String,
    /// The job table its workers share.
    #[arg(long, env = "CRYPT_MODEL_JOB_TABLE", value_name = "TABLE")]
    job_table: Option<String>,
    /// The directory of its checkpoints (when it ran with file checkpoints).
    #[arg(long, conflicts_with = "job_table", value_name = "DIR")]
    checkpoints: Option<PathBuf>,
    /// The status as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs a `job` command.
pub(crate) async fn run(aws: &Aws, command: &JobCommand) -> Result<ExitCode, String> {
    let JobCommand::Status(args) = command;
    let checkpoints: Arc<dyn Checkpoints> = match (&args.job_table, &args.checkpoints) {
        (Some(table), _) => Arc::new(aws.job_table(table).await?),
        (None, Some(dir)) => Arc::new(FileCheckpoints::existing(dir).map_err(|e| {
            format!(
                "cannot read the checkpoint directory {}: {}",
                dir.display(),
                error_text(&e)
            )
        })?),
        (None, None) => {
            return Err(
                "name where the job's checkpoints are: --job-table (or CRYPT_MODEL_JOB_TABLE), \
                 or --checkpoints"
                    .to_owned(),
            );
        }
    };
    let status = JobStatus::of(checkpoints.as_ref(), &args.name)
        .await
        .map_err(|e| format!("cannot read the job's checkpoints: {}", error_text(&e)))?;
    if status.total_segments == 0 {
        return Err(format!(
            "no checkpoint of a job `{}` there: check --name (unless its runs were given \
             --name, a job's name is migrate:<table>, plan-migration:<table>, rewrap:<table>, \
             reencrypt:<table> or backfill:<table>) and where its checkpoints are",
            args.name
        ));
    }
    if args.json {
        println!("{}", to_json(&status));
    } else {
        print!("{}", to_text(&status));
    }
    Ok(ExitCode::from(u8::from(!status.is_complete())))
}

fn to_json(status: &JobStatus) -> serde_json::Value {
    let c = &status.counts;
    json!({
        "job": status.job,
        "complete": status.is_complete(),
        "segments": {
            "total": status.total_segments,
            "done": status.done,
            "running": status.running,
            "waiting": status.waiting,
        },
        "workers": status.workers,
        "counts": {
            "seen": c.seen, "changed": c.changed, "unchanged": c.unchanged,
            "skipped": c.skipped, "erased": c.erased, "failed": c.failed,
            "plaintext": c.plaintext,
        },
        "records_per_second": status.rate.map(|rate| rate.round() as u64),
        "seconds_left": status.eta.map(|eta| eta.as_secs()),
    })
}

fn to_text(status: &JobStatus) -> String {
    let c = &status.counts;
    let state = if status.is_complete() {
        "complete"
    } else if status.running > 0 {
        "running"
    } else {
        "not running"
    };
    let mut out = format!(
        "{}: {state}; {} of {} segments done, {} running, {} waiting\n",
        printable(&status.job),
        status.done,
        status.total_segments,
        status.running,
        status.waiting
    );
    out.push_str(&format!(
        "  {} records: {} changed, {} unchanged, {} skipped, {} erased, {} failed; {} still in \
         plaintext\n",
        c.seen, c.changed, c.unchanged, c.skipped, c.erased, c.failed, c.plaintext
    ));
    if !status.workers.is_empty() {
        let workers: Vec<String> = status.workers.iter().map(|w| printable(w)).collect();
        out.push_str(&format!(
            "  workers: {} ({})\n",
            workers.len(),
            workers.join(", ")
        ));
    }
    if let Some(rate) = status.rate {
        let left = match status.eta {
            Some(eta) if !status.is_complete() => format!(
                "; about {} left (from the segments done)",
                duration(eta.as_secs_f64())
            ),
            _ if !status.is_complete() => "; time left unknown until a segment is done".to_owned(),
            _ => String::new(),
        };
        out.push_str(&format!("  {rate:.0} records per second{left}\n"));
    }
    if c.failed > 0 {
        out.push_str(
            "  the runs' reports name the failed records (run the job again after fixing them)\n",
        );
    }
    out
}
