//! `provision`: creates the tables crypt-model needs — a model's table with its indexes, the job
//! table, the migration plans, the key table and its tombstones — each as the library reads it.

use std::process::ExitCode;

use clap::Args;
use crypt_model::keyring::LocalErasureKey;
use crypt_model::lifecycle::TableCheckpoints;
use crypt_model::{MigrationPlans, OwnerKeys, TableRef, Tombstones};
use crypt_model_dynamo::{ProvisionOptions, provision};

use crate::connect::{Aws, error_text};
use crate::models::Model;

/// Which tables to create.
#[derive(Args, Debug)]
pub(crate) struct ProvisionArgs {
    /// A model's table (with --model when the binary knows several): its key schema, and a
    /// global secondary index per blind or secondary index of the model. On a table that
    /// exists, the indexes it lacks are added (then backfill a blind index).
    #[arg(long)]
    table: Option<String>,
    /// The model of --table, by its logical table name.
    #[arg(long, requires = "table")]
    model: Option<String>,
    /// Give --table a stream of new and old images (for a stream consumer).
    #[arg(long, requires = "table")]
    stream: bool,
    /// The job table: the checkpoints and leases that workers share (`--job-table` of
    /// migrate, rotate and backfill-index).
    #[arg(long)]
    job_table: Option<String>,
    /// The table of migration plans (`--migration-plans-table` of migrate).
    #[arg(long)]
    migration_plans_table: Option<String>,
    /// The key table of models with a key per owner (`--owner-keys-table`).
    #[arg(long)]
    owner_keys_table: Option<String>,
    /// The table of the tombstones that erasures leave (`--tombstone-table`).
    #[arg(long)]
    tombstone_table: Option<String>,
}

/// Creates each table the flags name (idempotent: an existing table gains the indexes it lacks
/// and is otherwise left as it is).
pub(crate) async fn run(
    aws: &Aws,
    model: Option<&dyn Model>,
    args: &ProvisionArgs,
) -> Result<ExitCode, String> {
    let store = aws.store();
    // The tables' shapes only: no key these make is used.
    let unused = || LocalErasureKey::generate().map_err(|e| error_text(&e));
    let shape = |what: &str, name: &str, e: crypt_model::Error| {
        format!("{what} `{name}`: {}", error_text(&e))
    };
    let mut tables: Vec<(&str, TableRef)> = Vec::new();
    if let (Some(name), Some(model)) = (&args.table, model) {
        let table =
            TableRef::for_schema(name, &model.schema()).map_err(|e| shape("the table", name, e))?;
        tables.push(("the model's table", table));
    }
    if let Some(name) = &args.job_table {
        let jobs = TableCheckpoints::new(store.clone(), name)
            .map_err(|e| shape("the job table", name, e))?;
        tables.push(("the job table", jobs.table_ref().clone()));
    }
    if let Some(name) = &args.migration_plans_table {
        let plans = MigrationPlans::new(store.clone(), name, unused()?)
            .map_err(|e| shape("the migration plans", name, e))?;
        tables.push(("the migration plans", plans.table_ref().clone()));
    }
    if let Some(name) = &args.tombstone_table {
        let tombstones = Tombstones::new(store.clone(), name, unused()?)
            .map_err(|e| shape("the tombstone table", name, e))?;
        tables.push(("the tombstone table", tombstones.table_ref().clone()));
    }
    if let Some(name) = &args.owner_keys_table {
        let tombstones = Tombstones::new(store.clone(), "unused", unused()?)
            .map_err(|e| shape("the key table", name, e))?;
        let keys = OwnerKeys::new(store.clone(), name, tombstones)
            .map_err(|e| shape("the key table", name, e))?;
        tables.push(("the key table", keys.table_ref().clone()));
    }
    if tables.is_empty() {
        return Err(
            "name a table to create: --table (with --model), --job-table, \
                    --migration-plans-table, --owner-keys-table or --tombstone-table"
                .to_owned(),
        );
    }
    for (what, table) in tables {
        let options = ProvisionOptions {
            stream: args.stream && what == "the model's table",
        };
        provision(&aws.dynamo, &table, options).await.map_err(|e| {
            format!(
                "cannot create {what} `{}`: {}",
                table.name(),
                error_text(&e)
            )
        })?;
        println!("{what} `{}`: ready", table.name());
    }
    Ok(ExitCode::SUCCESS)
}

impl ProvisionArgs {
    /// The model flag, for the command line to find the model.
    pub(crate) fn model(&self) -> Option<(&str, Option<&str>)> {
        self.table
            .as_deref()
            .map(|table| (table, self.model.as_deref()))
    }
}
