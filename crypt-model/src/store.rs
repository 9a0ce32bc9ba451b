//! Storage: the [`Store`] that the typed table calls, the [`Backend`] that a storage system
//! implements, and what their operations take.
//!
//! A store holds items in tables by primary key. Writes can be conditional; queries read one
//! partition in sort-key order, a page at a time; batches may hand back what they did not
//! process; transactions are all or nothing. [`MemoryStore`] is the embedded backend;
//! `crypt-model-dynamo` provides `DynamoStore`.
//!
//! To add a storage system, implement [`Backend`]; [`Store`] is implemented for every backend and
//! is where DynamoDB's request rules are checked, once for all of them, before a backend sees a
//! request.

use std::sync::Arc;

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
    BatchGet, Condition, Cursor, Page, Query, Scan, SortCondition, TransactItem, Update,
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

/// Storage of items, shaped after DynamoDB: what [`Table`](crate::Table) calls.
///
/// Implemented for every [`Backend`] (and for `Arc` of a store, and `dyn Store`): each call first
/// checks the request as DynamoDB would — key attributes present and of the declared types, batch
/// and transaction sizes, no key twice, no update of a key attribute, a query limit of at least 1
/// on an index the table has — and fails with [`Error::InvalidRequest`](crate::Error) before the
/// backend sees it. Implementations behave as DynamoDB does in what callers can observe:
/// conditional failures, sort-key order, page boundaries, and transaction atomicity (the
/// workspace's conformance suite checks it).
#[async_trait]
pub trait Store: sealed::Sealed + Send + Sync {
    /// Stores `item` under its key if `condition` holds, replacing any item there; else
    /// [`Error::ConditionFailed`](crate::Error::ConditionFailed).
    async fn put(&self, table: &TableRef, item: Item, condition: &Condition) -> Result<()>;

    /// The item stored under `key`.
    async fn get(&self, table: &TableRef, key: &Key) -> Result<Option<Item>>;

    /// Deletes the item under `key` if `condition` holds (deleting nothing is not an error);
    /// else [`Error::ConditionFailed`](crate::Error::ConditionFailed).
    async fn delete(&self, table: &TableRef, key: &Key, condition: &Condition) -> Result<()>;

    /// Sets and removes attributes of the item under `key` if `condition` holds (creating it
    /// from the key when there is none, as DynamoDB's UpdateItem does); else
    /// [`Error::ConditionFailed`](crate::Error::ConditionFailed).
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
    /// [`Error::TransactionCancelled`](crate::Error::TransactionCancelled) with the reason per
    /// item.
    async fn transact_write(&self, items: Vec<TransactItem>) -> Result<()>;
}

/// A storage system under a [`Store`]: implement this to add one. Its operations are named after
/// DynamoDB's, and it receives only requests that passed [`Store`]'s checks, so it need not repeat
/// them (a key is present and of its declared type, a batch holds 1 to 25 distinct items, …).
///
/// It must behave as DynamoDB does in what callers can observe, and report failures with the
/// typed errors the [`Store`] methods name; run the workspace's conformance suite against it.
#[async_trait]
pub trait Backend: Send + Sync {
    /// See [`Store::put`].
    async fn put_item(&self, table: &TableRef, item: Item, condition: &Condition) -> Result<()>;

    /// See [`Store::get`].
    async fn get_item(&self, table: &TableRef, key: &Key) -> Result<Option<Item>>;

    /// See [`Store::delete`].
    async fn delete_item(&self, table: &TableRef, key: &Key, condition: &Condition) -> Result<()>;

    /// See [`Store::update`].
    async fn update_item(
        &self,
        table: &TableRef,
        key: &Key,
        update: &Update,
        condition: &Condition,
    ) -> Result<()>;

    /// See [`Store::query`].
    async fn query_page(&self, table: &TableRef, query: &Query) -> Result<Page>;

    /// See [`Store::scan`].
    async fn scan_page(&self, table: &TableRef, scan: &Scan) -> Result<Page>;

    /// See [`Store::batch_put`].
    async fn batch_write_item(&self, table: &TableRef, items: Vec<Item>) -> Result<Vec<Item>>;

    /// See [`Store::batch_get`].
    async fn batch_get_item(&self, table: &TableRef, keys: Vec<Key>) -> Result<BatchGet>;

    /// See [`Store::transact_write`].
    async fn transact_write_items(&self, items: Vec<TransactItem>) -> Result<()>;
}

/// The span around one request to the backend: the operation, the physical table (as DynamoDB's
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

/// The one place where every request is checked, and traced, whatever the backend.
#[async_trait]
impl<B: Backend + ?Sized> Store for B {
    async fn put(&self, table: &TableRef, item: Item, condition: &Condition) -> Result<()> {
        table.key_of(&item)?;
        let span = span("put", table.name(), Some(1));
        self.put_item(table, item, condition).instrument(span).await
    }

    async fn get(&self, table: &TableRef, key: &Key) -> Result<Option<Item>> {
        table.key_item(key)?;
        let span = span("get", table.name(), Some(1));
        self.get_item(table, key).instrument(span).await
    }

    async fn delete(&self, table: &TableRef, key: &Key, condition: &Condition) -> Result<()> {
        table.key_item(key)?;
        let span = span("delete", table.name(), Some(1));
        self.delete_item(table, key, condition)
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
        self.update_item(table, key, update, condition)
            .instrument(span)
            .await
    }

    async fn query(&self, table: &TableRef, query: &Query) -> Result<Page> {
        table.check_query(query)?;
        let span = span("query", table.name(), None);
        self.query_page(table, query).instrument(span).await
    }

    async fn scan(&self, table: &TableRef, scan: &Scan) -> Result<Page> {
        table.check_scan(scan)?;
        let span = span("scan", table.name(), None);
        self.scan_page(table, scan).instrument(span).await
    }

    async fn batch_put(&self, table: &TableRef, items: Vec<Item>) -> Result<Vec<Item>> {
        table.check_batch_write(&items)?;
        let span = span("batch_put", table.name(), Some(items.len()));
        self.batch_write_item(table, items).instrument(span).await
    }

    async fn batch_get(&self, table: &TableRef, keys: Vec<Key>) -> Result<BatchGet> {
        table.check_batch_get(&keys)?;
        let span = span("batch_get", table.name(), Some(keys.len()));
        self.batch_get_item(table, keys).instrument(span).await
    }

    async fn transact_write(&self, items: Vec<TransactItem>) -> Result<()> {
        TransactItem::check_all(&items)?;
        let first = items.first().map_or("", |item| item.table().name());
        let one = items.iter().all(|item| item.table().name() == first);
        let table = if one { first } else { "(several)" };
        let span = span("transact_write", table, Some(items.len()));
        self.transact_write_items(items).instrument(span).await
    }
}

/// A shared store is a store (the requests are checked by the store it shares).
#[async_trait]
impl<S: Store + ?Sized> Store for Arc<S> {
    async fn put(&self, table: &TableRef, item: Item, condition: &Condition) -> Result<()> {
        (**self).put(table, item, condition).await
    }
    async fn get(&self, table: &TableRef, key: &Key) -> Result<Option<Item>> {
        (**self).get(table, key).await
    }
    async fn delete(&self, table: &TableRef, key: &Key, condition: &Condition) -> Result<()> {
        (**self).delete(table, key, condition).await
    }
    async fn update(
        &self,
        table: &TableRef,
        key: &Key,
        update: &Update,
        condition: &Condition,
    ) -> Result<()> {
        (**self).update(table, key, update, condition).await
    }
    async fn query(&self, table: &TableRef, query: &Query) -> Result<Page> {
        (**self).query(table, query).await
    }
    async fn scan(&self, table: &TableRef, scan: &Scan) -> Result<Page> {
        (**self).scan(table, scan).await
    }
    async fn batch_put(&self, table: &TableRef, items: Vec<Item>) -> Result<Vec<Item>> {
        (**self).batch_put(table, items).await
    }
    async fn batch_get(&self, table: &TableRef, keys: Vec<Key>) -> Result<BatchGet> {
        (**self).batch_get(table, keys).await
    }
    async fn transact_write(&self, items: Vec<TransactItem>) -> Result<()> {
        (**self).transact_write(items).await
    }
}

mod sealed {
    /// Only the checked implementations are stores: a storage system implements `Backend`.
    pub trait Sealed {}
    impl<B: super::Backend + ?Sized> Sealed for B {}
    impl<S: super::Store + ?Sized> Sealed for std::sync::Arc<S> {}
}
