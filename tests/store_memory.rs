//! The `Store` conformance suite against `MemoryStore`, plus what only the memory store can
//! show: batches cut short (as by throttling) and retried by the table.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod conformance;

use std::sync::Arc;
use std::time::Duration;

use crypt_model::{
    Caller, Cipher, Error, Key, LocalKeyring, MemoryStore, Sensitive, Store, Table, TableRef,
};

/// A fresh memory store per test; its batches process 7 items per call.
struct Memory(MemoryStore);

impl Memory {
    fn new() -> Self {
        Memory(MemoryStore::with_batch_capacity(7))
    }
}

#[crypt_model::keyring::async_trait]
impl conformance::Harness for Memory {
    fn store(&self) -> Arc<dyn Store> {
        Arc::new(self.0.clone())
    }
    async fn table(&self, table: TableRef) -> TableRef {
        table
    }
}

conformance_suite!(Memory::new());

#[tokio::test]
async fn a_batch_that_stays_unprocessed_reports_the_keys_not_written() {
    let store = MemoryStore::with_batch_capacity(10);
    let cipher = Arc::new(Cipher::new(LocalKeyring::generate().unwrap()));
    let profiles = Table::<crypt_model_tests::Profile, _>::new(store.clone(), cipher)
        .unwrap()
        .with_batch_retry(2, Duration::from_millis(1));
    let records: Vec<crypt_model_tests::Profile> = (0..30)
        .map(|i| crypt_model_tests::Profile {
            user_id: "alice".into(),
            kind: format!("k{i:02}"),
            ssn: Sensitive::new("s".into()),
        })
        .collect();
    let error = profiles
        .batch_put(&Caller::user("alice").unwrap(), &records)
        .await
        .unwrap_err();
    match &error {
        Error::Unprocessed { keys, attempts, .. } => {
            assert_eq!(*attempts, 2);
            // Batches of 25 and 5; each call writes 10: two attempts write 20 of the first
            // batch, and the second batch is never tried.
            assert_eq!(keys.len(), 5 + 5);
            assert_eq!(
                store.len("profiles") + keys.len(),
                30,
                "what is not listed was written"
            );
            assert!(keys.contains(&Key::new("alice").with_sort("k29")));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        !error.to_string().contains("k29"),
        "the message counts, the keys are in the field"
    );
}

#[tokio::test]
async fn the_key_schema_of_a_table_cannot_change() {
    let store = MemoryStore::new();
    let a = TableRef::new("fixed", "pk", None).unwrap();
    let b = TableRef::new("fixed", "id", None).unwrap();
    store.get(&a, &Key::new("x")).await.unwrap();
    assert!(matches!(
        store.get(&b, &Key::new("x")).await,
        Err(Error::InvalidRequest { .. })
    ));
}

#[tokio::test]
async fn owner_keys_cost_one_generate_per_owner_and_one_unwrap_per_owner_per_cache_age() {
    use conformance::Note;
    use crypt_model::{CacheLimits, OwnerKeys};

    let store = MemoryStore::new();
    let keyring = || LocalKeyring::new("k1", &[4; 32]).unwrap();
    let writer = Arc::new(
        Cipher::new(keyring())
            .with_owner_keys(OwnerKeys::new(store.clone(), "owner_keys").unwrap()),
    );
    let notes = Table::<Note, _>::new(store.clone(), writer.clone()).unwrap();
    for owner in ["ann", "ben", "cat"] {
        let caller = Caller::user(owner).unwrap();
        for n in 0..40 {
            let mut note = Note {
                user_id: owner.into(),
                n,
                body: Sensitive::new(format!("{owner} {n}")),
            };
            notes.put(&caller, &mut note).await.unwrap();
        }
    }
    let calls = writer.keyring_calls();
    assert_eq!((calls.generate, calls.unwrap), (3, 0), "{calls:?}");

    // Another process reads them all: one unwrap per owner.
    let reader = Arc::new(
        Cipher::new(keyring())
            .with_owner_keys(OwnerKeys::new(store.clone(), "owner_keys").unwrap()),
    );
    let notes = Table::<Note, _>::new(store.clone(), reader.clone()).unwrap();
    for owner in ["ann", "ben", "cat"] {
        let caller = Caller::user(owner).unwrap();
        let all = notes
            .query_all(&caller, Note::partition(owner.to_owned()).unwrap())
            .await
            .unwrap();
        assert_eq!(all.len(), 40);
    }
    assert_eq!(reader.keyring_calls().unwrap, 3);

    // The per-owner cache keeps at most its limit of owners.
    let keys = OwnerKeys::new(store.clone(), "owner_keys")
        .unwrap()
        .with_cache_limits(CacheLimits::default().max_unwrapped_keys(2));
    let small = Arc::new(Cipher::new(keyring()).with_owner_keys(keys));
    let notes = Table::<Note, _>::new(store, small.clone()).unwrap();
    for owner in ["ann", "ben", "cat"] {
        let caller = Caller::user(owner).unwrap();
        notes
            .query_all(&caller, Note::partition(owner.to_owned()).unwrap())
            .await
            .unwrap();
    }
    let debug = format!("{:?}", small.owner_keys().unwrap());
    assert!(debug.contains("cached: 2"), "{debug}");
}
