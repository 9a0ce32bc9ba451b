//! `migrate`, `rotate`, `backfill-index`: a lifecycle job of the library over a registered model,
//! with durable checkpoints, Ctrl-C, progress and a report.

use std::ops::Range;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use clap::Args;
use crypt_model::MigrationPlans;
use crypt_model::error::StorageError;
use crypt_model::lifecycle::{
    Checkpoint, Checkpoints, FileCheckpoints, JobKind, KINDS, StopSignal,
};

use crate::audit::Integrity;
use crate::checkpoints::{holders, now_ms, watch_job};
use crate::connect::{Aws, KeyArgs, error_text};
use crate::job_report::{Shown, key_digest, printable, to_json, to_text};
use crate::models::{JobSpec, Model};
use crate::progress::Reporter;
use crate::signals::stop_on_signals;
use crypt_model::Schema;
use crypt_model::lifecycle::JobReport;
use serde_json::Value;

/// The exit status of a job stopped by its --time-budget.
const OUT_OF_TIME: u8 = 3;

/// DynamoDB's limit on parallel scan segments.
pub(crate) const MAX_SEGMENTS: u32 = 1_000_000;

/// How a job runs.
#[derive(Args, Debug)]
pub(crate) struct JobArgs {
    /// Parallel scan segments, run concurrently (a resumed job keeps its number).
    #[arg(long, default_value_t = 4)]
    pub(crate) segments: u32,
    /// Run only the segments `A..B` of --segments: how a job is split across machines (each
    /// with its own range and checkpoint directory, the same --segments and --name).
    #[arg(long, value_name = "A..B")]
    pub(crate) run_segments: Option<String>,
    /// At most this many records per second over all segments (0: no limit).
    #[arg(long, default_value_t = 0)]
    pub(crate) rate: u32,
    /// At most this many records per second over the whole job, all its workers together:
    /// each worker paces at its share; saved in the job's checkpoints, so that workers started
    /// without it follow it.
    #[arg(long, value_name = "RATE")]
    pub(crate) job_rate: Option<u32>,
    /// At most this many write capacity units a second for this process, as DynamoDB counts
    /// them (the job asks for each request's consumed capacity).
    #[arg(long, value_name = "UNITS", conflicts_with = "capacity_share", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) write_units: Option<u32>,
    /// At most this share (0 to 1) of the table's provisioned write capacity for this process
    /// (`0.3`: 30 %); on demand, give --write-units.
    #[arg(long, value_name = "SHARE")]
    pub(crate) capacity_share: Option<f64>,
    /// Continue the job from its checkpoints (a run stopped by Ctrl-C, killed, or failed).
    #[arg(long)]
    pub(crate) resume: bool,
    /// Read and count, write nothing (no record, no checkpoint): what the job would do.
    #[arg(long, conflicts_with = "resume")]
    pub(crate) dry_run: bool,
    /// The directory of the job's checkpoints (created if missing; with --resume it must
    /// exist). They hold record keys: keep them where the table's keys may be kept.
    #[arg(
        long,
        env = "CRYPT_MODEL_CHECKPOINTS",
        default_value = "crypt-model-checkpoints"
    )]
    pub(crate) checkpoints: PathBuf,
    /// Keep the job's checkpoints and leases in this DynamoDB table (`crypt-model provision
    /// --job-table`) instead of --checkpoints: how workers on many machines share one job.
    #[arg(long, env = "CRYPT_MODEL_JOB_TABLE", value_name = "TABLE")]
    pub(crate) job_table: Option<String>,
    /// Join the job as one of any number of workers (processes, containers, an AWS Batch or
    /// ECS array): take segments no other worker holds, --concurrent at a time, until every
    /// segment is done. Give every worker the same --name (required: a worker joins whatever
    /// job has the name, a finished one too), --segments and --job-table.
    #[arg(long, requires_all = ["job_table", "name"], conflicts_with_all = ["resume", "dry_run"])]
    pub(crate) worker: bool,
    /// Segments a --worker runs at once.
    #[arg(long, default_value_t = 4, requires = "worker")]
    pub(crate) concurrent: u32,
    /// How long a hold on a segment lasts without a save, in seconds: a run killed leaves its
    /// segments to the next run or worker after this.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) lease: u64,
    /// This process's name in the checkpoints' leases (default: the host's name, the process
    /// id and a random part). A run given the name of a run that was killed takes its segments
    /// back at once.
    #[arg(long)]
    pub(crate) worker_name: Option<String>,
    /// Stop after this many seconds, as Ctrl-C would (each segment saves its checkpoint and
    /// releases its lease): for a run that must end in time (a container's or a Lambda
    /// function's limit). Run it again to go on.
    #[arg(long, value_name = "SECONDS")]
    pub(crate) time_budget: Option<u64>,
    /// The job's name, which names its checkpoints (default: `<kind>:<table>`). Give each
    /// rotation its own (`rewrap-2027-01:customers`).
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// The report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// Name each failed record by its key (the key attributes' values) beside its digest: for
    /// an operator allowed to see the table's keys, which may be personal data.
    #[arg(long)]
    pub(crate) show_keys: bool,
}

/// A job the command line was asked to run.
pub(crate) struct JobCall<'a> {
    pub(crate) model: &'a dyn Model,
    pub(crate) table: String,
    pub(crate) kind: JobKind,
    pub(crate) args: JobArgs,
    pub(crate) key_args: KeyArgs,
    /// The migration plans (a migration, its plan), and whether a plan may be reopened.
    pub(crate) plans: Option<(MigrationPlans, bool)>,
}

/// What a job run did.
pub(crate) struct Executed {
    pub(crate) report: JobReport,
    pub(crate) schema: Schema,
    /// The key table's rows a rotation rewrapped, once the whole job was complete.
    pub(crate) rows: Option<u64>,
    /// Why the rows could not be rewrapped.
    pub(crate) rows_error: Option<String>,
    /// The exit status the signal that stopped it calls for (0: no signal came).
    pub(crate) signal: u8,
}

impl Executed {
    /// The report as JSON (the README's shape), and whether the run is complete as `done`.
    pub(crate) fn to_json(&self) -> Value {
        let shown = Shown {
            dry_run: false,
            rows: self.rows,
            keys: false,
        };
        let mut json = to_json(&self.report, &self.schema, shown);
        json["done"] = Value::Bool(self.report.is_complete());
        json
    }
}

/// Runs the job `call` names, prints its report, and gives the exit status.
pub(crate) async fn run(aws: &Aws, call: JobCall<'_>) -> Result<ExitCode, String> {
    let json = call.args.json;
    let (dry_run, keys) = (call.args.dry_run, call.args.show_keys);
    let done = execute(aws, call).await?;
    let (report, schema) = (&done.report, &done.schema);
    let shown = Shown {
        dry_run,
        rows: done.rows,
        keys,
    };
    if json {
        println!("{}", to_json(report, schema, shown));
    } else {
        print!("{}", to_text(report, schema, shown));
    }
    if let Some(error) = &done.rows_error {
        return Err(format!(
            "the records are done, but the key table's rows could not be rewrapped: {error} \
             (run the same command again with --resume: the records are not done twice)"
        ));
    }
    Ok(if report.stopped {
        ExitCode::from(match done.signal {
            0 => OUT_OF_TIME,
            signal => signal,
        })
    } else if report.counts.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs the job `call` names: its report, not printed.
pub(crate) async fn execute(aws: &Aws, call: JobCall<'_>) -> Result<Executed, String> {
    let JobCall {
        model,
        ref table,
        kind,
        ref args,
        ref key_args,
        plans,
    } = call;
    if !(1..=MAX_SEGMENTS).contains(&args.segments) {
        return Err(format!("--segments is 1 to {MAX_SEGMENTS}"));
    }
    let run = match &args.run_segments {
        Some(range) => parse_range(range, args.segments)?,
        None => 0..args.segments,
    };
    let schema = model.schema();
    // The table first: a wrong name fails now, not after the keys are fetched.
    let description = aws.describe(table).await?;
    let item_count = (description.item_count())
        .and_then(|n| u64::try_from(n).ok())
        .filter(|n| *n > 0);
    let write_units = match (args.write_units, args.capacity_share) {
        (Some(units), _) => Some(units),
        (None, Some(share)) if share > 0.0 && share <= 1.0 => {
            let provisioned = (description.provisioned_throughput())
                .and_then(|p| p.write_capacity_units())
                .filter(|units| *units > 0)
                .ok_or(
                    "--capacity-share is a share of provisioned write capacity, and the table \
                     is on demand: give --write-units (units a second) instead",
                )?;
            Some(((provisioned as f64 * share).floor() as u32).max(1))
        }
        (None, Some(_)) => return Err("--capacity-share is more than 0 and at most 1".to_owned()),
        (None, None) => None,
    };
    let keys = aws.keys(key_args, &schema).await?;
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| format!("{}:{table}", kind.name()));
    let (checkpoints, earlier) = if args.dry_run {
        (None, Vec::new())
    } else {
        let (checkpoints, earlier) = checkpoints_for(aws, &name, args, &run).await?;
        (Some(checkpoints), earlier)
    };
    let stop = StopSignal::new();
    let (signal, listener) = stop_on_signals(&stop);
    // This process's share of the table, for the ETA; what earlier runs did, for the rate.
    let share = item_count.map(|n| n * u64::from(run.end - run.start) / u64::from(args.segments));
    let earlier = earlier.iter().map(|c| (c.segment, c.counts)).collect();
    let reporter = Arc::new(Reporter::new(&name, share, earlier));
    let progress = {
        let reporter = reporter.clone();
        Box::new(move |p: &_| reporter.update(p))
    };
    // A worker shows the whole job's progress, as the job table has it.
    let watch = match (&checkpoints, args.worker) {
        (Some(checkpoints), true) => Some(tokio::spawn(watch_job(
            checkpoints.clone(),
            name.clone(),
            run.clone(),
            reporter.clone(),
        ))),
        _ => None,
    };
    let spec = JobSpec {
        kind,
        name,
        segments: args.segments,
        run,
        rate: args.rate,
        dry_run: args.dry_run,
        checkpoints,
        worker: args.worker.then_some(args.concurrent.max(1)),
        worker_name: args.worker_name.clone(),
        lease: std::time::Duration::from_secs(args.lease),
        budget: args.time_budget.map(std::time::Duration::from_secs),
        job_rate: args.job_rate,
        write_units,
        stop: stop.clone(),
        progress,
        plans,
    };
    // Paced by capacity, the store asks for each request's.
    let store = match write_units {
        Some(_) => aws.store().counting_capacity(),
        None => aws.store(),
    };
    let report = model.run(store, keys.clone(), table, spec).await;
    listener.abort();
    if let Some(watch) = watch {
        watch.abort();
    }
    reporter.finish();
    let report = report.map_err(|e| {
        let resume = match (&e, args.dry_run, args.worker) {
            // Nothing was read: there is nothing to resume, and the hint must not start a
            // second copy beside the running one.
            (crypt_model::Error::Storage(StorageError::LeaseHeld { .. }), ..) | (_, true, _) => "",
            (e, ..) if denied(e) => {
                " (the credentials may not do this: give the role what crypt-model-cli's README \
                 lists for the jobs; nothing more was done, and the checkpoints stand)"
            }
            (_, _, true) => " (each segment kept its last checkpoint: start the worker again)",
            _ => " (each segment kept its last checkpoint: run it again with --resume)",
        };
        format!("the job stopped: {}{resume}", error_text(&e))
    })?;
    // The key table's rows are under the keyring's keys too: a rotation of a model with a key
    // per owner rewraps them, once every record of the job is done (a run over a share of the
    // segments leaves them to a run over the whole job, which finds the segments done).
    let rotation = kind.info().rotation;
    let whole = report.segments == (0..report.total_segments);
    let rewrap_rows = rotation && schema.keeps_key_per_owner() && !args.dry_run && whole;
    let (rows, rows_error) = if rewrap_rows && report.is_complete() {
        match keys.rewrap_owner_keys().await {
            Ok(rows) => (Some(rows), None),
            Err(e) => (None, Some(error_text(&e))),
        }
    } else {
        (None, None)
    };
    Ok(Executed {
        report,
        schema,
        rows,
        rows_error,
        signal: signal.load(Ordering::SeqCst),
    })
}

/// Opens every record (an inventory job, which writes nothing).
pub(crate) async fn integrity(
    aws: &Aws,
    model: &dyn Model,
    keys: std::sync::Arc<crypt_model::Keys>,
    table: &str,
    segments: u32,
) -> Result<Integrity, String> {
    let schema = model.schema();
    let spec = JobSpec {
        kind: JobKind::Inventory,
        name: format!("audit:{table}"),
        segments,
        run: 0..segments,
        rate: 0,
        dry_run: true,
        checkpoints: None,
        worker: None,
        worker_name: None,
        lease: std::time::Duration::from_secs(60),
        budget: None,
        job_rate: None,
        write_units: None,
        stop: Default::default(),
        progress: Box::new(|_| {}),
        plans: None,
    };
    let report = model
        .run(aws.store(), keys, table, spec)
        .await
        .map_err(|e| format!("cannot open the records: {}", error_text(&e)))?;
    let failures = report
        .failed
        .iter()
        .map(|f| (key_digest(&schema, &f.key), printable(&f.reason)))
        .collect();
    Ok(Integrity {
        opened: report
            .counts
            .unchanged
            .saturating_sub(report.counts.plaintext),
        erased: report.counts.erased,
        failures,
    })
}

/// `A..B`, a share of the segments `0..total` for this process.
fn parse_range(text: &str, total: u32) -> Result<Range<u32>, String> {
    let invalid = || format!("--run-segments is `A..B`, a part of 0..{total} (--segments)");
    let (a, b) = text.split_once("..").ok_or_else(invalid)?;
    let a: u32 = a.trim().parse().map_err(|_| invalid())?;
    let b: u32 = b.trim().parse().map_err(|_| invalid())?;
    if a < b && b <= total {
        Ok(a..b)
    } else {
        Err(invalid())
    }
}

/// The job's checkpoints (files, or the job table), and those of this run's segments that
/// earlier runs saved. Without `--resume`, an earlier run's are refused, so that a job is not
/// ended at once by a finished run of the same name; with it, there must be some. A worker
/// joins the job wherever it stands.
async fn checkpoints_for(
    aws: &Aws,
    name: &str,
    args: &JobArgs,
    run: &Range<u32>,
) -> Result<(Arc<dyn Checkpoints>, Vec<Checkpoint>), String> {
    let (checkpoints, place): (Arc<dyn Checkpoints>, String) = match &args.job_table {
        Some(job_table) => (
            Arc::new(aws.job_table(job_table).await?),
            format!("the job table {job_table}"),
        ),
        None => {
            let dir = args.checkpoints.display();
            let files = match args.resume {
                // A mistyped directory is an error, not a new, empty one.
                true => FileCheckpoints::existing(&args.checkpoints),
                false => FileCheckpoints::new(&args.checkpoints),
            };
            let files = files.map_err(|e| {
                format!(
                    "cannot use the checkpoint directory {dir}: {}",
                    error_text(&e)
                )
            })?;
            (Arc::new(files), dir.to_string())
        }
    };
    let dir = &place;
    let mut found = Vec::new();
    for checkpoint in checkpoints
        .list(name)
        .await
        .map_err(|e| format!("cannot read the checkpoints in {dir}: {}", error_text(&e)))?
    {
        if run.contains(&checkpoint.segment) {
            found.push(checkpoint);
        }
    }
    if let Some(other) = found.iter().find(|c| c.total_segments != args.segments) {
        return Err(format!(
            "the job `{name}` was run with {} segments (its checkpoints in {dir}): give \
             --segments {} to go on with it, or another --name for a new job",
            other.total_segments, other.total_segments
        ));
    }
    let complete = found.len() == run.len() && found.iter().all(|c| c.done);
    match (args.resume || args.worker, found.is_empty()) {
        (false, false) if complete => Err(format!(
            "the job `{name}` is already complete (its checkpoints are in {dir}): give a new \
             job another --name (a rotation: one name per rotation)"
        )),
        (false, false) if found.iter().any(|c| c.is_held(now_ms())) => Err(format!(
            "the job `{name}` is running (its checkpoints in {dir} are held by {}): let it \
             finish, stop it first, or (with --job-table) add --worker to join it",
            holders(&found)
        )),
        (false, false) => Err(format!(
            "the job `{name}` has checkpoints in {dir} from an earlier run that did not finish: \
             add --resume to continue it, or give this run another --name"
        )),
        (true, true) if !args.worker => Err(format!(
            "nothing to resume: no checkpoints of the job `{name}` in {dir} (check --name and \
             --checkpoints, or leave out --resume to start it)"
        )),
        _ => Ok((checkpoints, found)),
    }
}

/// Whether `error` is a refusal of the credentials (DynamoDB's or KMS's), not a failure that a
/// run again would get past.
fn denied(error: &crypt_model::Error) -> bool {
    use crypt_model::KeyProviderError;
    use crypt_model::error::KeyError;
    match error {
        crypt_model::Error::Key(KeyError::Provider {
            kind: KeyProviderError::AccessDenied,
            ..
        }) => true,
        crypt_model::Error::Storage(StorageError::Backend { message, .. }) => {
            message.starts_with("AccessDeniedException")
                || message.starts_with("UnrecognizedClientException")
        }
        _ => false,
    }
}

/// The kind of a rotation, by its name in the library's table of job kinds
/// (`crypt_model::lifecycle::KINDS`): `rewrap` or `reencrypt`.
pub(crate) fn rotation_kind(mode: &str) -> Result<JobKind, String> {
    let rotations = || {
        KINDS
            .iter()
            .filter(|info| info.rotation)
            .map(|info| info.name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    JobKind::from_name(mode)
        .filter(|kind| kind.info().rotation)
        .ok_or_else(|| format!("a rotation is one of: {}", rotations()))
}

#[cfg(test)]
mod tests {
    use super::{JobKind, rotation_kind};

    #[test]
    fn a_rotation_is_named_as_the_library_names_its_kinds() {
        assert_eq!(rotation_kind("rewrap"), Ok(JobKind::Rewrap));
        assert_eq!(rotation_kind("reencrypt"), Ok(JobKind::Reencrypt));
        for other in ["migrate", "backfill", "rotate", ""] {
            assert_eq!(
                rotation_kind(other),
                Err("a rotation is one of: reencrypt, rewrap".to_owned())
            );
        }
    }
}
