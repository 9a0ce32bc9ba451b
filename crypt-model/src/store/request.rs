//! What the operations of a [`Store`](super::Store) take and return: conditions, queries and
//! their pages, batches, transactions and updates.

use crate::error::{DataError, StorageError};
use std::cmp::Ordering;
use std::collections::HashSet;
use std::fmt;

use super::order::compare_keys;
use super::table_ref::canonical_key;
use super::{MAX_TRANSACTION, TableRef};
use crate::attribute::{Attribute, AttributeValue, Item, Key, Number};
use crate::error::{Error, Result};

/// A condition on the stored item, checked atomically with a write.
///
/// Evaluated against the item stored under the written key, or against nothing when there is
/// none (then only [`NotExists`](Condition::NotExists) holds). `Debug` names the attributes,
/// not the values (an owner's id may be personal data).
#[derive(Clone, PartialEq)]
pub enum Condition {
    /// No condition.
    Always,
    /// No item is stored under the key.
    NotExists,
    /// An item is stored under the key.
    Exists,
    /// The stored item has `attribute` equal to `value`.
    Equals(String, AttributeValue),
    /// The stored item has no attribute `attribute`, or there is no stored item (DynamoDB's
    /// `attribute_not_exists`).
    Absent(String),
    /// All of these hold.
    And(Vec<Condition>),
    /// Any of these holds.
    Or(Vec<Condition>),
}

impl Condition {
    /// The stored item has `attribute` equal to `value`.
    pub fn equals(attribute: impl Into<String>, value: impl Into<AttributeValue>) -> Self {
        Condition::Equals(attribute.into(), value.into())
    }

    /// The stored item has no attribute `attribute` (or there is no stored item).
    pub fn absent(attribute: impl Into<String>) -> Self {
        Condition::Absent(attribute.into())
    }

    /// Whether the condition holds for `stored`.
    pub(crate) fn holds(&self, stored: Option<&Item>) -> bool {
        match self {
            Condition::Always => true,
            Condition::NotExists => stored.is_none(),
            Condition::Exists => stored.is_some(),
            Condition::Equals(attribute, value) => stored
                .and_then(|item| item.get(attribute))
                .is_some_and(|stored| equal_as_dynamodb_compares(stored, value)),
            Condition::Absent(attribute) => !stored.is_some_and(|item| item.contains(attribute)),
            Condition::And(all) => all.iter().all(|c| c.holds(stored)),
            Condition::Or(any) => any.iter().any(|c| c.holds(stored)),
        }
    }
}

/// A sort-key value as stored.
fn sort_value<T: Attribute>(value: &T) -> Result<AttributeValue> {
    value.to_attribute().map_err(|e| {
        Error::Data(DataError::InvalidValue {
            attribute: "the sort key".to_owned(),
            reason: e.to_string(),
        })
    })
}

/// Equality as DynamoDB evaluates `a = b` in a condition: numbers by value (`1001`, `01001` and
/// `1001.0` are equal), everything else as it is.
fn equal_as_dynamodb_compares(a: &AttributeValue, b: &AttributeValue) -> bool {
    match (a, b) {
        (AttributeValue::N(a), AttributeValue::N(b)) => {
            match (Number::parse(a), Number::parse(b)) {
                (Ok(a), Ok(b)) => a.cmp_value(&b).is_eq(),
                _ => a == b,
            }
        }
        // A set has no order: DynamoDB compares its members.
        (AttributeValue::Ss(a), AttributeValue::Ss(b))
        | (AttributeValue::Ns(a), AttributeValue::Ns(b)) => same_members(a, b),
        (AttributeValue::Bs(a), AttributeValue::Bs(b)) => same_members(a, b),
        _ => a == b,
    }
}

/// Whether two sets hold the same members (each way: a set written around the library may
/// repeat one).
fn same_members<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    a.iter().all(|member| b.contains(member)) && b.iter().all(|member| a.contains(member))
}

/// A condition on the sort key of a query. `Debug` shows the comparison, not the values (keys
/// may be personal data).
#[derive(Clone, PartialEq)]
pub enum SortCondition {
    /// Equal to.
    Eq(AttributeValue),
    /// Less than.
    Lt(AttributeValue),
    /// Less than or equal to.
    Le(AttributeValue),
    /// Greater than.
    Gt(AttributeValue),
    /// Greater than or equal to.
    Ge(AttributeValue),
    /// Between the two, both included.
    Between(AttributeValue, AttributeValue),
    /// A string or binary sort key that starts with this prefix.
    BeginsWith(AttributeValue),
}

impl SortCondition {
    /// A condition on a typed value, converted as the model stores it, so that it compares with
    /// the stored form (a timestamp's fixed-width text, a UUID's lowercase text):
    /// `SortCondition::of(SortCondition::Ge, &since)?`.
    ///
    /// A value the type cannot store is [`DataError::InvalidValue`](crate::error::DataError::InvalidValue).
    pub fn of<T: Attribute>(
        condition: fn(AttributeValue) -> SortCondition,
        value: &T,
    ) -> Result<Self> {
        sort_value(value).map(condition)
    }

    /// Between two typed values, both included: `SortCondition::between(&from, &to)?`.
    pub fn between<T: Attribute>(from: &T, to: &T) -> Result<Self> {
        Ok(SortCondition::Between(sort_value(from)?, sort_value(to)?))
    }

    /// The values the condition compares with.
    pub(crate) fn values(&self) -> impl Iterator<Item = &AttributeValue> {
        let (first, second) = match self {
            SortCondition::Eq(v)
            | SortCondition::Lt(v)
            | SortCondition::Le(v)
            | SortCondition::Gt(v)
            | SortCondition::Ge(v)
            | SortCondition::BeginsWith(v) => (v, None),
            SortCondition::Between(low, high) => (low, Some(high)),
        };
        std::iter::once(first).chain(second)
    }

    /// Whether `value` satisfies the condition, in DynamoDB's key order.
    pub(crate) fn matches(&self, value: &AttributeValue) -> bool {
        use Ordering::*;
        let cmp = |other: &AttributeValue| compare_keys(value, other);
        match self {
            SortCondition::Eq(v) => cmp(v) == Equal,
            SortCondition::Lt(v) => cmp(v) == Less,
            SortCondition::Le(v) => cmp(v) != Greater,
            SortCondition::Gt(v) => cmp(v) == Greater,
            SortCondition::Ge(v) => cmp(v) != Less,
            SortCondition::Between(low, high) => cmp(low) != Less && cmp(high) != Greater,
            SortCondition::BeginsWith(prefix) => match (value, prefix) {
                (AttributeValue::S(s), AttributeValue::S(p)) => s.starts_with(p.as_str()),
                (AttributeValue::B(b), AttributeValue::B(p)) => b.starts_with(p),
                _ => false,
            },
        }
    }
}

/// Where a query resumes: the key of the last item of the previous page. Opaque to
/// applications; stores build and read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor(Item);

impl Cursor {
    /// A cursor at the item whose key attributes are `key`.
    pub fn new(key: Item) -> Self {
        Cursor(key)
    }

    /// The key attributes.
    pub fn key(&self) -> &Item {
        &self.0
    }
}

/// A query of one partition, of the table or of a secondary index. `Debug` shows a keyed
/// fingerprint of the partition, not its value.
#[derive(Clone, PartialEq)]
pub struct Query {
    /// The index to query, or `None` for the table.
    pub index: Option<String>,
    /// The partition key's value.
    pub partition: AttributeValue,
    /// A condition on the sort key.
    pub sort: Option<SortCondition>,
    /// At most this many items per page.
    pub limit: Option<u32>,
    /// Where to resume.
    pub cursor: Option<Cursor>,
    /// Descending sort-key order.
    pub descending: bool,
}

impl Query {
    /// All items of the partition `partition` of the table, ascending.
    pub fn partition(partition: impl Into<AttributeValue>) -> Self {
        Query {
            index: None,
            partition: partition.into(),
            sort: None,
            limit: None,
            cursor: None,
            descending: false,
        }
    }

    /// The items whose index `index` has partition key `partition`.
    pub fn index(index: impl Into<String>, partition: impl Into<AttributeValue>) -> Self {
        Query {
            index: Some(index.into()),
            ..Self::partition(partition)
        }
    }

    /// Only items whose sort key satisfies `condition`.
    pub fn sort(mut self, condition: SortCondition) -> Self {
        self.sort = Some(condition);
        self
    }

    /// At most `limit` items per page.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Resumes after the previous page.
    pub fn after(mut self, cursor: Option<Cursor>) -> Self {
        self.cursor = cursor;
        self
    }

    /// Descending order.
    pub fn descending(mut self) -> Self {
        self.descending = true;
        self
    }
}

/// A scan of a whole table, or of one of its segments: DynamoDB's parallel scan, where
/// `total_segments` workers each scan `segment` `0..total_segments` and together see every item
/// once. `Debug` shows the segment and the limit, not the cursor's key.
#[derive(Clone, PartialEq)]
pub struct Scan {
    /// This scan's segment, below `total_segments`.
    pub segment: u32,
    /// How many segments the table is split into (1 to 1,000,000).
    pub total_segments: u32,
    /// At most this many items per page.
    pub limit: Option<u32>,
    /// Where to resume: the cursor of the previous page of the same segment.
    pub cursor: Option<Cursor>,
}

impl Scan {
    /// The whole table, as one segment.
    pub fn all() -> Self {
        Scan::segment(0, 1)
    }

    /// Segment `segment` of `total_segments`.
    pub fn segment(segment: u32, total_segments: u32) -> Self {
        Scan {
            segment,
            total_segments,
            limit: None,
            cursor: None,
        }
    }

    /// At most `limit` items per page.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Resumes after the previous page.
    pub fn after(mut self, cursor: Option<Cursor>) -> Self {
        self.cursor = cursor;
        self
    }
}

impl fmt::Debug for Scan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scan")
            .field("segment", &self.segment)
            .field("total_segments", &self.total_segments)
            .field("limit", &self.limit)
            .field("resumed", &self.cursor.is_some())
            .finish()
    }
}

/// One page of a query. As with DynamoDB, a `cursor` means the page was cut by the limit: there
/// may be more (the next page may also be empty).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Page<T = Item> {
    /// The items, in sort-key order.
    pub items: Vec<T>,
    /// Where the next page starts, if the limit was reached.
    pub cursor: Option<Cursor>,
    /// The records of a table's listing ([`Table::query`](crate::Table::query),
    /// [`Table::scan`](crate::Table::scan)) that the caller may open but that did not open —
    /// edited in storage, malformed, written by another version of the model, under a key the
    /// provider does not hold —, each with its key and the reason, beside the records that did:
    /// the page and its cursor are kept. Empty for a store's page.
    pub unreadable: Vec<Unreadable>,
}

impl<T> Page<T> {
    /// A page of `items`, cut by the limit when `cursor` is given (what a [`Store`](crate::Store)
    /// returns).
    pub fn new(items: Vec<T>, cursor: Option<Cursor>) -> Self {
        Page {
            items,
            cursor,
            unreadable: Vec::new(),
        }
    }
}

/// A record of a listing that the caller may open but that did not open, and why (the error's
/// message, which names attributes and never values). The same record read with
/// [`Table::get`](crate::Table::get) gives the error itself.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Unreadable {
    /// The record's key (`Debug` shows a keyed fingerprint).
    pub key: Key,
    /// Why.
    pub reason: String,
    /// Whether it failed its integrity check (edited or copied in storage): worth an alert.
    pub tampered: bool,
}

impl Unreadable {
    /// The record under `key` did not open, with `error`.
    pub(crate) fn new(key: Key, error: &Error) -> Self {
        Unreadable {
            key,
            reason: error.to_string(),
            tampered: matches!(error, Error::Integrity(_)),
        }
    }
}

/// What a batch get found, and the keys it did not process.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BatchGet {
    /// The items found (in no particular order).
    pub items: Vec<Item>,
    /// Keys not processed this time: ask again.
    pub unprocessed: Vec<Key>,
}

/// One write of a transaction.
#[derive(Clone, Debug, PartialEq)]
pub enum TransactItem {
    /// Stores an item if the condition holds.
    Put {
        /// The table.
        table: TableRef,
        /// The item.
        item: Item,
        /// The condition.
        condition: Condition,
    },
    /// Deletes an item if the condition holds.
    Delete {
        /// The table.
        table: TableRef,
        /// The key.
        key: Key,
        /// The condition.
        condition: Condition,
    },
    /// Writes nothing, but the transaction fails unless the condition holds.
    Check {
        /// The table.
        table: TableRef,
        /// The key.
        key: Key,
        /// The condition.
        condition: Condition,
    },
}

/// Changes to some attributes of one item.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Update {
    /// Attributes to set.
    pub set: Item,
    /// Attributes to remove.
    pub remove: Vec<String>,
}

impl TransactItem {
    /// The table the write goes to.
    pub fn table(&self) -> &TableRef {
        match self {
            TransactItem::Put { table, .. }
            | TransactItem::Delete { table, .. }
            | TransactItem::Check { table, .. } => table,
        }
    }

    /// The key of the item the write touches.
    pub fn key(&self) -> Result<Key> {
        match self {
            TransactItem::Put { table, item, .. } => table.key_of(item),
            TransactItem::Delete { table, key, .. } | TransactItem::Check { table, key, .. } => {
                table.key_item(key)?;
                Ok(key.clone())
            }
        }
    }

    /// Checks a transaction as DynamoDB does: 1 to 100 writes, valid keys, no item touched
    /// twice.
    pub(crate) fn check_all(items: &[TransactItem]) -> Result<()> {
        let Some(first) = items.first() else {
            return Err(Error::Storage(StorageError::InvalidRequest {
                table: String::new(),
                reason: "a transaction holds at least one item".to_owned(),
            }));
        };
        if items.len() > MAX_TRANSACTION {
            return Err(first.table().invalid(format!(
                "a transaction holds at most {MAX_TRANSACTION} items"
            )));
        }
        let mut targets = HashSet::new();
        for item in items {
            if !targets.insert((item.table().name().to_owned(), canonical_key(&item.key()?))) {
                return Err(item
                    .table()
                    .invalid("a transaction cannot touch one item twice".to_owned()));
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Always => f.write_str("Always"),
            Condition::NotExists => f.write_str("NotExists"),
            Condition::Exists => f.write_str("Exists"),
            Condition::Equals(attribute, _) => write!(f, "Equals({attribute:?}, ..)"),
            Condition::Absent(attribute) => write!(f, "Absent({attribute:?})"),
            Condition::And(all) => f.debug_tuple("And").field(all).finish(),
            Condition::Or(any) => f.debug_tuple("Or").field(any).finish(),
        }
    }
}

impl fmt::Debug for SortCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SortCondition::Eq(_) => "Eq(..)",
            SortCondition::Lt(_) => "Lt(..)",
            SortCondition::Le(_) => "Le(..)",
            SortCondition::Gt(_) => "Gt(..)",
            SortCondition::Ge(_) => "Ge(..)",
            SortCondition::Between(..) => "Between(..)",
            SortCondition::BeginsWith(_) => "BeginsWith(..)",
        })
    }
}

impl fmt::Debug for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Query")
            .field("index", &self.index)
            .field("partition", &Key::new(self.partition.clone()))
            .field("sort", &self.sort)
            .field("limit", &self.limit)
            .field("cursor", &self.cursor)
            .field("descending", &self.descending)
            .finish()
    }
}
