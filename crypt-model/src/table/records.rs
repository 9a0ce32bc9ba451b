//! [`Records`]: the parts of a table that the record pipeline works with — the store and the
//! physical table, the gate, the key source and index secrets chosen once for the model — and
//! the steps a table's operations and the jobs take with one record.

use crate::error::{DataError, KeyError, StorageError};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::access::{Caller, Gate, Logged, Permit, Scope};
use crate::attribute::{AttributeValue, Item, Key};
use crate::blind_index::IndexSecrets;
use crate::error::{Error, Result};
use crate::format::{self, Layout, Sealing, StoredRecord};
use crate::key_source::KeySource;
use crate::keyring::WrappedDataKey;
use crate::keys::Keys;
use crate::migration_plans::MigrationPlans;
use crate::model::{EncryptedItem, open_permitted};
use crate::plaintexts::Plaintexts;
use crate::random;
use crate::record::{self, PlaintextReads};
use crate::schema::{Schema, Suites};
use crate::store::{Checked, Condition, Store, TableRef};

/// What a listing found of one record it may open.
pub(crate) enum Listed<T> {
    /// Opened.
    Record(T),
    /// Its owner was erased: passed over.
    Erased,
    /// Read again (see [`Records::open_for`]), it was gone or no longer the caller's: passed
    /// over, as if the listing had read it a moment later.
    Gone,
    /// It did not open, on its own account: its key, and the error.
    Unreadable(Key, Error),
}

/// The records of model `T` in one physical table of a store `S`.
pub(crate) struct Records<T, S> {
    /// Every request checked before the store sees it.
    pub(crate) store: Checked<S>,
    pub(crate) table: TableRef,
    pub(crate) gate: Gate<T>,
    keys: Arc<Keys>,
    source: Arc<dyn KeySource>,
    /// The suites whose records it opens.
    suites: Suites,
    search: IndexSecrets,
    plaintext_reads: AtomicU64,
    /// What admits a record stored in plaintext (migration mode); none refuses them all.
    plans: Option<MigrationPlans>,
}

impl<T: EncryptedItem + Send + Sync, S: Store> Records<T, S> {
    /// The records of `T` in `table` of `store`, with the keys `keys` holds for the model.
    pub(crate) fn new(store: S, keys: Arc<Keys>, table: TableRef) -> Result<Self> {
        warn_if_not_approved(&T::SCHEMA);
        let source = keys.source_for(&T::SCHEMA)?;
        let search = keys.index_secrets().clone();
        let suites = keys.suites_for(&T::SCHEMA);
        Ok(Records {
            store: Checked::new(store),
            table,
            gate: Gate::new(),
            keys,
            source,
            suites,
            search,
            plaintext_reads: AtomicU64::new(0),
            plans: None,
        })
    }

    /// The keys the table was given.
    pub(crate) fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The index secrets.
    pub(crate) fn search(&self) -> &IndexSecrets {
        &self.search
    }

    /// How many records stored in plaintext this table has opened (migration mode).
    pub(crate) fn plaintext_reads(&self) -> u64 {
        self.plaintext_reads.load(Ordering::Relaxed)
    }

    /// Reads records stored in plaintext that `plans` admit.
    pub(crate) fn set_plans(&mut self, plans: MigrationPlans) {
        self.plans = Some(plans);
    }

    /// The migration plans, if the table was given them.
    pub(crate) fn plans(&self) -> Option<&MigrationPlans> {
        self.plans.as_ref()
    }

    /// How an application's read treats a record stored in plaintext.
    fn reads(&self) -> PlaintextReads<'_> {
        match &self.plans {
            Some(plans) => PlaintextReads::Counted(plans, self.table.name(), &self.plaintext_reads),
            None => PlaintextReads::Refused,
        }
    }

    /// The stored record under `key`, parsed.
    pub(crate) async fn fetch(&self, key: &Key) -> Result<Option<StoredRecord>> {
        Ok(self
            .store
            .get(&self.table, key)
            .await?
            .map(|item| self.parse(item)))
    }

    /// A stored item, parsed as a record of the model.
    pub(crate) fn parse(&self, item: Item) -> StoredRecord {
        StoredRecord::parse(&T::SCHEMA, item)
    }

    /// The gate's permit for `caller` to act in `scope` on `record`; `None` when refused (logged
    /// as `logged` says).
    pub(crate) fn admit(
        &self,
        caller: &Caller,
        record: StoredRecord,
        scope: Scope,
        logged: Logged,
    ) -> Option<Permit<T>> {
        self.gate.issue(caller, &T::SCHEMA, record, scope, logged)
    }

    /// The attributes and plaintexts of the record `permit` admits, to be written again (a
    /// record stored in plaintext counted and logged as a read).
    pub(crate) async fn open_fields(&self, permit: Permit<T>) -> Result<(Item, Plaintexts)> {
        record::open_fields(
            &T::SCHEMA,
            permit,
            (&*self.source, self.suites),
            T::__legacy,
            self.reads(),
        )
        .await
    }

    /// Opens the record `permit` admits (a record stored in plaintext counted and logged).
    pub(crate) async fn open(&self, permit: Permit<T>) -> Result<T> {
        open_permitted(permit, (&*self.source, self.suites), self.reads()).await
    }

    /// Opens the record `permit` admits for `caller` (in `scope`); `None` when it had to be read
    /// again and was then gone, no longer the caller's, or no longer what the read asked for.
    ///
    /// A record read in plaintext and then refused by the migration plans may have been sealed,
    /// and its admission revoked, by the migration job between the read and the plans' check: it
    /// is read once more and admitted again, logged as `logged` says (the reason the gate admits
    /// it may have changed: a raw writer's plaintext copy that named the caller as owner, say).
    /// Sealed by then, it opens; still in plaintext, the refusal stands. A listing names in
    /// `same` the attributes its request selected on (an index's keys): a record that no longer
    /// holds the values read under them is no longer part of the listing.
    pub(crate) async fn open_for(
        &self,
        caller: &Caller,
        permit: Permit<T>,
        (scope, logged): (Scope, Logged),
        same: &[&str],
    ) -> Result<Option<T>> {
        // Only a record read in plaintext may have to be read again: its key, and the values it
        // was selected by, kept.
        let again = match permit.record().is_plaintext() {
            true => {
                let attributes = permit.record().attributes();
                let selected: Vec<Option<AttributeValue>> = same
                    .iter()
                    .map(|name| attributes.get(name).cloned())
                    .collect();
                Some((self.table.key_of(attributes)?, selected))
            }
            false => None,
        };
        match (self.open(permit).await, again) {
            (Err(Error::Data(DataError::PlaintextRefused { .. })), Some((key, selected))) => {
                let Some(record) = self.fetch(&key).await? else {
                    return Ok(None);
                };
                let attributes = record.attributes();
                if same
                    .iter()
                    .zip(&selected)
                    .any(|(name, value)| attributes.get(name) != value.as_ref())
                {
                    return Ok(None);
                }
                match self.admit(caller, record, scope, logged) {
                    Some(permit) => self.open(permit).await.map(Some),
                    None => Ok(None),
                }
            }
            (opened, _) => opened.map(Some),
        }
    }

    /// Opens the record `permit` admits for `caller`'s listing (a query, a scan, a search) of
    /// the records whose attributes `same` hold the values read, as [`open_for`](Self::open_for)
    /// does (a record admitted again is logged as a listing's are): passed over when its owner
    /// was erased, as a deleted record would be (logged); reported beside the listing when it
    /// fails on its own (edited, malformed, another version's, a key the provider does not
    /// hold); every other failure (the store, the key provider) is the listing's.
    pub(crate) async fn open_listed(
        &self,
        caller: &Caller,
        permit: Permit<T>,
        same: &[&str],
    ) -> Result<Listed<T>> {
        let key = self.table.key_of(permit.record().attributes())?;
        let reading = (Scope::Read, Logged::GrantUses);
        match self.open_for(caller, permit, reading, same).await {
            Ok(Some(record)) => Ok(Listed::Record(record)),
            Ok(None) => Ok(Listed::Gone),
            Err(Error::Key(KeyError::OwnerKeyErased { .. })) => {
                tracing::info!(
                    target: "crypt_model::access",
                    table = T::SCHEMA.table(),
                    "a listing passed a record whose owner was erased"
                );
                Ok(Listed::Erased)
            }
            Err(error) if error.is_about_one_record() => Ok(Listed::Unreadable(key, error)),
            Err(error) => Err(error),
        }
    }

    /// Opens the record `permit` admits for a job (a record stored in plaintext not counted as
    /// an application's read), as the model — so that every field is checked to parse — and
    /// gives its parts back, to seal again. A record stored in plaintext must be one the plans
    /// admit, but for the plan job (`planning`), which reads it to admit it.
    pub(crate) async fn open_parts(
        &self,
        permit: Permit<T>,
        planning: bool,
    ) -> Result<(Item, Plaintexts)> {
        let reads = match (&self.plans, planning) {
            (_, true) => PlaintextReads::Planning,
            (Some(plans), false) => PlaintextReads::Job(plans, self.table.name()),
            (None, false) => PlaintextReads::Refused,
        };
        open_permitted(permit, (&*self.source, self.suites), reads)
            .await?
            .__to_parts()
    }

    /// Refuses the record `permit` admits if the table does not open its suite: before anything
    /// asks for its key.
    pub(crate) fn check_suite(&self, permit: &Permit<T>) -> Result<()> {
        record::check_suite(&T::SCHEMA, permit, self.suites)
    }

    /// The sealing of the record `permit` admits under `wrapped`, its data key wrapped under
    /// another key-encryption key (a rotation's rewrap): its message opened, checked, and sealed
    /// again under the new header, its plaintext never copied.
    pub(crate) async fn rewrap(
        &self,
        permit: Permit<T>,
        wrapped: &WrappedDataKey,
    ) -> Result<Sealing> {
        record::check_suite(&T::SCHEMA, &permit, self.suites)?;
        let key = record::data_key(&permit, &*self.source)
            .await?
            .ok_or_else(format::header_integrity)?;
        let record = permit.record();
        let Ok(Layout::Encrypted(envelope)) = record.layout() else {
            return Err(format::header_integrity());
        };
        format::rewrap(
            &T::SCHEMA,
            envelope,
            record.attributes(),
            &key,
            wrapped,
            random::array()?,
        )
    }

    /// Seals `plaintexts` into `item`, which holds a record's plain attributes.
    /// Returns the id of the key-encryption key the record is now under (the owner key's id for
    /// a model with a key per owner).
    pub(crate) async fn seal(&self, item: &mut Item, plaintexts: &Plaintexts) -> Result<String> {
        let key = record::seal(&T::SCHEMA, item, plaintexts, &*self.source, &self.search).await?;
        Ok(key.wrapped.key_id.clone())
    }

    /// The plain attributes and plaintexts of `record`, with its next version when the model has
    /// one (authenticated with the rest).
    pub(crate) fn parts_to_write(&self, record: &T) -> Result<(Item, Plaintexts)> {
        let (mut item, plaintexts) = record.__to_parts()?;
        if let (Some(attribute), Some(version)) = (T::SCHEMA.version(), record.version()) {
            let next = version
                .checked_add(1)
                .ok_or_else(|| version_overflow(&T::SCHEMA))?;
            item.insert(attribute, AttributeValue::from(next));
        }
        Ok((item, plaintexts))
    }

    /// Writes `new` over `stored`, the item as it was read (stored before encryption if
    /// `plaintext`), if the record is unchanged since and `extra` holds; `false` when it changed
    /// (read it again). One conditional update, built by the one function that builds every
    /// rewrite.
    pub(crate) async fn rewrite(
        &self,
        stored: &Item,
        plaintext: bool,
        new: &Item,
        extra: Vec<Condition>,
    ) -> Result<bool> {
        let key = self.table.key_of(stored)?;
        let (update, condition) =
            record::rewrite_of(&T::SCHEMA, &self.table, stored, plaintext, new, extra);
        match self
            .store
            .update(&self.table, &key, &update, &condition)
            .await
        {
            Ok(()) => Ok(true),
            Err(Error::Storage(StorageError::ConditionFailed { .. })) => Ok(false),
            Err(error) => Err(error),
        }
    }
}

/// The error of a version that cannot count one more write.
pub(crate) fn version_overflow(schema: &Schema) -> Error {
    Error::Data(DataError::InvalidValue {
        attribute: schema.version().unwrap_or_default().to_owned(),
        reason: "the version cannot count another write (it is at u64::MAX)".to_owned(),
    })
}

/// In a `fips` build, warns about a model that seals with a suite that is not NIST-approved
/// (one that names it: a model that names none seals with suite 2 there), when its table is
/// made: at start-up. Any other build says nothing.
fn warn_if_not_approved(schema: &Schema) {
    let suite = schema.sealing_suite();
    if !crate::fips::FIPS || suite.nist_approved() {
        return;
    }
    tracing::warn!(
        target: "crypt_model::fips",
        table = schema.table(),
        suite = suite.name(),
        "a fips build seals this model's records with a suite that is not NIST-approved, as the \
         model names it: name `suite = \"aes256gcm\"` and re-encrypt the table (docs/fips.md)"
    );
}
