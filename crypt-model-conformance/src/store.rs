//! The store's own operations on raw items: conditional writes, updates, DynamoDB's key order
//! and sort conditions, pages, sparse secondary indexes (batches and transactions are in
//! `batches.rs`).
// A case is named as the sentence it checks; its models and helpers serve the cases.
#![allow(missing_docs)]

use crypt_model::error::StorageError;
use crypt_model::store::{Condition, IndexRef, KeyType, Update};
use crypt_model::{AttributeValue, Error, Item, Key, Query, SortCondition, Store, TableRef};

use crypt_model::store::Checked;

use super::{Harness, put, s};

pub(crate) fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) async fn items_table(backend: &impl Harness, name: &str) -> TableRef {
    backend
        .table(TableRef::new(name, "pk", Some("sk")).unwrap())
        .await
}

pub(crate) fn item(pk: &str, sk: AttributeValue, extra: &[(&str, AttributeValue)]) -> Item {
    let mut item = Item::from_iter([("pk", s(pk)), ("sk", sk)]);
    for (k, v) in extra {
        item.insert(*k, v.clone());
    }
    item
}

/// A string sort key that sorts like the number `i`.
pub(crate) fn sk(i: i64) -> AttributeValue {
    s(&format!("{i:03}"))
}

pub(crate) fn key(pk: &str, sk: AttributeValue) -> Key {
    Key::new(pk).with_sort(sk)
}

pub async fn put_get_delete(backend: &impl Harness) {
    let store = Checked::new(backend.store());
    let table = items_table(backend, "conf_put_get").await;
    assert_eq!(store.get(&table, &key("a", s("1"))).await.unwrap(), None);
    let stored = item(
        "a",
        s("1"),
        &[("v", n(1)), ("bytes", AttributeValue::B(vec![0, 255]))],
    );
    put(&store, &table, stored.clone()).await;
    assert_eq!(
        store.get(&table, &key("a", s("1"))).await.unwrap(),
        Some(stored)
    );
    let replaced = item("a", s("1"), &[("v", n(2))]);
    put(&store, &table, replaced.clone()).await;
    assert_eq!(
        store.get(&table, &key("a", s("1"))).await.unwrap(),
        Some(replaced)
    );
    store
        .delete(&table, &key("a", s("1")), &Condition::Always)
        .await
        .unwrap();
    assert_eq!(store.get(&table, &key("a", s("1"))).await.unwrap(), None);
    // Deleting nothing is not an error.
    store
        .delete(&table, &key("a", s("1")), &Condition::Always)
        .await
        .unwrap();
}

pub async fn conditional_put(backend: &impl Harness) {
    let store = Checked::new(backend.store());
    let table = items_table(backend, "conf_cond_put").await;
    let first = item("a", s("1"), &[("owner", s("alice"))]);
    store
        .put(&table, first.clone(), &Condition::NotExists)
        .await
        .unwrap();
    let second = item("a", s("1"), &[("owner", s("bob"))]);
    let error = store
        .put(&table, second.clone(), &Condition::NotExists)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Storage(StorageError::ConditionFailed { table: t }) if t == table.name()),
        "{error:?}"
    );
    let owned_by_bob = Condition::equals("owner", "bob");
    assert!(matches!(
        store.put(&table, second.clone(), &owned_by_bob).await,
        Err(Error::Storage(StorageError::ConditionFailed { .. }))
    ));
    assert_eq!(
        store.get(&table, &key("a", s("1"))).await.unwrap(),
        Some(first),
        "unchanged after refusals"
    );
    let free_or_alice = Condition::Or(vec![
        Condition::NotExists,
        Condition::equals("owner", "alice"),
    ]);
    store
        .put(
            &table,
            item("a", s("1"), &[("owner", s("alice")), ("v", n(2))]),
            &free_or_alice,
        )
        .await
        .unwrap();
    let both = Condition::And(vec![Condition::Exists, Condition::equals("v", n(2))]);
    store
        .put(
            &table,
            item("a", s("1"), &[("owner", s("alice")), ("v", n(3))]),
            &both,
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .put(&table, item("b", s("1"), &[]), &Condition::Exists)
            .await,
        Err(Error::Storage(StorageError::ConditionFailed { .. }))
    ));
    // `Absent` holds for an attribute the stored item lacks, and when there is no item.
    let no_note = Condition::And(vec![
        Condition::absent("note"),
        Condition::equals("v", n(3)),
    ]);
    store
        .put(
            &table,
            item(
                "a",
                s("1"),
                &[("owner", s("alice")), ("v", n(3)), ("note", s("x"))],
            ),
            &no_note,
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .put(&table, item("a", s("1"), &[("v", n(4))]), &no_note)
            .await,
        Err(Error::Storage(StorageError::ConditionFailed { .. }))
    ));
    store
        .put(&table, item("c", s("1"), &[]), &Condition::absent("note"))
        .await
        .unwrap();
}

pub async fn conditional_delete(backend: &impl Harness) {
    let store = Checked::new(backend.store());
    let table = items_table(backend, "conf_cond_delete").await;
    put(&store, &table, item("a", s("1"), &[("owner", s("alice"))])).await;
    let by_bob = Condition::equals("owner", "bob");
    assert!(matches!(
        store.delete(&table, &key("a", s("1")), &by_bob).await,
        Err(Error::Storage(StorageError::ConditionFailed { .. }))
    ));
    assert!(
        store
            .get(&table, &key("a", s("1")))
            .await
            .unwrap()
            .is_some()
    );
    store
        .delete(
            &table,
            &key("a", s("1")),
            &Condition::equals("owner", "alice"),
        )
        .await
        .unwrap();
    assert!(
        store
            .get(&table, &key("a", s("1")))
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        store
            .delete(&table, &key("a", s("1")), &Condition::Exists)
            .await,
        Err(Error::Storage(StorageError::ConditionFailed { .. }))
    ));
}

pub async fn update_sets_and_removes(backend: &impl Harness) {
    let store = Checked::new(backend.store());
    let table = items_table(backend, "conf_update").await;
    put(
        &store,
        &table,
        item("a", s("1"), &[("x", n(1)), ("y", n(2))]),
    )
    .await;
    let update = Update {
        set: Item::from_iter([("x", n(10)), ("z", s("new"))]),
        remove: vec!["y".into()],
    };
    store
        .update(
            &table,
            &key("a", s("1")),
            &update,
            &Condition::equals("x", n(1)),
        )
        .await
        .unwrap();
    assert_eq!(
        store.get(&table, &key("a", s("1"))).await.unwrap(),
        Some(item("a", s("1"), &[("x", n(10)), ("z", s("new"))]))
    );
    let error = store
        .update(
            &table,
            &key("a", s("1")),
            &update,
            &Condition::equals("x", n(1)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Storage(StorageError::ConditionFailed { .. })),
        "{error:?}"
    );
    let change_key = Update {
        set: Item::from_iter([("sk", s("2"))]),
        remove: vec![],
    };
    assert!(
        store
            .update(&table, &key("a", s("1")), &change_key, &Condition::Always)
            .await
            .is_err()
    );
}

async fn numbered(backend: &impl Harness, name: &str, sort_keys: &[i64]) -> TableRef {
    let store = Checked::new(backend.store());
    let shape = TableRef::new(name, "pk", Some("sk"))
        .unwrap()
        .with_key_types(KeyType::S, KeyType::N);
    let table = backend.table(shape).await;
    for &k in sort_keys {
        put(&store, &table, item("p", n(k), &[])).await;
    }
    put(&store, &table, item("other", n(5), &[])).await;
    table
}

fn sort_keys(items: &[Item]) -> Vec<i64> {
    items
        .iter()
        .map(|i| match i.get("sk") {
            Some(AttributeValue::N(v)) => v.parse().unwrap(),
            other => panic!("{other:?}"),
        })
        .collect()
}

pub async fn numbers_sort_by_value_and_strings_by_bytes(backend: &impl Harness) {
    let store = Checked::new(backend.store());
    let table = numbered(backend, "conf_order_n", &[10, -3, 9, 100, 0, 2]).await;
    let page = store.query(&table, &Query::partition("p")).await.unwrap();
    assert_eq!(sort_keys(&page.items), [-3, 0, 2, 9, 10, 100]);
    assert!(page.cursor.is_none());

    let strings = items_table(backend, "conf_order_s").await;
    for sk in ["b", "B", "a", "ab", "é", "10", "9"] {
        put(&store, &strings, item("p", s(sk), &[])).await;
    }
    let page = store.query(&strings, &Query::partition("p")).await.unwrap();
    let order: Vec<&AttributeValue> = page.items.iter().map(|i| i.get("sk").unwrap()).collect();
    assert_eq!(
        order,
        ["10", "9", "B", "a", "ab", "b", "é"]
            .map(s)
            .iter()
            .collect::<Vec<_>>()
    );
}

pub async fn sort_conditions(backend: &impl Harness) {
    let store = Checked::new(backend.store());
    let table = numbered(backend, "conf_sort_cond", &[1, 2, 3, 4, 5]).await;
    let run = |condition: SortCondition| {
        let store = store.clone();
        let table = table.clone();
        async move {
            sort_keys(
                &store
                    .query(&table, &Query::partition("p").sort(condition))
                    .await
                    .unwrap()
                    .items,
            )
        }
    };
    assert_eq!(run(SortCondition::Eq(n(3))).await, [3]);
    assert_eq!(run(SortCondition::Lt(n(3))).await, [1, 2]);
    assert_eq!(run(SortCondition::Le(n(3))).await, [1, 2, 3]);
    assert_eq!(run(SortCondition::Gt(n(3))).await, [4, 5]);
    assert_eq!(run(SortCondition::Ge(n(3))).await, [3, 4, 5]);
    assert_eq!(run(SortCondition::Between(n(2), n(4))).await, [2, 3, 4]);

    let strings = items_table(backend, "conf_begins").await;
    for sk in ["order#1", "order#2", "profile", "ord"] {
        put(&store, &strings, item("p", s(sk), &[])).await;
    }
    let page = store
        .query(
            &strings,
            &Query::partition("p").sort(SortCondition::BeginsWith(s("order#"))),
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2);
}

pub async fn descending(backend: &impl Harness) {
    let store = Checked::new(backend.store());
    let table = numbered(backend, "conf_desc", &[1, 2, 3, 4, 5]).await;
    let mut query = Query::partition("p").descending().limit(2);
    let mut seen = Vec::new();
    loop {
        let page = store.query(&table, &query).await.unwrap();
        seen.extend(sort_keys(&page.items));
        match page.cursor {
            Some(cursor) => query = query.after(Some(cursor)),
            None => break,
        }
    }
    assert_eq!(seen, [5, 4, 3, 2, 1]);
}

pub async fn pagination_over_three_pages(backend: &impl Harness) {
    let store = Checked::new(backend.store());
    let all: Vec<i64> = (1..=8).collect();
    let table = numbered(backend, "conf_pages", &all).await;
    let mut query = Query::partition("p").limit(3);
    let mut pages = Vec::new();
    loop {
        let page = store.query(&table, &query).await.unwrap();
        pages.push(sort_keys(&page.items));
        match page.cursor {
            Some(cursor) => query = query.after(Some(cursor)),
            None => break,
        }
    }
    assert_eq!(pages, [vec![1, 2, 3], vec![4, 5, 6], vec![7, 8]]);

    // A limit that divides the partition exactly: the last full page still has a cursor, and
    // the page after it is empty, as with DynamoDB.
    let mut query = Query::partition("p").limit(4);
    let first = store.query(&table, &query).await.unwrap();
    query = query.after(first.cursor);
    let second = store.query(&table, &query).await.unwrap();
    assert_eq!(sort_keys(&second.items), [5, 6, 7, 8]);
    if let Some(cursor) = second.cursor {
        let third = store
            .query(&table, &query.after(Some(cursor)))
            .await
            .unwrap();
        assert!(third.items.is_empty() && third.cursor.is_none());
    }
}

pub async fn index_query_is_sparse(backend: &impl Harness) {
    let store = Checked::new(backend.store());
    let table = backend
        .table(
            TableRef::new("conf_index", "pk", Some("sk"))
                .unwrap()
                .with_index(IndexRef {
                    name: "by_email".into(),
                    partition_key: "email_idx".into(),
                    partition_key_type: KeyType::S,
                    sort_key: None,
                }),
        )
        .await;
    put(&store, &table, item("a", s("1"), &[("email_idx", s("h1"))])).await;
    put(&store, &table, item("b", s("1"), &[("email_idx", s("h1"))])).await;
    put(&store, &table, item("c", s("1"), &[("email_idx", s("h2"))])).await;
    put(&store, &table, item("d", s("1"), &[])).await;
    let page = store
        .query(&table, &Query::index("by_email", "h1"))
        .await
        .unwrap();
    let mut found: Vec<&AttributeValue> = page.items.iter().map(|i| i.get("pk").unwrap()).collect();
    found.sort_by_key(|v| format!("{v:?}"));
    assert_eq!(found, [&s("a"), &s("b")]);
    assert!(
        store
            .query(&table, &Query::index("no_such_index", "h1"))
            .await
            .is_err()
    );
}
