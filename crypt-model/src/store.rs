//! Storage: the [`Store`] a storage system implements, the [`Checked`] wrapper that checks every
//! request as DynamoDB would before a store sees it, and what their operations take.
//!
//! A store holds items in tables by primary key. Writes can be conditional; queries read one
//! partition in sort-key order, a page at a time; batches may hand back what they did not
//! process; transactions are all or nothing. [`MemoryStore`] is the embedded backend;
//! `crypt-model-dynamo` provides `DynamoStore`.
//!
//! To add a storage system, implement [`Store`] and run the published conformance suite
//! (`crypt-model-conformance`) against it; a [`Table`](crate::Table) calls it through
//! [`Checked`], where DynamoDB's request rules are checked, once for every store.

use tracing::Instrument;

use crate::attribute::{Item, Key};
use crate::error::Result;

mod memory;
mod order;
mod request;
mod rewrite;
mod table_ref;

pub(crate) use order::compare_keys;
pub(crate) use rewrite::rewrite;
pub(crate) use table_ref::canonical_key;

pub use crate::attribute::KeyType;
pub use crate::error::BoxError;
pub use async_trait::async_trait;
pub use memory::MemoryStore;
pub use request::{
    BatchGet, Condition, Cursor, Page, Query, Scan, SortCondition, TransactItem, Unreadable, Update,
};
pub use table_ref::{IndexRef, TableRef};

/// The largest number of items in one batch write, as in DynamoDB.
pub const MAX_BATCH_WRITE: usize = 25;
/// The largest number of keys in one batch get, as in DynamoDB.
pub const MAX_BATCH_GET: usize = 100;
/// The largest number of items in one transaction, as in DynamoDB.
pub const MAX_TRANSACTION: usize = 100;
/// The largest item, as in DynamoDB.
pub const MAX_ITEM_SIZE: usize = 400 * 1024;

/// Roughly DynamoDB's item size: names and values in bytes.
pub(crate) fn item_size(item: &Item) -> usize {
    use crate::attribute::AttributeValue;
    fn value_size(value: &AttributeValue) -> usize {
        match value {
            AttributeValue::S(s) | AttributeValue::N(s) => s.len(),
            AttributeValue::B(b) => b.len(),
            AttributeValue::Bool(_) | AttributeValue::Null => 1,
            AttributeValue::L(l) => 3 + l.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
            AttributeValue::M(m) => {
                3 + m
                    .iter()
                    .map(|(k, v)| 1 + k.len() + value_size(v))
                    .sum::<usize>()
            }
            AttributeValue::Ss(v) | AttributeValue::Ns(v) => v.iter().map(String::len).sum(),
            AttributeValue::Bs(v) => v.iter().map(Vec::len).sum(),
        }
    }
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

/// Storage of items, shaped after DynamoDB: implement it to add a storage system, as
/// [`MemoryStore`] and `crypt-model-dynamo`'s `DynamoStore` do.
///
/// Its operations are named after DynamoDB's, and what callers can observe must be DynamoDB's:
/// conditional failures, sort-key order, page boundaries, transaction atomicity. A
/// [`Table`](crate::Table) (and the key table) calls a store through [`Checked`], which checks
/// every request as DynamoDB would — key attributes present and of the declared types, batch and
/// transaction sizes, no key twice, no update of a key attribute, a query limit of at least 1 on
/// an index the table has — and fails with [`StorageError::InvalidRequest`](crate::Error) before the
/// store sees it, so an implementation need not repeat those checks. Run the published
/// conformance suite (`crypt-model-conformance`) against an implementation.
#[async_trait]
pub trait Store: Send + Sync {
    /// Stores `item` under its key if `condition` holds, replacing any item there; else
    /// [`StorageError::ConditionFailed`](crate::error::StorageError::ConditionFailed).
    async fn put(&self, table: &TableRef, item: Item, condition: &Condition) -> Result<()>;

    /// The item stored under `key`.
    async fn get(&self, table: &TableRef, key: &Key) -> Result<Option<Item>>;

    /// Deletes the item under `key` if `condition` holds (deleting nothing is not an error);
    /// else [`StorageError::ConditionFailed`](crate::error::StorageError::ConditionFailed).
    async fn delete(&self, table: &TableRef, key: &Key, condition: &Condition) -> Result<()>;

    /// Sets and removes attributes of the item under `key` if `condition` holds (creating it
    /// from the key when there is none, as DynamoDB's UpdateItem does); else
    /// [`StorageError::ConditionFailed`](crate::error::StorageError::ConditionFailed).
    async fn update(
        &self,
        table: &TableRef,
        key: &Key,
        update: &Update,
        condition: &Condition,
    ) -> Result<()>;

    /// One page of a query.
    async fn query(&self, table: &TableRef, query: &Query) -> Result<Page>;

    /// One page of a scan of the table or of one of its segments (see [`Scan`]), in no
    /// particular order; a page's cursor resumes the same segment.
    async fn scan(&self, table: &TableRef, scan: &Scan) -> Result<Page>;

    /// Stores up to [`MAX_BATCH_WRITE`] items without conditions; returns those not processed
    /// this time.
    async fn batch_put(&self, table: &TableRef, items: Vec<Item>) -> Result<Vec<Item>>;

    /// Reads up to [`MAX_BATCH_GET`] keys; returns what was found and the keys not processed.
    async fn batch_get(&self, table: &TableRef, keys: Vec<Key>) -> Result<BatchGet>;

    /// Writes up to [`MAX_TRANSACTION`] items, all or nothing; when a condition fails,
    /// [`StorageError::TransactionCancelled`](crate::error::StorageError::TransactionCancelled) with the reason per
    /// item.
    async fn transact_write(&self, items: Vec<TransactItem>) -> Result<()>;

    /// The capacity units this store's requests have consumed so far, as the store counts them
    /// (DynamoDB's `ConsumedCapacity`: `crypt_model_dynamo::DynamoStore::counting_capacity`);
    /// `None` for a store that does not count them (the default). A job paced by capacity
    /// ([`Job::write_capacity_limit`](crate::lifecycle::Job::write_capacity_limit)) reads it
    /// after each record.
    fn consumed_capacity(&self) -> Option<CapacityUnits> {
        None
    }
}

/// Capacity units consumed, read and write, as DynamoDB counts them (a write unit per KB
/// written, a read unit per 4 KB read strongly consistently).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CapacityUnits {
    /// Read capacity units.
    pub read: f64,
    /// Write capacity units.
    pub write: f64,
}

/// The span around one request to a store: the operation, the physical table (as DynamoDB's
/// metrics and CloudTrail name it) and the number of items written or asked for. Never a key or
/// a value: a key can be personal data (an email as a partition key). A query or a scan records
/// no count: its page is counted before the owner gate drops what the caller may not see, so the
/// count would tell a trace reader what the caller was not told.
fn span(operation: &'static str, table: &str, items: Option<usize>) -> tracing::Span {
    let span = tracing::info_span!(
        target: "crypt_model::store",
        "store",
        operation,
        table,
        items = tracing::field::Empty
    );
    if let Some(items) = items {
        span.record("items", items);
    }
    span
}

/// A [`Store`] whose every request is checked first, as DynamoDB checks it, and traced (target
/// `crypt_model::store`): the one place where the request rules are kept, whatever the
/// backend. A [`Table`](crate::Table) wraps its store in one; wrap a store in one to call it
/// directly with the same checks.
///
/// ```
/// use crypt_model::store::{Checked, Condition, Store};
/// use crypt_model::{AttributeValue, Item, MemoryStore, TableRef};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), crypt_model::Error> {
/// let store = Checked::new(MemoryStore::new());
/// let table = TableRef::new("notes", "id", None)?;
/// // An item without its key never reaches the backend.
/// let keyless = Item::from_iter([("body", AttributeValue::S("x".into()))]);
/// assert!(store.put(&table, keyless, &Condition::Always).await.is_err());
/// # Ok(()) }
/// ```
pub struct Checked<S: ?Sized> {
    store: S,
}

impl<S> Checked<S> {
    /// `store`, checked.
    pub fn new(store: S) -> Self {
        Checked { store }
    }
}

impl<S: ?Sized> Checked<S> {
    /// The store behind the checks.
    pub fn inner(&self) -> &S {
        &self.store
    }
}

impl<S: Clone> Clone for Checked<S> {
    fn clone(&self) -> Self {
        Checked::new(self.store.clone())
    }
}

impl<S: std::fmt::Debug + ?Sized> std::fmt::Debug for Checked<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Checked").field(&&self.store).finish()
    }
}

#[async_trait]
impl<S: Store + ?Sized> Store for Checked<S> {
    fn consumed_capacity(&self) -> Option<CapacityUnits> {
        self.store.consumed_capacity()
    }

    async fn put(&self, table: &TableRef, item: Item, condition: &Condition) -> Result<()> {
        table.key_of(&item)?;
        let span = span("put", table.name(), Some(1));
        self.store
            .put(table, item, condition)
            .instrument(span)
            .await
    }

    async fn get(&self, table: &TableRef, key: &Key) -> Result<Option<Item>> {
        table.check_key(key)?;
        let span = span("get", table.name(), Some(1));
        self.store.get(table, key).instrument(span).await
    }

    async fn delete(&self, table: &TableRef, key: &Key, condition: &Condition) -> Result<()> {
        table.check_key(key)?;
        let span = span("delete", table.name(), Some(1));
        self.store
            .delete(table, key, condition)
            .instrument(span)
            .await
    }

    async fn update(
        &self,
        table: &TableRef,
        key: &Key,
        update: &Update,
        condition: &Condition,
    ) -> Result<()> {
        table.check_update(key, update)?;
        let span = span("update", table.name(), Some(1));
        self.store
            .update(table, key, update, condition)
            .instrument(span)
            .await
    }

    async fn query(&self, table: &TableRef, query: &Query) -> Result<Page> {
        table.check_query(query)?;
        let span = span("query", table.name(), None);
        self.store.query(table, query).instrument(span).await
    }

    async fn scan(&self, table: &TableRef, scan: &Scan) -> Result<Page> {
        table.check_scan(scan)?;
        let span = span("scan", table.name(), None);
        self.store.scan(table, scan).instrument(span).await
    }

    async fn batch_put(&self, table: &TableRef, items: Vec<Item>) -> Result<Vec<Item>> {
        table.check_batch_write(&items)?;
        let span = span("batch_put", table.name(), Some(items.len()));
        self.store.batch_put(table, items).instrument(span).await
    }

    async fn batch_get(&self, table: &TableRef, keys: Vec<Key>) -> Result<BatchGet> {
        table.check_batch_get(&keys)?;
        let span = span("batch_get", table.name(), Some(keys.len()));
        self.store.batch_get(table, keys).instrument(span).await
    }

    async fn transact_write(&self, items: Vec<TransactItem>) -> Result<()> {
        TransactItem::check_all(&items)?;
        let first = items.first().map_or("", |item| item.table().name());
        let one = items.iter().all(|item| item.table().name() == first);
        let table = if one { first } else { "(several)" };
        let span = span("transact_write", table, Some(items.len()));
        self.store.transact_write(items).instrument(span).await
    }
}
