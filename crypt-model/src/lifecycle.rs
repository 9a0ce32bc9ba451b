//! Jobs over a whole table: migrate records stored in plaintext, re-encrypt or rewrap under the
//! current key, backfill blind indexes, take an inventory of keys and plaintext left.
//!
//! A [`Job`] scans the table in parallel segments (DynamoDB's parallel scan), and rewrites each
//! record it changes with a condition that the record is unchanged since it was read, so that
//! an application writing at the same time never loses a write: a record changed under the job
//! is read again and done again. After every page (and wherever it is stopped) each segment
//! saves a [`Checkpoint`], so a job stopped with a [`StopSignal`], or killed, resumes where it
//! was when run again with the same [`Checkpoints`]; a record done twice is done once, since
//! each kind of job leaves alone what is already done. A rate limit (records per second) keeps
//! the job from starving the application of capacity.
//!
//! A job acts for every owner, so its caller is a service granted [`Scope::Read`] and, for the
//! jobs that write, [`Scope::Write`] on the model; each record it touches is logged as a grant
//! use (target `crypt_model::access`).
//!
//! ```
//! use std::sync::Arc;
//! use crypt_model::lifecycle::{Job, MemoryCheckpoints};
//! use crypt_model::store::Condition;
//! use crypt_model::keyring::LocalErasureKey;
//! use crypt_model::{
//!     AttributeValue, Caller, Keys, EncryptedItem, Grant, Item, LocalKeyring, MemoryStore,
//!     MigrationPlans, MigrationStatus, Sensitive, Store, Table,
//! };
//!
//! #[derive(EncryptedItem)]
//! #[crypt_model(table = "profiles", migrate_from_plaintext)]
//! struct Profile {
//!     #[partition_key]
//!     #[owner]
//!     user_id: String,
//!     #[sensitive]
//!     ssn: Sensitive<String>,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), crypt_model::Error> {
//! let store = MemoryStore::new();
//! // The migration plans: which records stored in plaintext may be read, tagged by a key only
//! // the migration holds (in production, a KMS HMAC key), in a table of their own.
//! let plans = MigrationPlans::new(store.clone(), "migration-plans", LocalErasureKey::generate()?)?;
//! let table = Table::<Profile, _>::new(store.clone(), Arc::new(Keys::new(LocalKeyring::generate()?)))?
//!     .with_grant(Grant::read("migrator")?)
//!     .with_grant(Grant::write("migrator")?)
//!     .with_plaintext_migration(plans.clone());
//!
//! // A record written before encryption: its SSN in plain.
//! let legacy = Item::from_iter([
//!     ("user_id", AttributeValue::S("alice".into())),
//!     ("ssn", AttributeValue::S("078-05-1120".into())),
//! ]);
//! store.put(table.table_ref(), legacy, &Condition::Always).await?;
//!
//! // The plan admits it as it is; then the migration encrypts it, and closes the plan.
//! let migrator = Caller::service("migrator")?;
//! Job::plan_migration(&table, &migrator).run().await?;
//! let report = Job::migrate(&table, &migrator)
//!     .segments(4)
//!     .rate_limit(1_000)
//!     .checkpoints(MemoryCheckpoints::new())
//!     .run()
//!     .await?;
//! assert!(report.is_complete());
//! assert_eq!((report.counts.changed, report.counts.plaintext), (1, 0));
//! assert!(!store.items("profiles")[0].contains("ssn"));
//! assert_eq!(plans.status("profiles").await?, MigrationStatus::Closed);
//! # Ok(()) }
//! ```
//!
//! `docs/migration.md` and `docs/rotation.md` are the runbooks.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::access::{Caller, Scope};
use crate::table::Table;

mod checkpoint;
mod item;
mod kinds;
mod lease;
mod pace;
mod report;
mod run;
mod status;
mod worker;

pub use checkpoint::{
    Checkpoint, Checkpoints, FileCheckpoints, MemoryCheckpoints, TableCheckpoints,
};
pub use kinds::{KINDS, KindInfo};
pub use lease::{Claim, Lease};
pub use report::{Counts, Failure, JobReport};
pub use status::JobStatus;

/// What a job does to each record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JobKind {
    /// Encrypts each record stored in plaintext (the model must be in migration mode,
    /// `#[crypt_model(migrate_from_plaintext)]`); leaves encrypted ones alone.
    Migrate,
    /// Seals each record whose data key is wrapped under a key-encryption key other than the
    /// keyring's current primary, or that is sealed with another suite than the model's
    /// ([`Schema::suite`](crate::Schema::suite)), again, under a current data key, a new salt and
    /// the model's suite; leaves alone those already under the primary and in the suite. Afterwards no record needs the old keys — for a model
    /// with a key per owner, once the key table's rows are rewrapped too
    /// ([`Keys::rewrap_owner_keys`](crate::Keys::rewrap_owner_keys)); its records are
    /// re-encrypted onto their owners' keys.
    Reencrypt,
    /// Wraps the data key of each record under a key-encryption key other than the keyring's
    /// primary again, under the primary (one keyring call per data key, which many records
    /// share), and seals the record's message again under its new header with the same keys;
    /// leaves alone those already under the primary (and records under their owner's key, whose
    /// key is in the key table). Afterwards no record needs the old keys,
    /// and every record keeps its data key: rotate with [`Reencrypt`](Self::Reencrypt) when a
    /// data key itself may be exposed.
    Rewrap,
    /// Writes each record's blind-index attributes under the current index secret, for an
    /// index added to the model after its records were written, or an index secret rotated
    /// ([`Keys::with_previous_index_secret`](crate::Keys::with_previous_index_secret)): the
    /// record is sealed again with its new index attributes; leaves alone records whose index
    /// attributes are already current.
    Backfill,
    /// Changes nothing: opens every record (checking its integrity) and counts the key ids in
    /// use and the records still stored in plaintext.
    Inventory,
    /// Writes no record: admits each record stored in plaintext, as it is, into the table's
    /// migration plan ([`MigrationPlans`](crate::MigrationPlans), opened if the table has no
    /// open one), so that the application reads it and the migration job encrypts it; leaves
    /// encrypted ones alone. Run it once every writer of the table encrypts (docs/migration.md).
    PlanMigration,
}

/// Stops a running job at its next record: each segment saves its checkpoint and the run
/// returns its report with [`JobReport::stopped`] set. Clones share the signal (give one to a
/// Ctrl-C handler).
#[derive(Clone, Debug, Default)]
pub struct StopSignal(Arc<AtomicBool>);

impl StopSignal {
    /// A signal not yet given.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the job to stop.
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether the job was asked to stop.
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// A job over the records of one [`Table`], configured and then [`run`](Job::run). See the
/// [module documentation](self).
pub struct Job<'t, T, S> {
    table: &'t Table<T, S>,
    caller: Caller,
    kind: JobKind,
    total_segments: u32,
    segments: Option<Range<u32>>,
    rate: Option<u32>,
    page_size: u32,
    checkpoints: Arc<dyn Checkpoints>,
    stop: StopSignal,
    dry_run: bool,
    reopen: bool,
    name: Option<String>,
    progress: Option<ProgressReport>,
    worker: Option<String>,
    lease: std::time::Duration,
    concurrent: Option<u32>,
    budget: Option<std::time::Duration>,
    job_rate: Option<u32>,
    write_units: Option<u32>,
    /// When the budget runs out, from the start of the run.
    deadline: Option<tokio::time::Instant>,
}

/// How long a segment stays a run's without a save, unless set otherwise.
const DEFAULT_LEASE: std::time::Duration = std::time::Duration::from_secs(60);

/// What [`Job::on_progress`] calls.
type ProgressReport = Box<dyn Fn(&Progress) + Send + Sync>;

/// Where one segment of a running job stands, given to [`Job::on_progress`] after each page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// The segment.
    pub segment: u32,
    /// Whether the segment has been scanned to its end.
    pub done: bool,
    /// What the segment counted so far (with what earlier runs of the job counted).
    pub counts: Counts,
}

impl<'t, T, S> Job<'t, T, S> {
    /// A job of `kind` by `caller` over `table`: one segment, no rate limit, pages of 100,
    /// checkpoints in memory.
    pub fn new(kind: JobKind, table: &'t Table<T, S>, caller: &Caller) -> Self {
        Job {
            table,
            caller: caller.clone(),
            kind,
            total_segments: 1,
            segments: None,
            rate: None,
            page_size: 100,
            checkpoints: Arc::new(MemoryCheckpoints::new()),
            stop: StopSignal::new(),
            dry_run: false,
            reopen: false,
            name: None,
            progress: None,
            worker: None,
            lease: DEFAULT_LEASE,
            concurrent: None,
            budget: None,
            job_rate: None,
            write_units: None,
            deadline: None,
        }
    }

    /// [`JobKind::Migrate`].
    pub fn migrate(table: &'t Table<T, S>, caller: &Caller) -> Self {
        Self::new(JobKind::Migrate, table, caller)
    }

    /// [`JobKind::Reencrypt`].
    pub fn reencrypt(table: &'t Table<T, S>, caller: &Caller) -> Self {
        Self::new(JobKind::Reencrypt, table, caller)
    }

    /// [`JobKind::Rewrap`].
    pub fn rewrap(table: &'t Table<T, S>, caller: &Caller) -> Self {
        Self::new(JobKind::Rewrap, table, caller)
    }

    /// [`JobKind::Backfill`].
    pub fn backfill(table: &'t Table<T, S>, caller: &Caller) -> Self {
        Self::new(JobKind::Backfill, table, caller)
    }

    /// [`JobKind::Inventory`].
    pub fn inventory(table: &'t Table<T, S>, caller: &Caller) -> Self {
        Self::new(JobKind::Inventory, table, caller)
    }

    /// [`JobKind::PlanMigration`].
    pub fn plan_migration(table: &'t Table<T, S>, caller: &Caller) -> Self {
        Self::new(JobKind::PlanMigration, table, caller)
    }

    /// Splits the table into `total` segments (1 to 1,000,000), all run concurrently by this
    /// process unless [`run_segments`](Self::run_segments) gives it a share. A resumed job
    /// must keep its number of segments.
    pub fn segments(mut self, total: u32) -> Self {
        self.total_segments = total;
        self
    }

    /// Runs only the segments `range` (of [`segments`](Self::segments)), concurrently: how a
    /// job is split across processes or machines, each with its own range.
    pub fn run_segments(mut self, range: Range<u32>) -> Self {
        self.segments = Some(range);
        self
    }

    /// At most `per_second` records per second, over all the segments of this run (0: no
    /// limit). Split the table's budget between the processes of one job.
    pub fn rate_limit(mut self, per_second: u32) -> Self {
        self.rate = (per_second > 0).then_some(per_second);
        self
    }

    /// At most `per_second` records per second over the whole job, all its workers together
    /// (0: none): each worker paces at its share, the budget times the segments it holds over
    /// those all workers hold, looked at again every few seconds. The budget is saved in the
    /// checkpoints, so that workers started without one follow it (the latest saved; a worker
    /// given one keeps its own). [`rate_limit`](Self::rate_limit) still bounds each process.
    pub fn job_rate_limit(mut self, per_second: u32) -> Self {
        self.job_rate = (per_second > 0).then_some(per_second);
        self
    }

    /// At most `per_second` write capacity units a second for this run, as the store counts
    /// them (DynamoDB's consumed capacity: give the table a
    /// `crypt_model_dynamo::DynamoStore::counting_capacity()`; a store that counts none is an
    /// error before anything is read): "at most 30 % of the table's write capacity" is
    /// `write_capacity_limit(wcu * 3 / 10)`. It applies with [`rate_limit`](Self::rate_limit).
    pub fn write_capacity_limit(mut self, per_second: u32) -> Self {
        self.write_units = (per_second > 0).then_some(per_second);
        self
    }

    /// Scans pages of at most `items` items (1 or more; 100 by default): a checkpoint is saved
    /// after each.
    pub fn page_size(mut self, items: u32) -> Self {
        self.page_size = items;
        self
    }

    /// Where the checkpoints are kept: a job run again with the same ones (and the same name and
    /// number of segments) resumes; by default they are in memory, and a job run again starts
    /// over. Give a writing job durable ones ([`FileCheckpoints`] on one machine,
    /// [`TableCheckpoints`] for workers on many).
    ///
    /// A run claims each of its segments in them before it reads anything: a segment that
    /// another run holds (its lease not lapsed) stops it with
    /// [`StorageError::LeaseHeld`](crate::error::StorageError::LeaseHeld), so two runs of one
    /// job never run one segment at once. A dry run claims nothing.
    pub fn checkpoints(mut self, checkpoints: impl Checkpoints + 'static) -> Self {
        self.checkpoints = Arc::new(checkpoints);
        self
    }

    /// The signal that stops the run.
    pub fn stop_on(mut self, stop: &StopSignal) -> Self {
        self.stop = stop.clone();
        self
    }

    /// Reads and counts, writes nothing (no record and no checkpoint): what the job would do.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// For a plan job ([`JobKind::PlanMigration`]): plan even over a closed or expired plan,
    /// and admit records the open plan admitted with other contents, as they are now. Off by
    /// default, since a new admission makes a record stored in plaintext readable as it is,
    /// whoever wrote it: look at the records the migration reported (or the refusals logged)
    /// first.
    pub fn reopen_plan(mut self, reopen: bool) -> Self {
        self.reopen = reopen;
        self
    }

    /// Calls `report` after each page of each segment with where that segment stands: for a
    /// progress bar or log lines (each segment's counts are its own; sum the latest of each).
    pub fn on_progress(mut self, report: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Box::new(report));
        self
    }

    /// Names the job, and so its checkpoints (by default its kind and the physical table,
    /// `migrate:customers`): give each rotation a name of its own (`rewrap-2027-01:customers`),
    /// or its checkpoints of an earlier one, complete, would end it at once.
    pub fn named(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    /// Joins the job as one of any number of workers that share its checkpoints (a
    /// [`TableCheckpoints`], for workers on many machines): instead of claiming every segment
    /// of its range at the start, the run takes segments no live lease holds, `concurrent` at
    /// a time, each until it is done, then the next, and returns once every segment of the
    /// range is done (waiting, while another worker holds one, in case its lease lapses) or
    /// the run is stopped. Its report is the whole job's, as the checkpoints say.
    ///
    /// A worker killed at any point loses nothing: its segments' leases lapse and another
    /// worker takes them over from their last checkpoints. Give every worker the same name,
    /// number of segments and checkpoints.
    pub fn worker(mut self, concurrent: u32) -> Self {
        self.concurrent = Some(concurrent.max(1));
        self
    }

    /// How long a segment stays this run's after its last save (60 seconds by default, from one
    /// second to an hour): the run saves after every page and whenever half of it has passed, and a
    /// run killed leaves its segments to the next run or worker after it.
    pub fn lease(mut self, lease: std::time::Duration) -> Self {
        self.lease = lease.clamp(std::time::Duration::from_secs(1), lease::LONGEST_LEASE);
        self
    }

    /// The name the run's leases give (printable, 1 to 128 bytes; by default the host's name,
    /// the process id and a random part). A run under the name of a run that was killed takes
    /// that run's segments back at once, without waiting for their leases to lapse (a restarted
    /// container given its task's name, say): give workers that run at the same time names of
    /// their own.
    pub fn worker_name(mut self, worker: &str) -> Self {
        self.worker = Some(worker.to_owned());
        self
    }

    /// Stops the run once `budget` has passed since it started, as its [`StopSignal`] would:
    /// each segment saves its checkpoint and releases its lease, and the report says
    /// [`stopped`](JobReport::stopped). For a run that must end within a time limit (an AWS
    /// Lambda invocation: a minute less than the function's timeout); run it again to go on.
    pub fn time_budget(mut self, budget: std::time::Duration) -> Self {
        self.budget = Some(budget);
        self
    }

    /// The job's name, which names its checkpoints.
    pub fn name(&self) -> String
    where
        T: crate::EncryptedItem + Send + Sync,
        S: crate::Store,
    {
        self.name
            .clone()
            .unwrap_or_else(|| format!("{}:{}", self.kind.name(), self.table.table_ref().name()))
    }
}

impl<T, S> fmt::Debug for Job<'_, T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job")
            .field("kind", &self.kind)
            .field("caller", &self.caller)
            .field("total_segments", &self.total_segments)
            .field("segments", &self.segments)
            .field("rate", &self.rate)
            .field("page_size", &self.page_size)
            .field("dry_run", &self.dry_run)
            .finish_non_exhaustive()
    }
}

/// The scopes a job of `kind` needs.
fn scopes(kind: JobKind) -> &'static [Scope] {
    if kind.writes() {
        &[Scope::Read, Scope::Write]
    } else {
        &[Scope::Read]
    }
}
