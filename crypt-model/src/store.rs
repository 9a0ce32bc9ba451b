//! [`Store`]: the storage trait, shaped after DynamoDB, and what its operations take.
//!
//! A store holds items in tables by primary key. Writes can be conditional; queries read one
//! partition in sort-key order, a page at a time; batches may hand back what they did not
//! process; transactions are all or nothing. [`MemoryStore`] is the embedded implementation;
//! `crypt-model-dynamo` provides `DynamoStore`.

use std::cmp::Ordering;
use std::sync::Arc;

use async_trait::async_trait;

use crate::attribute::{AttributeValue, Item};
use crate::error::{Error, Result};
use crate::schema::validate_table_name;

mod memory;

pub use memory::MemoryStore;

/// The type of a key attribute, as a table declares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum KeyType {
    /// A string.
    #[default]
    S,
    /// A number.
    N,
    /// Binary.
    B,
}

/// A physical table as a store addresses it: its validated name and key schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableRef {
    name: String,
    partition_key: &'static str,
    sort_key: Option<&'static str>,
    key_types: (KeyType, KeyType),
    indexes: Vec<IndexRef>,
}

/// A secondary index of a table: a name and the attributes that key it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexRef {
    /// The index's name.
    pub name: String,
    /// Its partition key attribute.
    pub partition_key: String,
    /// The partition key's type.
    pub partition_key_type: KeyType,
    /// Its sort key attribute and type, if any.
    pub sort_key: Option<(String, KeyType)>,
}

impl TableRef {
    /// A table named `name` (checked against DynamoDB's rules) keyed by `partition_key` and,
    /// optionally, `sort_key`.
    pub fn new(
        name: &str,
        partition_key: &'static str,
        sort_key: Option<&'static str>,
    ) -> Result<Self> {
        validate_table_name(name)?;
        Ok(TableRef {
            name: name.to_owned(),
            partition_key,
            sort_key,
            key_types: (KeyType::S, KeyType::S),
            indexes: Vec::new(),
        })
    }

    /// The table of a model, named `name`, with the model's key schema and key types.
    pub fn for_schema(name: &str, schema: &crate::schema::Schema) -> Result<Self> {
        let (partition, sort) = schema.key_types();
        let mut table = Self::new(name, schema.partition_key(), schema.sort_key())?
            .with_key_types(partition, sort);
        for spec in schema.indexes() {
            table = table.with_index(IndexRef {
                name: spec.secondary_index().to_owned(),
                partition_key: spec.attribute().to_owned(),
                partition_key_type: KeyType::B,
                sort_key: None,
            });
        }
        Ok(table)
    }

    /// Sets the types of the partition and sort keys (default: strings).
    pub fn with_key_types(mut self, partition: KeyType, sort: KeyType) -> Self {
        self.key_types = (partition, sort);
        self
    }

    /// The same table under another physical name (validated).
    pub fn renamed(&self, name: &str) -> Result<Self> {
        validate_table_name(name)?;
        Ok(TableRef {
            name: name.to_owned(),
            ..self.clone()
        })
    }

    /// The partition key's type.
    pub fn partition_key_type(&self) -> KeyType {
        self.key_types.0
    }

    /// The sort key's type (meaningful when there is a sort key).
    pub fn sort_key_type(&self) -> KeyType {
        self.key_types.1
    }

    /// Adds a secondary index.
    pub fn with_index(mut self, index: IndexRef) -> Self {
        self.indexes.push(index);
        self
    }

    /// The physical name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The partition key attribute.
    pub fn partition_key(&self) -> &'static str {
        self.partition_key
    }

    /// The sort key attribute, if any.
    pub fn sort_key(&self) -> Option<&'static str> {
        self.sort_key
    }

    /// The secondary indexes.
    pub fn indexes(&self) -> &[IndexRef] {
        &self.indexes
    }

    /// The index called `name`.
    pub fn index(&self, name: &str) -> Result<&IndexRef> {
        self.indexes
            .iter()
            .find(|i| i.name == name)
            .ok_or_else(|| Error::InvalidRequest {
                table: self.name.clone(),
                reason: format!("the table has no index `{name}`"),
            })
    }

    /// The primary key of `item`.
    pub fn key_of(&self, item: &Item) -> Result<Key> {
        let part = |name: &str, key_type| match item.get(name) {
            Some(value) => self
                .check_key_value(name, value, key_type)
                .map(|()| value.clone()),
            None => Err(self.invalid(format!("the item lacks key attribute `{name}`"))),
        };
        Ok(Key {
            partition: part(self.partition_key, self.key_types.0)?,
            sort: self
                .sort_key
                .map(|name| part(name, self.key_types.1))
                .transpose()?,
        })
    }

    /// The key as an item of its attributes.
    pub fn key_item(&self, key: &Key) -> Result<Item> {
        let mut item = Item::new();
        self.check_key_value(self.partition_key, &key.partition, self.key_types.0)?;
        item.insert(self.partition_key, key.partition.clone());
        match (self.sort_key, &key.sort) {
            (Some(name), Some(sort)) => {
                self.check_key_value(name, sort, self.key_types.1)?;
                item.insert(name, sort.clone());
            }
            (None, None) => {}
            (Some(name), None) => {
                return Err(self.invalid(format!("the key lacks sort key `{name}`")));
            }
            (None, Some(_)) => return Err(self.invalid("the table has no sort key".to_owned())),
        }
        Ok(item)
    }

    /// A key value must have the type the table declares for it, as DynamoDB requires.
    fn check_key_value(&self, name: &str, value: &AttributeValue, expected: KeyType) -> Result<()> {
        let actual = match value {
            AttributeValue::S(_) => KeyType::S,
            AttributeValue::N(_) => KeyType::N,
            AttributeValue::B(_) => KeyType::B,
            _ => {
                return Err(self.invalid(format!(
                    "key attribute `{name}` must be a string, a number or binary"
                )));
            }
        };
        if actual != expected {
            return Err(self.invalid(format!(
                "key attribute `{name}` has type {actual:?}, but the table declares {expected:?}"
            )));
        }
        Ok(())
    }

    /// Checks a query and returns the key space it reads: the partition and sort key attributes
    /// of the table, or of the index it names.
    pub fn check_query(&self, query: &Query) -> Result<(&str, Option<&str>)> {
        if query.limit == Some(0) {
            return Err(self.invalid("a query limit must be at least 1".to_owned()));
        }
        match &query.index {
            None => Ok((self.partition_key, self.sort_key)),
            Some(name) => {
                let index = self.index(name)?;
                Ok((
                    &index.partition_key,
                    index.sort_key.as_ref().map(|(name, _)| name.as_str()),
                ))
            }
        }
    }

    /// Checks an update of the item under `key` (it may not change a key attribute) and returns
    /// the key as an item.
    pub fn check_update(&self, key: &Key, update: &Update) -> Result<Item> {
        let key_item = self.key_item(key)?;
        let touched = update
            .set
            .iter()
            .map(|(name, _)| name)
            .chain(update.remove.iter().map(String::as_str));
        for name in touched {
            if key_item.contains(name) {
                return Err(self.invalid(format!("an update cannot change key attribute `{name}`")));
            }
        }
        Ok(key_item)
    }

    /// Checks a batch write as DynamoDB does: 1 to 25 items, valid keys, no key twice. Returns
    /// the keys, in order.
    pub fn check_batch_write(&self, items: &[Item]) -> Result<Vec<Key>> {
        if items.is_empty() || items.len() > MAX_BATCH_WRITE {
            return Err(self.invalid(format!("a batch write holds 1 to {MAX_BATCH_WRITE} items")));
        }
        let keys = items
            .iter()
            .map(|item| self.key_of(item))
            .collect::<Result<Vec<_>>>()?;
        if keys.iter().collect::<std::collections::HashSet<_>>().len() != keys.len() {
            return Err(self.invalid("a batch write cannot hold one key twice".to_owned()));
        }
        Ok(keys)
    }

    /// Checks a batch get as DynamoDB does: 1 to 100 keys, valid, none twice.
    pub fn check_batch_get(&self, keys: &[Key]) -> Result<()> {
        if keys.is_empty() || keys.len() > MAX_BATCH_GET {
            return Err(self.invalid(format!("a batch get holds 1 to {MAX_BATCH_GET} keys")));
        }
        for key in keys {
            self.key_item(key)?;
        }
        if keys.iter().collect::<std::collections::HashSet<_>>().len() != keys.len() {
            return Err(self.invalid("a batch get cannot hold one key twice".to_owned()));
        }
        Ok(())
    }

    pub(crate) fn invalid(&self, reason: String) -> Error {
        Error::InvalidRequest {
            table: self.name.clone(),
            reason,
        }
    }
}

/// A primary key: the partition key's value and, for tables with one, the sort key's.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    /// The partition key's value.
    pub partition: AttributeValue,
    /// The sort key's value.
    pub sort: Option<AttributeValue>,
}

impl Key {
    /// A key of a table without a sort key.
    pub fn new(partition: impl Into<AttributeValue>) -> Self {
        Key {
            partition: partition.into(),
            sort: None,
        }
    }

    /// Adds the sort key's value.
    pub fn with_sort(mut self, sort: impl Into<AttributeValue>) -> Self {
        self.sort = Some(sort.into());
        self
    }
}

impl std::hash::Hash for AttributeValue {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        match self {
            AttributeValue::S(s) | AttributeValue::N(s) => s.hash(state),
            AttributeValue::B(b) => b.hash(state),
            AttributeValue::Bool(b) => b.hash(state),
            AttributeValue::Null => {}
            AttributeValue::L(l) => l.hash(state),
            AttributeValue::M(m) => m.hash(state),
            AttributeValue::Ss(v) | AttributeValue::Ns(v) => v.hash(state),
            AttributeValue::Bs(v) => v.hash(state),
        }
    }
}

impl From<&str> for AttributeValue {
    fn from(s: &str) -> Self {
        AttributeValue::S(s.to_owned())
    }
}

impl From<String> for AttributeValue {
    fn from(s: String) -> Self {
        AttributeValue::S(s)
    }
}

macro_rules! number_into_attribute {
    ($($t:ty),*) => {$(
        impl From<$t> for AttributeValue {
            fn from(n: $t) -> Self {
                AttributeValue::N(n.to_string())
            }
        }
    )*};
}

number_into_attribute!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize
);

impl From<Vec<u8>> for AttributeValue {
    fn from(b: Vec<u8>) -> Self {
        AttributeValue::B(b)
    }
}

/// A condition on the stored item, checked atomically with a write.
///
/// Evaluated against the item stored under the written key, or against nothing when there is
/// none (then only [`NotExists`](Condition::NotExists) holds).
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    /// No condition.
    Always,
    /// No item is stored under the key.
    NotExists,
    /// An item is stored under the key.
    Exists,
    /// The stored item has `attribute` equal to `value`.
    Equals(String, AttributeValue),
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

    /// Whether the condition holds for `stored`.
    pub fn holds(&self, stored: Option<&Item>) -> bool {
        match self {
            Condition::Always => true,
            Condition::NotExists => stored.is_none(),
            Condition::Exists => stored.is_some(),
            Condition::Equals(attribute, value) => {
                stored.and_then(|item| item.get(attribute)) == Some(value)
            }
            Condition::And(all) => all.iter().all(|c| c.holds(stored)),
            Condition::Or(any) => any.iter().any(|c| c.holds(stored)),
        }
    }
}

/// A condition on the sort key of a query.
#[derive(Clone, Debug, PartialEq)]
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
    /// Whether `value` satisfies the condition, in DynamoDB's key order.
    pub fn matches(&self, value: &AttributeValue) -> bool {
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

/// A query of one partition, of the table or of a secondary index.
#[derive(Clone, Debug, PartialEq)]
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

/// One page of a query. As with DynamoDB, a `cursor` means the page was cut by the limit: there
/// may be more (the next page may also be empty).
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T = Item> {
    /// The items, in sort-key order.
    pub items: Vec<T>,
    /// Where the next page starts, if the limit was reached.
    pub cursor: Option<Cursor>,
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

/// The largest number of items in one batch write, as in DynamoDB.
pub const MAX_BATCH_WRITE: usize = 25;
/// The largest number of keys in one batch get, as in DynamoDB.
pub const MAX_BATCH_GET: usize = 100;
/// The largest number of items in one transaction, as in DynamoDB.
pub const MAX_TRANSACTION: usize = 100;
/// The largest item, as in DynamoDB.
pub const MAX_ITEM_SIZE: usize = 400 * 1024;

/// Storage of items, shaped after DynamoDB. Implementations must behave as DynamoDB does in
/// what callers can observe: conditional failures, sort-key order, page boundaries, and
/// transaction atomicity (the workspace's conformance suite checks it).
#[async_trait]
pub trait Store: Send + Sync {
    /// Stores `item` under its key if `condition` holds, replacing any item there; else
    /// [`Error::ConditionFailed`].
    async fn put(&self, table: &TableRef, item: Item, condition: &Condition) -> Result<()>;

    /// The item stored under `key`.
    async fn get(&self, table: &TableRef, key: &Key) -> Result<Option<Item>>;

    /// Deletes the item under `key` if `condition` holds (deleting nothing is not an error);
    /// else [`Error::ConditionFailed`].
    async fn delete(&self, table: &TableRef, key: &Key, condition: &Condition) -> Result<()>;

    /// Sets and removes attributes of the item under `key` if `condition` holds; else
    /// [`Error::ConditionFailed`].
    async fn update(
        &self,
        table: &TableRef,
        key: &Key,
        update: &Update,
        condition: &Condition,
    ) -> Result<()>;

    /// One page of a query.
    async fn query(&self, table: &TableRef, query: &Query) -> Result<Page>;

    /// Stores up to [`MAX_BATCH_WRITE`] items without conditions; returns those not processed
    /// this time.
    async fn batch_put(&self, table: &TableRef, items: Vec<Item>) -> Result<Vec<Item>>;

    /// Reads up to [`MAX_BATCH_GET`] keys; returns what was found and the keys not processed.
    async fn batch_get(&self, table: &TableRef, keys: Vec<Key>) -> Result<BatchGet>;

    /// Writes up to [`MAX_TRANSACTION`] items, all or nothing; when a condition fails,
    /// [`Error::TransactionCancelled`] with the reason per item.
    async fn transact_write(&self, items: Vec<TransactItem>) -> Result<()>;
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
    pub fn check_all(items: &[TransactItem]) -> Result<()> {
        let Some(first) = items.first() else {
            return Err(Error::InvalidRequest {
                table: String::new(),
                reason: "a transaction holds at least one item".to_owned(),
            });
        };
        if items.len() > MAX_TRANSACTION {
            return Err(first.table().invalid(format!(
                "a transaction holds at most {MAX_TRANSACTION} items"
            )));
        }
        let mut targets = std::collections::HashSet::new();
        for item in items {
            if !targets.insert((item.table().name().to_owned(), item.key()?)) {
                return Err(item
                    .table()
                    .invalid("a transaction cannot touch one item twice".to_owned()));
            }
        }
        Ok(())
    }
}

/// DynamoDB's order of key values: strings and binary by bytes, numbers by value.
pub fn compare_keys(a: &AttributeValue, b: &AttributeValue) -> Ordering {
    match (a, b) {
        (AttributeValue::S(a), AttributeValue::S(b)) => a.as_bytes().cmp(b.as_bytes()),
        (AttributeValue::B(a), AttributeValue::B(b)) => a.cmp(b),
        (AttributeValue::N(a), AttributeValue::N(b)) => compare_numbers(a, b),
        (a, b) => rank(a).cmp(&rank(b)),
    }
}

fn rank(value: &AttributeValue) -> u8 {
    match value {
        AttributeValue::S(_) => 0,
        AttributeValue::N(_) => 1,
        AttributeValue::B(_) => 2,
        _ => 3,
    }
}

/// Compares two decimal numbers (`-12.50`, `7`, `1e3`) by value, at full precision.
fn compare_numbers(a: &str, b: &str) -> Ordering {
    let (a, b) = (Decimal::parse(a), Decimal::parse(b));
    match (a.negative && !a.is_zero(), b.negative && !b.is_zero()) {
        (false, true) => Ordering::Greater,
        (true, false) => Ordering::Less,
        (false, false) => a.cmp_magnitude(&b),
        (true, true) => b.cmp_magnitude(&a),
    }
}

/// A decimal as its sign, its significant digits and the power of ten of the first digit.
struct Decimal {
    negative: bool,
    digits: Vec<u8>,
    exponent: i64,
}

impl Decimal {
    fn parse(text: &str) -> Decimal {
        let (negative, rest) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (mantissa, exp) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().unwrap_or(0)),
            None => (rest, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let all: Vec<u8> = int
            .bytes()
            .chain(frac.bytes())
            .filter(u8::is_ascii_digit)
            .map(|d| d - b'0')
            .collect();
        let leading = all.iter().take_while(|&&d| d == 0).count();
        let mut digits = all[leading..].to_vec();
        while digits.last() == Some(&0) {
            digits.pop();
        }
        let exponent = int.len() as i64 - leading as i64 + exp;
        Decimal {
            negative,
            digits,
            exponent,
        }
    }

    fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    fn cmp_magnitude(&self, other: &Decimal) -> Ordering {
        match (self.is_zero(), other.is_zero()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        self.exponent
            .cmp(&other.exponent)
            .then_with(|| self.digits.cmp(&other.digits))
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_order_by_value_at_full_precision() {
        let sorted = [
            "-1000",
            "-12.5",
            "-12.25",
            "-1",
            "-0.001",
            "0",
            "-0",
            "0.0001",
            "1",
            "1.5",
            "2",
            "10",
            "1e2",
            "170141183460469231731687303715884105727",
            "340282366920938463463374607431768211455",
        ];
        for pair in sorted.windows(2) {
            let order = compare_numbers(pair[0], pair[1]);
            let equal = matches!((pair[0], pair[1]), ("0", "-0"));
            assert_eq!(
                order,
                if equal {
                    Ordering::Equal
                } else {
                    Ordering::Less
                },
                "{pair:?}"
            );
        }
        assert_eq!(compare_numbers("100", "1e2"), Ordering::Equal);
        assert_eq!(compare_numbers("007.50", "7.5"), Ordering::Equal);
    }
}
