//! [`Table<T, S>`]: typed, owner-gated operations on the records of one model over a [`Store`].

use crate::error::ConfigError;
use std::sync::Arc;
use std::time::Duration;

mod batch;
mod erase;
mod find;
mod read;
mod records;
#[cfg(test)]
mod tests;
mod write;

pub(crate) use batch::Retry;
pub use find::IndexLookup;
pub(crate) use records::Records;

use crate::access::{Gate, Grant};
use crate::attribute::Key;
use crate::error::Result;
use crate::keys::Keys;
use crate::migration_plans::MigrationPlans;
use crate::model::EncryptedItem;
use crate::store::{Store, TableRef};

/// The records of one model `T` in one physical table of a store `S`: what most applications
/// call. Every operation takes the [`Caller`](crate::Caller) and applies the owner gate; nothing here accepts
/// a table name from a request.
///
/// **Reads of records that belong to someone else look like missing records.** `get` returns
/// `Ok(None)`, `delete` returns `Ok(false)`, and `query` leaves them out, exactly as for a key
/// that holds nothing, so that an HTTP API answers 404 in both cases and a caller cannot learn
/// which keys exist by probing. The refusal is logged (target `crypt_model::access`). Writes
/// cannot hide it: a `put` on a key another owner holds fails with [`AccessError::Denied`](crate::error::AccessError::Denied) and
/// changes nothing.
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
///     #[sort_key]
///     title: String,
///     #[sensitive]
///     body: Sensitive<String>,
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), crypt_model::Error> {
/// let keys = Arc::new(Keys::new(LocalKeyring::generate()?));
/// let notes = Table::<Note, _>::new(MemoryStore::new(), keys)?;
/// let alice = Caller::user("alice")?;
///
/// let mut note = Note { user_id: "alice".into(), title: "todo".into(), body: Sensitive::new("milk".into()) };
/// notes.put(&alice, &mut note).await?;
///
/// let key = Note::key("alice", "todo")?;
/// let read = notes.get(&alice, &key).await?.expect("alice's note");
/// assert_eq!(read.body.expose_secret(), "milk");
/// // Bob gets what he would get for a key that holds nothing.
/// assert!(notes.get(&Caller::user("bob")?, &key).await?.is_none());
/// # Ok(()) }
/// ```
pub struct Table<T, S> {
    records: Records<T, S>,
    retry: Retry,
}

impl<T: EncryptedItem + Send + Sync, S: Store> Table<T, S> {
    /// The model's records in the physical table named as its logical table.
    ///
    /// # Errors
    ///
    /// [`Error::Config`](crate::Error::Config): as [`named`](Self::named).
    pub fn new(store: S, keys: Arc<Keys>) -> Result<Self> {
        Self::named(store, keys, T::SCHEMA.table())
    }

    /// The model's records in the physical table `name`, fixed here by configuration (an
    /// environment's prefix, a restored copy). The name is validated once, now. The logical table
    /// bound into ciphertexts stays the model's.
    ///
    /// A model with a blind index needs `Keys` with an index secret
    /// ([`Keys::with_index_secret`]): without one this fails now, with
    /// [`ConfigError::NoIndexSecret`](crate::error::ConfigError::NoIndexSecret), rather than at the first write.
    ///
    /// # Errors
    ///
    /// [`Error::Config`](crate::Error::Config): an invalid schema or table name, a blind index
    /// without an index secret, a key per owner without a key table.
    pub fn named(store: S, keys: Arc<Keys>, name: &str) -> Result<Self> {
        T::SCHEMA.validate()?;
        if let (Some(spec), false) = (
            T::SCHEMA.blind_indexes().first(),
            keys.index_secrets().has_current(),
        ) {
            return Err(crate::error::Error::Config(ConfigError::NoIndexSecret {
                table: T::SCHEMA.table().to_owned(),
                field: spec.field().to_owned(),
            }));
        }
        let table = TableRef::for_schema(name, &T::SCHEMA)?;
        Ok(Table {
            records: Records::new(store, keys, table)?,
            retry: Retry::default(),
        })
    }

    /// Batches retry unprocessed items up to `attempts` times in all, waiting `base_delay`, then
    /// twice as long each time (at most 5 s), with jitter. Default: 8 attempts from 25 ms.
    pub fn with_batch_retry(mut self, attempts: u32, base_delay: Duration) -> Self {
        self.retry = Retry::new(attempts, base_delay);
        self
    }

    /// The physical table.
    pub fn table_ref(&self) -> &TableRef {
        &self.records.table
    }

    /// The store.
    pub fn store(&self) -> &S {
        self.records.store.inner()
    }

    /// The keys the table was given.
    pub fn keys(&self) -> &Keys {
        self.records.keys()
    }

    /// Lets a service act on this table's records in the grant's scope; see [`Grant`].
    pub fn with_grant(mut self, grant: Grant<T>) -> Self {
        self.records.gate = self.records.gate.with_grant(grant);
        self
    }

    /// Reads the records stored in plaintext that `plans` admit, for a model in migration mode
    /// (`#[crypt_model(migrate_from_plaintext)]`): the run-time half of migration mode. Without
    /// plans, a record stored in plaintext is refused ([`DataError::PlaintextRefused`]) whatever
    /// the model says; with them, only a record the table's open plan admitted, exactly as it was
    /// when the plan job read it. `docs/migration.md` is the runbook.
    ///
    /// [`DataError::PlaintextRefused`]: crate::error::DataError::PlaintextRefused
    pub fn with_plaintext_migration(mut self, plans: MigrationPlans) -> Self {
        self.records.set_plans(plans);
        self
    }

    /// The migration plans the table reads records stored in plaintext by, if it was given
    /// them ([`with_plaintext_migration`](Self::with_plaintext_migration)).
    pub fn plaintext_migration(&self) -> Option<&MigrationPlans> {
        self.records.plans()
    }

    /// The access policy: the owner rule and the grants.
    pub fn gate(&self) -> &Gate<T> {
        &self.records.gate
    }

    /// How many records stored in plaintext this table has read, for a model in migration mode
    /// (`#[crypt_model(migrate_from_plaintext)]`; each read is also logged, target
    /// `crypt_model::migration`). Once the migration job reports nothing left in plaintext, this
    /// stays at zero, and the mode can be switched off.
    pub fn plaintext_reads(&self) -> u64 {
        self.records.plaintext_reads()
    }

    /// The record pipeline of the table: what the jobs work with.
    pub(crate) fn records(&self) -> &Records<T, S> {
        &self.records
    }
}

/// One write of a [`Table::transact`].
pub enum Write<'a, T> {
    /// Stores the record (its version, if any, is incremented on success).
    Put(&'a mut T),
    /// Deletes the record under the key.
    Delete(Key),
}

impl<T, S: std::fmt::Debug> std::fmt::Debug for Table<T, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("table", &self.records.table)
            .field("store", &self.records.store)
            .finish_non_exhaustive()
    }
}
