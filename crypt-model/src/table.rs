//! [`Table<T, S>`]: typed, owner-gated operations on the records of one model over a [`Store`].

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

mod batch;
mod find;

pub(crate) use batch::Retry;
pub use find::IndexLookup;

use crate::access::{self, Action, Caller, Permit};
use crate::attribute::{AttributeValue, Item, Key};
use crate::cipher::Cipher;
use crate::error::{Error, Result};
use crate::format::HEADER_ATTRIBUTE;
use crate::model::EncryptedItem;
use crate::store::{
    Condition, MAX_TRANSACTION, Page, Query, Store, TableRef, TransactItem, Update,
};

/// The records of one model `T` in one physical table of a store `S`: what most applications
/// call. Every operation takes the [`Caller`] and applies the owner gate; nothing here accepts
/// a table name from a request.
///
/// **Reads of records that belong to someone else look like missing records.** `get` returns
/// `Ok(None)`, `delete` returns `Ok(false)`, and `query` leaves them out, exactly as for a key
/// that holds nothing, so that an HTTP API answers 404 in both cases and a caller cannot learn
/// which keys exist by probing. The refusal is logged (target `crypt_model::access`). Writes
/// cannot hide it: a `put` on a key another owner holds fails with [`Error::AccessDenied`] and
/// changes nothing.
///
/// ```
/// use std::sync::Arc;
/// use crypt_model::{Caller, Cipher, EncryptedItem, Key, LocalKeyring, MemoryStore, Sensitive, Table};
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
/// let cipher = Arc::new(Cipher::new(LocalKeyring::generate()?));
/// let notes = Table::<Note, _>::new(MemoryStore::new(), cipher)?;
/// let alice = Caller::user("alice");
///
/// let mut note = Note { user_id: "alice".into(), title: "todo".into(), body: Sensitive::new("milk".into()) };
/// notes.put(&alice, &mut note).await?;
///
/// let key = Key::new("alice").with_sort("todo");
/// let read = notes.get(&alice, &key).await?.expect("alice's note");
/// assert_eq!(read.body.expose_secret(), "milk");
/// // Bob gets what he would get for a key that holds nothing.
/// assert!(notes.get(&Caller::user("bob"), &key).await?.is_none());
/// # Ok(()) }
/// ```
pub struct Table<T, S> {
    store: S,
    cipher: Arc<Cipher>,
    table: TableRef,
    retry: Retry,
    model: PhantomData<fn() -> T>,
}

impl<T: EncryptedItem + Send + Sync, S: Store> Table<T, S> {
    /// The model's records in the physical table named as its logical table.
    pub fn new(store: S, cipher: Arc<Cipher>) -> Result<Self> {
        Self::named(store, cipher, T::SCHEMA.table())
    }

    /// The model's records in the physical table `name`, fixed here by configuration (an
    /// environment's prefix, a restored copy). The name is validated once, now. The logical table
    /// bound into ciphertexts stays the model's.
    pub fn named(store: S, cipher: Arc<Cipher>, name: &str) -> Result<Self> {
        T::SCHEMA.validate()?;
        let table = TableRef::for_schema(name, &T::SCHEMA)?;
        Ok(Table {
            store,
            cipher,
            table,
            retry: Retry::default(),
            model: PhantomData,
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
        &self.table
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The cipher.
    pub fn cipher(&self) -> &Cipher {
        &self.cipher
    }

    /// Checks that `caller` may write `record` (its owner, or a service with a grant) before
    /// anything is encrypted; grant uses and refusals are logged with the record's key.
    fn authorize_write(&self, caller: &Caller, record: &T) -> Result<()> {
        let grants = self.cipher.grants();
        if access::permit(grants, caller, T::SCHEMA.table(), record.owner()) == Permit::Owner {
            return Ok(());
        }
        let (plain, _) = record.__to_parts()?;
        access::authorize(
            grants,
            caller,
            &T::SCHEMA,
            record.owner(),
            &plain,
            Action::Write,
        )
    }

    /// The condition of a delete by `caller`: the stored owner is the caller, or, for a service
    /// with a grant (logged), the record exists.
    fn delete_condition(&self, caller: &Caller, key_item: &Item) -> Condition {
        if access::granted(self.cipher.grants(), caller, T::SCHEMA.table()) {
            access::log_grant(caller, &T::SCHEMA, key_item, Action::Delete);
            Condition::Exists
        } else {
            Condition::equals(T::SCHEMA.owner(), caller.id())
        }
    }

    /// The condition of a put: the key is free or already the same owner's, and, for a
    /// versioned model, the stored version is the one the record was read at.
    fn put_condition(&self, record: &T) -> Condition {
        let owned = Condition::Or(vec![
            Condition::NotExists,
            Condition::equals(T::SCHEMA.owner(), record.owner()),
        ]);
        match (T::SCHEMA.version(), record.version()) {
            (Some(_), Some(0)) => Condition::NotExists,
            (Some(attribute), Some(version)) => {
                Condition::And(vec![owned, Condition::equals(attribute, version)])
            }
            _ => owned,
        }
    }

    /// Encrypts `record` into the item a write stores, with its next version.
    async fn item_to_write(&self, record: &T) -> Result<Item> {
        let mut item = record.to_item(&self.cipher).await?;
        if let (Some(attribute), Some(version)) = (T::SCHEMA.version(), record.version()) {
            item.insert(attribute, AttributeValue::from(version + 1));
        }
        Ok(item)
    }

    /// Why a conditional write of `record` by `caller` failed: someone else's record (access
    /// denied), a stale version (conflict), or the condition otherwise.
    async fn explain_refusal(&self, caller: &Caller, record: &T, key: &Key) -> Error {
        let stored = match self.store.get(&self.table, key).await {
            Ok(stored) => stored,
            Err(error) => return error,
        };
        let owner = stored.as_ref().and_then(|item| item.get(T::SCHEMA.owner()));
        match owner {
            Some(AttributeValue::S(owner)) if owner != record.owner() => Error::AccessDenied {
                caller: caller.id().to_owned(),
                table: T::SCHEMA.table().to_owned(),
            },
            _ if T::SCHEMA.version().is_some() => Error::Conflict {
                table: self.table.name().to_owned(),
            },
            _ => Error::ConditionFailed {
                table: self.table.name().to_owned(),
            },
        }
    }

    /// Stores `record`, encrypted.
    ///
    /// Only its owner, or a service with a grant, may write it; the write is conditional on
    /// the stored owner, so no one can take over a record another owner holds by choosing its
    /// key ([`Error::AccessDenied`], nothing written). For a model with a
    /// `#[crypt_model(version)]` field, the write also requires the stored version to be the
    /// record's (0: a new record) and increments it, in the store and in `record`; a stale
    /// record fails with [`Error::Conflict`].
    pub async fn put(&self, caller: &Caller, record: &mut T) -> Result<()> {
        self.authorize_write(caller, record)?;
        let item = self.item_to_write(record).await?;
        let key = self.table.key_of(&item)?;
        match self
            .store
            .put(&self.table, item, &self.put_condition(record))
            .await
        {
            Ok(()) => {
                if let Some(version) = record.version() {
                    record.set_version(version + 1);
                }
                Ok(())
            }
            Err(Error::ConditionFailed { .. }) => {
                Err(self.explain_refusal(caller, record, &key).await)
            }
            Err(error) => Err(error),
        }
    }

    /// The record under `key`, opened for `caller`; `None` when there is none **or when it is
    /// not the caller's** (see the type's documentation).
    pub async fn get(&self, caller: &Caller, key: &Key) -> Result<Option<T>> {
        let Some(item) = self.store.get(&self.table, key).await? else {
            return Ok(None);
        };
        let sealed = T::from_item(item)?;
        match sealed.check_access(caller, &self.cipher) {
            Ok(()) => sealed.open_permitted(&self.cipher).await.map(Some),
            Err(Error::AccessDenied { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Deletes the record under `key` if `caller` owns it (or is a service with a grant);
    /// `false` when there is none **or when it is not the caller's**, and then nothing changes.
    /// The owner check is part of the delete itself, so it cannot race with a write.
    pub async fn delete(&self, caller: &Caller, key: &Key) -> Result<bool> {
        let condition = self.delete_condition(caller, &self.table.key_item(key)?);
        match self.store.delete(&self.table, key, &condition).await {
            Ok(()) => Ok(true),
            Err(Error::ConditionFailed { .. }) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Writes one sensitive field of `record` without rewriting the rest of the stored record
    /// (the other ciphertexts, the header's key and salt stay as they are).
    ///
    /// `record` is one read from this table, with `field` changed in memory. The model must have
    /// a `#[crypt_model(version)]` field: the write is conditional on the stored version being
    /// the record's, so it fails with [`Error::Conflict`] if anything changed since the read,
    /// and it increments the version. Only the owner (or a granted service) may do it.
    pub async fn update_sensitive(
        &self,
        caller: &Caller,
        record: &mut T,
        field: &'static str,
    ) -> Result<()> {
        let (Some(version_attribute), Some(version)) = (T::SCHEMA.version(), record.version())
        else {
            return Err(Error::Config(format!(
                "update_sensitive on `{}` needs a `#[crypt_model(version)]` field, so that the \
                 update can require the record unchanged since it was read",
                T::SCHEMA.table()
            )));
        };
        self.authorize_write(caller, record)?;
        let (plain, plaintexts) = record.__to_parts()?;
        let key = self.table.key_of(&plain)?;
        let conflict = || Error::Conflict {
            table: self.table.name().to_owned(),
        };
        let stored = self
            .store
            .get(&self.table, &key)
            .await?
            .ok_or_else(conflict)?;
        let stored_owner = stored.get(T::SCHEMA.owner());
        if stored_owner != Some(&AttributeValue::S(record.owner().to_owned())) {
            return Err(Error::AccessDenied {
                caller: caller.id().to_owned(),
                table: T::SCHEMA.table().to_owned(),
            });
        }
        if stored.get(version_attribute) != Some(&AttributeValue::from(version)) {
            return Err(conflict());
        }
        let resealed = self
            .cipher
            .reseal_field(&T::SCHEMA, &stored, field, plaintexts.get_bytes(field))
            .await?;
        let mut update = Update::default();
        match resealed.ciphertext {
            Some(ciphertext) => {
                update.set.insert(field, AttributeValue::B(ciphertext));
            }
            None => update.remove.push(field.to_owned()),
        }
        if let Some(header) = resealed.header {
            update
                .set
                .insert(HEADER_ATTRIBUTE, AttributeValue::B(header));
        }
        // The field's blind index follows its value.
        if let Some(spec) = T::SCHEMA.index_of(field) {
            match plaintexts.get_bytes(field) {
                Some(plaintext) => {
                    let value =
                        self.cipher
                            .index_attribute(&T::SCHEMA, spec, record.owner(), plaintext)?;
                    update.set.insert(spec.attribute(), value);
                }
                None => update.remove.push(spec.attribute().to_owned()),
            }
        }
        update
            .set
            .insert(version_attribute, AttributeValue::from(version + 1));
        let condition = Condition::And(vec![
            Condition::equals(T::SCHEMA.owner(), record.owner()),
            Condition::equals(version_attribute, version),
        ]);
        match self
            .store
            .update(&self.table, &key, &update, &condition)
            .await
        {
            Ok(()) => {
                record.set_version(version + 1);
                Ok(())
            }
            Err(Error::ConditionFailed { .. }) => Err(conflict()),
            Err(error) => Err(error),
        }
    }

    /// One page of the records of a partition, in sort-key order, opened for `caller`: records
    /// the caller may not open are left out (a page may then hold fewer than `limit`). Pass the
    /// page's `cursor` to [`Query::after`] for the next page.
    pub async fn query(&self, caller: &Caller, query: &Query) -> Result<Page<T>> {
        let page = self.store.query(&self.table, query).await?;
        let mut records = Vec::with_capacity(page.items.len());
        for item in page.items {
            let sealed = T::from_item(item)?;
            if sealed.permitted(caller, &self.cipher) {
                records.push(sealed.open_permitted(&self.cipher).await?);
            }
        }
        Ok(Page {
            items: records,
            cursor: page.cursor,
        })
    }

    /// Every record of a partition that `caller` may open, following cursors to the end.
    pub async fn query_all(&self, caller: &Caller, query: Query) -> Result<Vec<T>> {
        let mut query = query;
        let mut records = Vec::new();
        loop {
            let page = self.query(caller, &query).await?;
            records.extend(page.items);
            match page.cursor {
                Some(cursor) => query = query.after(Some(cursor)),
                None => return Ok(records),
            }
        }
    }

    /// Writes and deletes records all or nothing, with the same owner (and version) conditions
    /// as [`put`](Self::put) and [`delete`](Self::delete); versions of written records are
    /// incremented on success. A failed condition cancels everything:
    /// [`Error::TransactionCancelled`] says which write caused it.
    pub async fn transact(&self, caller: &Caller, writes: Vec<Write<'_, T>>) -> Result<()> {
        if writes.is_empty() || writes.len() > MAX_TRANSACTION {
            return Err(self
                .table
                .invalid(format!("a transaction holds 1 to {MAX_TRANSACTION} writes")));
        }
        let mut items = Vec::with_capacity(writes.len());
        for write in &writes {
            items.push(match write {
                Write::Put(record) => {
                    self.authorize_write(caller, record)?;
                    let item = self.item_to_write(record).await?;
                    let condition = self.put_condition(record);
                    TransactItem::Put {
                        table: self.table.clone(),
                        item,
                        condition,
                    }
                }
                Write::Delete(key) => {
                    let condition = self.delete_condition(caller, &self.table.key_item(key)?);
                    TransactItem::Delete {
                        table: self.table.clone(),
                        key: key.clone(),
                        condition,
                    }
                }
            });
        }
        self.store.transact_write(items).await?;
        for write in writes {
            if let Write::Put(record) = write {
                if let Some(version) = record.version() {
                    record.set_version(version + 1);
                }
            }
        }
        Ok(())
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
            .field("table", &self.table)
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}
