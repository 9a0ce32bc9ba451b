//! What a job's checkpoints say while it runs: which workers hold its segments, and the whole
//! job's progress for a worker's bar.

use std::ops::Range;
use std::sync::Arc;

use crypt_model::lifecycle::{Checkpoint, Checkpoints, Progress};

use crate::job_report::printable;
use crate::progress::Reporter;

/// The workers that hold `checkpoints`' segments, for a message.
pub(crate) fn holders(checkpoints: &[Checkpoint]) -> String {
    let now = now_ms();
    let workers: std::collections::BTreeSet<&str> = checkpoints
        .iter()
        .filter(|c| c.is_held(now))
        .filter_map(|c| c.lease.as_ref().map(|lease| lease.worker.as_str()))
        .collect();
    workers
        .into_iter()
        .map(printable)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Milliseconds since the Unix epoch, as leases count them.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}

/// Feeds the reporter every segment's latest counts from the checkpoints, every few seconds:
/// a worker's bar shows the whole job.
pub(crate) async fn watch_job(
    checkpoints: Arc<dyn Checkpoints>,
    name: String,
    run: Range<u32>,
    reporter: Arc<Reporter>,
) {
    loop {
        if let Ok(saved) = checkpoints.list(&name).await {
            for checkpoint in saved.iter().filter(|c| run.contains(&c.segment)) {
                reporter.update(&Progress {
                    segment: checkpoint.segment,
                    done: checkpoint.done,
                    counts: checkpoint.counts,
                });
            }
        }
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    }
}
