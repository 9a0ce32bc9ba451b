//! [`Cli`]: the command line, its arguments, and which model each command runs on.

use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use crypt_model::EncryptedItem;
use crypt_model::lifecycle::JobKind;

use crate::audit;
use crate::connect::{Aws, KeyArgs, PlanArgs, error_text};
use crate::erasure;
use crate::jobs::{self, JobArgs, JobCall, rotation_kind};
use crate::models::{Model, Registered};
use crate::plan::{self, PlanJobArgs};
use crate::provision::{self, ProvisionArgs};
use crate::status::{self, JobCommand};

/// The `crypt-model` command line, with the models it was built with.
///
/// The published binary knows no model: it runs `audit`, which needs none. The commands that
/// open or seal records — `migrate`, `rotate`, `backfill-index`, `erase-owner`, `replace-owner-key`, and `audit
/// --model` — need the model's Rust type, which holds each field's encoding, so a team builds
/// its own `crypt-model` binary with its models registered (a few lines, beside the
/// application, so the binary and the application never disagree on a model):
///
/// ```no_run
/// use crypt_model::{EncryptedItem, Sensitive};
///
/// #[derive(EncryptedItem)]
/// #[crypt_model(table = "customers", migrate_from_plaintext)]
/// struct Customer {
///     #[partition_key]
///     #[owner]
///     customer_id: String,
///     #[sensitive]
///     card: Sensitive<String>,
/// }
///
/// #[tokio::main]
/// async fn main() -> std::process::ExitCode {
///     crypt_model_cli::Cli::new().model::<Customer>().run().await
/// }
/// ```
///
/// Then, for example, `crypt-model migrate --table customers-prod --model customers
/// --kms-key alias/customers --segments 8`.
pub struct Cli {
    models: Vec<Box<dyn Model>>,
}

impl Default for Cli {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Cli {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.models.iter().map(|m| m.schema().table()).collect();
        f.debug_struct("Cli").field("models", &names).finish()
    }
}

impl Cli {
    /// A command line that knows no model (the published binary).
    pub fn new() -> Self {
        Cli { models: Vec::new() }
    }

    /// Registers model `M`, named on the command line by its logical table
    /// (`#[crypt_model(table = "…")]`) with `--model`.
    pub fn model<M: EncryptedItem + Send + Sync + 'static>(mut self) -> Self {
        self.models.push(Box::new(Registered::<M>::new()));
        self
    }

    /// Parses the process's arguments, runs the command, and returns its exit status: 0 when
    /// done with nothing to report; 1 when an audit found something, a job could not process
    /// some records, or `erase-owner` found no key; 2 on an error (two registered models with
    /// the same logical table included); 3 when a job's `--time-budget` ran out; 130 or 143
    /// when Ctrl-C or SIGTERM stopped a job (resume it with `--resume`).
    pub async fn run(self) -> ExitCode {
        self.run_from(std::env::args_os()).await
    }

    /// [`run`](Self::run) with the given arguments (the first is the program's name).
    pub async fn run_from<I, T>(self, args: I) -> ExitCode
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let names: Vec<&str> = self.models.iter().map(|m| m.schema().table()).collect();
        if let Some(twice) = names
            .iter()
            .enumerate()
            .find(|(i, n)| names[..*i].contains(n))
        {
            eprintln!(
                "crypt-model: two models of this binary have the logical table `{}`: --model \
                 could not tell them apart",
                twice.1
            );
            return ExitCode::from(2);
        }
        let models = if names.is_empty() {
            "This binary knows no model: `audit` runs without one; for the other commands, build \
             your own with crypt_model_cli::Cli::new().model::<YourModel>()."
                .to_owned()
        } else {
            format!("Models of this binary (--model): {}.", names.join(", "))
        };
        let command = Arguments::command().after_help(models);
        let parsed = match command
            .try_get_matches_from(args)
            .and_then(|matches| Arguments::from_arg_matches(&matches))
        {
            Ok(parsed) => parsed,
            Err(error) => {
                let _ = error.print();
                return ExitCode::from(if error.use_stderr() { 2 } else { 0 });
            }
        };
        crate::logging::init(parsed.log);
        let aws = Aws::load().await;
        match self.dispatch(&aws, parsed.command).await {
            Ok(code) => code,
            Err(message) => {
                eprintln!("crypt-model: {message}");
                ExitCode::from(2)
            }
        }
    }

    async fn dispatch(&self, aws: &Aws, command: Command) -> Result<ExitCode, String> {
        match command {
            Command::Audit {
                target,
                segments,
                max_findings,
                json,
                key_args,
            } => {
                if !(1..=jobs::MAX_SEGMENTS).contains(&segments) {
                    return Err(format!("--segments is 1 to {}", jobs::MAX_SEGMENTS));
                }
                let model = match &target.model {
                    Some(_) => Some(self.find(&target)?),
                    None => None,
                };
                let schema = model.map(|m| m.schema());
                // The keys first, when the records are to be opened: a missing flag fails now,
                // not after a scan of the table.
                let keys = match &schema {
                    Some(schema) => Some(aws.keys(&key_args, schema).await?),
                    None => None,
                };
                let mut report = audit::audit(
                    &aws.dynamo,
                    &target.table,
                    segments,
                    schema.as_ref(),
                    key_args.owner_keys_table.as_deref(),
                    max_findings,
                )
                .await?;
                if let (Some(model), Some(keys)) = (model, keys) {
                    report.integrity =
                        Some(jobs::integrity(aws, model, keys, &target.table, segments).await?);
                }
                if json {
                    println!("{}", report.to_json());
                } else {
                    print!("{}", report.to_text());
                }
                Ok(ExitCode::from(u8::from(report.has_problems())))
            }
            Command::Migrate {
                target,
                close: true,
                plan_args,
                ..
            } => {
                let plans = aws.plans(&plan_args).await?;
                let table = &target.table;
                let closed = plans.close(table).await.map_err(|e| error_text(&e))?;
                println!(
                    "migration plan of {table}: {}",
                    if closed {
                        "closed"
                    } else {
                        "not open (nothing to close)"
                    }
                );
                Ok(ExitCode::SUCCESS)
            }
            command @ (Command::Migrate { .. }
            | Command::Rotate { .. }
            | Command::BackfillIndex { .. }) => {
                jobs::run(aws, self.job_call(aws, command).await?).await
            }
            Command::EraseOwner {
                target,
                owner,
                yes,
                key_args,
            } => {
                erasure::erase_owner(
                    self.find(&target)?,
                    aws,
                    &target.table,
                    &owner,
                    yes,
                    &key_args,
                )
                .await
            }
            Command::ReplaceOwnerKey {
                target,
                owner,
                finish,
                yes,
                key_args,
            } => {
                let model = self.find(&target)?;
                let finish = match (finish, yes) {
                    (false, _) => false,
                    (true, true) => true,
                    (true, false) => {
                        return Err("finishing erases the owner's old key: every record still \
                                    under it, and every copy of one, becomes unreadable. Check \
                                    that a re-encryption run started after the wait reported \
                                    `failed: 0`, then add --yes"
                            .to_owned());
                    }
                };
                erasure::replace_owner_key(model, aws, &target.table, &owner, finish, &key_args)
                    .await
            }
            Command::ReapplyErasures { key_args } => {
                erasure::reapply_erasures(aws, &key_args).await
            }
            Command::Provision(args) => {
                let model = match args.model() {
                    Some((table, model)) => Some(self.find(&Target {
                        table: table.to_owned(),
                        model: model.map(str::to_owned),
                    })?),
                    None => None,
                };
                provision::run(aws, model, &args).await
            }
            Command::Job { command } => status::run(aws, &command).await,
            Command::Plan(args) => plan::run(aws, &args).await,
        }
    }

    /// The job a job command (`migrate`, `rotate`, `backfill-index`) names.
    async fn job_call(&self, aws: &Aws, command: Command) -> Result<JobCall<'_>, String> {
        let (target, kind, args, key_args, plans) = match command {
            Command::Migrate {
                target,
                plan,
                job,
                plan_args,
                key_args,
                ..
            } => {
                let kind = match plan {
                    true => JobKind::PlanMigration,
                    false => JobKind::Migrate,
                };
                (target, kind, job, key_args, Some(plan_args))
            }
            Command::Rotate {
                target,
                mode,
                job,
                key_args,
            } => (target, mode, job, key_args, None),
            Command::BackfillIndex {
                target,
                job,
                key_args,
            } => (target, JobKind::Backfill, job, key_args, None),
            _ => return Err("not a job: migrate, rotate or backfill-index".to_owned()),
        };
        // The model first: a binary that knows none says how to build one.
        let model = self.find(&target)?;
        let plans = match plans {
            Some(args) => Some((aws.plans(&args).await?, args.reopen)),
            None => None,
        };
        Ok(JobCall {
            model,
            table: target.table,
            kind,
            args,
            key_args,
            plans,
        })
    }

    /// The job that the command line `args` names (the program's name first), for the Lambda
    /// worker, which runs it itself.
    pub(crate) async fn parse_job(
        &self,
        aws: &Aws,
        args: Vec<String>,
    ) -> Result<JobCall<'_>, String> {
        let parsed = Arguments::try_parse_from(args).map_err(|e| e.to_string())?;
        self.job_call(aws, parsed.command).await
    }

    /// The model `--model` names, or the only one registered.
    fn find(&self, target: &Target) -> Result<&dyn Model, String> {
        let names: Vec<&str> = self.models.iter().map(|m| m.schema().table()).collect();
        if names.is_empty() {
            return Err(
                "this binary knows no model: build your own crypt-model binary with your models \
                 (crypt_model_cli::Cli::new().model::<YourModel>()); see crypt-model-cli's README"
                    .to_owned(),
            );
        }
        let found = match &target.model {
            Some(name) => self.models.iter().find(|m| m.schema().table() == name),
            None if self.models.len() == 1 => self.models.first(),
            None => {
                return Err(format!(
                    "name the model with --model (one of: {})",
                    names.join(", ")
                ));
            }
        };
        found.map(|m| m.as_ref()).ok_or_else(|| {
            format!(
                "no model `{}` in this binary (it knows: {})",
                target.model.as_deref().unwrap_or_default(),
                names.join(", ")
            )
        })
    }
}

#[derive(Parser)]
#[command(
    name = "crypt-model",
    version,
    about = "Audit and maintain DynamoDB tables encrypted by crypt-model",
    long_about = "Audit and maintain DynamoDB tables encrypted by crypt-model. Configured as the \
                  AWS CLI is: AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, the credential chain.\n\n\
                  `audit` needs no model. The other commands, and `audit --model`, run in a \
                  binary built with your models (crypt_model_cli::Cli::new().model::<M>()).\n\n\
                  Exit status: 0 done; 1 an audit found something, a job could not process \
                  some records, or erase-owner or replace-owner-key found nothing to do; 2 an error; 3 a job \
                  stopped by its --time-budget; 130 (143) a job stopped by Ctrl-C (SIGTERM): run it \
                  again (with --resume, unless it is a --worker)."
)]
struct Arguments {
    /// What is logged on standard error: error, warn, info (each record a job touches, under
    /// the access log's target crypt_model::access), debug, trace.
    #[arg(long, global = true, env = "CRYPT_MODEL_LOG", default_value = "warn")]
    log: tracing::Level,
    #[command(subcommand)]
    command: Command,
}

/// The table, and the model of its records.
#[derive(Args, Debug)]
struct Target {
    /// The DynamoDB table (its physical name).
    #[arg(long)]
    table: String,
    /// The model of its records, by its logical table name (the only one this binary knows,
    /// when it knows one).
    #[arg(long)]
    model: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Scan a table for values that look like plaintext secrets; report format versions, key
    /// ids, records without a header, and (with --model) integrity and index coverage. Exits 1
    /// when anything is found, 2 on an error.
    Audit {
        #[command(flatten)]
        target: Target,
        /// Parallel scan segments.
        #[arg(long, default_value_t = 4)]
        segments: u32,
        /// List at most this many findings (all are counted).
        #[arg(long, default_value_t = 100)]
        max_findings: usize,
        /// The report as JSON (its shape is documented and stable).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        key_args: KeyArgs,
    },
    /// Encrypt the records stored in plaintext (the model is in migration mode) that the
    /// migration plan admitted; with --plan, admit those stored in plaintext now.
    Migrate {
        #[command(flatten)]
        target: Target,
        /// Admit each record stored in plaintext, as it is, into the table's migration plan
        /// (writes no record): run it once every writer encrypts.
        #[arg(long, conflicts_with = "close")]
        plan: bool,
        /// Close the table's migration plan: no reader reads plaintext any more (a migration
        /// run whole closes it itself when it leaves nothing in plaintext).
        #[arg(long)]
        close: bool,
        #[command(flatten)]
        job: JobArgs,
        #[command(flatten)]
        plan_args: PlanArgs,
        #[command(flatten)]
        key_args: KeyArgs,
    },
    /// Move every record (and the key table's rows) onto the primary KMS key.
    Rotate {
        #[command(flatten)]
        target: Target,
        /// rewrap: wrap each data key again (one KMS call per data key); reencrypt: new data
        /// keys, for when a data key may be exposed.
        #[arg(long, value_parser = rotation_kind)]
        mode: JobKind,
        #[command(flatten)]
        job: JobArgs,
        #[command(flatten)]
        key_args: KeyArgs,
    },
    /// Write the blind-index attributes of records that lack current ones (an index added
    /// later, an index secret rotated).
    BackfillIndex {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        job: JobArgs,
        #[command(flatten)]
        key_args: KeyArgs,
    },
    /// Erase an owner's records by destroying their key (models with a key per owner).
    EraseOwner {
        #[command(flatten)]
        target: Target,
        /// The owner's id, or `-` to read it from standard input (kept out of the process list
        /// and the shell's history).
        #[arg(long)]
        owner: String,
        /// Confirm: the erasure cannot be undone.
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        key_args: KeyArgs,
    },
    /// Replace an owner's key by a new one (an exposed key, or old copies of their records to
    /// retire): begin, then after the owner-key cache age re-encrypt (`rotate --mode
    /// reencrypt`, a new run), then `--finish`, which erases the old key.
    ReplaceOwnerKey {
        #[command(flatten)]
        target: Target,
        /// The owner's id, or `-` to read it from standard input.
        #[arg(long)]
        owner: String,
        /// Finish the replacement: erase the old key (every record still under it, and every
        /// copy of one, can no longer be opened).
        #[arg(long)]
        finish: bool,
        /// Confirm the finish: it cannot be undone.
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        key_args: KeyArgs,
    },
    /// Delete again the key rows of erased owners that a restore of the key table (or a raw
    /// write) put back: run it after every restore, with the erasure role.
    ReapplyErasures {
        #[command(flatten)]
        key_args: KeyArgs,
    },
    /// Create the tables crypt-model needs (a model's table and its indexes, the job table,
    /// the migration plans, the key table and its tombstones), or add the indexes an existing
    /// model's table lacks.
    Provision(ProvisionArgs),
    /// What a job will cost before it runs: records, read and write units, KMS calls, and the
    /// time at a rate and a number of workers, from the table's description (docs/scale.md).
    Plan(PlanJobArgs),
    /// A job's state, from its checkpoints alone (`job status --name …`).
    Job {
        #[command(subcommand)]
        command: JobCommand,
    },
}
