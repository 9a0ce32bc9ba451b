//! `migrate`, `rotate`, `backfill-index`: a lifecycle job of the library over a registered model,
//! with durable checkpoints, Ctrl-C, progress and a report.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use crypt_model::lifecycle::{Checkpoints, FileCheckpoints, JobKind, JobReport, StopSignal};
use crypt_model::{Key, Schema};
use serde_json::{Value, json};

use crate::audit::{attribute_text, digest};
use crate::connect::{Aws, KeyArgs};
use crate::models::{JobSpec, Model};
use crate::progress::Reporter;

/// The exit status of a job stopped by Ctrl-C (as a shell reports a process interrupted).
const STOPPED: u8 = 130;

/// How a job runs.
#[derive(Args, Debug)]
pub(crate) struct JobArgs {
    /// Parallel scan segments, run concurrently (a resumed job keeps its number).
    #[arg(long, default_value_t = 4)]
    pub(crate) segments: u32,
    /// At most this many records per second over all segments (0: no limit).
    #[arg(long, default_value_t = 0)]
    pub(crate) rate: u32,
    /// Continue the job from its checkpoints (a run stopped by Ctrl-C, killed, or failed).
    #[arg(long)]
    pub(crate) resume: bool,
    /// Read and count, write nothing (no record, no checkpoint): what the job would do.
    #[arg(long)]
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
    keys: &KeyArgs,
) -> Result<ExitCode, String> {
    if args.segments == 0 {
        return Err("--segments is at least 1".to_owned());
    }
    let schema = model.schema();
    let cipher = aws.cipher(keys, &schema).await?;
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| format!("{}:{table}", kind.name()));
    let checkpoints = if args.dry_run {
        None
    } else {
        Some(checkpoints_for(&name, args).await?)
    };
    let stop = StopSignal::new();
    stop_on_ctrl_c(&stop);
    let reporter = Arc::new(Reporter::new(&name, item_count(aws, table).await));
    let progress = {
        let reporter = reporter.clone();
        Box::new(move |p: &_| reporter.update(p))
    };
    let spec = JobSpec {
        kind,
        name,
        segments: args.segments,
        rate: args.rate,
        dry_run: args.dry_run,
        checkpoints,
        stop: stop.clone(),
        progress,
    };
    let report = model.run(aws.store(), cipher.clone(), table, spec).await;
    reporter.finish();
    let report = report.map_err(|e| {
        format!("the job stopped: {e} (each segment kept its last checkpoint: run it again with --resume)")
    })?;
    // The key table's rows are under the keyring's keys too: a rotation rewraps them.
    let mut rows = None;
    let rotation = matches!(kind, JobKind::Rewrap | JobKind::Reencrypt);
    if rotation && cipher.owner_keys().is_some() && !args.dry_run && report.is_complete() {
        rows = Some(
            cipher
                .rewrap_owner_keys()
                .await
                .map_err(|e| format!("cannot rewrap the key table's rows: {e}"))?,
        );
    }
    if args.json {
        println!("{}", to_json(&report, &schema, args.dry_run, rows));
    } else {
        print!("{}", to_text(&report, &schema, args.dry_run, rows));
    }
    Ok(if report.stopped {
        ExitCode::from(STOPPED)
    } else if report.counts.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The job's file checkpoints; an earlier run's are refused unless `--resume` says to continue
/// it, so that a job is not ended at once by a finished run of the same name.
async fn checkpoints_for(name: &str, args: &JobArgs) -> Result<FileCheckpoints, String> {
    let checkpoints = FileCheckpoints::new(&args.checkpoints).map_err(|e| e.to_string())?;
    if !args.resume {
        for segment in 0..args.segments {
            if checkpoints
                .load(name, segment)
                .await
                .map_err(|e| e.to_string())?
                .is_some()
            {
                return Err(format!(
                    "the job `{name}` has checkpoints in {} from an earlier run: add --resume to \
                     continue it, or give this run another --name",
                    args.checkpoints.display()
                ));
            }
        }
    }
    Ok(checkpoints)
}

/// The first Ctrl-C stops the job at its next record (each segment saves its checkpoint); a
/// second one ends the process at once (the checkpoints saved after each page stand).
fn stop_on_ctrl_c(stop: &StopSignal) {
    let stop = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("stopping at the next record (Ctrl-C again to quit now)");
            stop.stop();
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(i32::from(STOPPED));
            }
        }
    });
}

/// The table's item count as DynamoDB last computed it, for the ETA.
async fn item_count(aws: &Aws, table: &str) -> Option<u64> {
    let described = aws
        .dynamo
        .describe_table()
        .table_name(table)
        .send()
        .await
        .ok()?;
    let count = described.table()?.item_count()?;
    u64::try_from(count).ok().filter(|n| *n > 0)
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
    if let Some(rows) = rows {
        out.push_str(&format!("  key table: {rows} owner keys rewrapped\n"));
    }
    for f in &report.failed {
        out.push_str(&format!(
            "  failed: record {}: {}\n",
            key_digest(schema, &f.key),
            f.reason
        ));
    }
    out
}
