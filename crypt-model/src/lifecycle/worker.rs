//! How a run gets its segments: every segment of its range claimed at its start, or, for one
//! of many workers, one segment at a time while the other workers take others.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::item::Work;
use super::lease::{self, Claim, Lease, millis, now_ms};
use super::pace;
use super::run::Pacer;
use super::{Checkpoint, Job};
use crate::error::{Error, Result, StorageError};
use crate::model::EncryptedItem;
use crate::store::Store;

/// The longest a worker waits before it looks again for a segment to take.
const LONGEST_WAIT: Duration = Duration::from_secs(1);
/// The longest a worker goes before it looks again at its share of the job's rate budget.
const BUDGET_EVERY: Duration = Duration::from_secs(5);

impl<T: EncryptedItem + Send + Sync, S: Store> Job<'_, T, S> {
    /// The checkpoints of `segments` as saved (a dry run's: it claims nothing), checked.
    pub(super) async fn load_all(
        &self,
        name: &str,
        segments: Range<u32>,
    ) -> Result<Vec<Checkpoint>> {
        let table = self.table.table_ref();
        let mut starts = Vec::with_capacity(segments.len());
        for segment in segments {
            starts.push(match self.checkpoints.load(name, segment).await? {
                Some(saved) if saved.total_segments != self.total_segments => {
                    return Err(table.invalid(format!(
                        "the checkpoints of job `{name}` were written with {} segments: resume \
                         it with the same number, or start over with other checkpoints",
                        saved.total_segments
                    )));
                }
                Some(saved) if saved.job != name || saved.segment != segment => {
                    return Err(table.invalid(format!(
                        "the checkpoint read for segment {segment} of job `{name}` is another \
                         one's: keep each job's checkpoints apart"
                    )));
                }
                Some(saved) => saved,
                None => Checkpoint::start(name, segment, self.total_segments),
            });
        }
        Ok(starts)
    }

    /// Claims every segment of `segments` for `worker`, or none: a segment another run holds
    /// stops the run before it reads anything, releasing those it took.
    pub(super) async fn claim_all(
        &self,
        name: &str,
        worker: &str,
        segments: Range<u32>,
    ) -> Result<Vec<Checkpoint>> {
        let mut taken = Vec::with_capacity(segments.len());
        for segment in segments {
            let claim = self
                .checkpoints
                .claim(name, segment, self.total_segments, &self.lease_for(worker))
                .await;
            let refusal = match claim {
                Ok(Claim::Taken(checkpoint) | Claim::Done(checkpoint)) => {
                    taken.push(checkpoint);
                    continue;
                }
                Ok(Claim::Held(held)) => lease::held(name, segment, &held),
                Err(error) => error,
            };
            for checkpoint in &mut taken {
                // Best effort: a segment not released is free once its lease lapses.
                let _ = self.release_claimed(checkpoint).await;
            }
            return Err(refusal);
        }
        Ok(taken)
    }

    /// Releases a segment claimed but never run.
    async fn release_claimed(&self, checkpoint: &mut Checkpoint) -> Result<()> {
        if checkpoint.done || checkpoint.lease.is_none() {
            return Ok(());
        }
        self.checkpoints.release(checkpoint).await
    }

    /// A lease for `worker` from now.
    fn lease_for(&self, worker: &str) -> Lease {
        Lease {
            worker: worker.to_owned(),
            expires: now_ms().saturating_add(millis(self.lease)),
        }
    }

    /// As one of many workers: takes segments of the run's range no live lease holds,
    /// `concurrent` at a time, until every one is done or the run is stopped (`true`).
    pub(super) async fn take_segments(
        &self,
        work: &Work<'_, T, S>,
        pacer: &Pacer,
        name: &str,
        worker: &str,
        concurrent: u32,
    ) -> Result<bool> {
        let failed = AtomicBool::new(false);
        let base: String = worker.chars().take(120).collect();
        let process = base.as_str();
        // The segments this run's slots work now: theirs to finish, not waited for.
        let working = Mutex::new(HashSet::new());
        let working = &working;
        let slots = (0..concurrent).map(|slot| {
            let worker = match concurrent {
                1 => worker.to_owned(),
                _ => format!("{process}/{slot}"),
            };
            let failed = &failed;
            async move {
                let outcome = self
                    .slot(work, pacer, name, (&worker, working), failed)
                    .await;
                if outcome.is_err() {
                    failed.store(true, Ordering::SeqCst);
                }
                outcome
            }
        });
        let slots = std::pin::pin!(futures_util::future::join_all(slots));
        let sharing = std::pin::pin!(self.follow_the_budget(pacer, name, process));
        let outcomes = match futures_util::future::select(slots, sharing).await {
            futures_util::future::Either::Left((outcomes, _)) => outcomes,
            futures_util::future::Either::Right((never, _)) => match never {},
        };
        let mut stopped = false;
        for outcome in outcomes {
            stopped |= outcome?;
        }
        Ok(stopped)
    }

    /// Paces this worker at its share of the job's rate budget, looked at again every few
    /// seconds (for ever: the caller drops it when the worker is done).
    async fn follow_the_budget(
        &self,
        pacer: &Pacer,
        name: &str,
        worker: &str,
    ) -> std::convert::Infallible {
        let every = (self.lease / 2).clamp(Duration::from_millis(100), BUDGET_EVERY);
        loop {
            if let Ok(saved) = self.checkpoints.list(name).await
                && let Some(budget) = pace::budget(self.job_rate, &saved)
            {
                let share = pace::share(budget, &saved, worker, now_ms());
                let own = self.rate.map_or(share, |rate| share.min(f64::from(rate)));
                pacer.set_ceiling(Some(own));
            }
            tokio::time::sleep(every).await;
        }
    }

    /// One of a worker's slots: a segment at a time.
    async fn slot(
        &self,
        work: &Work<'_, T, S>,
        pacer: &Pacer,
        name: &str,
        (worker, working): (&str, &Mutex<HashSet<u32>>),
        failed: &AtomicBool,
    ) -> Result<bool> {
        // Segments this run's other slots work are theirs to finish; any other held segment is
        // waited for (in case its worker died: a run restarted under a killed one's name takes
        // its segments back at once, another worker's after their leases lapse).
        let ours = |segment: &u32| {
            working
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .contains(segment)
        };
        let range = self.segments.clone().unwrap_or(0..self.total_segments);
        let length = range.end - range.start;
        // Workers start their search at different segments, so that they seldom race for one.
        let offset = crate::random::array::<4>().map_or(0, u32::from_le_bytes) % length;
        let wait = (self.lease / 4).clamp(Duration::from_millis(100), LONGEST_WAIT);
        loop {
            if self.should_stop() || failed.load(Ordering::SeqCst) {
                return Ok(true);
            }
            let states: HashMap<u32, Checkpoint> = (self.checkpoints.list(name).await?)
                .into_iter()
                .map(|checkpoint| (checkpoint.segment, checkpoint))
                .collect();
            let now = now_ms();
            let mut pending = false;
            let mut taken = None;
            for step in 0..length {
                let segment = range.start + (offset + step) % length;
                match states.get(&segment) {
                    Some(state) if state.done => continue,
                    Some(_) if ours(&segment) => continue,
                    Some(state) if state.is_held(now) => {
                        pending = true;
                        // Another's live lease is waited out; one under this slot's own name
                        // (a killed run's, restarted under its name) is taken back at once.
                        let holder = state.lease.as_ref().map(|lease| lease.worker.as_str());
                        if holder != Some(worker) {
                            continue;
                        }
                    }
                    _ => pending = true,
                }
                let lease = self.lease_for(worker);
                match (self.checkpoints)
                    .claim(name, segment, self.total_segments, &lease)
                    .await?
                {
                    Claim::Taken(checkpoint) => {
                        taken = Some(checkpoint);
                        break;
                    }
                    Claim::Held(_) | Claim::Done(_) => continue,
                }
            }
            let Some(checkpoint) = taken else {
                if !pending {
                    return Ok(false);
                }
                // Another worker holds what is left: look again, in case its lease lapses.
                tokio::time::sleep(wait).await;
                continue;
            };
            let segment = checkpoint.segment;
            let lock = || {
                working
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
            };
            lock().insert(segment);
            let outcome = self.run_segment(work, pacer, checkpoint, failed).await;
            lock().remove(&segment);
            match outcome {
                Ok((_, true)) => return Ok(true),
                Ok((_, false)) => {}
                Err(Error::Storage(StorageError::LeaseLost { .. })) => {
                    tracing::warn!(
                        target: "crypt_model::lifecycle",
                        job = name,
                        segment,
                        worker,
                        "another worker took the segment over after this worker's lease \
                         lapsed: leaving it to it"
                    );
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// The last checkpoints of every segment of the run's range, as the checkpoints hold them
    /// (a segment never claimed: not started).
    pub(super) async fn job_state(
        &self,
        name: &str,
        segments: Range<u32>,
    ) -> Result<Vec<Result<(Checkpoint, bool)>>> {
        let mut saved: HashMap<u32, Checkpoint> = (self.checkpoints.list(name).await?)
            .into_iter()
            .map(|checkpoint| (checkpoint.segment, checkpoint))
            .collect();
        Ok(segments
            .map(|segment| {
                let checkpoint = saved
                    .remove(&segment)
                    .unwrap_or_else(|| Checkpoint::start(name, segment, self.total_segments));
                Ok((checkpoint, false))
            })
            .collect())
    }
}
