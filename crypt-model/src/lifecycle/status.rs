//! [`JobStatus`]: where a whole job stands, from its checkpoints alone.

use std::collections::BTreeSet;
use std::time::Duration;

use super::lease::now_ms;
use super::{Checkpoints, Counts, Failure};
use crate::error::Result;

/// Where a whole job stands, read from its checkpoints alone (the job table that its workers
/// share, or a directory of file checkpoints): how many segments are done, running or waiting,
/// what they counted, which workers hold segments now, and the rate and time left.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct JobStatus {
    /// The job's name.
    pub job: String,
    /// The number of segments the job splits the table into (0: no checkpoint of the job).
    pub total_segments: u32,
    /// Segments scanned to their end.
    pub done: u32,
    /// Segments a worker holds now (a lease that has not lapsed).
    pub running: u32,
    /// Segments neither done nor held: never started, stopped, or left by a worker whose lease
    /// lapsed.
    pub waiting: u32,
    /// What the segments counted.
    pub counts: Counts,
    /// The records named as failed (at most 100 per segment; `counts.failed` counts them all).
    pub failed: Vec<Failure>,
    /// The workers that hold segments now.
    pub workers: BTreeSet<String>,
    /// Records seen per second, from the first claim of a segment to the last save.
    pub rate: Option<f64>,
    /// The time left at that rate, estimated from the records of the segments done (none
    /// before one is done).
    pub eta: Option<Duration>,
}

impl JobStatus {
    /// The status of the job `job` in `checkpoints`.
    pub async fn of(checkpoints: &dyn Checkpoints, job: &str) -> Result<JobStatus> {
        let mut saved = checkpoints.list(job).await?;
        let now = now_ms();
        // The number of segments most checkpoints name; a checkpoint outside it is not counted.
        let mut totals = std::collections::BTreeMap::<u32, u32>::new();
        for checkpoint in &saved {
            *totals.entry(checkpoint.total_segments).or_default() += 1;
        }
        let total_segments = (totals.into_iter())
            .max_by_key(|(_, count)| *count)
            .map_or(0, |(total, _)| total);
        saved.retain(|c| c.total_segments == total_segments && c.segment < total_segments);
        let mut status = JobStatus {
            job: job.to_owned(),
            total_segments,
            done: 0,
            running: 0,
            waiting: 0,
            counts: Counts::default(),
            failed: Vec::new(),
            workers: BTreeSet::new(),
            rate: None,
            eta: None,
        };
        let (mut first, mut last, mut seen_in_done) = (u64::MAX, 0, 0);
        for checkpoint in &saved {
            status.counts.add(&checkpoint.counts);
            status.failed.extend(checkpoint.failed.iter().cloned());
            if checkpoint.done {
                status.done += 1;
                seen_in_done += checkpoint.counts.seen;
            } else if checkpoint.is_held(now) {
                status.running += 1;
                if let Some(lease) = &checkpoint.lease {
                    status.workers.insert(lease.worker.clone());
                }
            }
            if checkpoint.started > 0 {
                first = first.min(checkpoint.started);
            }
            last = last.max(checkpoint.saved);
        }
        status.waiting = total_segments.saturating_sub(status.done + status.running);
        if last > first {
            let seconds = (last - first) as f64 / 1000.0;
            status.rate = Some(status.counts.seen as f64 / seconds);
        }
        status.eta = match (status.done, status.rate) {
            (done, _) if done == total_segments && done > 0 => Some(Duration::ZERO),
            (0, _) | (_, None) => None,
            (done, Some(rate)) if rate > 0.0 => {
                let per_segment = seen_in_done as f64 / f64::from(done);
                let left =
                    (per_segment * f64::from(total_segments) - status.counts.seen as f64).max(0.0);
                Duration::try_from_secs_f64(left / rate).ok()
            }
            _ => None,
        };
        Ok(status)
    }

    /// Whether every segment of the job is done.
    pub fn is_complete(&self) -> bool {
        self.total_segments > 0 && self.done == self.total_segments
    }
}
