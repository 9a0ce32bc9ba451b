//! The `Store` conformance suite against `DynamoStore` on moto, and what only a real DynamoDB
//! layer shows: the raw stored items, typed errors for a missing table or an unreachable
//! endpoint, provisioning.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod conformance;
mod moto;

use crypt_model::Store;
use crypt_model::store::Condition;
use crypt_model::{Error, Key, TableRef};
use crypt_model_dynamo::{DynamoStore, ProvisionOptions, provision};

conformance_suite!(Dynamo::new());

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
impl conformance::Harness for Dynamo {
    fn store(&self) -> std::sync::Arc<dyn Store> {
        std::sync::Arc::new(self.store.clone())
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
        matches!(&error, Error::TableNotFound { table: t } if t == table.name()),
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
        matches!(&error, Error::Store { message, .. } if message.contains("could not be reached")),
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
