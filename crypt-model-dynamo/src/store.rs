//! [`DynamoStore`]: the `Store` over Amazon DynamoDB.

use crypt_model::error::StorageError;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    ConditionCheck, ConsumedCapacity, Delete, KeysAndAttributes, Put, PutRequest,
    ReturnConsumedCapacity, TransactWriteItem, WriteRequest,
};
use crypt_model::store::{
    BatchGet, CapacityUnits, Condition, Cursor, Page, Query, Scan, Store, TableRef, TransactItem,
    Update,
};
use crypt_model::{Error, Item, Key, Result};

use crate::convert::{item_from_sdk, item_to_sdk};
use crate::error;
use crate::expression::Expressions;

/// A [`Store`](crypt_model::Store) over Amazon DynamoDB (or anything that speaks its protocol).
///
/// Conditions become condition expressions with `#name`/`:value` placeholders, never text built
/// from values. Reads are strongly consistent (queries of secondary indexes cannot be).
/// Errors are typed: a failed condition is [`StorageError::ConditionFailed`](crypt_model::error::StorageError::ConditionFailed), a missing table
/// [`StorageError::TableNotFound`](crypt_model::error::StorageError::TableNotFound), throttling [`StorageError::Throttled`](crypt_model::error::StorageError::Throttled), a cancelled transaction
/// [`StorageError::TransactionCancelled`](crypt_model::error::StorageError::TransactionCancelled) with DynamoDB's reason per item.
///
/// The table a record goes to is fixed by the [`TableRef`] built from configuration
/// (`crypt_model::Table::named`), never by request input.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    /// The capacity units consumed, in thousandths, when counted.
    capacity: Option<Arc<Consumed>>,
}

/// Capacity units consumed, in thousandths of a unit.
#[derive(Debug, Default)]
struct Consumed {
    read: AtomicU64,
    write: AtomicU64,
}

impl DynamoStore {
    /// A store over `client` (built with `aws-config`, or with an endpoint for a local server).
    pub fn new(client: Client) -> Self {
        DynamoStore {
            client,
            capacity: None,
        }
    }

    /// Asks DynamoDB for the capacity each request consumes (`ReturnConsumedCapacity`
    /// `TOTAL`) and counts it ([`Store::consumed_capacity`]): for a job paced by capacity
    /// units. Clones share the count.
    pub fn counting_capacity(mut self) -> Self {
        self.capacity = Some(Arc::default());
        self
    }

    /// `TOTAL` when counting.
    fn returned(&self) -> Option<ReturnConsumedCapacity> {
        self.capacity
            .as_ref()
            .map(|_| ReturnConsumedCapacity::Total)
    }

    /// Counts what `consumed` says a request took, as reads or as writes.
    fn count<'a>(&self, consumed: impl IntoIterator<Item = &'a ConsumedCapacity>, write: bool) {
        let Some(counted) = &self.capacity else {
            return;
        };
        let units: f64 = consumed
            .into_iter()
            .filter_map(ConsumedCapacity::capacity_units)
            .sum();
        // Whole thousandths; a unit count is never negative.
        let thousandths = (units.max(0.0) * 1000.0).round() as u64;
        let into = if write { &counted.write } else { &counted.read };
        into.fetch_add(thousandths, Ordering::Relaxed);
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

fn key_map(
    table: &TableRef,
    key: &Key,
) -> Result<HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    Ok(item_to_sdk(&table.key_item(key)?))
}

#[async_trait]
impl Store for DynamoStore {
    async fn put(&self, table: &TableRef, item: Item, condition: &Condition) -> Result<()> {
        let mut expressions = Expressions::default();
        let condition = expressions.condition(condition, table.partition_key());
        let output = self
            .client
            .put_item()
            .table_name(table.name())
            .set_item(Some(item_to_sdk(&item)))
            .set_condition_expression(condition)
            .set_expression_attribute_names(expressions.names())
            .set_expression_attribute_values(expressions.values())
            .set_return_consumed_capacity(self.returned())
            .send()
            .await
            .map_err(|e| error::map(table.name(), e))?;
        self.count(output.consumed_capacity(), true);
        Ok(())
    }

    fn consumed_capacity(&self) -> Option<CapacityUnits> {
        self.capacity.as_ref().map(|counted| CapacityUnits {
            read: counted.read.load(Ordering::Relaxed) as f64 / 1000.0,
            write: counted.write.load(Ordering::Relaxed) as f64 / 1000.0,
        })
    }

    async fn get(&self, table: &TableRef, key: &Key) -> Result<Option<Item>> {
        let output = self
            .client
            .get_item()
            .table_name(table.name())
            .set_key(Some(key_map(table, key)?))
            .consistent_read(true)
            .set_return_consumed_capacity(self.returned())
            .send()
            .await
            .map_err(|e| error::map(table.name(), e))?;
        self.count(output.consumed_capacity(), false);
        output.item.map(item_from_sdk).transpose()
    }

    async fn delete(&self, table: &TableRef, key: &Key, condition: &Condition) -> Result<()> {
        let mut expressions = Expressions::default();
        let condition = expressions.condition(condition, table.partition_key());
        let output = self
            .client
            .delete_item()
            .table_name(table.name())
            .set_key(Some(key_map(table, key)?))
            .set_condition_expression(condition)
            .set_expression_attribute_names(expressions.names())
            .set_expression_attribute_values(expressions.values())
            .set_return_consumed_capacity(self.returned())
            .send()
            .await
            .map_err(|e| error::map(table.name(), e))?;
        self.count(output.consumed_capacity(), true);
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
        let mut expressions = Expressions::default();
        let update_expression = expressions.update(update);
        let condition = expressions.condition(condition, table.partition_key());
        let output = self
            .client
            .update_item()
            .table_name(table.name())
            .set_key(Some(item_to_sdk(&key_item)))
            .update_expression(update_expression)
            .set_condition_expression(condition)
            .set_expression_attribute_names(expressions.names())
            .set_expression_attribute_values(expressions.values())
            .set_return_consumed_capacity(self.returned())
            .send()
            .await
            .map_err(|e| error::map(table.name(), e))?;
        self.count(output.consumed_capacity(), true);
        Ok(())
    }

    async fn query(&self, table: &TableRef, query: &Query) -> Result<Page> {
        let (partition_key, sort_key) = table.key_space(query.index.as_deref())?;
        let mut expressions = Expressions::default();
        let key_condition = expressions.key_condition(
            partition_key,
            &query.partition,
            sort_key,
            query.sort.as_ref(),
        );
        let limit = query.limit.map(|l| i32::try_from(l).unwrap_or(i32::MAX));
        let output = self
            .client
            .query()
            .table_name(table.name())
            .set_index_name(query.index.clone())
            .key_condition_expression(key_condition)
            .set_expression_attribute_names(expressions.names())
            .set_expression_attribute_values(expressions.values())
            .set_limit(limit)
            .set_exclusive_start_key(query.cursor.as_ref().map(|c| item_to_sdk(c.key())))
            .scan_index_forward(!query.descending)
            .consistent_read(query.index.is_none())
            .set_return_consumed_capacity(self.returned())
            .send()
            .await
            .map_err(|e| error::map_query(table.name(), query.index.as_deref(), e))?;
        self.count(output.consumed_capacity(), false);
        page(output.items, output.last_evaluated_key)
    }

    async fn scan(&self, table: &TableRef, scan: &Scan) -> Result<Page> {
        let limit = scan.limit.map(|l| i32::try_from(l).unwrap_or(i32::MAX));
        // The checks bound both by 1,000,000.
        let segment = i32::try_from(scan.segment).unwrap_or(i32::MAX);
        let total_segments = i32::try_from(scan.total_segments).unwrap_or(i32::MAX);
        let output = self
            .client
            .scan()
            .table_name(table.name())
            .segment(segment)
            .total_segments(total_segments)
            .set_limit(limit)
            .set_exclusive_start_key(scan.cursor.as_ref().map(|c| item_to_sdk(c.key())))
            .consistent_read(true)
            .set_return_consumed_capacity(self.returned())
            .send()
            .await
            .map_err(|e| error::map(table.name(), e))?;
        self.count(output.consumed_capacity(), false);
        page(output.items, output.last_evaluated_key)
    }

    async fn batch_put(&self, table: &TableRef, items: Vec<Item>) -> Result<Vec<Item>> {
        let mut requests = Vec::with_capacity(items.len());
        for item in &items {
            let put = PutRequest::builder()
                .set_item(Some(item_to_sdk(item)))
                .build()
                .map_err(|e| error::build(table.name(), e))?;
            requests.push(WriteRequest::builder().put_request(put).build());
        }
        let output = self
            .client
            .batch_write_item()
            .request_items(table.name(), requests)
            .set_return_consumed_capacity(self.returned())
            .send()
            .await
            .map_err(|e| error::map(table.name(), e))?;
        self.count(output.consumed_capacity(), true);
        let unprocessed = output
            .unprocessed_items
            .unwrap_or_default()
            .remove(table.name())
            .unwrap_or_default();
        unprocessed
            .into_iter()
            .filter_map(|request| request.put_request)
            .map(|put| item_from_sdk(put.item))
            .collect()
    }

    async fn batch_get(&self, table: &TableRef, keys: Vec<Key>) -> Result<BatchGet> {
        let maps = keys
            .iter()
            .map(|key| key_map(table, key))
            .collect::<Result<Vec<_>>>()?;
        let request = KeysAndAttributes::builder()
            .set_keys(Some(maps))
            .consistent_read(true)
            .build()
            .map_err(|e| error::build(table.name(), e))?;
        let output = self
            .client
            .batch_get_item()
            .request_items(table.name(), request)
            .set_return_consumed_capacity(self.returned())
            .send()
            .await
            .map_err(|e| error::map(table.name(), e))?;
        self.count(output.consumed_capacity(), false);
        let items = output
            .responses
            .unwrap_or_default()
            .remove(table.name())
            .unwrap_or_default()
            .into_iter()
            .map(item_from_sdk)
            .collect::<Result<_>>()?;
        let unprocessed = match output
            .unprocessed_keys
            .unwrap_or_default()
            .remove(table.name())
        {
            Some(left) => left
                .keys
                .into_iter()
                .map(|key| item_from_sdk(key).and_then(|key| table.key_of(&key)))
                .collect::<Result<_>>()?,
            None => Vec::new(),
        };
        Ok(BatchGet { items, unprocessed })
    }

    async fn transact_write(&self, items: Vec<TransactItem>) -> Result<()> {
        let name = items
            .first()
            .map(|item| item.table().name().to_owned())
            .unwrap_or_default();
        let mut writes = Vec::with_capacity(items.len());
        for item in &items {
            let table = item.table();
            let mut expressions = Expressions::default();
            let write = match item {
                TransactItem::Put {
                    item, condition, ..
                } => {
                    let condition = expressions.condition(condition, table.partition_key());
                    let put = Put::builder()
                        .table_name(table.name())
                        .set_item(Some(item_to_sdk(item)))
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(expressions.names())
                        .set_expression_attribute_values(expressions.values())
                        .build()
                        .map_err(|e| error::build(table.name(), e))?;
                    TransactWriteItem::builder().put(put).build()
                }
                TransactItem::Delete { key, condition, .. } => {
                    let condition = expressions.condition(condition, table.partition_key());
                    let delete = Delete::builder()
                        .table_name(table.name())
                        .set_key(Some(key_map(table, key)?))
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(expressions.names())
                        .set_expression_attribute_values(expressions.values())
                        .build()
                        .map_err(|e| error::build(table.name(), e))?;
                    TransactWriteItem::builder().delete(delete).build()
                }
                TransactItem::Check { key, condition, .. } => {
                    let condition = expressions
                        .condition(condition, table.partition_key())
                        .unwrap_or_else(|| expressions.always(table.partition_key()));
                    let check = ConditionCheck::builder()
                        .table_name(table.name())
                        .set_key(Some(key_map(table, key)?))
                        .condition_expression(condition)
                        .set_expression_attribute_names(expressions.names())
                        .set_expression_attribute_values(expressions.values())
                        .build()
                        .map_err(|e| error::build(table.name(), e))?;
                    TransactWriteItem::builder().condition_check(check).build()
                }
            };
            writes.push(write);
        }
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .set_return_consumed_capacity(self.returned())
            .send()
            .await
        {
            Ok(output) => {
                self.count(output.consumed_capacity(), true);
                Ok(())
            }
            Err(sdk_error) => {
                if let Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(cancelled)) =
                    sdk_error.as_service_error()
                {
                    let reasons = cancelled
                        .cancellation_reasons()
                        .iter()
                        .map(|reason| reason.code().filter(|code| *code != "None").map(str::to_owned))
                        .collect();
                    return Err(Error::Storage(StorageError::TransactionCancelled { reasons }));
                }
                Err(error::map(&name, sdk_error))
            }
        }
    }
}

/// A page from a query's or a scan's items and last evaluated key (the cursor, when not empty).
fn page(
    items: Option<Vec<HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>>,
    last_evaluated_key: Option<HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>,
) -> Result<Page> {
    let items = items
        .unwrap_or_default()
        .into_iter()
        .map(item_from_sdk)
        .collect::<Result<_>>()?;
    let cursor = last_evaluated_key
        .filter(|key| !key.is_empty())
        .map(item_from_sdk)
        .transpose()?
        .map(Cursor::new);
    Ok(Page::new(items, cursor))
}
