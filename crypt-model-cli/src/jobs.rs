//! `migrate`, `rotate`, `backfill-index`: a lifecycle job of the library over a registered model,
//! with durable checkpoints, Ctrl-C, progress and a report.

use std::ops::Range;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use clap::Args;
use crypt_model::lifecycle::{
    Checkpoint, Checkpoints, FileCheckpoints, JobKind, JobReport, StopSignal,
};
use crypt_model::{Key, MigrationPlans, Schema};
use serde_json::{Value, json};

use crate::audit::{Integrity, attribute_text, digest};
use crate::connect::{Aws, KeyArgs, error_text};
use crate::models::{JobSpec, Model};
use crate::progress::Reporter;

/// The exit status of a job stopped by Ctrl-C (as a shell reports a process interrupted).
const STOPPED: u8 = 130;

/// The exit status of a job stopped by SIGTERM.
const TERMINATED: u8 = 143;

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
    /// Continue the job from its checkpoints (a run stopped by Ctrl-C, killed, or failed).
    #[arg(long)]
    pub(crate) resume: bool,
    /// Read and count, write nothing (no record, no checkpoint): what the job would do.
    #[arg(long, conflicts_with = "resume")]
    pub(crate) dry_run: bool,
    /// The directory of the job's checkpoints (created if missing). They hold record keys:
    /// keep them where the table's keys may be kept.
    #[arg(
        long,
        env = "CRYPT_MODEL_CHECKPOINTS",
        default_value = "crypt-model-checkpoints"
    )]
    pub(crate) checkpoints: PathBuf,
    /// The job's name, which names its checkpoints (default: `<kind>:<table>`). Give each
    /// rotation its own (`rewrap-2027-01:customers`).
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// The report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Runs job `kind` over `model`'s records in `table`.
pub(crate) async fn run(
    aws: &Aws,
    model: &dyn Model,
    table: &str,
    kind: JobKind,
    args: &JobArgs,
    key_args: &KeyArgs,
    plans: Option<(MigrationPlans, bool)>,
) -> Result<ExitCode, String> {
    if !(1..=MAX_SEGMENTS).contains(&args.segments) {
        return Err(format!("--segments is 1 to {MAX_SEGMENTS}"));
    }
    let run = match &args.run_segments {
        Some(range) => parse_range(range, args.segments)?,
        None => 0..args.segments,
    };
    let schema = model.schema();
    // The table first: a wrong name fails now, not after the keys are fetched.
    let item_count = aws.item_count(table).await?;
    let keys = aws.keys(key_args, &schema).await?;
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| format!("{}:{table}", kind.name()));
    let (checkpoints, earlier) = if args.dry_run {
        (None, Vec::new())
    } else {
        let (checkpoints, earlier) = checkpoints_for(&name, args, &run).await?;
        (Some(checkpoints), earlier)
    };
    let stop = StopSignal::new();
    let signal = stop_on_signals(&stop);
    // This process's share of the table, for the ETA; what earlier runs did, for the rate.
    let share = item_count.map(|n| n * u64::from(run.end - run.start) / u64::from(args.segments));
    let earlier = earlier.iter().map(|c| (c.segment, c.counts)).collect();
    let reporter = Arc::new(Reporter::new(&name, share, earlier));
    let progress = {
        let reporter = reporter.clone();
        Box::new(move |p: &_| reporter.update(p))
    };
    let spec = JobSpec {
        kind,
        name,
        segments: args.segments,
        run,
        rate: args.rate,
        dry_run: args.dry_run,
        checkpoints,
        stop: stop.clone(),
        progress,
        plans,
    };
    let report = model.run(aws.store(), keys.clone(), table, spec).await;
    reporter.finish();
    let report = report.map_err(|e| {
        let resume = if args.dry_run {
            ""
        } else {
            " (each segment kept its last checkpoint: run it again with --resume)"
        };
        format!("the job stopped: {}{resume}", error_text(&e))
    })?;
    // The key table's rows are under the keyring's keys too: a rotation of a model with a key
    // per owner rewraps them, once the records are done.
    let rotation = kind.info().rotation;
    let rewrap_rows = rotation && schema.keeps_key_per_owner() && !args.dry_run;
    let (rows, rows_error) = if rewrap_rows && report.is_complete() {
        match keys.rewrap_owner_keys().await {
            Ok(rows) => (Some(rows), None),
            Err(e) => (None, Some(error_text(&e))),
        }
    } else {
        (None, None)
    };
    if args.json {
        println!("{}", to_json(&report, &schema, args.dry_run, rows));
    } else {
        print!("{}", to_text(&report, &schema, args.dry_run, rows));
    }
    if let Some(error) = rows_error {
        return Err(format!(
            "the records are done, but the key table's rows could not be rewrapped: {error} \
             (run the same command again with --resume: the records are not done twice)"
        ));
    }
    Ok(if report.stopped {
        ExitCode::from(signal.load(Ordering::SeqCst))
    } else if report.counts.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
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

/// The job's file checkpoints, and those of this run's segments that earlier runs saved.
/// Without `--resume`, an earlier run's are refused, so that a job is not ended at once by a
/// finished run of the same name; with it, there must be some.
async fn checkpoints_for(
    name: &str,
    args: &JobArgs,
    run: &Range<u32>,
) -> Result<(FileCheckpoints, Vec<Checkpoint>), String> {
    let dir = args.checkpoints.display();
    let checkpoints = FileCheckpoints::new(&args.checkpoints).map_err(|e| {
        format!(
            "cannot use the checkpoint directory {dir}: {}",
            error_text(&e)
        )
    })?;
    let mut found = Vec::new();
    for segment in run.clone() {
        let loaded = checkpoints
            .load(name, segment)
            .await
            .map_err(|e| format!("cannot read the checkpoints in {dir}: {}", error_text(&e)))?;
        found.extend(loaded);
    }
    if let Some(other) = found.iter().find(|c| c.total_segments != args.segments) {
        return Err(format!(
            "the job `{name}` was run with {} segments (its checkpoints in {dir}): give \
             --segments {} to go on with it, or another --name for a new job",
            other.total_segments, other.total_segments
        ));
    }
    let complete = found.len() == run.len() && found.iter().all(|c| c.done);
    match (args.resume, found.is_empty()) {
        (false, false) if complete => Err(format!(
            "the job `{name}` is already complete (its checkpoints are in {dir}): give a new \
             job another --name (a rotation: one name per rotation)"
        )),
        (false, false) => Err(format!(
            "the job `{name}` has checkpoints in {dir} from an earlier run that did not finish: \
             add --resume to continue it, or give this run another --name"
        )),
        (true, true) => Err(format!(
            "nothing to resume: no checkpoints of the job `{name}` in {dir} (check --name and \
             --checkpoints, or leave out --resume to start it)"
        )),
        _ => Ok((checkpoints, found)),
    }
}

/// The first Ctrl-C (or SIGTERM, as a container's stop sends) stops the job at its next record
/// (each segment saves its checkpoint); a second one ends the process at once (the checkpoints
/// saved after each page stand). The exit status the signal calls for: 130 for Ctrl-C, 143 for
/// SIGTERM, as a shell reports a process they ended.
fn stop_on_signals(stop: &StopSignal) -> Arc<AtomicU8> {
    let status = Arc::new(AtomicU8::new(STOPPED));
    let (stop, given) = (stop.clone(), status.clone());
    tokio::spawn(async move {
        if let Some(code) = interrupted().await {
            given.store(code, Ordering::SeqCst);
            eprintln!("stopping at the next record (Ctrl-C again to quit now)");
            stop.stop();
            if let Some(code) = interrupted().await {
                std::process::exit(i32::from(code));
            }
        }
    });
    status
}

/// Waits for Ctrl-C or SIGTERM: the exit status it calls for; `None` if no handler could be
/// installed.
async fn interrupted() -> Option<u8> {
    let ctrl_c = async { tokio::signal::ctrl_c().await.ok().map(|()| STOPPED) };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut terminate) = signal(SignalKind::terminate()) else {
            return ctrl_c.await;
        };
        tokio::select! {
            code = ctrl_c => code,
            _ = terminate.recv() => Some(TERMINATED),
        }
    }
    #[cfg(not(unix))]
    {
        ctrl_c.await
    }
}

/// A record's digest, as the audit names it.
pub(crate) fn key_digest(schema: &Schema, key: &Key) -> String {
    let mut parts = vec![(schema.partition_key(), attribute_text(&key.partition))];
    if let (Some(name), Some(sort)) = (schema.sort_key(), &key.sort) {
        parts.push((name, attribute_text(sort)));
    }
    digest(&parts)
}

fn to_json(report: &JobReport, schema: &Schema, dry_run: bool, rows: Option<u64>) -> Value {
    let c = &report.counts;
    let failed: Vec<Value> = report
        .failed
        .iter()
        .map(|f| json!({"record": key_digest(schema, &f.key), "reason": f.reason}))
        .collect();
    json!({
        "job": report.job,
        "complete": report.is_complete(),
        "stopped": report.stopped,
        "dry_run": dry_run,
        "segments": {
            "total": report.total_segments,
            "run": report.segments.end - report.segments.start,
            "done": report.segments_done,
        },
        "counts": {
            "seen": c.seen, "changed": c.changed, "unchanged": c.unchanged,
            "skipped": c.skipped, "erased": c.erased, "failed": c.failed,
            "plaintext": c.plaintext,
        },
        "failed": failed,
        "key_ids": report.key_ids,
        "suites": report.suites,
        "owner_keys_rewrapped": rows,
    })
}

fn to_text(report: &JobReport, schema: &Schema, dry_run: bool, rows: Option<u64>) -> String {
    let c = &report.counts;
    let state = if report.is_complete() {
        "complete".to_owned()
    } else if report.stopped {
        "stopped (run it again with --resume to continue)".to_owned()
    } else {
        "incomplete".to_owned()
    };
    let mut out = format!(
        "{}: {state}, {} of {} segments done{}\n",
        report.job,
        report.segments_done,
        report.segments.end - report.segments.start,
        if dry_run {
            " (dry run: nothing written)"
        } else {
            ""
        }
    );
    out.push_str(&format!(
        "  {} records: {} changed, {} unchanged, {} skipped, {} erased, {} failed; {} still in \
         plaintext\n",
        c.seen, c.changed, c.unchanged, c.skipped, c.erased, c.failed, c.plaintext
    ));
    for (key_id, n) in &report.key_ids {
        out.push_str(&format!("  key {key_id}: {n} records\n"));
    }
    for (suite, n) in &report.suites {
        out.push_str(&format!("  suite {suite}: {n} records\n"));
    }
    if let Some(rows) = rows {
        out.push_str(&format!("  key table: {rows} owner keys rewrapped\n"));
    }
    for f in &report.failed {
        out.push_str(&format!(
            "  failed: record {}: {}\n",
            key_digest(schema, &f.key),
            printable(&f.reason)
        ));
    }
    out
}

/// `text` without control characters (a failure's reason names attributes, which anyone who can
/// write the table chooses): nothing it holds can move a terminal's cursor.
pub(crate) fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}
