//! [`MemoryStore`]: the embedded store, with DynamoDB's semantics.

use crate::error::StorageError;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use sha2::{Digest, Sha256};

use super::{
    BatchGet, Condition, MAX_ITEM_SIZE, Page, Query, Scan, Store, TableRef, TransactItem, Update,
    compare_keys, item_size,
};
use crate::attribute::{AttributeValue, Item, Key, canonical_number};
use crate::error::{Error, Result};

/// An in-memory [`Store`](super::Store) that behaves as DynamoDB does in what callers can observe:
/// conditional writes, items sorted by sort key within a partition, pages cut by the limit with
/// a cursor, DynamoDB's batch and transaction limits, atomic transactions, and the 400 KB item
/// limit. Safe to share between tasks (clones share the data).
///
/// For tests of batch retries, [`with_batch_capacity`](MemoryStore::with_batch_capacity) makes
/// each batch process only some of its items, as a throttled DynamoDB table does.
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    tables: Mutex<HashMap<String, StoredTable>>,
    batch_capacity: Option<usize>,
}

/// One table: its key schema (fixed by the first request) and its items by key.
struct StoredTable {
    partition_key: &'static str,
    sort_key: Option<&'static str>,
    items: BTreeMap<OrderedKey, Item>,
}

/// A primary key in DynamoDB's order.
#[derive(Clone, PartialEq, Eq)]
struct OrderedKey(Key);

impl Ord for OrderedKey {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_keys(&self.0.partition, &other.0.partition).then_with(|| {
            match (&self.0.sort, &other.0.sort) {
                (Some(a), Some(b)) => compare_keys(a, b),
                (a, b) => a.is_some().cmp(&b.is_some()),
            }
        })
    }
}

impl PartialOrd for OrderedKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store whose batch operations process at most `items` items per call and hand
    /// the rest back as unprocessed.
    pub fn with_batch_capacity(items: usize) -> Self {
        MemoryStore {
            inner: Arc::new(Inner {
                batch_capacity: Some(items.max(1)),
                ..Inner::default()
            }),
        }
    }

    /// The number of items in table `name`.
    pub fn len(&self, name: &str) -> usize {
        self.tables().get(name).map_or(0, |t| t.items.len())
    }

    /// Every item of table `name`, in key order: what a scan of the table would show.
    pub fn items(&self, name: &str) -> Vec<Item> {
        self.tables()
            .get(name)
            .map(|t| t.items.values().cloned().collect())
            .unwrap_or_default()
    }

    fn tables(&self) -> MutexGuard<'_, HashMap<String, StoredTable>> {
        // No code panics while holding this lock, so a poisoned map is still consistent.
        self.inner
            .tables
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tables = self.tables();
        let mut sizes: Vec<(&String, usize)> =
            tables.iter().map(|(n, t)| (n, t.items.len())).collect();
        sizes.sort();
        f.debug_struct("MemoryStore")
            .field("tables", &sizes)
            .finish()
    }
}

/// The table for `table`, created on first use; its key schema must not change.
/// The segment of a parallel scan that holds the items of the partition `partition`: as with
/// DynamoDB, a partition's items are all in one segment, chosen by a hash of its key (numbers by
/// value).
fn segment_of(partition: &AttributeValue, total_segments: u32) -> u32 {
    if total_segments <= 1 {
        return 0;
    }
    let hash = Sha256::new();
    let hash = match partition {
        AttributeValue::S(text) => hash.chain_update([b'S']).chain_update(text.as_bytes()),
        AttributeValue::N(text) => hash
            .chain_update([b'N'])
            .chain_update(canonical_number(text).unwrap_or_else(|_| text.clone())),
        AttributeValue::B(bytes) => hash.chain_update([b'B']).chain_update(bytes),
        _ => hash.chain_update([0]),
    };
    let digest = hash.finalize();
    let head = u64::from_be_bytes(digest[..8].try_into().unwrap_or([0; 8]));
    // Below `total_segments`, so it fits.
    u32::try_from(head % u64::from(total_segments.max(1))).unwrap_or(0)
}

fn stored_table<'a>(
    tables: &'a mut HashMap<String, StoredTable>,
    table: &TableRef,
) -> Result<&'a mut StoredTable> {
    let entry = tables
        .entry(table.name().to_owned())
        .or_insert_with(|| StoredTable {
            partition_key: table.partition_key(),
            sort_key: table.sort_key(),
            items: BTreeMap::new(),
        });
    if entry.partition_key != table.partition_key() || entry.sort_key != table.sort_key() {
        return Err(table.invalid("the key schema differs from the table's".to_owned()));
    }
    Ok(entry)
}

fn too_large(table: &TableRef) -> Error {
    Error::Storage(StorageError::ItemTooLarge {
        table: table.name().to_owned(),
    })
}

fn check_item(table: &TableRef, item: &Item) -> Result<Key> {
    if item_size(item) > MAX_ITEM_SIZE {
        return Err(too_large(table));
    }
    table.key_of(item)
}

fn condition_failed(table: &TableRef) -> Error {
    Error::Storage(StorageError::ConditionFailed {
        table: table.name().to_owned(),
    })
}

#[async_trait]
impl Store for MemoryStore {
    async fn put(&self, table: &TableRef, item: Item, condition: &Condition) -> Result<()> {
        let key = check_item(table, &item)?;
        let mut tables = self.tables();
        let data = stored_table(&mut tables, table)?;
        let key = OrderedKey(key);
        if !condition.holds(data.items.get(&key)) {
            return Err(condition_failed(table));
        }
        data.items.insert(key, item);
        Ok(())
    }

    async fn get(&self, table: &TableRef, key: &Key) -> Result<Option<Item>> {
        let mut tables = self.tables();
        Ok(stored_table(&mut tables, table)?
            .items
            .get(&OrderedKey(key.clone()))
            .cloned())
    }

    async fn delete(&self, table: &TableRef, key: &Key, condition: &Condition) -> Result<()> {
        let mut tables = self.tables();
        let data = stored_table(&mut tables, table)?;
        let key = OrderedKey(key.clone());
        if !condition.holds(data.items.get(&key)) {
            return Err(condition_failed(table));
        }
        data.items.remove(&key);
        Ok(())
    }

    async fn update(
        &self,
        table: &TableRef,
        key: &Key,
        update: &Update,
        condition: &Condition,
    ) -> Result<()> {
        let key_item = table.key_item(key)?;
        let mut tables = self.tables();
        let data = stored_table(&mut tables, table)?;
        let key = OrderedKey(key.clone());
        let stored = data.items.get(&key);
        if !condition.holds(stored) {
            return Err(condition_failed(table));
        }
        // As DynamoDB's UpdateItem: a missing item is created from the key.
        let mut item = stored.cloned().unwrap_or(key_item);
        for (name, value) in update.set.iter() {
            item.insert(name, value.clone());
        }
        for name in &update.remove {
            item.remove(name);
        }
        if item_size(&item) > MAX_ITEM_SIZE {
            return Err(too_large(table));
        }
        data.items.insert(key, item);
        Ok(())
    }

    async fn query(&self, table: &TableRef, query: &Query) -> Result<Page> {
        // The key space queried: the table's, or an index's (items lacking its keys are not in it).
        let (partition_key, sort_key) = table.key_space(query.index.as_deref())?;
        let mut tables = self.tables();
        let data = stored_table(&mut tables, table)?;
        // Position of an item in the key space: its sort key, then (for an index) its table key.
        let position = |item: &Item| -> (Option<AttributeValue>, Option<OrderedKey>) {
            let sort = sort_key.and_then(|s| item.get(s).cloned());
            let primary = query
                .index
                .as_ref()
                .and_then(|_| table.key_of(item).ok().map(OrderedKey));
            (sort, primary)
        };
        let cmp_positions =
            |a: &(Option<AttributeValue>, Option<OrderedKey>),
             b: &(Option<AttributeValue>, Option<OrderedKey>)| {
                let sort = match (&a.0, &b.0) {
                    (Some(x), Some(y)) => compare_keys(x, y),
                    (x, y) => x.is_some().cmp(&y.is_some()),
                };
                sort.then_with(|| a.1.cmp(&b.1))
            };
        let mut matching: Vec<&Item> = data
            .items
            .values()
            .filter(|item| item.get(partition_key) == Some(&query.partition))
            .filter(|item| sort_key.is_none_or(|s| item.contains(s)))
            .filter(|item| match (&query.sort, sort_key) {
                (None, _) => true,
                (Some(condition), Some(s)) => item.get(s).is_some_and(|v| condition.matches(v)),
                (Some(_), None) => false,
            })
            .collect();
        matching.sort_by(|a, b| cmp_positions(&position(a), &position(b)));
        if query.descending {
            matching.reverse();
        }
        if let Some(cursor) = &query.cursor {
            let after = position(cursor.key());
            matching.retain(|item| {
                let order = cmp_positions(&position(item), &after);
                if query.descending {
                    order == Ordering::Less
                } else {
                    order == Ordering::Greater
                }
            });
        }
        let limit = query.limit.map_or(usize::MAX, |l| l as usize);
        let cut = matching.len() >= limit;
        let items: Vec<Item> = matching.into_iter().take(limit).cloned().collect();
        let cursor = match (cut, items.last()) {
            (true, Some(last)) => Some(table.cursor_at(last, query.index.as_deref())?),
            _ => None,
        };
        Ok(Page::new(items, cursor))
    }

    async fn scan(&self, table: &TableRef, scan: &Scan) -> Result<Page> {
        let mut tables = self.tables();
        let data = stored_table(&mut tables, table)?;
        let after = match &scan.cursor {
            Some(cursor) => Some(OrderedKey(table.key_of(cursor.key())?)),
            None => None,
        };
        let limit = scan.limit.map_or(usize::MAX, |l| l as usize);
        let mut items = Vec::new();
        let mut cut = false;
        // From just past the cursor, so that a scan in pages reads each item once.
        let rest = match after {
            Some(after) => data.items.range((Bound::Excluded(after), Bound::Unbounded)),
            None => data.items.range(..),
        };
        for (key, item) in rest {
            if segment_of(&key.0.partition, scan.total_segments) != scan.segment {
                continue;
            }
            if items.len() == limit {
                cut = true;
                break;
            }
            items.push(item.clone());
        }
        let cursor = match (cut, items.last()) {
            (true, Some(last)) => Some(table.cursor_at(last, None)?),
            _ => None,
        };
        Ok(Page::new(items, cursor))
    }

    async fn batch_put(&self, table: &TableRef, items: Vec<Item>) -> Result<Vec<Item>> {
        for item in &items {
            check_item(table, item)?;
        }
        let capacity = self.inner.batch_capacity.unwrap_or(usize::MAX);
        let mut tables = self.tables();
        let data = stored_table(&mut tables, table)?;
        let mut items = items.into_iter();
        for item in items.by_ref().take(capacity) {
            data.items.insert(OrderedKey(table.key_of(&item)?), item);
        }
        Ok(items.collect())
    }

    async fn batch_get(&self, table: &TableRef, keys: Vec<Key>) -> Result<BatchGet> {
        let capacity = self.inner.batch_capacity.unwrap_or(usize::MAX);
        let mut tables = self.tables();
        let data = stored_table(&mut tables, table)?;
        let mut keys = keys.into_iter();
        let items = keys
            .by_ref()
            .take(capacity)
            .filter_map(|key| data.items.get(&OrderedKey(key)).cloned())
            .collect();
        Ok(BatchGet {
            items,
            unprocessed: keys.collect(),
        })
    }

    async fn transact_write(&self, items: Vec<TransactItem>) -> Result<()> {
        for item in &items {
            if let TransactItem::Put { table, item, .. } = item {
                check_item(table, item)?;
            }
        }
        let mut tables = self.tables();
        // Check every condition first; write only if all hold.
        let mut reasons = Vec::with_capacity(items.len());
        for item in &items {
            let (table, key, condition) = match item {
                TransactItem::Put {
                    table,
                    item,
                    condition,
                } => (table, table.key_of(item)?, condition),
                TransactItem::Delete {
                    table,
                    key,
                    condition,
                }
                | TransactItem::Check {
                    table,
                    key,
                    condition,
                } => (table, key.clone(), condition),
            };
            let data = stored_table(&mut tables, table)?;
            let holds = condition.holds(data.items.get(&OrderedKey(key)));
            reasons.push((!holds).then(|| "ConditionalCheckFailed".to_owned()));
        }
        if reasons.iter().any(Option::is_some) {
            return Err(Error::Storage(StorageError::TransactionCancelled {
                reasons,
            }));
        }
        for item in items {
            match item {
                TransactItem::Put { table, item, .. } => {
                    let key = OrderedKey(table.key_of(&item)?);
                    stored_table(&mut tables, &table)?.items.insert(key, item);
                }
                TransactItem::Delete { table, key, .. } => {
                    stored_table(&mut tables, &table)?
                        .items
                        .remove(&OrderedKey(key));
                }
                TransactItem::Check { .. } => {}
            }
        }
        Ok(())
    }
}
