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
