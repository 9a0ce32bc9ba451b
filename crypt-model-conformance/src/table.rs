//! The typed table on top of the store: ownership and takeover, enumeration, what a query
//! returns, optimistic locking, batches, transactions, and what is stored (updates: `update.rs`).
// A case is named as the sentence it checks; its models and helpers serve the cases.
#![allow(missing_docs)]

use crypt_model::error::{AccessError, ConfigError, StorageError};
use std::sync::Arc;

use crate::fixtures::{CARD, Profile, SSN, profile};
use crypt_model::{
    AttributeValue, Caller, EncryptedItem, Error, Grant, Key, Query, Sensitive, SortCondition,
    Store, Table, Write,
};

use super::{Harness, keys, s, table};

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

pub async fn takeover_is_refused(backend: &impl Harness) {
    let alice = Caller::user("alice").unwrap();
    let bob = Caller::user("bob").unwrap();
    let orders = table::<Order, _>(backend).await;
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
    assert!(
        matches!(&error, Error::Access(AccessError::Denied { caller, .. }) if caller == "bob"),
        "{error:?}"
    );
    // A granted service writing someone else's record over alice's is refused, and the refusal
    // names the service that asked, not the owner the record claims.
    let granted = Table::<Order, _>::named(backend.store(), keys(), orders.table_ref().name())
        .unwrap()
        .with_grant(Grant::write("support-tool").unwrap());
    let mut carols = Order {
        order_no: 1,
        customer: "carol".into(),
        card: Sensitive::new("carol's card".into()),
    };
    let error = granted
        .put(&Caller::service("support-tool").unwrap(), &mut carols)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Access(AccessError::Denied { caller, .. }) if caller == "support-tool"),
        "{error:?}"
    );
    // Bob writes a record in alice's name.
    let mut forged = Order {
        order_no: 1,
        customer: "alice".into(),
        card: Sensitive::new("forged".into()),
    };
    assert!(matches!(
        orders.put(&bob, &mut forged).await,
        Err(Error::Access(AccessError::Denied { .. }))
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
        matches!(
            error,
            Error::Storage(StorageError::TransactionCancelled { .. })
        ),
        "{error:?}"
    );
    let kept = orders.get(&alice, &Key::new(1u64)).await.unwrap().unwrap();
    assert_eq!(kept.card.expose_secret(), CARD);
}

pub async fn enumeration_looks_like_a_missing_record(backend: &impl Harness) {
    let profiles = table::<Profile, _>(backend).await;
    let alice = Caller::user("alice").unwrap();
    let bob = Caller::user("bob").unwrap();
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

pub async fn query_returns_only_what_the_caller_may_open(backend: &impl Harness) {
    // Orders of several customers in one partition would need a shared key; use profiles of a
    // partition and a service grant instead: the owner sees them, a stranger sees none.
    let profiles = table::<Profile, _>(backend).await;
    let alice = Caller::user("alice").unwrap();
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
            .query_all(
                &Caller::user("mallory").unwrap(),
                Query::partition("alice").limit(2)
            )
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

pub async fn optimistic_locking_loses_no_update(backend: &impl Harness) {
    let counters = Arc::new(table::<Counter, _>(backend).await);
    let owner = Caller::user("carol").unwrap();
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
                            Err(Error::Storage(StorageError::Conflict { .. })) => conflicts += 1,
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

pub async fn stale_write_is_a_conflict(backend: &impl Harness) {
    let counters = table::<Counter, _>(backend).await;
    let owner = Caller::user("dave").unwrap();
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
    assert!(
        matches!(error, Error::Storage(StorageError::Conflict { .. })),
        "{error:?}"
    );
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
            Err(Error::Storage(StorageError::Conflict { .. }))
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

pub async fn table_batch_put_and_get(backend: &impl Harness) {
    let profiles = table::<Profile, _>(backend).await;
    let alice = Caller::user("alice").unwrap();
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
            .batch_get(&Caller::user("bob").unwrap(), &keys)
            .await
            .unwrap()
            .is_empty()
    );
    // Bob cannot batch-write records in alice's name.
    let error = profiles
        .batch_put(&Caller::user("bob").unwrap(), &records[..1])
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Access(AccessError::Denied { .. })));
}

pub async fn table_transaction_rolls_back(backend: &impl Harness) {
    let profiles = table::<Profile, _>(backend).await;
    let alice = Caller::user("alice").unwrap();
    profiles
        .put(&alice, &mut profile("alice", "old"))
        .await
        .unwrap();
    profiles
        .put(&Caller::user("bob").unwrap(), &mut profile("bob", "main"))
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
        Error::Storage(StorageError::TransactionCancelled { reasons }) => {
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

pub async fn stored_items_hold_no_plaintext(backend: &impl Harness) {
    let profiles = table::<Profile, _>(backend).await;
    let alice = Caller::user("alice").unwrap();
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

// Claims the derive refuses to make for `Order` (its owner is not in its key, it has no
// version), made by hand: the table checks the model again and refuses at run time.
impl crypt_model::BatchWritable for Order {}
impl crypt_model::Versioned for Order {}

pub async fn a_model_wrongly_claiming_batch_or_update_is_refused_at_run_time(
    backend: &impl Harness,
) {
    let orders = table::<Order, _>(backend).await;
    let alice = Caller::user("alice").unwrap();
    let mut order = Order {
        order_no: 71,
        customer: "alice".into(),
        card: Sensitive::new(CARD.into()),
    };
    let error = orders
        .batch_put(&alice, std::slice::from_ref(&order))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Config(ConfigError::Unsupported { operation, .. }) if *operation == "batch_put"),
        "{error:?}"
    );
    assert!(
        orders
            .get(&alice, &Key::new(71u64))
            .await
            .unwrap()
            .is_none()
    );
    orders.put(&alice, &mut order).await.unwrap();
    let error = orders
        .update(&alice, &mut order, &[Order::CARD])
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Config(ConfigError::Unsupported { operation, .. }) if *operation == "update"),
        "{error:?}"
    );
}
