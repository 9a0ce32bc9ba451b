//! The store's operations on many items: batches, transactions and their limits, the item size,
//! table names, number keys.
// A case is named as the sentence it checks; its models and helpers serve the cases.
#![allow(missing_docs)]

use crypt_model::error::{ConfigError, StorageError};
use crypt_model::store::{Checked, Condition, KeyType, TransactItem};
use crypt_model::{AttributeValue, Error, Item, Key, Query, Store, TableRef};

use crate::store::{item, items_table, key, n, sk};
use crate::{Harness, put, s};

pub async fn batch_put_and_get(backend: &impl Harness) {
    let store = Checked::new(backend.store());
    let table = items_table(backend, "conf_batch").await;
    let mut pending: Vec<Item> = (0..25)
        .map(|i| item("b", sk(i), &[("v", n(i * 10))]))
        .collect();
    for _ in 0..20 {
        if pending.is_empty() {
            break;
        }
        pending = store.batch_put(&table, pending).await.unwrap();
    }
    assert!(
        pending.is_empty(),
        "the batch was not written after 20 attempts"
    );
    let mut keys: Vec<Key> = (0..25).map(|i| key("b", sk(i))).collect();
    keys.push(key("b", sk(999)));
    let mut found = Vec::new();
    for _ in 0..20 {
        if keys.is_empty() {
            break;
        }
        let got = store.batch_get(&table, keys).await.unwrap();
        found.extend(got.items);
        keys = got.unprocessed;
    }
    assert_eq!(
        found.len(),
        25,
        "every stored key found, the missing one not"
    );
}

pub async fn batch_limits_are_enforced(backend: &impl Harness) {
    let store = Checked::new(backend.store());
    let table = items_table(backend, "conf_batch_limits").await;
    let too_many: Vec<Item> = (0..26).map(|i| item("b", sk(i), &[])).collect();
    assert!(matches!(
        store.batch_put(&table, too_many).await,
        Err(Error::Storage(StorageError::InvalidRequest { .. }))
    ));
    let twice = vec![item("b", n(1), &[]), item("b", n(1), &[])];
    assert!(matches!(
        store.batch_put(&table, twice).await,
        Err(Error::Storage(StorageError::InvalidRequest { .. }))
    ));
    let too_many: Vec<Key> = (0..101).map(|i| key("b", sk(i))).collect();
    assert!(matches!(
        store.batch_get(&table, too_many).await,
        Err(Error::Storage(StorageError::InvalidRequest { .. }))
    ));
    assert_eq!(
        store
            .query(&table, &Query::partition("b"))
            .await
            .unwrap()
            .items
            .len(),
        0,
        "nothing written"
    );
}

pub async fn transaction_is_all_or_nothing(backend: &impl Harness) {
    let store = Checked::new(backend.store());
    let table = items_table(backend, "conf_tx").await;
    put(
        &store,
        &table,
        item("t", s("held"), &[("owner", s("alice"))]),
    )
    .await;
    put(&store, &table, item("t", s("gone"), &[])).await;
    let failing = vec![
        TransactItem::Put {
            table: table.clone(),
            item: item("t", s("new"), &[]),
            condition: Condition::NotExists,
        },
        TransactItem::Delete {
            table: table.clone(),
            key: key("t", s("gone")),
            condition: Condition::Exists,
        },
        TransactItem::Put {
            table: table.clone(),
            item: item("t", s("held"), &[("owner", s("bob"))]),
            condition: Condition::equals("owner", "bob"),
        },
    ];
    let error = store.transact_write(failing).await.unwrap_err();
    match &error {
        Error::Storage(StorageError::TransactionCancelled { reasons }) => {
            assert_eq!(reasons.len(), 3);
            assert!(reasons[0].is_none() && reasons[1].is_none());
            assert_eq!(reasons[2].as_deref(), Some("ConditionalCheckFailed"));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        store
            .get(&table, &key("t", s("new")))
            .await
            .unwrap()
            .is_none(),
        "rolled back"
    );
    assert!(
        store
            .get(&table, &key("t", s("gone")))
            .await
            .unwrap()
            .is_some(),
        "rolled back"
    );

    let passing = vec![
        TransactItem::Put {
            table: table.clone(),
            item: item("t", s("new"), &[]),
            condition: Condition::NotExists,
        },
        TransactItem::Delete {
            table: table.clone(),
            key: key("t", s("gone")),
            condition: Condition::Exists,
        },
        TransactItem::Check {
            table: table.clone(),
            key: key("t", s("held")),
            condition: Condition::equals("owner", "alice"),
        },
    ];
    store.transact_write(passing).await.unwrap();
    assert!(
        store
            .get(&table, &key("t", s("new")))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .get(&table, &key("t", s("gone")))
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn transaction_limits(backend: &impl Harness) {
    let store = Checked::new(backend.store());
    let table = items_table(backend, "conf_tx_limits").await;
    let twice = vec![
        TransactItem::Put {
            table: table.clone(),
            item: item("t", s("1"), &[]),
            condition: Condition::Always,
        },
        TransactItem::Delete {
            table: table.clone(),
            key: key("t", s("1")),
            condition: Condition::Always,
        },
    ];
    assert!(store.transact_write(twice).await.is_err());
    let too_many: Vec<TransactItem> = (0..101)
        .map(|i| TransactItem::Put {
            table: table.clone(),
            item: item("t", sk(i), &[]),
            condition: Condition::Always,
        })
        .collect();
    assert!(store.transact_write(too_many).await.is_err());
    assert!(
        store
            .query(&table, &Query::partition("t"))
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

pub async fn oversized_item_is_refused(backend: &impl Harness) {
    let store = Checked::new(backend.store());
    let table = items_table(backend, "conf_big").await;
    let big = item(
        "p",
        s("1"),
        &[("blob", AttributeValue::B(vec![0; 401 * 1024]))],
    );
    assert!(store.put(&table, big, &Condition::Always).await.is_err());
    let fits = item(
        "p",
        s("1"),
        &[("blob", AttributeValue::B(vec![0; 350 * 1024]))],
    );
    put(&store, &table, fits).await;
}

pub async fn invalid_table_names_are_refused(_: &impl Harness) {
    for bad in ["ab", "has space", "semi;colon", &"x".repeat(256), "ünïcode"] {
        let error = TableRef::new(bad, "pk", None).unwrap_err();
        assert!(
            matches!(&error, Error::Config(ConfigError::InvalidTableName { name }) if name == bad),
            "{bad}: {error:?}"
        );
    }
    TableRef::new("ok_name-1.2", "pk", None).unwrap();
}

pub async fn number_keys_are_decimal_and_equal_values_are_one_key(backend: &impl Harness) {
    let store = Checked::new(backend.store());
    let table = backend
        .table(
            TableRef::new("conf_numbers", "pk", None)
                .unwrap()
                .with_key_types(KeyType::N, KeyType::S),
        )
        .await;
    let n = |text: &str| AttributeValue::N(text.to_owned());
    for bad in ["not a number", "1e9223372036854775807", "1.", "", "0x10"] {
        let item = Item::from_iter([("pk", n(bad))]);
        assert!(
            matches!(
                store.put(&table, item, &Condition::Always).await,
                Err(Error::Storage(StorageError::InvalidRequest { .. }))
            ),
            "{bad:?}"
        );
        assert!(matches!(
            store.get(&table, &Key::new(n(bad))).await,
            Err(Error::Storage(StorageError::InvalidRequest { .. }))
        ));
        assert!(matches!(
            store.query(&table, &Query::partition(n(bad))).await,
            Err(Error::Storage(StorageError::InvalidRequest { .. }))
        ));
    }
    put(
        &store,
        &table,
        Item::from_iter([("pk", n("1.50")), ("v", s("x"))]),
    )
    .await;
    // The same number written another way is the same key.
    let got = store.get(&table, &Key::new(n("1.5"))).await.unwrap();
    assert_eq!(got.and_then(|item| item.get("v").cloned()), Some(s("x")));
    assert!(matches!(
        store
            .batch_get(&table, vec![Key::new(n("1")), Key::new(n("1.0"))])
            .await,
        Err(Error::Storage(StorageError::InvalidRequest { .. }))
    ));
}
