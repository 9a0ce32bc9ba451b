//! Running a job: its segments concurrently, each a loop of scan pages, paced, checkpointed.

use crate::error::ConfigError;
use std::num::NonZeroUsize;
use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use lru::LruCache;
use tokio::time::Instant;

use super::item::{Attempt, Outcome, Work};
use super::lease::{millis, now_ms, valid_worker, worker_name};
pub(super) use super::pace::Pacer;
use super::{Checkpoint, Counts, Failure, Job, JobKind, JobReport, Progress, scopes};
use crate::attribute::Item;
use crate::error::{Error, Result};
use crate::format::OWNER_KEY_ID;
use crate::model::EncryptedItem;
use crate::store::{Cursor, Scan, Store};

/// How many rewrapped data keys a rewrap job keeps (each serves the many records that share
/// the data key).
const REWRAPS_KEPT: NonZeroUsize = NonZeroUsize::new(10_000).expect("not zero");

/// How many of a segment's failed records its checkpoint names (each is counted): a checkpoint
/// stays well within an item of DynamoDB (400 KB) with keys of any size.
pub(crate) const FAILURES_NAMED: usize = 100;

/// How often one record is tried when the application keeps changing it under the job.
const ATTEMPTS: u32 = 5;

impl<T: EncryptedItem + Send + Sync, S: Store> Job<'_, T, S> {
    /// Runs the job over its segments, concurrently, from their checkpoints, until each is done
    /// or the run is stopped.
    ///
    /// Errors, before anything is read: a caller that is not a service granted the job's scopes
    /// ([`AccessError::Denied`](crate::error::AccessError::Denied)), a migration of a model not in migration mode
    /// ([`ConfigError::Unsupported`]), segments out of range, a checkpoint written with another number
    /// of segments ([`StorageError::InvalidRequest`](crate::error::StorageError::InvalidRequest)). While it runs: a failure of the store or the key
    /// provider stops it (each segment keeps its last checkpoint; run it again to resume); a
    /// record that cannot be processed is reported in [`JobReport::failed`] and the job goes on.
    pub async fn run(mut self) -> Result<JobReport> {
        self.deadline = self.budget.map(|budget| Instant::now() + budget);
        let schema = T::SCHEMA;
        let records = self.table.records();
        // A job crosses every owner's records: only a service granted its scopes runs one.
        records
            .gate
            .plan_crossing(&self.caller, &schema, scopes(self.kind))?;
        let migrating = matches!(self.kind, JobKind::Migrate | JobKind::PlanMigration);
        if migrating && !schema.migrates_plaintext() {
            return Err(Error::Config(ConfigError::Unsupported {
                table: schema.table().to_owned(),
                operation: self.kind.name(),
                reason: "the model is not in migration mode: add \
                         `#[crypt_model(migrate_from_plaintext)]` to it"
                    .to_owned(),
            }));
        }
        if migrating && records.plans().is_none() {
            return Err(Error::Config(ConfigError::Unsupported {
                table: schema.table().to_owned(),
                operation: self.kind.name(),
                reason: "the table has no migration plans: give it them with \
                         `Table::with_plaintext_migration` (docs/migration.md)"
                    .to_owned(),
            }));
        }
        let segments = self.segments.clone().unwrap_or(0..self.total_segments);
        let table = self.table.table_ref();
        if self.write_units.is_some() && records.store.consumed_capacity().is_none() {
            return Err(Error::Config(ConfigError::Unsupported {
                table: schema.table().to_owned(),
                operation: self.kind.name(),
                reason: "a limit in write capacity units needs a store that counts them: give \
                         the table a `DynamoStore::counting_capacity()`"
                    .to_owned(),
            }));
        }
        if segments.is_empty() || segments.end > self.total_segments {
            return Err(table.invalid(format!(
                "segments {segments:?} are not a range within 0..{}: set the number of segments \
                 with `.segments(total)`, then each process's share with `.run_segments(a..b)`",
                self.total_segments
            )));
        }
        // Checked as the store checks a scan, before any segment starts.
        table.check_scan(&Scan::segment(0, self.total_segments).limit(self.page_size))?;
        let new_data_key = self.kind.info().new_data_key;
        let primary = match self.kind {
            // Under a key per owner, records are sealed (re-encrypted, migrated) under their
            // owners' keys.
            _ if new_data_key && schema.keeps_key_per_owner() => Some(OWNER_KEY_ID.to_owned()),
            // A dry run seals nothing: it reports the key a record would be under.
            JobKind::Migrate | JobKind::Backfill if !self.dry_run => None,
            JobKind::Reencrypt | JobKind::Rewrap | JobKind::Migrate | JobKind::Backfill => {
                Some(records.keys().current_key_id(schema.table()).await?)
            }
            _ => None,
        };
        let work = Work {
            kind: self.kind,
            records,
            caller: &self.caller,
            dry_run: self.dry_run,
            primary,
            rewrapped: Mutex::new(LruCache::new(REWRAPS_KEPT)),
            plan: match (self.kind, records.plans()) {
                (JobKind::PlanMigration, Some(plans)) if !self.dry_run => {
                    Some(plans.begin(records.table.name(), self.reopen).await?)
                }
                _ => None,
            },
            reopen: self.reopen,
            handles: Mutex::new(LruCache::new(REWRAPS_KEPT)),
            started: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_secs()),
        };
        let pacer = Pacer::new(self.rate.or(self.job_rate));
        if let Some(units) = self.write_units {
            pacer.limit_write_units(f64::from(units));
        }
        let name = self.name();
        let worker = match &self.worker {
            Some(worker) if !valid_worker(worker) => {
                return Err(
                    table.invalid("the worker's name must be printable, 1 to 128 bytes".to_owned())
                );
            }
            Some(worker) => worker.clone(),
            None => worker_name(),
        };
        let (finished, stopped) = match self.concurrent {
            Some(concurrent) if !self.dry_run => {
                let stopped = self
                    .take_segments(&work, &pacer, &name, &worker, concurrent)
                    .await?;
                (self.job_state(&name, segments.clone()).await?, stopped)
            }
            _ => {
                // Every segment is claimed (read, in a dry run), and checked, before any starts.
                let starts = match self.dry_run {
                    true => self.load_all(&name, segments.clone()).await?,
                    false => self.claim_all(&name, &worker, segments.clone()).await?,
                };
                // A segment that fails stops the others at their next record (each saves where
                // it is).
                let failed = AtomicBool::new(false);
                let job = &self;
                let runs = starts.into_iter().map(|checkpoint| {
                    let failed = &failed;
                    let (work, pacer) = (&work, &pacer);
                    async move {
                        let outcome = job.run_segment(work, pacer, checkpoint, failed).await;
                        if outcome.is_err() {
                            failed.store(true, Ordering::SeqCst);
                        }
                        outcome
                    }
                });
                (futures_util::future::join_all(runs).await, false)
            }
        };
        let mut report = self.report(name, segments, finished)?;
        report.stopped |= stopped;
        let throttling = pacer.throttling();
        (report.throttled, report.slowest_rate) = (throttling.throttled, throttling.slowest);
        report.final_rate = throttling.last;
        let whole = (self.segments.as_ref()).is_none_or(|run| *run == (0..self.total_segments));
        if self.kind == JobKind::Migrate && !self.dry_run && whole {
            // Checkpoints that others may write are no evidence that nothing is left in
            // plaintext: the plan is closed by hand after an audit of the records.
            match self.checkpoints.shared() {
                false => close_when_done(&report, records.plans(), records.table.name()).await?,
                true if report.is_complete() => tracing::warn!(
                    target: "crypt_model::migration",
                    job = report.job,
                    "the migration is complete; its plan stays open, since its checkpoints are \
                     shared: close it after an audit finds nothing in plaintext"
                ),
                true => {}
            }
        }
        Ok(report)
    }

    /// One segment, from its checkpoint to its end or to a stop. Gives its last checkpoint and
    /// whether it was stopped.
    pub(super) async fn run_segment(
        &self,
        work: &Work<'_, T, S>,
        pacer: &Pacer,
        mut checkpoint: Checkpoint,
        failed: &AtomicBool,
    ) -> Result<(Checkpoint, bool)> {
        let segment = checkpoint.segment;
        let scan = |cursor: Option<Cursor>| {
            let scan = Scan::segment(segment, self.total_segments)
                .limit(self.page_size)
                .after(cursor);
            async move { (pacer.retry(|| work.records.store.scan(&work.records.table, &scan))).await }
        };
        let mut page = match checkpoint.done {
            true => None,
            false => match scan(checkpoint.cursor.clone()).await {
                Ok(page) => Some(page),
                Err(error) => {
                    self.release(&mut checkpoint).await?;
                    return Err(error);
                }
            },
        };
        while let Some(current) = page.take() {
            // The next page is read while this one is worked through.
            let next = current.cursor.clone();
            let prefetch = async {
                match next {
                    Some(cursor) => Some(scan(Some(cursor)).await),
                    None => None,
                }
            };
            let work_through =
                self.work_through(work, pacer, &mut checkpoint, current.items, failed);
            let (stopped, fetched) = futures_util::future::join(work_through, prefetch).await;
            if stopped? {
                return Ok((checkpoint, true));
            }
            checkpoint.cursor = current.cursor;
            checkpoint.done = checkpoint.cursor.is_none();
            match checkpoint.done {
                true => self.release(&mut checkpoint).await?,
                false => self.save(&mut checkpoint).await?,
            }
            if let Some(report) = &self.progress {
                report(&Progress {
                    segment,
                    done: checkpoint.done,
                    counts: checkpoint.counts,
                });
            }
            page = match fetched.transpose() {
                Ok(page) => page,
                Err(error) => {
                    self.release(&mut checkpoint).await?;
                    return Err(error);
                }
            };
        }
        Ok((checkpoint, false))
    }

    /// The records of one page, each recorded in `checkpoint` as it is done; `true` when the run
    /// was stopped (the checkpoint is saved at the last record done).
    async fn work_through(
        &self,
        work: &Work<'_, T, S>,
        pacer: &Pacer,
        checkpoint: &mut Checkpoint,
        items: Vec<Item>,
        failed: &AtomicBool,
    ) -> Result<bool> {
        for item in items {
            if self.should_stop() || failed.load(Ordering::SeqCst) {
                self.release(checkpoint).await?;
                return Ok(true);
            }
            if self.renewal_due(checkpoint) {
                self.save(checkpoint).await?;
            }
            pacer.wait().await;
            let consumed = work.records.store.consumed_capacity();
            if let Some(turn) = consumed.and_then(|units| pacer.units_turn(units.write)) {
                // In slices: a long wait still stops when asked, and keeps the lease.
                while Instant::now() < turn {
                    if self.should_stop() || failed.load(Ordering::SeqCst) {
                        self.release(checkpoint).await?;
                        return Ok(true);
                    }
                    if self.renewal_due(checkpoint) {
                        self.save(checkpoint).await?;
                    }
                    let slice = (self.lease / 4).min(std::time::Duration::from_secs(1));
                    tokio::time::sleep_until(turn.min(Instant::now() + slice)).await;
                }
            }
            let cursor = work.records.table.cursor_at(&item, None)?;
            let key = work.records.table.key_of(&item)?;
            let outcome = pacer.retry(|| self.process(work, item.clone(), &key));
            let outcome = match outcome.await {
                Ok(outcome) => outcome,
                Err(error) => {
                    // The checkpoint stays before this record: a run resumed redoes it.
                    self.release(checkpoint).await?;
                    return Err(error);
                }
            };
            record(checkpoint, outcome, key, self.dry_run);
            checkpoint.cursor = Some(cursor);
        }
        Ok(false)
    }

    /// One record, read again and done again while the application changes it under the job.
    /// Gives the outcome, and whether the record was stored in plaintext when last read.
    async fn process(
        &self,
        work: &Work<'_, T, S>,
        item: Item,
        key: &crate::attribute::Key,
    ) -> Result<(Outcome, bool)> {
        let mut stored = work.records.parse(item);
        let mut plaintext = stored.is_plaintext();
        for _ in 0..ATTEMPTS {
            plaintext = stored.is_plaintext();
            match work.attempt(stored).await? {
                Attempt::Done(outcome) => return Ok((outcome, plaintext)),
                Attempt::Changed => match work.records.fetch(key).await? {
                    Some(again) => stored = again,
                    None => return Ok((Outcome::Skipped, false)),
                },
            }
        }
        let failure = Outcome::Failed(format!(
            "the record changed under the job {ATTEMPTS} times in a row: run the job again"
        ));
        Ok((failure, plaintext))
    }

    /// Saves the segment's checkpoint, renewing its lease.
    async fn save(&self, checkpoint: &mut Checkpoint) -> Result<()> {
        if self.dry_run {
            return Ok(());
        }
        let now = now_ms();
        checkpoint.saved = now;
        checkpoint.job_rate = self.job_rate.or(checkpoint.job_rate);
        if let Some(lease) = &mut checkpoint.lease {
            lease.expires = now.saturating_add(millis(self.lease));
        }
        self.checkpoints.save(checkpoint).await
    }

    /// Saves the segment's checkpoint without its lease, for the next run or worker, if this run
    /// holds it.
    async fn release(&self, checkpoint: &mut Checkpoint) -> Result<()> {
        if self.dry_run || checkpoint.lease.is_none() {
            return Ok(());
        }
        checkpoint.saved = now_ms();
        self.checkpoints.release(checkpoint).await?;
        checkpoint.lease = None;
        Ok(())
    }

    /// Whether the run was asked to stop, or its time budget is spent.
    pub(super) fn should_stop(&self) -> bool {
        self.stop.is_stopped()
            || self
                .deadline
                .is_some_and(|deadline| Instant::now() >= deadline)
    }

    /// Whether half of the segment's lease has passed since its last save.
    fn renewal_due(&self, checkpoint: &Checkpoint) -> bool {
        let half = millis(self.lease) / 2;
        (checkpoint.lease.as_ref()).is_some_and(|lease| now_ms() + half >= lease.expires)
    }

    /// The report over the segments' last checkpoints; the first error of a segment, if any.
    fn report(
        &self,
        job: String,
        segments: Range<u32>,
        finished: Vec<Result<(Checkpoint, bool)>>,
    ) -> Result<JobReport> {
        let mut report = JobReport {
            job,
            counts: Counts::default(),
            failed: Vec::new(),
            key_ids: Default::default(),
            suites: Default::default(),
            total_segments: self.total_segments,
            segments,
            segments_done: 0,
            stopped: false,
            throttled: 0,
            slowest_rate: None,
            final_rate: None,
        };
        for outcome in finished {
            let (checkpoint, stopped) = outcome?;
            report.counts.add(&checkpoint.counts);
            report.failed.extend(checkpoint.failed);
            for (key_id, count) in checkpoint.key_ids {
                *report.key_ids.entry(key_id).or_default() += count;
            }
            for (suite, count) in checkpoint.suites {
                let total = report.suites.entry(suite).or_default();
                *total = total.saturating_add(count);
            }
            report.segments_done += u32::from(checkpoint.done);
            report.stopped |= stopped;
        }
        tracing::info!(
            target: "crypt_model::lifecycle",
            job = report.job,
            seen = report.counts.seen,
            changed = report.counts.changed,
            erased = report.counts.erased,
            failed = report.counts.failed,
            plaintext = report.counts.plaintext,
            complete = report.is_complete(),
            "job run finished"
        );
        Ok(report)
    }
}

/// Closes the table's migration plan when `report`, a migration of every segment, left nothing
/// in plaintext and nothing failed: from then on no reader reads a record stored in plaintext.
async fn close_when_done(
    report: &JobReport,
    plans: Option<&crate::MigrationPlans>,
    table: &str,
) -> Result<()> {
    let done = report.is_complete() && report.counts.plaintext == 0 && report.counts.failed == 0;
    if let (true, Some(plans)) = (done, plans)
        && let Err(error) = plans.close(table).await
    {
        // Workers that finish a job together close the plan together: one of them wins.
        if plans.status(table).await? != crate::MigrationStatus::Closed {
            return Err(error);
        }
    }
    Ok(())
}

/// Counts the outcome of the record under `key` in `checkpoint`: what the job did, and whether
/// the record is left in plaintext (it was, and the job did not write it).
fn record(
    checkpoint: &mut Checkpoint,
    (outcome, plaintext): (Outcome, bool),
    key: crate::attribute::Key,
    dry_run: bool,
) {
    let counts = &mut checkpoint.counts;
    counts.seen += 1;
    let written = matches!(outcome, Outcome::Changed(_)) && !dry_run;
    counts.plaintext += u64::from(plaintext && !written);
    let key_id = match outcome {
        Outcome::Changed(key_id) => {
            counts.changed += 1;
            Some(key_id)
        }
        Outcome::Unchanged(key_id) => {
            counts.unchanged += 1;
            key_id
        }
        Outcome::Skipped => {
            counts.skipped += 1;
            None
        }
        Outcome::Erased => {
            counts.erased += 1;
            None
        }
        Outcome::Failed(reason) => {
            counts.failed += 1;
            if checkpoint.failed.len() < FAILURES_NAMED {
                checkpoint.failed.push(Failure { key, reason });
            }
            None
        }
    };
    if let Some((key_id, suite)) = key_id {
        *checkpoint.key_ids.entry(key_id).or_default() += 1;
        *checkpoint
            .suites
            .entry(suite.name().to_owned())
            .or_default() += 1;
    }
}
