//! [`TableRef`]: a physical table as a store addresses it, and DynamoDB's request rules for it.

use crate::error::StorageError;
use std::collections::HashSet;

use super::{Cursor, MAX_BATCH_GET, MAX_BATCH_WRITE, Query, Scan, Update};
use crate::attribute::{AttributeValue, Item, Key, KeyType, Number, canonical_number};
use crate::error::{Error, Result};
use crate::schema::{Schema, validate_table_name};

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
    pub fn for_schema(name: &str, schema: &Schema) -> Result<Self> {
        let (partition, sort) = schema.key_types();
        let mut table = Self::new(name, schema.partition_key(), schema.sort_key())?
            .with_key_types(partition, sort);
        for spec in schema.blind_indexes() {
            table = table.with_index(IndexRef {
                name: spec.secondary_index().to_owned(),
                partition_key: spec.attribute().to_owned(),
                partition_key_type: KeyType::B,
                sort_key: None,
            });
        }
        for index in schema.secondary_indexes() {
            let (partition_key, partition_key_type) = index.partition_key();
            table = table.with_index(IndexRef {
                name: index.name().to_owned(),
                partition_key: partition_key.to_owned(),
                partition_key_type,
                sort_key: index
                    .sort_key()
                    .map(|(name, key_type)| (name.to_owned(), key_type)),
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
        self.indexes.iter().find(|i| i.name == name).ok_or_else(|| {
            Error::Storage(StorageError::InvalidRequest {
                table: self.name.clone(),
                reason: format!("the table has no index `{name}`"),
            })
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
        self.check_key(key)?;
        let mut item = Item::new();
        item.insert(self.partition_key, key.partition.clone());
        if let (Some(name), Some(sort)) = (self.sort_key, &key.sort) {
            item.insert(name, sort.clone());
        }
        Ok(item)
    }

    /// Checks that `key` names a record of this table: its attributes and their types, as
    /// [`key_item`](Self::key_item) does, without building the item.
    pub(crate) fn check_key(&self, key: &Key) -> Result<()> {
        self.check_key_value(self.partition_key, &key.partition, self.key_types.0)?;
        match (self.sort_key, &key.sort) {
            (Some(name), Some(sort)) => self.check_key_value(name, sort, self.key_types.1),
            (None, None) => Ok(()),
            (Some(name), None) => Err(self.invalid(format!("the key lacks sort key `{name}`"))),
            (None, Some(_)) => Err(self.invalid("the table has no sort key".to_owned())),
        }
    }

    /// A key value must have the type the table declares for it, as DynamoDB requires.
    fn check_key_value(&self, name: &str, value: &AttributeValue, expected: KeyType) -> Result<()> {
        let actual = match value {
            AttributeValue::S(_) => KeyType::S,
            AttributeValue::N(n) => {
                if Number::parse(n).is_err() {
                    return Err(self.invalid(format!(
                        "key attribute `{name}` is a number (N) that is not a decimal number"
                    )));
                }
                KeyType::N
            }
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

    /// The key space a query of `index` (or of the table, for `None`) reads: its partition key
    /// attribute and its sort key attribute, if any.
    pub fn key_space(&self, index: Option<&str>) -> Result<(&str, Option<&str>)> {
        match index {
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

    /// The cursor that resumes a query of the table (`index` `None`) or of `index` after `item`:
    /// the item's table key and, for an index, its index keys, as DynamoDB's
    /// `LastEvaluatedKey` holds them.
    pub fn cursor_at(&self, item: &Item, index: Option<&str>) -> Result<Cursor> {
        let mut key = self.key_item(&self.key_of(item)?)?;
        let (partition_key, sort_key) = self.key_space(index)?;
        for name in std::iter::once(partition_key).chain(sort_key) {
            if let Some(value) = item.get(name) {
                key.insert(name, value.clone());
            }
        }
        Ok(Cursor::new(key))
    }

    /// Checks a query: a limit of at least 1, on the table or an index it has.
    /// The partition value and every value of the sort condition must have the key types of
    /// the key space queried, and numbers must be decimal numbers, as DynamoDB requires.
    pub(crate) fn check_query(&self, query: &Query) -> Result<()> {
        if query.limit == Some(0) {
            return Err(self.invalid("a query limit must be at least 1".to_owned()));
        }
        let (partition_key, sort_key) = self.key_space(query.index.as_deref())?;
        let (partition_type, sort_type) = match &query.index {
            None => (self.key_types.0, self.sort_key.map(|_| self.key_types.1)),
            Some(name) => {
                let index = self.index(name)?;
                (
                    index.partition_key_type,
                    index.sort_key.as_ref().map(|(_, key_type)| *key_type),
                )
            }
        };
        self.check_key_value(partition_key, &query.partition, partition_type)?;
        if let (Some(condition), Some(name), Some(sort_type)) = (&query.sort, sort_key, sort_type) {
            for value in condition.values() {
                self.check_key_value(name, value, sort_type)?;
            }
        }
        Ok(())
    }

    /// Checks a scan: a limit of at least 1, 1 to 1,000,000 segments (DynamoDB's bounds), a
    /// segment below their number, and a cursor that is a key of this table.
    pub(crate) fn check_scan(&self, scan: &Scan) -> Result<()> {
        if scan.limit == Some(0) {
            return Err(self.invalid("a scan limit must be at least 1".to_owned()));
        }
        if !(1..=1_000_000).contains(&scan.total_segments) {
            return Err(self.invalid("a scan has 1 to 1,000,000 segments".to_owned()));
        }
        if scan.segment >= scan.total_segments {
            return Err(self.invalid(format!(
                "segment {} of a scan in {} segments: segments count from 0",
                scan.segment, scan.total_segments
            )));
        }
        if let Some(cursor) = &scan.cursor {
            self.key_item(&self.key_of(cursor.key())?)?;
        }
        Ok(())
    }

    /// Checks an update of the item under `key` (it may not change a key attribute) and returns
    /// the key as an item.
    pub(crate) fn check_update(&self, key: &Key, update: &Update) -> Result<Item> {
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
    pub(crate) fn check_batch_write(&self, items: &[Item]) -> Result<Vec<Key>> {
        if items.is_empty() || items.len() > MAX_BATCH_WRITE {
            return Err(self.invalid(format!("a batch write holds 1 to {MAX_BATCH_WRITE} items")));
        }
        let keys = items
            .iter()
            .map(|item| self.key_of(item))
            .collect::<Result<Vec<_>>>()?;
        if !distinct(&keys) {
            return Err(self.invalid("a batch write cannot hold one key twice".to_owned()));
        }
        Ok(keys)
    }

    /// Checks a batch get as DynamoDB does: 1 to 100 keys, valid, none twice.
    pub(crate) fn check_batch_get(&self, keys: &[Key]) -> Result<()> {
        if keys.is_empty() || keys.len() > MAX_BATCH_GET {
            return Err(self.invalid(format!("a batch get holds 1 to {MAX_BATCH_GET} keys")));
        }
        for key in keys {
            self.key_item(key)?;
        }
        if !distinct(keys) {
            return Err(self.invalid("a batch get cannot hold one key twice".to_owned()));
        }
        Ok(())
    }

    pub(crate) fn invalid(&self, reason: String) -> Error {
        Error::Storage(StorageError::InvalidRequest {
            table: self.name.clone(),
            reason,
        })
    }
}

/// A key with its numbers in canonical form, so that `N("1")` and `N("1.0")` are one key, as in
/// DynamoDB.
pub(crate) fn canonical_key(key: &Key) -> Key {
    let canonical = |value: &AttributeValue| match value {
        AttributeValue::N(n) => {
            AttributeValue::N(canonical_number(n).unwrap_or_else(|_| n.clone()))
        }
        other => other.clone(),
    };
    Key {
        partition: canonical(&key.partition),
        sort: key.sort.as_ref().map(canonical),
    }
}

/// Whether no two keys are the same key.
fn distinct(keys: &[Key]) -> bool {
    keys.iter().map(canonical_key).collect::<HashSet<_>>().len() == keys.len()
}
