//! Creating the tables models need.

use crypt_model::error::{ConfigError, StorageError};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex,
    GlobalSecondaryIndexUpdate, IndexStatus, KeySchemaElement, KeyType as SdkKeyRole, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType, TableDescription,
    TableStatus,
};
use crypt_model::store::KeyType;
use crypt_model::{Error, Result, TableRef};

use crate::error;

/// How [`provision`] creates a table.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProvisionOptions {
    /// Enable a stream of new and old images (for `crypt_model_dynamo::streams`).
    pub stream: bool,
}

fn scalar(key_type: KeyType) -> ScalarAttributeType {
    match key_type {
        KeyType::S => ScalarAttributeType::S,
        KeyType::N => ScalarAttributeType::N,
        KeyType::B => ScalarAttributeType::B,
    }
}

fn element(table: &TableRef, name: &str, role: SdkKeyRole) -> Result<KeySchemaElement> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(role)
        .build()
        .map_err(|e| error::build(table.name(), e))
}

fn definition(table: &TableRef, name: &str, key_type: KeyType) -> Result<AttributeDefinition> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(scalar(key_type))
        .build()
        .map_err(|e| error::build(table.name(), e))
}

/// Creates `table` (on-demand capacity, its key schema and secondary indexes) if it does not
/// exist, and waits until it is active. Idempotent: on an existing table, it adds the secondary
/// indexes the table lacks (a blind or secondary index added to the model later), one
/// `UpdateTable` each as DynamoDB requires, and waits until each is active; nothing else of an
/// existing table is changed. Items written before an index existed have no blind-index
/// attribute until a backfill writes it.
///
/// Waits with a short DescribeTable poll (every 100 ms, at most 60 s), not the SDK's waiter,
/// which polls every 20 s.
pub async fn provision(client: &Client, table: &TableRef, options: ProvisionOptions) -> Result<()> {
    let mut definitions = vec![definition(
        table,
        table.partition_key(),
        table.partition_key_type(),
    )?];
    let key_schema = key_schema_of(table)?;
    if let Some(sort_key) = table.sort_key() {
        definitions.push(definition(table, sort_key, table.sort_key_type())?);
    }
    let mut indexes = Vec::new();
    for index in table.indexes() {
        let mut schema = vec![element(table, &index.partition_key, SdkKeyRole::Hash)?];
        let mut add = |name: &str, key_type| -> Result<()> {
            if !definitions.iter().any(|d| d.attribute_name() == name) {
                definitions.push(definition(table, name, key_type)?);
            }
            Ok(())
        };
        add(&index.partition_key, index.partition_key_type)?;
        if let Some((sort_key, sort_type)) = &index.sort_key {
            add(sort_key, *sort_type)?;
            schema.push(element(table, sort_key, SdkKeyRole::Range)?);
        }
        indexes.push(
            GlobalSecondaryIndex::builder()
                .index_name(&index.name)
                .set_key_schema(Some(schema))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(|e| error::build(table.name(), e))?,
        );
    }
    let stream = options.stream.then(|| {
        StreamSpecification::builder()
            .stream_enabled(true)
            .stream_view_type(StreamViewType::NewAndOldImages)
            .build()
    });
    let created = client
        .create_table()
        .table_name(table.name())
        .set_attribute_definitions(Some(definitions.clone()))
        .set_key_schema(Some(key_schema))
        .set_global_secondary_indexes((!indexes.is_empty()).then(|| indexes.clone()))
        .billing_mode(BillingMode::PayPerRequest)
        .set_stream_specification(
            stream
                .transpose()
                .map_err(|e| error::build(table.name(), e))?,
        )
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            wait_until_active(client, table).await?;
            let existing = describe(client, table)
                .await?
                .unwrap_or_else(|| TableDescription::builder().build());
            let differences =
                differences(&existing, &key_schema_of(table)?, &definitions, &indexes);
            if !differences.is_empty() {
                return Err(Error::Config(ConfigError::TableMismatch {
                    table: table.name().to_owned(),
                    differences,
                }));
            }
            return add_missing_indexes(client, table, &definitions, indexes).await;
        }
        Err(e) => return Err(error::map(table.name(), e)),
    }
    wait_until_active(client, table).await
}

/// The table's key schema: its partition key, and its sort key if it has one.
fn key_schema_of(table: &TableRef) -> Result<Vec<KeySchemaElement>> {
    let mut key_schema = vec![element(table, table.partition_key(), SdkKeyRole::Hash)?];
    if let Some(sort_key) = table.sort_key() {
        key_schema.push(element(table, sort_key, SdkKeyRole::Range)?);
    }
    Ok(key_schema)
}

/// What an existing table lacks to be this model's: its key schema, the types of the attributes
/// the model keys on, and the keys of a same-named index (an index the table lacks is added, not
/// a difference). Empty when it fits.
fn differences(
    existing: &TableDescription,
    key_schema: &[KeySchemaElement],
    definitions: &[AttributeDefinition],
    indexes: &[GlobalSecondaryIndex],
) -> Vec<String> {
    let typed = |name: &str| {
        let found = existing
            .attribute_definitions()
            .iter()
            .find(|d| d.attribute_name() == name)
            .map(|d| d.attribute_type().as_str().to_owned());
        format!("`{name}` ({})", found.as_deref().unwrap_or("?"))
    };
    let wanted_type = |name: &str| {
        let found = definitions
            .iter()
            .find(|d| d.attribute_name() == name)
            .map(|d| d.attribute_type().as_str().to_owned());
        format!("`{name}` ({})", found.as_deref().unwrap_or("?"))
    };
    let keys = |schema: &[KeySchemaElement]| -> Vec<(String, String)> {
        schema
            .iter()
            .map(|k| {
                (
                    k.attribute_name().to_owned(),
                    k.key_type().as_str().to_owned(),
                )
            })
            .collect()
    };
    let describe_keys = |schema: &[KeySchemaElement], typed: &dyn Fn(&str) -> String| {
        let parts: Vec<String> = schema
            .iter()
            .map(|k| {
                let role = if k.key_type() == &SdkKeyRole::Hash {
                    "partition"
                } else {
                    "sort"
                };
                format!("{role} {}", typed(k.attribute_name()))
            })
            .collect();
        parts.join(", ")
    };
    let mut differences = Vec::new();
    if keys(existing.key_schema()) != keys(key_schema) {
        differences.push(format!(
            "the table is keyed by {}, the model by {}",
            describe_keys(existing.key_schema(), &typed),
            describe_keys(key_schema, &wanted_type)
        ));
    }
    for wanted in definitions {
        let name = wanted.attribute_name();
        let found = existing
            .attribute_definitions()
            .iter()
            .find(|d| d.attribute_name() == name);
        if let Some(found) = found.filter(|d| d.attribute_type() != wanted.attribute_type()) {
            differences.push(format!(
                "the table defines `{name}` as {}, the model as {}",
                found.attribute_type().as_str(),
                wanted.attribute_type().as_str()
            ));
        }
    }
    for index in indexes {
        let same_name = existing
            .global_secondary_indexes()
            .iter()
            .find(|i| i.index_name() == Some(index.index_name()));
        if let Some(found) = same_name.filter(|i| keys(i.key_schema()) != keys(index.key_schema()))
        {
            differences.push(format!(
                "the table's index `{}` is keyed by {}, the model's by {}",
                index.index_name(),
                describe_keys(found.key_schema(), &typed),
                describe_keys(index.key_schema(), &wanted_type)
            ));
        }
        // The model reads whole records from its indexes: they project every attribute.
        let projection = same_name
            .and_then(|i| i.projection())
            .and_then(|p| p.projection_type());
        if let Some(projection) = projection.filter(|p| **p != ProjectionType::All) {
            differences.push(format!(
                "the table's index `{}` projects {}, the model needs ALL",
                index.index_name(),
                projection.as_str()
            ));
        }
    }
    differences
}

/// Adds to an existing table the indexes of `wanted` it lacks, one at a time, each with the
/// attribute definitions of its keys, waiting for each to become active.
async fn add_missing_indexes(
    client: &Client,
    table: &TableRef,
    definitions: &[AttributeDefinition],
    wanted: Vec<GlobalSecondaryIndex>,
) -> Result<()> {
    let existing = index_names(client, table).await?;
    for index in wanted {
        if existing.iter().any(|name| name == index.index_name()) {
            continue;
        }
        let keys: Vec<&str> = index
            .key_schema()
            .iter()
            .map(KeySchemaElement::attribute_name)
            .collect();
        let create = CreateGlobalSecondaryIndexAction::builder()
            .index_name(index.index_name())
            .set_key_schema(Some(index.key_schema().to_vec()))
            .set_projection(index.projection().cloned())
            .build()
            .map_err(|e| error::build(table.name(), e))?;
        client
            .update_table()
            .table_name(table.name())
            .set_attribute_definitions(Some(
                definitions
                    .iter()
                    .filter(|d| keys.contains(&d.attribute_name()))
                    .cloned()
                    .collect(),
            ))
            .global_secondary_index_updates(
                GlobalSecondaryIndexUpdate::builder().create(create).build(),
            )
            .send()
            .await
            .map_err(|e| error::map(table.name(), e))?;
        wait_until_index_active(client, table, index.index_name()).await?;
    }
    Ok(())
}

/// The table's description.
async fn describe(client: &Client, table: &TableRef) -> Result<Option<TableDescription>> {
    let described = client
        .describe_table()
        .table_name(table.name())
        .send()
        .await
        .map_err(|e| error::map(table.name(), e))?;
    Ok(described.table)
}

/// The names of the table's global secondary indexes.
async fn index_names(client: &Client, table: &TableRef) -> Result<Vec<String>> {
    Ok(describe(client, table)
        .await?
        .and_then(|t| t.global_secondary_indexes)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|index| index.index_name)
        .collect())
}

/// Polls the table's description every 100 ms until `ready` holds, for at most `limit`; `what`
/// names what is awaited in the error.
async fn poll_until(
    client: &Client,
    table: &TableRef,
    limit: Duration,
    what: &str,
    ready: impl Fn(&TableDescription) -> bool,
) -> Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        if describe(client, table).await?.as_ref().is_some_and(&ready) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Error::Storage(StorageError::Backend {
                table: table.name().to_owned(),
                message: format!("{what} did not become active within {} s", limit.as_secs()),
                source: None,
            }));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits (at most 10 minutes: DynamoDB fills a new index from the table's items) until the
/// index `name` is active.
async fn wait_until_index_active(client: &Client, table: &TableRef, name: &str) -> Result<()> {
    let what = format!("the index `{name}`");
    poll_until(client, table, Duration::from_secs(600), &what, |t| {
        t.global_secondary_indexes().iter().any(|index| {
            index.index_name() == Some(name) && index.index_status() == Some(&IndexStatus::Active)
        })
    })
    .await
}

/// Waits (at most 60 s) until the table is active.
async fn wait_until_active(client: &Client, table: &TableRef) -> Result<()> {
    poll_until(client, table, Duration::from_secs(60), "the table", |t| {
        t.table_status() == Some(&TableStatus::Active)
    })
    .await
}
