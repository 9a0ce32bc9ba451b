//! The `Store` conformance suite against `DynamoStore` on moto, and what only a real DynamoDB
//! layer shows: the raw stored items, typed errors for a missing table or an unreachable
//! endpoint, provisioning.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod moto;

use crypt_model::Store;
use crypt_model::error::StorageError;
use crypt_model::store::Condition;
use crypt_model::{Error, Key, TableRef};
use crypt_model_dynamo::{DynamoStore, ProvisionOptions, provision};

crypt_model_conformance::suite!(Dynamo::new());

/// DynamoDB on moto, for the conformance suite: every table gets a unique name and is created.
struct Dynamo {
    store: DynamoStore,
}

impl Dynamo {
    fn new() -> Self {
        Dynamo {
            store: DynamoStore::new(moto::dynamo()),
        }
    }
}

#[crypt_model::keyring::async_trait]
impl crypt_model_conformance::Harness for Dynamo {
    type Store = DynamoStore;
    fn store(&self) -> DynamoStore {
        self.store.clone()
    }
    async fn table(&self, table: TableRef) -> TableRef {
        let table = table.renamed(&moto::unique(table.name())).unwrap();
        provision(self.store.client(), &table, ProvisionOptions::default())
            .await
            .unwrap();
        table
    }
}

#[tokio::test]
async fn a_missing_table_is_a_typed_error() {
    let store = DynamoStore::new(moto::dynamo());
    let table = TableRef::new(&moto::unique("never-created"), "pk", None).unwrap();
    let error = store.get(&table, &Key::new("x")).await.unwrap_err();
    assert!(
        matches!(&error, Error::Storage(StorageError::TableNotFound { table: t }) if t == table.name()),
        "{error:?}"
    );
    assert!(error.to_string().contains("create it first"), "{error}");
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_typed_error() {
    // A port nothing listens on: bind one, then close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let store = DynamoStore::new(moto::dynamo_at(&format!("http://127.0.0.1:{port}")));
    let table = TableRef::new("anything", "pk", None).unwrap();
    let error = store
        .put(
            &table,
            crypt_model::Item::from_iter([("pk", "x".into())]),
            &Condition::Always,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Storage(StorageError::Backend { message, .. }) if message.contains("could not be reached")),
        "{error:?}"
    );
}

#[tokio::test]
async fn provisioning_is_idempotent() {
    let client = moto::dynamo();
    let table = TableRef::new(&moto::unique("provisioned"), "pk", Some("sk")).unwrap();
    provision(&client, &table, ProvisionOptions::default())
        .await
        .unwrap();
    provision(&client, &table, ProvisionOptions::default())
        .await
        .unwrap();
    let described = client
        .describe_table()
        .table_name(table.name())
        .send()
        .await
        .unwrap();
    let keys = described.table.unwrap().key_schema.unwrap();
    assert_eq!(keys.len(), 2);
}

#[tokio::test]
async fn provisioning_refuses_a_table_of_another_model_and_says_what_differs() {
    use crypt_model::error::ConfigError;
    use crypt_model::store::{IndexRef, KeyType};

    let client = moto::dynamo();
    let name = moto::unique("someone-elses");
    let index = |partition: &str, partition_key_type| IndexRef {
        name: "by_team".into(),
        partition_key: partition.into(),
        partition_key_type,
        sort_key: None,
    };
    let theirs = TableRef::new(&name, "pk", Some("sk"))
        .unwrap()
        .with_index(index("team", KeyType::S));
    provision(&client, &theirs, ProvisionOptions::default())
        .await
        .unwrap();
    let indexes_of = |client: aws_sdk_dynamodb::Client| async move {
        let described = client
            .describe_table()
            .table_name(&name)
            .send()
            .await
            .unwrap();
        let mut names: Vec<String> = described
            .table
            .unwrap()
            .global_secondary_indexes
            .unwrap_or_default()
            .into_iter()
            .filter_map(|index| index.index_name)
            .collect();
        names.sort();
        names
    };

    // Another key schema, a key of another type, a same-named index on other keys, and an
    // index the table lacks: refused, each difference named, and nothing added.
    for (ours, says) in [
        (
            TableRef::new(theirs.name(), "user_id", None).unwrap(),
            "keyed by partition `pk` (S), sort `sk` (S), the model by partition `user_id` (S)",
        ),
        (
            TableRef::new(theirs.name(), "pk", Some("sk"))
                .unwrap()
                .with_key_types(KeyType::N, KeyType::S),
            "defines `pk` as S, the model as N",
        ),
        (
            TableRef::new(theirs.name(), "pk", Some("sk"))
                .unwrap()
                .with_index(index("region", KeyType::S))
                .with_index(IndexRef {
                    name: "by_city".into(),
                    partition_key: "city".into(),
                    partition_key_type: KeyType::S,
                    sort_key: None,
                }),
            "index `by_team` is keyed by partition `team` (S), the model's by partition `region` (S)",
        ),
    ] {
        let error = provision(&client, &ours, ProvisionOptions::default())
            .await
            .unwrap_err();
        match &error {
            Error::Config(ConfigError::TableMismatch { table, differences }) => {
                assert_eq!(table, theirs.name());
                assert!(
                    differences.iter().any(|d| d.contains(says)),
                    "{differences:?}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(error.to_string().contains("nothing was changed"), "{error}");
    }
    assert_eq!(indexes_of(client.clone()).await, ["by_team"]);
    // The table's own model provisions it as before.
    provision(&client, &theirs, ProvisionOptions::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn provisioning_refuses_an_index_that_does_not_project_whole_records() {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType as Role,
        Projection, ProjectionType, ScalarAttributeType,
    };
    use crypt_model::error::ConfigError;
    use crypt_model::store::{IndexRef, KeyType};

    let client = moto::dynamo();
    let name = moto::unique("keys-only");
    let key = |name: &str, role| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(role)
            .build()
            .unwrap()
    };
    let defined = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    client
        .create_table()
        .table_name(&name)
        .key_schema(key("pk", Role::Hash))
        .attribute_definitions(defined("pk"))
        .attribute_definitions(defined("team"))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("by_team")
                .key_schema(key("team", Role::Hash))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::KeysOnly)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    let ours = TableRef::new(&name, "pk", None)
        .unwrap()
        .with_index(IndexRef {
            name: "by_team".into(),
            partition_key: "team".into(),
            partition_key_type: KeyType::S,
            sort_key: None,
        });
    match provision(&client, &ours, ProvisionOptions::default()).await {
        Err(Error::Config(ConfigError::TableMismatch { differences, .. })) => assert!(
            differences.iter().any(|d| d.contains("projects KEYS_ONLY")),
            "{differences:?}"
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_query_of_an_index_the_table_lacks_names_the_index() {
    use crypt_model::Query;
    use crypt_model::error::StorageError;

    use crypt_model::store::{IndexRef, KeyType};

    // The model declares the index; the table was created before it did.
    let client = moto::dynamo();
    let bare = TableRef::new(&moto::unique("no-index"), "pk", None).unwrap();
    provision(&client, &bare, ProvisionOptions::default())
        .await
        .unwrap();
    let table = bare.with_index(IndexRef {
        name: "by_team".into(),
        partition_key: "team".into(),
        partition_key_type: KeyType::S,
        sort_key: None,
    });
    let error = DynamoStore::new(client)
        .query(&table, &Query::index("by_team", "red"))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Storage(StorageError::IndexNotFound { index, .. }) if index == "by_team"),
        "{error:?}"
    );
    assert!(error.to_string().contains("provision"), "{error}");
}

#[tokio::test]
async fn provisioning_adds_the_indexes_an_existing_table_lacks() {
    use crypt_model::Query;
    use crypt_model::store::{IndexRef, KeyType};

    let client = moto::dynamo();
    let store = DynamoStore::new(client.clone());
    let bare = TableRef::new(&moto::unique("grown"), "pk", Some("sk")).unwrap();
    provision(&client, &bare, ProvisionOptions::default())
        .await
        .unwrap();
    let item = crypt_model::Item::from_iter([
        ("pk", crypt_model::AttributeValue::S("a".into())),
        ("sk", crypt_model::AttributeValue::S("1".into())),
        ("city", crypt_model::AttributeValue::S("Lyon".into())),
    ]);
    store.put(&bare, item, &Condition::Always).await.unwrap();

    // The model later gains an index: provisioning the same table again creates it, and it
    // holds the items written before.
    let grown = bare.clone().with_index(IndexRef {
        name: "by_city".into(),
        partition_key: "city".into(),
        partition_key_type: KeyType::S,
        sort_key: None,
    });
    provision(&client, &grown, ProvisionOptions::default())
        .await
        .unwrap();
    let described = client
        .describe_table()
        .table_name(grown.name())
        .send()
        .await
        .unwrap();
    let names: Vec<String> = described
        .table
        .unwrap()
        .global_secondary_indexes
        .unwrap_or_default()
        .into_iter()
        .filter_map(|index| index.index_name)
        .collect();
    assert_eq!(names, ["by_city"]);
    let page = store
        .query(&grown, &Query::index("by_city", "Lyon"))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    // Provisioning again changes nothing.
    provision(&client, &grown, ProvisionOptions::default())
        .await
        .unwrap();
}
