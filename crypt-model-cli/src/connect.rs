//! What a command connects to: the AWS configuration (the standard chain: profile, region,
//! `AWS_ENDPOINT_URL`), the DynamoDB store, and the keys built from the key flags.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use crypt_model::keyring::WrappedDataKey;
use crypt_model::lifecycle::TableCheckpoints;
use crypt_model::zeroize::Zeroizing;
use crypt_model::{
    IndexSecret, Keys, LocalKeyring, MigrationPlans, OwnerKeys, Schema, Suite, Tombstones,
};
use crypt_model_dynamo::{DynamoStore, KmsErasureKey, KmsKeyring};

/// The keys a command that opens or seals records needs. Each flag has an environment variable,
/// so that a deployment sets them once.
#[derive(Args, Debug, Default)]
pub(crate) struct KeyArgs {
    /// The KMS key that wraps new data keys (key id, key ARN, alias name or alias ARN).
    #[arg(long, env = "CRYPT_MODEL_KMS_KEY")]
    pub(crate) kms_key: Option<String>,
    /// Older KMS keys the records may still be under, read but never used for new data keys
    /// (repeat the flag, or separate them with commas).
    #[arg(
        long = "read-key",
        env = "CRYPT_MODEL_READ_KEYS",
        value_delimiter = ','
    )]
    pub(crate) read_keys: Vec<String>,
    /// A file holding the blind-index secret (for models with an index): wrapped by KMS, in the
    /// text form of `WrappedDataKey::to_text` (unwrapped with the KMS keys given), or 64 hex
    /// digits.
    #[arg(long, env = "CRYPT_MODEL_INDEX_SECRET_FILE")]
    pub(crate) index_secret_file: Option<PathBuf>,
    /// A file holding the index secret being rotated out, in either form (backfill-index after
    /// an index-secret rotation).
    #[arg(long, env = "CRYPT_MODEL_PREVIOUS_INDEX_SECRET_FILE")]
    pub(crate) previous_index_secret_file: Option<PathBuf>,
    /// The namespace the wrapped index secrets were made under
    /// (`IndexSecret::generate_wrapped_in`); none for `generate_wrapped`'s.
    #[arg(long, env = "CRYPT_MODEL_INDEX_SECRET_NAMESPACE")]
    pub(crate) index_secret_namespace: Option<String>,
    /// The key table of models with a key per owner (`#[crypt_model(key_per_owner)]`).
    #[arg(long, env = "CRYPT_MODEL_OWNER_KEYS_TABLE")]
    pub(crate) owner_keys_table: Option<String>,
    /// The table of the tombstones that erasures leave (with --owner-keys-table).
    #[arg(long, env = "CRYPT_MODEL_TOMBSTONE_TABLE")]
    pub(crate) tombstone_table: Option<String>,
    /// The KMS HMAC key that authenticates the tombstones (key id, key ARN, alias name or alias
    /// ARN; with --owner-keys-table): an erasure signs with it, every reader verifies.
    #[arg(long, env = "CRYPT_MODEL_ERASURE_KEY")]
    pub(crate) erasure_key: Option<String>,
    /// Erasure keys rotated out, whose tombstones still hold (repeat the flag, or separate them
    /// with commas).
    #[arg(
        long = "previous-erasure-key",
        env = "CRYPT_MODEL_PREVIOUS_ERASURE_KEYS",
        value_delimiter = ','
    )]
    pub(crate) previous_erasure_keys: Vec<String>,
    /// How long, in seconds, a process keeps an owner's key (default 300). For
    /// `replace-owner-key --finish` and the re-encryption before it: the longest of every process
    /// of the application (the same value for both: set CRYPT_MODEL_OWNER_KEY_CACHE_AGE), since
    /// until it has passed since the new key was stored another process may still seal under the
    /// old key.
    #[arg(long, env = "CRYPT_MODEL_OWNER_KEY_CACHE_AGE")]
    pub(crate) owner_key_cache_age: Option<u64>,
    /// The algorithm suites opened besides the model's own (`aes256gcm`, `xchacha20poly1305`,
    /// or `all`; separate them with commas): while a re-encryption moves a table to the model's
    /// suite, `all`. By default the model's suite only, so that a record of another suite — an
    /// old copy put back in the table — is reported, not opened and sealed again.
    #[arg(long = "open-suites", env = "CRYPT_MODEL_OPEN_SUITES", value_parser = suites)]
    pub(crate) open_suites: Option<Suites>,
}

/// The suites of `--open-suites`.
#[derive(Clone, Debug)]
pub(crate) struct Suites(Vec<Suite>);

/// Parses `--open-suites`.
fn suites(list: &str) -> Result<Suites, String> {
    Suite::parse_list(list).map(Suites).ok_or_else(|| {
        format!("`{list}`: name suites as `aes256gcm`, `xchacha20poly1305` or `all`, separated by commas")
    })
}

/// The migration plans of `migrate` (docs/migration.md).
#[derive(Args, Debug)]
pub(crate) struct PlanArgs {
    /// The table of the migration plans (partition key `entry`, a string).
    #[arg(long, env = "CRYPT_MODEL_MIGRATION_PLANS_TABLE")]
    pub(crate) migration_plans_table: Option<String>,
    /// The KMS HMAC key that tags the plans (key id, key ARN, alias name or alias ARN): the
    /// plan signs with it, every reader verifies.
    #[arg(long, env = "CRYPT_MODEL_MIGRATION_KEY")]
    pub(crate) migration_key: Option<String>,
    /// How many days a new plan admits plaintext (0: until the migration closes it).
    #[arg(long, default_value_t = 30)]
    pub(crate) plan_lifetime_days: u64,
    /// With --plan: plan over a closed or expired plan, and admit records the open plan admitted
    /// with other contents, as they are now (look at what the migration reported first).
    #[arg(long, requires = "plan")]
    pub(crate) reopen: bool,
}

impl Aws {
    /// The migration plans the flags name.
    pub(crate) async fn plans(&self, args: &PlanArgs) -> Result<MigrationPlans, String> {
        let (Some(table), Some(key)) = (&args.migration_plans_table, &args.migration_key) else {
            return Err(
                "a migration needs its plan table and the key that tags the plans: \
                        give them with --migration-plans-table and --migration-key (or \
                        CRYPT_MODEL_MIGRATION_PLANS_TABLE and CRYPT_MODEL_MIGRATION_KEY)"
                    .to_owned(),
            );
        };
        let kms = aws_sdk_kms::Client::new(&self.config);
        let key = KmsErasureKey::connect(kms, key)
            .await
            .map_err(|e| format!("cannot use the migration key {key}: {}", error_text(&e)))?;
        let lifetime = (args.plan_lifetime_days > 0)
            .then(|| std::time::Duration::from_secs(args.plan_lifetime_days * 86_400));
        Ok(MigrationPlans::new(self.store(), table, key)
            .map_err(|e| error_text(&e))?
            .with_lifetime(lifetime))
    }
}

/// The AWS configuration and the clients built from it.
pub(crate) struct Aws {
    pub(crate) config: aws_config::SdkConfig,
    pub(crate) dynamo: aws_sdk_dynamodb::Client,
}

impl Aws {
    /// The standard chain, as the AWS CLI reads it.
    pub(crate) async fn load() -> Aws {
        Self::from_config(aws_config::load_from_env().await)
    }

    /// On `config`.
    pub(crate) fn from_config(config: aws_config::SdkConfig) -> Aws {
        let dynamo = aws_sdk_dynamodb::Client::new(&config);
        Aws { config, dynamo }
    }

    /// DynamoDB's description of `table`; an error that names it when it cannot be described.
    pub(crate) async fn describe(
        &self,
        table: &str,
    ) -> Result<aws_sdk_dynamodb::types::TableDescription, String> {
        let described = self
            .dynamo
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| format!("cannot describe table `{table}`: {}", error_text(&e)))?;
        described
            .table
            .ok_or_else(|| format!("DynamoDB described no table `{table}`"))
    }

    /// The job table `name` (checkpoints and leases shared by workers), checked to exist: a
    /// mistyped name is an error now, not after the first page.
    pub(crate) async fn job_table(&self, name: &str) -> Result<TableCheckpoints, String> {
        let invalid = |e: crypt_model::Error| format!("--job-table {name}: {}", error_text(&e));
        let checkpoints = TableCheckpoints::new(self.store(), name).map_err(invalid)?;
        self.dynamo
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "cannot use the job table `{name}`: {} (create it with `crypt-model \
                     provision --job-table {name}`)",
                    error_text(&e)
                )
            })?;
        Ok(checkpoints)
    }

    /// The store over the DynamoDB client.
    pub(crate) fn store(&self) -> DynamoStore {
        DynamoStore::new(self.dynamo.clone())
    }

    /// The keys for `schema`'s records: the KMS keyring, the index secrets, the key table.
    pub(crate) async fn keys(&self, args: &KeyArgs, schema: &Schema) -> Result<Arc<Keys>, String> {
        let primary = args.kms_key.as_deref().ok_or(
            "no KMS key: give the key that wraps new data keys with --kms-key (or \
             CRYPT_MODEL_KMS_KEY), and the keys rotated out with --read-key",
        )?;
        let kms = aws_sdk_kms::Client::new(&self.config);
        let read: Vec<&str> = args.read_keys.iter().map(String::as_str).collect();
        let keyring = KmsKeyring::connect(kms, primary, &read)
            .await
            .map_err(|e| format!("cannot use the KMS keys: {}", error_text(&e)))?;
        let namespace = args.index_secret_namespace.as_deref();
        let secret = match &args.index_secret_file {
            Some(path) => Some(index_secret(path, &keyring, namespace).await?),
            None => None,
        };
        let previous = match &args.previous_index_secret_file {
            Some(path) => Some(index_secret(path, &keyring, namespace).await?),
            None => None,
        };
        let mut keys = Keys::new(keyring);
        if let Some(Suites(suites)) = &args.open_suites {
            keys = keys.with_suites(suites.iter().copied());
        }
        if let Some(secret) = secret {
            keys = keys.with_index_secret(secret);
        } else if let Some(spec) = schema.blind_indexes().first() {
            return Err(format!(
                "the model `{}` has a blind index on `{}`: give its secret with \
                 --index-secret-file (or CRYPT_MODEL_INDEX_SECRET_FILE)",
                schema.table(),
                spec.field()
            ));
        }
        if let Some(previous) = previous {
            keys = keys.with_previous_index_secret(previous);
        }
        match (&args.owner_keys_table, schema.keeps_key_per_owner()) {
            (Some(table), _) => {
                keys = keys.with_owner_keys(self.owner_keys(args, table).await?);
            }
            (None, true) => return Err(no_key_table(schema)),
            (None, false) => {}
        }
        Ok(Arc::new(keys))
    }
}

impl Aws {
    /// The keys of an erasure, which unwraps no data key: the key table and its tombstones,
    /// with a keyring and an index secret of its own that nothing uses (a table needs them to be
    /// opened), so that the erasure's role needs no KMS permission but `kms:GenerateMac` on the
    /// erasure key.
    pub(crate) async fn erasure_keys(
        &self,
        args: &KeyArgs,
        schema: &Schema,
    ) -> Result<Arc<Keys>, String> {
        let unused = |e: crypt_model::Error| error_text(&e);
        let mut keys = Keys::new(LocalKeyring::generate().map_err(unused)?)
            .with_index_secret(IndexSecret::generate().map_err(unused)?);
        match &args.owner_keys_table {
            Some(table) => {
                keys = keys.with_owner_keys(self.owner_keys(args, table).await?);
            }
            None if schema.keeps_key_per_owner() => return Err(no_key_table(schema)),
            None => {}
        }
        Ok(Arc::new(keys))
    }
}

impl Aws {
    /// The key table `table`, its tombstones in the table and under the KMS key the flags name.
    pub(crate) async fn owner_keys(
        &self,
        args: &KeyArgs,
        table: &str,
    ) -> Result<OwnerKeys, String> {
        let (Some(tombstones), Some(erasure_key)) = (&args.tombstone_table, &args.erasure_key)
        else {
            return Err(
                "a key table needs its tombstone table and the key that authenticates \
                        the tombstones: give them with --tombstone-table and --erasure-key (or \
                        CRYPT_MODEL_TOMBSTONE_TABLE and CRYPT_MODEL_ERASURE_KEY)"
                    .to_owned(),
            );
        };
        let kms = aws_sdk_kms::Client::new(&self.config);
        let connect = |key: &str| {
            let kms = kms.clone();
            let key = key.to_owned();
            async move {
                KmsErasureKey::connect(kms, &key)
                    .await
                    .map_err(|e| format!("cannot use the erasure key {key}: {}", error_text(&e)))
            }
        };
        let mut tombstones = Tombstones::new(self.store(), tombstones, connect(erasure_key).await?)
            .map_err(|e| error_text(&e))?;
        for previous in &args.previous_erasure_keys {
            tombstones = tombstones.with_previous_key(connect(previous).await?);
        }
        let keys = OwnerKeys::new(self.store(), table, tombstones).map_err(|e| error_text(&e))?;
        Ok(match args.owner_key_cache_age {
            Some(age) => keys.with_cache_limits(
                crypt_model::CacheLimits::default().max_age(std::time::Duration::from_secs(age)),
            ),
            None => keys,
        })
    }
}

/// The error of a model with a key per owner given no key table.
fn no_key_table(schema: &Schema) -> String {
    format!(
        "the model `{}` keeps a key per owner: name its key table with --owner-keys-table (or \
         CRYPT_MODEL_OWNER_KEYS_TABLE)",
        schema.table()
    )
}

/// An index secret from a file: its wrapped text form (`WrappedDataKey::to_text`), unwrapped
/// by `keyring`, or 64 hex digits (surrounding white space ignored).
async fn index_secret(
    path: &Path,
    keyring: &KmsKeyring,
    namespace: Option<&str>,
) -> Result<IndexSecret, String> {
    let unreadable =
        |e: std::io::Error| format!("cannot read the index secret file {}: {e}", path.display());
    // A wrapped key's text is a few hundred characters: a larger file is not one.
    // Room for all of it at once, so that no copy is left behind a reallocation unwiped.
    let mut text = Zeroizing::new(String::with_capacity(4097));
    std::fs::File::open(path)
        .and_then(|file| {
            std::io::Read::read_to_string(&mut std::io::Read::take(file, 4096), &mut text)
        })
        .map_err(unreadable)?;
    let in_file = |e: crypt_model::Error| {
        format!(
            "the index secret file {}: {}",
            path.display(),
            error_text(&e)
        )
    };
    if text.trim_start().starts_with("crypt-model-wrapped-key.") {
        let wrapped = WrappedDataKey::from_text(&text).map_err(in_file)?;
        let unwrapped = match namespace {
            Some(namespace) => IndexSecret::unwrap_in(keyring, &wrapped, namespace).await,
            None => IndexSecret::unwrap(keyring, &wrapped).await,
        };
        return unwrapped.map_err(in_file);
    }
    let bytes = hex::decode(text.trim()).map_err(|_| {
        format!(
            "the index secret file {} holds neither a wrapped secret \
             (crypt-model-wrapped-key.v1.…) nor 64 hex digits",
            path.display()
        )
    })?;
    let bytes = Zeroizing::new(bytes);
    IndexSecret::from_bytes(&bytes).map_err(in_file)
}

/// An error with its sources, as one line (an SDK error's own text is often only "service
/// error").
pub(crate) fn error_text<E: std::error::Error + ?Sized>(error: &E) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        // The SDK repeats itself down the chain (`service error: ResourceNotFoundException:
        // ResourceNotFoundException: …`): a source already said is not said again.
        let said = inner.to_string();
        if !said.is_empty() && !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = inner.source();
    }
    // The SDK quotes the whole request it could not send (`to request `Request { body: …`):
    // nothing an operator needs, and long.
    if let Some(start) = text.find(" to request `") {
        // The request may hold backticks of its own: it ends at the last "`: ".
        match text[start..].rfind("`: ") {
            Some(end) => text.replace_range(start..start + end + 1, ""),
            None => text.truncate(start),
        }
    }
    if text.contains("endpoint is not a valid URI") {
        text.push_str(
            " (check AWS_ENDPOINT_URL, or the profile's endpoint_url: a URL such as \
             https://dynamodb.us-east-1.amazonaws.com, or http://127.0.0.1:8000 for a local server)",
        );
    }
    // No credentials anywhere: the SDK reports only its last source, the instance metadata.
    let lower = text.to_ascii_lowercase();
    if lower.contains("credential") && (lower.contains("imds") || lower.contains("no credentials"))
    {
        text.push_str(
            " (no AWS credentials were found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY, or run where a role provides them)",
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::error_text;

    #[derive(Debug)]
    struct Said(&'static str, Option<Box<Said>>);

    impl std::fmt::Display for Said {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Said {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|s| s as _)
        }
    }

    #[test]
    fn an_sdk_error_reads_once_without_the_request_and_says_what_to_do() {
        let repeated = Said(
            "service error",
            Some(Box::new(Said(
                "ResourceNotFoundException: not found",
                Some(Box::new(Said("ResourceNotFoundException: not found", None))),
            ))),
        );
        assert_eq!(
            error_text(&repeated),
            "service error: ResourceNotFoundException: not found"
        );
        let endpoint = Said(
            "dispatch failure: failed to apply endpoint `x y` to request `Request { body: \
             SdkBody { inner: Once(Some(b\"{}\")) } }`: endpoint is not a valid URI",
            None,
        );
        let text = error_text(&endpoint);
        assert!(
            !text.contains("Request {") && !text.contains("SdkBody"),
            "{text}"
        );
        assert!(text.contains("failed to apply endpoint `x y`: endpoint is not a valid URI"));
        assert!(text.contains("check AWS_ENDPOINT_URL"), "{text}");
        let imds = Said(
            "an error occurred while loading credentials: failed to load IMDS session token",
            None,
        );
        assert!(error_text(&imds).contains("no AWS credentials were found"));
    }
}
