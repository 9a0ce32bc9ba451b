//! [`Keys`]: the keys an application's tables use — its keyring behind a data-key cache, the
//! key table of the models with a key per owner, and the blind-index secrets. Configuration,
//! not an engine: it seals and opens nothing and reads no store; a [`Table`](crate::Table) takes
//! from it, once, the key source its model needs and the index secrets.

use crate::error::ConfigError;
use std::fmt;
use std::sync::Arc;

use crate::blind_index::{IndexSecret, IndexSecrets};
use crate::cache::{CacheLimits, KeyCache};
use crate::error::{Error, Result};
use crate::key_source::KeySource;
use crate::keyring::{CachedKeys, EncryptionContext, Keyring, KeyringCalls};
use crate::owner_keys::OwnerKeys;
use crate::schema::{Schema, Suite, Suites};

/// The keys of an application: a keyring (AWS KMS in production, a [`LocalKeyring`] in
/// development) behind a data-key cache, and, when its models need them, a key table of owner
/// keys ([`with_owner_keys`](Self::with_owner_keys)) and an index secret
/// ([`with_index_secret`](Self::with_index_secret)).
///
/// Each record is sealed under keys derived (HKDF-SHA256) from a data key and a random salt; the
/// keyring wraps the data key, and the cache lets one data key serve many records within its
/// [`CacheLimits`], so that the key provider sees one request per 10,000 writes or 5 minutes by
/// default. `docs/format.md` specifies the bytes.
///
/// `Keys` is cheap to share (`Arc<Keys>`) and safe to use from many tasks; give the same
/// one to every table of the application.
///
/// ```
/// use std::sync::Arc;
/// use crypt_model::{Caller, Keys, EncryptedItem, LocalKeyring, MemoryStore, Sensitive, Table};
///
/// #[derive(EncryptedItem)]
/// #[crypt_model(table = "notes")]
/// struct Note {
///     #[partition_key]
///     #[owner]
///     user_id: String,
///     #[sensitive]
///     body: Sensitive<String>,
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), crypt_model::Error> {
/// let keys = Arc::new(Keys::new(LocalKeyring::generate()?));
/// let notes = Table::<Note, _>::new(MemoryStore::new(), keys.clone())?;
/// let alice = Caller::user("alice")?;
/// notes.put(&alice, &mut Note { user_id: "alice".into(), body: Sensitive::new("dear diary".into()) }).await?;
/// assert_eq!(keys.keyring_calls().generate, 1);
/// # Ok(()) }
/// ```
///
/// [`LocalKeyring`]: crate::LocalKeyring
pub struct Keys {
    cache: Arc<KeyCache>,
    owner_keys: Option<Arc<OwnerKeys>>,
    index_secrets: IndexSecrets,
    /// The suites whose records these keys open, besides each model's own.
    suites: Suites,
}

impl Keys {
    /// The keys of `keyring`, with the default [`CacheLimits`].
    pub fn new(keyring: impl Keyring + 'static) -> Self {
        Self::with_cache_limits(keyring, CacheLimits::default())
    }

    /// The keys of `keyring` with the given cache limits.
    pub fn with_cache_limits(keyring: impl Keyring + 'static, limits: CacheLimits) -> Self {
        Keys {
            cache: Arc::new(KeyCache::new(Arc::new(keyring), limits)),
            owner_keys: None,
            index_secrets: IndexSecrets::default(),
            suites: Suites::by_default(),
        }
    }

    /// Sets the key table of the models with `#[crypt_model(key_per_owner)]`: each owner's
    /// records are sealed under a key of their own, kept only there (see [`OwnerKeys`]), and
    /// wrapped by these keys' keyring.
    pub fn with_owner_keys(mut self, keys: OwnerKeys) -> Self {
        self.owner_keys = Some(Arc::new(keys.bound(KeyCache::clone(&self.cache))));
        self
    }

    /// The key table of owner keys, if one is set.
    pub fn owner_keys(&self) -> Option<&OwnerKeys> {
        self.owner_keys.as_deref()
    }

    /// Sets the secret that blind-index keys derive from (needed by models with
    /// `#[sensitive(index = …)]`); see [`IndexSecret`].
    pub fn with_index_secret(mut self, secret: IndexSecret) -> Self {
        self.index_secrets = self.index_secrets.with_current(secret);
        self
    }

    /// While a new index secret is rolled out: the secret it replaces. Writes index under the
    /// current secret ([`with_index_secret`](Self::with_index_secret)); [`Table::find`](crate::Table::find)
    /// also looks up the value under this one, so records not yet rewritten are still found.
    /// Remove it once the backfill job ([`lifecycle::Job::backfill`](crate::lifecycle::Job::backfill))
    /// reports every record done (`docs/searchable.md`, "Rotating the index secret").
    pub fn with_previous_index_secret(mut self, secret: IndexSecret) -> Self {
        self.index_secrets = self.index_secrets.with_previous(secret);
        self
    }

    /// Sets the suites whose records these keys open besides each model's own (docs/format.md,
    /// "Suites"): a table opens the records of the suite its model seals with, and of these; a
    /// record sealed with another is refused with
    /// [`DataError::SuiteNotAllowed`](crate::error::DataError::SuiteNotAllowed) before its data
    /// key is asked for. By default, none: a table opens its model's suite only.
    ///
    /// Give both suites while a re-encryption moves a table from one suite to the other (the
    /// application and the job must read the records not moved yet: docs/fips.md, "Moving a
    /// table to suite 2"), then remove the call, so that no record of the old suite — an old
    /// copy put back by someone who can write the table — is opened again. In a `fips` build, a
    /// warning says so when these keys name a suite that is not NIST-approved.
    ///
    /// ```
    /// use crypt_model::{Keys, LocalKeyring, Suite};
    ///
    /// # fn main() -> Result<(), crypt_model::Error> {
    /// // While the move runs: open both suites.
    /// let keys = Keys::new(LocalKeyring::generate()?).with_suites(Suite::ALL);
    /// # Ok(()) }
    /// ```
    pub fn with_suites(mut self, suites: impl IntoIterator<Item = Suite>) -> Self {
        self.suites = suites.into_iter().collect();
        #[cfg(feature = "fips")]
        for suite in self.suites.iter().filter(|suite| !suite.nist_approved()) {
            tracing::warn!(
                target: "crypt_model::fips",
                suite = suite.name(),
                "a fips build opens records of a suite that is not NIST-approved, as \
                 `Keys::with_suites` asks: leave it out once no record of it is left"
            );
        }
        self
    }

    /// The calls that reached the keyring so far: the key-provider budget of what these keys
    /// did.
    pub fn keyring_calls(&self) -> KeyringCalls {
        self.cache.calls()
    }

    /// The keys the cache holds now. Keys past the [`CacheLimits`] age are dropped (and wiped)
    /// within a second, whether or not the keys are used.
    pub fn cached_keys(&self) -> CachedKeys {
        CachedKeys {
            owner_keys: self
                .owner_keys
                .as_ref()
                .map_or(0, |keys| keys.cached_count()),
            ..self.cache.cached()
        }
    }

    /// Wraps the owner keys of the key table ([`with_owner_keys`](Self::with_owner_keys)) that
    /// are not under the keyring's primary key-encryption key again, under it: the rotation of
    /// the key-encryption key for models with `#[crypt_model(key_per_owner)]`, whose records
    /// name no key-encryption key. Afterwards the old key can be retired (after an inventory
    /// with a keyring that holds only the new one). Each row is rewritten only if unchanged, so
    /// an erasure meanwhile is not undone. Returns how many rows were rewrapped.
    pub async fn rewrap_owner_keys(&self) -> Result<u64> {
        let keys = self.owner_keys.as_ref().ok_or_else(|| {
            Error::Config(ConfigError::Unsupported {
                table: "(owner keys)".to_owned(),
                operation: "rewrap_owner_keys",
                reason: "these keys have no key table: give it one with `Keys::with_owner_keys`"
                    .to_owned(),
            })
        })?;
        keys.rewrap_all().await
    }

    /// The key source of a model: its owners' keys under `#[crypt_model(key_per_owner)]` (an
    /// error without a key table), else the shared keys. Chosen once, when a table is made.
    pub(crate) fn source_for(&self, schema: &Schema) -> Result<Arc<dyn KeySource>> {
        if !schema.keeps_key_per_owner() {
            return Ok(self.cache.clone());
        }
        match &self.owner_keys {
            Some(keys) => Ok(keys.clone()),
            None => Err(no_owner_keys(schema)),
        }
    }

    /// [`source_for`](Self::source_for), borrowed: for one record opened or sealed outside a
    /// table.
    pub(crate) fn source_ref(&self, schema: &Schema) -> Result<&dyn KeySource> {
        if !schema.keeps_key_per_owner() {
            return Ok(&*self.cache);
        }
        match &self.owner_keys {
            Some(keys) => Ok(&**keys),
            None => Err(no_owner_keys(schema)),
        }
    }

    /// The suites a model's records are opened under: these keys' and the model's own.
    pub(crate) fn suites_for(&self, schema: &Schema) -> Suites {
        self.suites.with(schema.sealing_suite())
    }

    /// The index secrets.
    pub(crate) fn index_secrets(&self) -> &IndexSecrets {
        &self.index_secrets
    }

    /// The shared keys (a rotation's rewrap asks them directly).
    pub(crate) fn shared_keys(&self) -> &KeyCache {
        &self.cache
    }

    /// The id of the key-encryption key that wraps new data keys of the logical table `table`
    /// (the keyring's primary): as the keyring gives it, else from the data key the next write
    /// would take.
    pub(crate) async fn current_key_id(&self, table: &'static str) -> Result<String> {
        if let Some(id) = self.cache.keyring().primary_key_id() {
            return Ok(id.to_owned());
        }
        let context = EncryptionContext::for_static_table(table);
        let key = self.cache.encryption_key(&context, 0).await?;
        Ok(key.wrapped.key_id.clone())
    }
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("keyring", &self.cache)
            .field("owner_keys", &self.owner_keys)
            .field("index_secrets", &self.index_secrets)
            .field("suites", &self.suites)
            .finish()
    }
}

/// The error of a model with a key per owner whose keys have no key table.
fn no_owner_keys(schema: &Schema) -> Error {
    Error::Config(ConfigError::Unsupported {
        table: schema.table().to_owned(),
        operation: "seal or open a record under its owner's key",
        reason: "the model has `#[crypt_model(key_per_owner)]`: give the Keys its key table \
                 with `Keys::with_owner_keys(OwnerKeys::new(store, \"key-table\", tombstones)?)`"
            .to_owned(),
    })
}
