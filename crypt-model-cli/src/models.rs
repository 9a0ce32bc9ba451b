//! The models a command line was built with, behind one object-safe trait, so that the commands
//! can run the library's typed jobs on a model named at run time (`--model customers`).

use std::marker::PhantomData;
use std::sync::Arc;

use crypt_model::lifecycle::{Checkpoints, Job, JobKind, JobReport, Progress, StopSignal};
use crypt_model::{Caller, EncryptedItem, Error, Grant, Keys, MigrationPlans, Schema, Table};
use crypt_model_dynamo::DynamoStore;
use futures_util::future::BoxFuture;

/// The service identity the command line acts as: the grants it gives itself on each table it
/// opens, and the name the access log shows.
pub(crate) const SERVICE: &str = "crypt-model-cli";

/// What a job run is given besides its model and table.
pub(crate) struct JobSpec {
    pub(crate) kind: JobKind,
    pub(crate) name: String,
    pub(crate) segments: u32,
    /// The segments this process runs.
    pub(crate) run: std::ops::Range<u32>,
    pub(crate) rate: u32,
    pub(crate) dry_run: bool,
    /// Where the checkpoints are kept; in memory when `None` (a dry run, an audit).
    pub(crate) checkpoints: Option<Arc<dyn Checkpoints>>,
    /// As one of many workers: how many segments at once.
    pub(crate) worker: Option<u32>,
    /// The name the run's leases give.
    pub(crate) worker_name: Option<String>,
    /// How long a hold on a segment lasts without a save.
    pub(crate) lease: std::time::Duration,
    /// When the run stops, from its start.
    pub(crate) budget: Option<std::time::Duration>,
    /// The whole job's rate budget.
    pub(crate) job_rate: Option<u32>,
    /// This run's limit in write capacity units a second.
    pub(crate) write_units: Option<u32>,
    pub(crate) stop: StopSignal,
    pub(crate) progress: Box<dyn Fn(&Progress) + Send + Sync>,
    /// The migration plans (a migration, its plan), and whether a plan may be reopened.
    pub(crate) plans: Option<(MigrationPlans, bool)>,
}

/// A registered model, with its type erased.
pub(crate) trait Model: Send + Sync {
    /// The model's schema (its logical table names it).
    fn schema(&self) -> Schema;

    /// Runs a job over the model's records in the physical table `table`.
    fn run<'a>(
        &'a self,
        store: DynamoStore,
        keys: Arc<Keys>,
        table: &'a str,
        spec: JobSpec,
    ) -> BoxFuture<'a, Result<JobReport, Error>>;

    /// Erases `owner`'s records by destroying their key.
    fn erase_owner<'a>(
        &'a self,
        store: DynamoStore,
        keys: Arc<Keys>,
        table: &'a str,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<bool, Error>>;

    /// Begins replacing `owner`'s key, or with `finish` finishes it.
    fn replace_owner_key<'a>(
        &'a self,
        store: DynamoStore,
        keys: Arc<Keys>,
        table: &'a str,
        owner: &'a str,
        finish: bool,
    ) -> BoxFuture<'a, Result<bool, Error>>;
}

/// Model `M`, registered.
pub(crate) struct Registered<M>(PhantomData<fn() -> M>);

impl<M> Registered<M> {
    pub(crate) fn new() -> Self {
        Registered(PhantomData)
    }
}

/// The model's records in `name`, with the command line's grants.
fn open<M: EncryptedItem + Send + Sync>(
    store: DynamoStore,
    keys: Arc<Keys>,
    name: &str,
) -> Result<(Table<M, DynamoStore>, Caller), Error> {
    let table = Table::<M, _>::named(store, keys, name)?
        .with_grant(Grant::read(SERVICE)?)
        .with_grant(Grant::write(SERVICE)?)
        .with_grant(Grant::delete(SERVICE)?);
    Ok((table, Caller::service(SERVICE)?))
}

impl<M: EncryptedItem + Send + Sync + 'static> Model for Registered<M> {
    fn schema(&self) -> Schema {
        M::SCHEMA
    }

    fn run<'a>(
        &'a self,
        store: DynamoStore,
        keys: Arc<Keys>,
        table: &'a str,
        spec: JobSpec,
    ) -> BoxFuture<'a, Result<JobReport, Error>> {
        Box::pin(async move {
            let (mut table, caller) = open::<M>(store, keys, table)?;
            let mut reopen = false;
            if let Some((plans, reopening)) = spec.plans {
                table = table.with_plaintext_migration(plans);
                reopen = reopening;
            }
            let progress = spec.progress;
            let mut job = Job::new(spec.kind, &table, &caller)
                .named(&spec.name)
                .segments(spec.segments)
                .run_segments(spec.run)
                .rate_limit(spec.rate)
                .dry_run(spec.dry_run)
                .reopen_plan(reopen)
                .stop_on(&spec.stop)
                .on_progress(move |p| progress(p));
            if let Some(checkpoints) = spec.checkpoints {
                job = job.checkpoints(checkpoints);
            }
            if let Some(concurrent) = spec.worker {
                job = job.worker(concurrent);
            }
            if let Some(worker) = &spec.worker_name {
                job = job.worker_name(worker);
            }
            if let Some(budget) = spec.budget {
                job = job.time_budget(budget);
            }
            if let Some(rate) = spec.job_rate {
                job = job.job_rate_limit(rate);
            }
            if let Some(units) = spec.write_units {
                job = job.write_capacity_limit(units);
            }
            job.lease(spec.lease).run().await
        })
    }

    fn erase_owner<'a>(
        &'a self,
        store: DynamoStore,
        keys: Arc<Keys>,
        table: &'a str,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move {
            let (table, caller) = open::<M>(store, keys, table)?;
            table.erase_owner(&caller, owner).await
        })
    }

    fn replace_owner_key<'a>(
        &'a self,
        store: DynamoStore,
        keys: Arc<Keys>,
        table: &'a str,
        owner: &'a str,
        finish: bool,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move {
            let (table, caller) = open::<M>(store, keys, table)?;
            match finish {
                false => table.replace_owner_key(&caller, owner).await,
                true => table.finish_owner_key_replacement(&caller, owner).await,
            }
        })
    }
}
