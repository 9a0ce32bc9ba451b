//! The `Store` conformance suite, written once and run against every implementation: the
//! store's own operations on raw items, then the typed table on top (ownership, enumeration,
//! optimistic locking, batches, transactions). Each backend's test file instantiates it with
//! `conformance_suite!(backend expression)`; the expression is evaluated once per test.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::sync::Arc;

use crypt_model::store::{Condition, IndexRef, KeyType, TransactItem, Update};
use crypt_model::{
    AttributeValue, Caller, Cipher, EncryptedItem, Error, Item, Key, LocalKeyring, Query,
    Sensitive, SortCondition, Store, Table, TableRef, Write,
};

/// What a backend provides to the suite.
#[crypt_model::keyring::async_trait]
pub trait Backend: Send + Sync {
    /// The store under test.
    fn store(&self) -> Arc<dyn Store>;
    /// Makes `table` ready (a real backend creates it) and returns it.
    async fn table(&self, table: TableRef) -> TableRef;
}

/// Instantiates every case of the suite as a test, with `$backend` evaluated per test.
#[macro_export]
macro_rules! conformance_suite {
    ($backend:expr) => {
        $crate::conformance_suite!(@cases $backend;
            put_get_delete, conditional_put, conditional_delete, update_sets_and_removes,
            numbers_sort_by_value_and_strings_by_bytes, sort_conditions, descending,
            pagination_over_three_pages, index_query_is_sparse, batch_put_and_get,
            batch_limits_are_enforced, transaction_is_all_or_nothing, transaction_limits,
            oversized_item_is_refused, invalid_table_names_are_refused,
            takeover_is_refused, enumeration_looks_like_a_missing_record,
            query_returns_only_what_the_caller_may_open, optimistic_locking_loses_no_update,
            stale_write_is_a_conflict, table_batch_put_and_get, table_transaction_rolls_back,
            batch_put_refuses_models_whose_owner_is_not_in_the_key, stored_items_hold_no_plaintext,
            update_sensitive_rewrites_one_field_only
        );
    };
    (@cases $backend:expr; $($case:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $case() {
            conformance::$case(&$backend).await;
        }
    )*};
}

const SSN: &str = "078-05-1120";
const CARD: &str = "4111-1111-1111-1111";

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

async fn items_table(backend: &impl Backend, name: &str) -> TableRef {
    backend
        .table(TableRef::new(name, "pk", Some("sk")).unwrap())
        .await
}

fn item(pk: &str, sk: AttributeValue, extra: &[(&str, AttributeValue)]) -> Item {
    let mut item = Item::from_iter([("pk", s(pk)), ("sk", sk)]);
    for (k, v) in extra {
        item.insert(*k, v.clone());
    }
    item
}

/// A string sort key that sorts like the number `i`.
fn sk(i: i64) -> AttributeValue {
    s(&format!("{i:03}"))
}

fn key(pk: &str, sk: AttributeValue) -> Key {
    Key::new(pk).with_sort(sk)
}

/// An unconditional put that must succeed.
async fn put(store: &Arc<dyn Store>, table: &TableRef, item: Item) {
    store.put(table, item, &Condition::Always).await.unwrap();
}

pub async fn put_get_delete(backend: &impl Backend) {
    let store = backend.store();
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

pub async fn conditional_put(backend: &impl Backend) {
    let store = backend.store();
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
        matches!(&error, Error::ConditionFailed { table: t } if t == table.name()),
        "{error:?}"
    );
    let owned_by_bob = Condition::equals("owner", "bob");
    assert!(matches!(
        store.put(&table, second.clone(), &owned_by_bob).await,
        Err(Error::ConditionFailed { .. })
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
        Err(Error::ConditionFailed { .. })
    ));
}

pub async fn conditional_delete(backend: &impl Backend) {
    let store = backend.store();
    let table = items_table(backend, "conf_cond_delete").await;
    put(&store, &table, item("a", s("1"), &[("owner", s("alice"))])).await;
    let by_bob = Condition::equals("owner", "bob");
    assert!(matches!(
        store.delete(&table, &key("a", s("1")), &by_bob).await,
        Err(Error::ConditionFailed { .. })
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
        Err(Error::ConditionFailed { .. })
    ));
}

pub async fn update_sets_and_removes(backend: &impl Backend) {
    let store = backend.store();
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
    assert!(matches!(error, Error::ConditionFailed { .. }), "{error:?}");
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

async fn numbered(backend: &impl Backend, name: &str, sort_keys: &[i64]) -> TableRef {
    let store = backend.store();
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

pub async fn numbers_sort_by_value_and_strings_by_bytes(backend: &impl Backend) {
    let store = backend.store();
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

pub async fn sort_conditions(backend: &impl Backend) {
    let store = backend.store();
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

pub async fn descending(backend: &impl Backend) {
    let store = backend.store();
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

pub async fn pagination_over_three_pages(backend: &impl Backend) {
    let store = backend.store();
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

pub async fn index_query_is_sparse(backend: &impl Backend) {
    let store = backend.store();
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

pub async fn batch_put_and_get(backend: &impl Backend) {
    let store = backend.store();
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

pub async fn batch_limits_are_enforced(backend: &impl Backend) {
    let store = backend.store();
    let table = items_table(backend, "conf_batch_limits").await;
    let too_many: Vec<Item> = (0..26).map(|i| item("b", sk(i), &[])).collect();
    assert!(matches!(
        store.batch_put(&table, too_many).await,
        Err(Error::InvalidRequest { .. })
    ));
    let twice = vec![item("b", n(1), &[]), item("b", n(1), &[])];
    assert!(matches!(
        store.batch_put(&table, twice).await,
        Err(Error::InvalidRequest { .. })
    ));
    let too_many: Vec<Key> = (0..101).map(|i| key("b", sk(i))).collect();
    assert!(matches!(
        store.batch_get(&table, too_many).await,
        Err(Error::InvalidRequest { .. })
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

pub async fn transaction_is_all_or_nothing(backend: &impl Backend) {
    let store = backend.store();
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
        Error::TransactionCancelled { reasons } => {
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

pub async fn transaction_limits(backend: &impl Backend) {
    let store = backend.store();
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

pub async fn oversized_item_is_refused(backend: &impl Backend) {
    let store = backend.store();
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

pub async fn invalid_table_names_are_refused(_: &impl Backend) {
    for bad in ["ab", "has space", "semi;colon", &"x".repeat(256), "ünïcode"] {
        let error = TableRef::new(bad, "pk", None).unwrap_err();
        assert!(matches!(error, Error::Config(_)), "{bad}: {error:?}");
    }
    TableRef::new("ok_name-1.2", "pk", None).unwrap();
}

// ---- The typed table on top of the store. ----

#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "conf_profiles")]
pub struct Profile {
    #[partition_key]
    #[owner]
    pub user_id: String,
    #[sort_key]
    pub kind: String,
    #[sensitive]
    pub ssn: Sensitive<String>,
}

fn profile(owner: &str, kind: &str) -> Profile {
    Profile {
        user_id: owner.into(),
        kind: kind.into(),
        ssn: Sensitive::new(SSN.into()),
    }
}

/// An order: the owner is not part of the key.
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "conf_orders")]
pub struct Order {
    #[partition_key]
    pub order_no: u64,
    #[owner]
    pub customer: String,
    #[sensitive]
    pub card: Sensitive<String>,
}

/// A counter with optimistic locking.
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "conf_counters")]
pub struct Counter {
    #[partition_key]
    #[owner]
    pub user_id: String,
    pub count: u64,
    #[crypt_model(version)]
    pub version: u64,
    #[sensitive]
    pub note: Sensitive<String>,
}

fn cipher() -> Arc<Cipher> {
    Arc::new(Cipher::new(
        LocalKeyring::new("conformance", &[7; 32]).unwrap(),
    ))
}

async fn table<T: EncryptedItem + Send + Sync>(backend: &impl Backend) -> Table<T, Arc<dyn Store>> {
    let schema = T::SCHEMA;
    let table = backend
        .table(TableRef::for_schema(schema.table(), &schema).unwrap())
        .await;
    Table::named(backend.store(), cipher(), table.name())
        .unwrap()
        .with_batch_retry(20, std::time::Duration::from_millis(1))
}

pub async fn takeover_is_refused(backend: &impl Backend) {
    let alice = Caller::user("alice");
    let bob = Caller::user("bob");
    let orders = table::<Order>(backend).await;
    let mut order = Order {
        order_no: 1,
        customer: "alice".into(),
        card: Sensitive::new(CARD.into()),
    };
    orders.put(&alice, &mut order).await.unwrap();

    // Bob claims alice's order number as his own.
    let mut claim = Order {
        order_no: 1,
        customer: "bob".into(),
        card: Sensitive::new("bob's card".into()),
    };
    let error = orders.put(&bob, &mut claim).await.unwrap_err();
    assert!(matches!(error, Error::AccessDenied { .. }), "{error:?}");
    // Bob writes a record in alice's name.
    let mut forged = Order {
        order_no: 1,
        customer: "alice".into(),
        card: Sensitive::new("forged".into()),
    };
    assert!(matches!(
        orders.put(&bob, &mut forged).await,
        Err(Error::AccessDenied { .. })
    ));
    // Bob deletes it.
    assert!(!orders.delete(&bob, &Key::new(1u64)).await.unwrap());

    let kept = orders
        .get(&alice, &Key::new(1u64))
        .await
        .unwrap()
        .expect("alice's order is still hers");
    assert_eq!(kept.card.expose_secret(), CARD);

    // The same through a transaction.
    let mut claim = Order {
        order_no: 1,
        customer: "bob".into(),
        card: Sensitive::new("tx".into()),
    };
    let error = orders
        .transact(&bob, vec![Write::Put(&mut claim)])
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::TransactionCancelled { .. }),
        "{error:?}"
    );
    let kept = orders.get(&alice, &Key::new(1u64)).await.unwrap().unwrap();
    assert_eq!(kept.card.expose_secret(), CARD);
}

pub async fn enumeration_looks_like_a_missing_record(backend: &impl Backend) {
    let profiles = table::<Profile>(backend).await;
    let alice = Caller::user("alice");
    let bob = Caller::user("bob");
    profiles
        .put(&alice, &mut profile("alice", "main"))
        .await
        .unwrap();
    let existing = Key::new("alice").with_sort("main");
    let missing = Key::new("alice").with_sort("nothing-here");
    let for_existing = format!(
        "{:?}",
        profiles.get(&bob, &existing).await.map(|p| p.is_some())
    );
    let for_missing = format!(
        "{:?}",
        profiles.get(&bob, &missing).await.map(|p| p.is_some())
    );
    assert_eq!(for_existing, "Ok(false)");
    assert_eq!(
        for_existing, for_missing,
        "another's record and no record look the same"
    );
    assert_eq!(
        profiles.delete(&bob, &existing).await.unwrap(),
        profiles.delete(&bob, &missing).await.unwrap()
    );
    let page = profiles
        .query(&bob, &Query::partition("alice"))
        .await
        .unwrap();
    assert!(page.items.is_empty());
    assert!(
        profiles.get(&alice, &existing).await.unwrap().is_some(),
        "still there"
    );
}

pub async fn query_returns_only_what_the_caller_may_open(backend: &impl Backend) {
    // Orders of several customers in one partition would need a shared key; use profiles of a
    // partition and a service grant instead: the owner sees them, a stranger sees none.
    let profiles = table::<Profile>(backend).await;
    let alice = Caller::user("alice");
    for kind in ["a", "b", "c", "d", "e"] {
        profiles
            .put(&alice, &mut profile("alice", kind))
            .await
            .unwrap();
    }
    let all = profiles
        .query_all(&alice, Query::partition("alice").limit(2))
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|p| p.kind.as_str()).collect::<Vec<_>>(),
        ["a", "b", "c", "d", "e"]
    );
    assert!(
        profiles
            .query_all(&Caller::user("mallory"), Query::partition("alice").limit(2))
            .await
            .unwrap()
            .is_empty()
    );
    let between = profiles
        .query_all(
            &alice,
            Query::partition("alice").sort(SortCondition::Between(s("b"), s("d"))),
        )
        .await
        .unwrap();
    assert_eq!(between.len(), 3);
}

pub async fn optimistic_locking_loses_no_update(backend: &impl Backend) {
    let counters = Arc::new(table::<Counter>(backend).await);
    let owner = Caller::user("carol");
    let mut counter = Counter {
        user_id: "carol".into(),
        count: 0,
        version: 0,
        note: Sensitive::new("n".into()),
    };
    counters.put(&owner, &mut counter).await.unwrap();
    assert_eq!(counter.version, 1);

    const TASKS: u64 = 8;
    const ROUNDS: u64 = 5;
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let counters = counters.clone();
            let owner = owner.clone();
            tokio::spawn(async move {
                let mut conflicts = 0;
                for _ in 0..ROUNDS {
                    loop {
                        let mut current = counters
                            .get(&owner, &Key::new("carol"))
                            .await
                            .unwrap()
                            .unwrap();
                        tokio::task::yield_now().await;
                        current.count += 1;
                        match counters.put(&owner, &mut current).await {
                            Ok(()) => break,
                            Err(Error::Conflict { .. }) => conflicts += 1,
                            Err(other) => panic!("{other:?}"),
                        }
                    }
                }
                conflicts
            })
        })
        .collect();
    let mut conflicts = 0;
    for task in tasks {
        conflicts += task.await.unwrap();
    }
    let last = counters
        .get(&owner, &Key::new("carol"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        last.count,
        TASKS * ROUNDS,
        "no update lost ({conflicts} conflicts retried)"
    );
    assert_eq!(last.version, 1 + TASKS * ROUNDS);
}

pub async fn stale_write_is_a_conflict(backend: &impl Backend) {
    let counters = table::<Counter>(backend).await;
    let owner = Caller::user("dave");
    let mut first = Counter {
        user_id: "dave".into(),
        count: 1,
        version: 0,
        note: Sensitive::new("n".into()),
    };
    counters.put(&owner, &mut first).await.unwrap();
    let mut a = counters
        .get(&owner, &Key::new("dave"))
        .await
        .unwrap()
        .unwrap();
    let mut b = counters
        .get(&owner, &Key::new("dave"))
        .await
        .unwrap()
        .unwrap();
    a.count = 2;
    counters.put(&owner, &mut a).await.unwrap();
    b.count = 3;
    let error = counters.put(&owner, &mut b).await.unwrap_err();
    assert!(matches!(error, Error::Conflict { .. }), "{error:?}");
    assert_eq!(
        b.version, 1,
        "a refused write leaves the record's version alone"
    );
    let mut again = Counter {
        user_id: "dave".into(),
        count: 9,
        version: 0,
        note: Sensitive::new("n".into()),
    };
    assert!(
        matches!(
            counters.put(&owner, &mut again).await,
            Err(Error::Conflict { .. })
        ),
        "a new record cannot replace one"
    );
    assert_eq!(
        counters
            .get(&owner, &Key::new("dave"))
            .await
            .unwrap()
            .unwrap()
            .count,
        2
    );
}

pub async fn table_batch_put_and_get(backend: &impl Backend) {
    let profiles = table::<Profile>(backend).await;
    let alice = Caller::user("alice");
    let records: Vec<Profile> = (0..60)
        .map(|i| profile("alice", &format!("k{i:03}")))
        .collect();
    profiles.batch_put(&alice, &records).await.unwrap();
    let keys: Vec<Key> = (0..60)
        .rev()
        .map(|i| Key::new("alice").with_sort(format!("k{i:03}")))
        .collect();
    let read = profiles.batch_get(&alice, &keys).await.unwrap();
    assert_eq!(read.len(), 60);
    assert_eq!(read[0].kind, "k059", "in the order of the keys asked for");
    assert!(read.iter().all(|p| p.ssn.expose_secret() == SSN));
    assert!(
        profiles
            .batch_get(&Caller::user("bob"), &keys)
            .await
            .unwrap()
            .is_empty()
    );
    // Bob cannot batch-write records in alice's name.
    let error = profiles
        .batch_put(&Caller::user("bob"), &records[..1])
        .await
        .unwrap_err();
    assert!(matches!(error, Error::AccessDenied { .. }));
}

pub async fn table_transaction_rolls_back(backend: &impl Backend) {
    let profiles = table::<Profile>(backend).await;
    let alice = Caller::user("alice");
    profiles
        .put(&alice, &mut profile("alice", "old"))
        .await
        .unwrap();
    profiles
        .put(&Caller::user("bob"), &mut profile("bob", "main"))
        .await
        .unwrap();
    let mut new = profile("alice", "new");
    // Deleting bob's record makes the whole transaction fail: alice's new record is not written.
    let error = profiles
        .transact(
            &alice,
            vec![
                Write::Put(&mut new),
                Write::Delete(Key::new("alice").with_sort("old")),
                Write::Delete(Key::new("bob").with_sort("main")),
            ],
        )
        .await
        .unwrap_err();
    match error {
        Error::TransactionCancelled { reasons } => {
            assert!(reasons[2].is_some() && reasons[0].is_none())
        }
        other => panic!("{other:?}"),
    }
    assert!(
        profiles
            .get(&alice, &Key::new("alice").with_sort("new"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        profiles
            .get(&alice, &Key::new("alice").with_sort("old"))
            .await
            .unwrap()
            .is_some()
    );
    profiles
        .transact(
            &alice,
            vec![
                Write::Put(&mut new),
                Write::Delete(Key::new("alice").with_sort("old")),
            ],
        )
        .await
        .unwrap();
    assert!(
        profiles
            .get(&alice, &Key::new("alice").with_sort("new"))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        profiles
            .get(&alice, &Key::new("alice").with_sort("old"))
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn batch_put_refuses_models_whose_owner_is_not_in_the_key(backend: &impl Backend) {
    let orders = table::<Order>(backend).await;
    let alice = Caller::user("alice");
    let records = [Order {
        order_no: 7,
        customer: "alice".into(),
        card: Sensitive::new(CARD.into()),
    }];
    let error = orders.batch_put(&alice, &records).await.unwrap_err();
    assert!(matches!(error, Error::Config(_)), "{error:?}");
    assert!(orders.get(&alice, &Key::new(7u64)).await.unwrap().is_none());
}

pub async fn stored_items_hold_no_plaintext(backend: &impl Backend) {
    let profiles = table::<Profile>(backend).await;
    let alice = Caller::user("alice");
    profiles
        .put(&alice, &mut profile("alice", "raw"))
        .await
        .unwrap();
    let raw = backend
        .store()
        .get(profiles.table_ref(), &Key::new("alice").with_sort("raw"))
        .await
        .unwrap()
        .unwrap();
    let text = format!("{raw:?} {}", raw.to_dynamodb_json());
    assert!(!text.contains(SSN) && !text.contains("078-05"), "{text}");
    for (_, value) in raw.iter() {
        if let AttributeValue::B(bytes) = value {
            assert!(!bytes.windows(SSN.len()).any(|w| w == SSN.as_bytes()));
        }
    }
}

/// A versioned model with two sensitive fields, one optional.
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "conf_vaults")]
pub struct Vault {
    #[partition_key]
    #[owner]
    pub user_id: String,
    #[crypt_model(version)]
    pub version: u64,
    #[sensitive]
    pub pin: Sensitive<String>,
    #[sensitive]
    pub recovery: Option<Sensitive<String>>,
    pub label: String,
}

pub async fn update_sensitive_rewrites_one_field_only(backend: &impl Backend) {
    let vaults = table::<Vault>(backend).await;
    let erin = Caller::user("erin");
    let key = Key::new("erin");
    let mut vault = Vault {
        user_id: "erin".into(),
        version: 0,
        pin: Sensitive::new("1234".into()),
        recovery: None,
        label: "main".into(),
    };
    vaults.put(&erin, &mut vault).await.unwrap();
    let before = backend
        .store()
        .get(vaults.table_ref(), &key)
        .await
        .unwrap()
        .unwrap();

    let mut read = vaults.get(&erin, &key).await.unwrap().unwrap();
    *read.pin.expose_secret_mut() = "9876".into();
    vaults
        .update_sensitive(&erin, &mut read, "pin")
        .await
        .unwrap();
    assert_eq!(read.version, 2);
    let after = backend
        .store()
        .get(vaults.table_ref(), &key)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(after.get("pin"), before.get("pin"));
    for unchanged in ["__cm_header", "label", "user_id"] {
        assert_eq!(
            after.get(unchanged),
            before.get(unchanged),
            "{unchanged} was rewritten"
        );
    }
    let reread = vaults.get(&erin, &key).await.unwrap().unwrap();
    assert_eq!(reread.pin.expose_secret(), "9876");
    assert_eq!(reread.version, 2);

    // Adding the optional field changes the set of encrypted fields, so the header's commitment.
    let mut with_recovery = reread;
    with_recovery.recovery = Some(Sensitive::new("words words".into()));
    vaults
        .update_sensitive(&erin, &mut with_recovery, "recovery")
        .await
        .unwrap();
    let opened = vaults.get(&erin, &key).await.unwrap().unwrap();
    assert_eq!(
        opened.recovery.as_ref().unwrap().expose_secret(),
        "words words"
    );
    assert_eq!(opened.pin.expose_secret(), "9876");

    // A record read before the last write is stale.
    let mut stale = with_recovery;
    stale.version = 2;
    *stale.pin.expose_secret_mut() = "0000".into();
    assert!(matches!(
        vaults.update_sensitive(&erin, &mut stale, "pin").await,
        Err(Error::Conflict { .. })
    ));
    // Someone else cannot, and a field that is not sensitive is refused.
    let mut current = vaults.get(&erin, &key).await.unwrap().unwrap();
    assert!(matches!(
        vaults
            .update_sensitive(&Caller::user("frank"), &mut current, "pin")
            .await,
        Err(Error::AccessDenied { .. })
    ));
    assert!(matches!(
        vaults.update_sensitive(&erin, &mut current, "label").await,
        Err(Error::Config(_))
    ));
    // Removing the optional field.
    current.recovery = None;
    vaults
        .update_sensitive(&erin, &mut current, "recovery")
        .await
        .unwrap();
    let opened = vaults.get(&erin, &key).await.unwrap().unwrap();
    assert!(opened.recovery.is_none());
    assert_eq!(opened.pin.expose_secret(), "9876");

    // A stored item whose header was tampered with is refused, not re-sealed.
    let mut in_hand = vaults.get(&erin, &key).await.unwrap().unwrap();
    let mut raw = backend
        .store()
        .get(vaults.table_ref(), &key)
        .await
        .unwrap()
        .unwrap();
    if let Some(AttributeValue::B(header)) = raw.get_mut("__cm_header") {
        let salt_byte = header.len() - 40;
        header[salt_byte] ^= 1;
    }
    put(&backend.store(), vaults.table_ref(), raw).await;
    *in_hand.pin.expose_secret_mut() = "5555".into();
    let error = vaults
        .update_sensitive(&erin, &mut in_hand, "pin")
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Integrity { attribute } if attribute == "__cm_header"),
        "{error:?}"
    );

    // A model without a version cannot promise "unchanged since read".
    let profiles = table::<Profile>(backend).await;
    let mut p = profile("erin", "x");
    profiles.put(&erin, &mut p).await.unwrap();
    assert!(matches!(
        profiles.update_sensitive(&erin, &mut p, "ssn").await,
        Err(Error::Config(_))
    ));
}
