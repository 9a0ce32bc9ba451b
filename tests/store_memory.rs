//! The `Store` conformance suite against `MemoryStore`, plus what only the memory store can
//! show: batches cut short (as by throttling) and retried by the table.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crypt_model::error::{KeyError, StorageError};
use std::sync::Arc;
use std::time::Duration;

use crypt_model::format::{Header, Suite};
use crypt_model::{
    Caller, Error, Key, Keys, LocalKeyring, MemoryStore, Sensitive, Store, Table, TableRef,
};
use crypt_model_conformance::{Profile, profile};

/// A fresh memory store per test; its batches process 7 items per call.
struct Memory(MemoryStore);

impl Memory {
    fn new() -> Self {
        Memory(MemoryStore::with_batch_capacity(7))
    }
}

#[crypt_model::keyring::async_trait]
impl crypt_model_conformance::Harness for Memory {
    type Store = MemoryStore;
    fn store(&self) -> MemoryStore {
        self.0.clone()
    }
    async fn table(&self, table: TableRef) -> TableRef {
        table
    }
}

crypt_model_conformance::suite!(Memory::new());

/// `scripts/test` runs this file a second time with `CRYPT_MODEL_TEST_SUITE=aes256gcm`, so that
/// the conformance suite runs under suite 2: this fails if the models were then not sealed with
/// it (the suite would pass under suite 1 for the wrong reason).
#[tokio::test]
async fn the_models_seal_with_the_suite_the_run_asks_for() {
    let expected = match std::env::var("CRYPT_MODEL_TEST_SUITE").as_deref() {
        Ok("aes256gcm") => (4, Suite::Aes256Gcm),
        _ => (3, Suite::XChaCha20Poly1305),
    };
    let store = MemoryStore::new();
    let keys = Arc::new(Keys::new(LocalKeyring::generate().unwrap()));
    let table = Table::<Profile, _>::new(store.clone(), keys).unwrap();
    let alice = Caller::user("alice").unwrap();
    table
        .put(&alice, &mut profile("alice", "home"))
        .await
        .unwrap();
    let stored = store.items(table.table_ref().name()).remove(0);
    let header = Header::of_item(&stored).unwrap();
    assert_eq!((header.version(), header.suite()), expected);
}

/// The tombstone table of the key table `owner_keys` in these tests.
fn tombstones(store: &MemoryStore) -> crypt_model::Tombstones {
    let key = crypt_model::keyring::LocalErasureKey::new("erasure", &[6; 32]).unwrap();
    crypt_model::Tombstones::new(store.clone(), "tombstones", key).unwrap()
}

#[tokio::test]
async fn a_batch_that_stays_unprocessed_reports_the_keys_not_written() {
    let store = MemoryStore::with_batch_capacity(10);
    let keys = Arc::new(Keys::new(LocalKeyring::generate().unwrap()));
    let profiles = Table::<crypt_model_tests::Profile, _>::new(store.clone(), keys)
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
        Error::Storage(StorageError::Unprocessed { keys, attempts, .. }) => {
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
        Err(Error::Storage(StorageError::InvalidRequest { .. }))
    ));
}

#[tokio::test]
async fn owner_keys_cost_one_generate_per_owner_and_one_unwrap_per_owner_per_cache_age() {
    use crypt_model::{CacheLimits, EncryptedItem, OwnerKeys};
    use crypt_model_conformance::cases::Note;

    let store = MemoryStore::new();
    let keyring = || LocalKeyring::new("k1", &[4; 32]).unwrap();
    let writer =
        Arc::new(Keys::new(keyring()).with_owner_keys(
            OwnerKeys::new(store.clone(), "owner_keys", tombstones(&store)).unwrap(),
        ));
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

    // Another process reads them all: one unwrap per owner, and one read of the tombstone
    // table per owner (the cost of refusing a key row put back after an erasure).
    let tombstone_gets = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counted = Interfering {
        inner: store.clone(),
        gets: tombstone_gets.clone(),
        ..Interfering::new()
    };
    let key = crypt_model::keyring::LocalErasureKey::new("erasure", &[6; 32]).unwrap();
    let counted = crypt_model::Tombstones::new(counted, "tombstones", key).unwrap();
    let reader = Arc::new(
        Keys::new(keyring())
            .with_owner_keys(OwnerKeys::new(store.clone(), "owner_keys", counted).unwrap()),
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
    assert_eq!(tombstone_gets.load(std::sync::atomic::Ordering::Relaxed), 3);

    // The per-owner cache keeps at most its limit of owners.
    let keys = OwnerKeys::new(store.clone(), "owner_keys", tombstones(&store))
        .unwrap()
        .with_cache_limits(CacheLimits::default().max_unwrapped_keys(2));
    let small = Arc::new(Keys::new(keyring()).with_owner_keys(keys));
    let notes = Table::<Note, _>::new(store.clone(), small.clone()).unwrap();
    for owner in ["ann", "ben", "cat"] {
        let caller = Caller::user(owner).unwrap();
        notes
            .query_all(&caller, Note::partition(owner.to_owned()).unwrap())
            .await
            .unwrap();
    }
    let debug = format!("{:?}", small.owner_keys().unwrap());
    assert!(debug.contains("cached: 2"), "{debug}");

    // Ann erased, then back with a new key: her old records, read again and again, cost the
    // key provider nothing (the handles differ before anything is unwrapped).
    let old_copy = store.items("conf_shred")[0].clone();
    let ann = Caller::user("ann").unwrap();
    let permit = crypt_model::access::Gate::<Note>::new()
        .erase_permit(&ann, "ann")
        .unwrap();
    OwnerKeys::new(store.clone(), "owner_keys", tombstones(&store))
        .unwrap()
        .erase(permit)
        .await
        .unwrap();
    // (A process that cached her old key may use it until the cache age: one that did not.)
    let fresh = Keys::new(keyring())
        .with_owner_keys(OwnerKeys::new(store.clone(), "owner_keys", tombstones(&store)).unwrap());
    let read = Table::<Note, _>::new(store.clone(), Arc::new(fresh)).unwrap();
    let mut back = Note {
        user_id: "ann".into(),
        n: 99,
        body: Sensitive::new("ann again".into()),
    };
    read.put(&ann, &mut back).await.unwrap();
    let new_key = Note::key("ann".to_owned(), 99u32).unwrap();
    assert!(read.get(&ann, &new_key).await.unwrap().is_some());
    let fresh = read.keys();
    let before = fresh.keyring_calls().unwrap;
    for _ in 0..5 {
        let error = Note::from_item(old_copy.clone())
            .open(&ann, fresh)
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                crypt_model::Error::Key(KeyError::OwnerKeyErased { .. })
            ),
            "{error:?}"
        );
    }
    assert_eq!(
        fresh.keyring_calls().unwrap,
        before,
        "an erased copy cost an unwrap"
    );
    assert!(
        read.get(&ann, &new_key).await.unwrap().is_some(),
        "her new key left the cache"
    );
    assert_eq!(fresh.keyring_calls().unwrap, before);
}

/// A memory store on which another writer changes a record just before the first conditional
/// update reaches it: the race between a job's read and its write, made certain. It counts the
/// gets it serves. Its reads can also answer once with a record as it was before another writer
/// changed it (`stale`): the race between the library's read and its check, made certain.
struct Interfering {
    inner: MemoryStore,
    change: std::sync::Mutex<Option<crypt_model::Item>>,
    gets: Arc<std::sync::atomic::AtomicU64>,
    stale: std::sync::Mutex<Vec<crypt_model::Item>>,
    /// An item the next query also answers with, as read before another writer moved it out of
    /// the query's range or deleted it.
    appear: std::sync::Mutex<Option<crypt_model::Item>>,
}

impl Interfering {
    /// Over a new memory store, changing nothing until told.
    fn new() -> Interfering {
        Interfering {
            inner: MemoryStore::new(),
            change: std::sync::Mutex::new(None),
            gets: Arc::default(),
            stale: Default::default(),
            appear: Default::default(),
        }
    }

    /// `item`, or the stale copy of the same record (handed out once) in its place.
    fn served(&self, item: crypt_model::Item) -> crypt_model::Item {
        let mut stale = self.stale.lock().unwrap();
        let same = |other: &crypt_model::Item| other.get("user_id") == item.get("user_id");
        match stale.iter().position(same) {
            Some(at) => stale.remove(at),
            None => item,
        }
    }
}

#[crypt_model::store::async_trait]
impl Store for Interfering {
    async fn put(
        &self,
        table: &TableRef,
        item: crypt_model::Item,
        condition: &crypt_model::store::Condition,
    ) -> crypt_model::Result<()> {
        self.inner.put(table, item, condition).await
    }
    async fn get(
        &self,
        table: &TableRef,
        key: &Key,
    ) -> crypt_model::Result<Option<crypt_model::Item>> {
        self.gets.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let item = self.inner.get(table, key).await?;
        Ok(item.map(|item| self.served(item)))
    }
    async fn delete(
        &self,
        table: &TableRef,
        key: &Key,
        condition: &crypt_model::store::Condition,
    ) -> crypt_model::Result<()> {
        self.inner.delete(table, key, condition).await
    }
    async fn update(
        &self,
        table: &TableRef,
        key: &Key,
        update: &crypt_model::store::Update,
        condition: &crypt_model::store::Condition,
    ) -> crypt_model::Result<()> {
        let change = self.change.lock().unwrap().take();
        if let Some(item) = change {
            let always = crypt_model::store::Condition::Always;
            self.inner.put(table, item, &always).await?;
        }
        self.inner.update(table, key, update, condition).await
    }
    async fn query(
        &self,
        table: &TableRef,
        query: &crypt_model::Query,
    ) -> crypt_model::Result<crypt_model::Page> {
        let mut page = self.inner.query(table, query).await?;
        page.items = page.items.into_iter().map(|i| self.served(i)).collect();
        page.items.extend(self.appear.lock().unwrap().take());
        Ok(page)
    }
    async fn scan(
        &self,
        table: &TableRef,
        scan: &crypt_model::Scan,
    ) -> crypt_model::Result<crypt_model::Page> {
        let mut page = self.inner.scan(table, scan).await?;
        page.items = page.items.into_iter().map(|i| self.served(i)).collect();
        Ok(page)
    }
    async fn batch_put(
        &self,
        table: &TableRef,
        items: Vec<crypt_model::Item>,
    ) -> crypt_model::Result<Vec<crypt_model::Item>> {
        self.inner.batch_put(table, items).await
    }
    async fn batch_get(
        &self,
        table: &TableRef,
        keys: Vec<Key>,
    ) -> crypt_model::Result<crypt_model::store::BatchGet> {
        let mut got = self.inner.batch_get(table, keys).await?;
        got.items = got.items.into_iter().map(|i| self.served(i)).collect();
        Ok(got)
    }
    async fn transact_write(
        &self,
        items: Vec<crypt_model::store::TransactItem>,
    ) -> crypt_model::Result<()> {
        self.inner.transact_write(items).await
    }
}

/// The customers of the migration cases on `store`, in migration mode, with the job's grants.
fn migrating(store: Interfering) -> Table<crypt_model_conformance::cases::Customer, Interfering> {
    use crypt_model::Grant;
    let keys = Arc::new(Keys::new(LocalKeyring::generate().unwrap()));
    let plans = crypt_model::MigrationPlans::new(
        MemoryStore::new(),
        "plans",
        crypt_model::keyring::LocalErasureKey::generate().unwrap(),
    )
    .unwrap();
    Table::new(store, keys)
        .unwrap()
        .with_grant(Grant::read("job").unwrap())
        .with_grant(Grant::write("job").unwrap())
        .with_plaintext_migration(plans)
}

#[tokio::test]
async fn a_field_another_writer_adds_under_the_migration_is_neither_sealed_over_nor_lost() {
    use crypt_model::lifecycle::Job;
    use crypt_model::{AttributeValue, Item};
    use crypt_model_conformance::cases::Customer;

    let s = |v: &str| AttributeValue::S(v.to_owned());
    let legacy = Item::from_iter([
        ("user_id", s("u1")),
        ("ssn", s("078-05-1120")),
        ("plan", s("basic")),
    ]);
    // Between the job's read and its write, a plaintext writer adds the card (absent when read).
    let mut changed = legacy.clone();
    changed.insert("card", s("4111-1111-1111-1111"));
    let store = Interfering {
        change: std::sync::Mutex::new(Some(changed)),
        ..Interfering::new()
    };
    let inner = store.inner.clone();
    let customers = migrating(store);
    customers
        .store()
        .put(
            customers.table_ref(),
            legacy,
            &crypt_model::store::Condition::Always,
        )
        .await
        .unwrap();
    let job = Caller::service("job").unwrap();
    let planned = Job::plan_migration(&customers, &job).run().await.unwrap();
    assert_eq!(planned.counts.plaintext, 1);
    let report = Job::migrate(&customers, &job).run().await.unwrap();
    // The job read the record again, found it changed in plaintext since the plan, and left it
    // as it is: nothing sealed over, nothing lost, and the record reported.
    assert_eq!((report.counts.changed, report.counts.failed), (0, 1));
    assert!(report.failed[0].reason.contains("did not admit"));
    let stored = inner.items(customers.table_ref().name());
    assert!(stored[0].contains("card") && stored[0].contains("ssn"));
    // Planned again (reopened: it changed since the plan admitted it), it is migrated with
    // the card.
    let planned = Job::plan_migration(&customers, &job)
        .reopen_plan(true)
        .run()
        .await
        .unwrap();
    assert_eq!(planned.counts.plaintext, 1);
    let report = Job::migrate(&customers, &job).run().await.unwrap();
    assert_eq!((report.counts.changed, report.counts.failed), (1, 0));
    let stored = inner.items(customers.table_ref().name());
    assert!(!stored[0].contains("card") && !stored[0].contains("ssn"));
    let record = customers
        .get(
            &Caller::user("u1").unwrap(),
            &Customer::key("u1".to_owned()).unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        record.card.as_ref().map(|c| c.expose_secret().as_str()),
        Some("4111-1111-1111-1111")
    );
}

#[tokio::test]
async fn a_record_the_migration_seals_between_a_read_and_its_check_is_read_again() {
    use crypt_model::lifecycle::Job;
    use crypt_model::{AttributeValue, Item, Query};
    use crypt_model_conformance::cases::Customer;

    let s = |v: &str| AttributeValue::S(v.to_owned());
    let legacy = Item::from_iter([
        ("user_id", s("u1")),
        ("ssn", s("078-05-1120")),
        ("plan", s("basic")),
    ]);
    let store = Interfering::new();
    let stale = |customers: &Table<Customer, Interfering>| {
        *customers.store().stale.lock().unwrap() = vec![legacy.clone()];
    };
    let customers = migrating(store);
    let always = crypt_model::store::Condition::Always;
    let table = customers.table_ref();
    customers
        .store()
        .put(table, legacy.clone(), &always)
        .await
        .unwrap();
    let job = Caller::service("job").unwrap();
    Job::plan_migration(&customers, &job).run().await.unwrap();
    let report = Job::migrate(&customers, &job).run().await.unwrap();
    assert_eq!(report.counts.changed, 1);

    // Each read below is answered with the record as it was before the job sealed it: in
    // plaintext, its admission revoked since. The library reads it again, sealed, and opens it.
    let u1 = Caller::user("u1").unwrap();
    let key = Customer::key("u1".to_owned()).unwrap();
    let ssn = |c: &Customer| c.ssn.expose_secret().clone();
    stale(&customers);
    let got = customers.get(&u1, &key).await.unwrap().unwrap();
    assert_eq!(ssn(&got), "078-05-1120", "get");
    stale(&customers);
    let page = customers.query(&u1, &Query::partition("u1")).await.unwrap();
    assert!(page.unreadable.is_empty(), "query: {:?}", page.unreadable);
    assert_eq!(
        page.items.iter().map(ssn).collect::<Vec<_>>(),
        ["078-05-1120"]
    );
    stale(&customers);
    let batch = customers
        .batch_get(&u1, std::slice::from_ref(&key))
        .await
        .unwrap();
    assert_eq!(
        batch.iter().map(ssn).collect::<Vec<_>>(),
        ["078-05-1120"],
        "batch_get"
    );
    let job = Caller::service("job").unwrap();
    stale(&customers);
    let scanned = customers
        .scan(&job, &crypt_model::Scan::all())
        .await
        .unwrap();
    assert_eq!(
        scanned.items.iter().map(ssn).collect::<Vec<_>>(),
        ["078-05-1120"],
        "scan"
    );
    assert!(
        customers.store().stale.lock().unwrap().is_empty(),
        "a read was not stale"
    );

    // Deleted by the time it is read again: passed over, as a record deleted a moment earlier.
    customers
        .store()
        .inner
        .delete(table, &key, &always)
        .await
        .unwrap();
    *customers.store().appear.lock().unwrap() = Some(legacy.clone());
    let page = customers.query(&u1, &Query::partition("u1")).await.unwrap();
    assert!(
        page.items.is_empty() && page.unreadable.is_empty(),
        "{:?}",
        page.unreadable
    );

    // A record still in plaintext when read again is refused, as before; a listing reports it.
    let plain = Item::from_iter([
        ("user_id", s("u2")),
        ("ssn", s("219-09-9999")),
        ("plan", s("basic")),
    ]);
    customers.store().put(table, plain, &always).await.unwrap();
    let u2 = Caller::user("u2").unwrap();
    let page = customers.query(&u2, &Query::partition("u2")).await.unwrap();
    assert!(
        page.items.is_empty(),
        "a refused plaintext record was listed"
    );
    assert!(
        page.unreadable[0].reason.contains("plaintext"),
        "{:?}",
        page.unreadable
    );
    let refused = customers
        .get(
            &Caller::user("u2").unwrap(),
            &Customer::key("u2".to_owned()).unwrap(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            crypt_model::Error::Data(crypt_model::error::DataError::PlaintextRefused { .. })
        ),
        "{refused:?}"
    );
}

/// Customers in migration, listed by plan.
#[derive(crypt_model::EncryptedItem, Debug)]
#[crypt_model(
    table = "by_plan_migration",
    migrate_from_plaintext,
    index(name = "by_plan", partition = "plan")
)]
struct PlanCustomer {
    #[partition_key]
    #[owner]
    user_id: String,
    #[sensitive]
    ssn: Sensitive<String>,
    plan: String,
    #[crypt_model(version)]
    version: u64,
}

#[tokio::test]
async fn a_record_read_again_must_still_be_in_the_range_its_query_selected() {
    use crypt_model::lifecycle::Job;
    use crypt_model::{AttributeValue, Grant, Item, Query};

    let s = |v: &str| AttributeValue::S(v.to_owned());
    let legacy = Item::from_iter([
        ("user_id", s("u1")),
        ("ssn", s("078-05-1120")),
        ("plan", s("basic")),
        ("version", AttributeValue::N("1".into())),
    ]);
    let keys = Arc::new(Keys::new(LocalKeyring::generate().unwrap()));
    let plans = crypt_model::MigrationPlans::new(
        MemoryStore::new(),
        "plans",
        crypt_model::keyring::LocalErasureKey::generate().unwrap(),
    )
    .unwrap();
    let customers = Table::<PlanCustomer, _>::new(Interfering::new(), keys)
        .unwrap()
        .with_grant(Grant::read("job").unwrap())
        .with_grant(Grant::write("job").unwrap())
        .with_plaintext_migration(plans);
    let always = crypt_model::store::Condition::Always;
    let table = customers.table_ref();
    customers
        .store()
        .put(table, legacy.clone(), &always)
        .await
        .unwrap();
    let job = Caller::service("job").unwrap();
    Job::plan_migration(&customers, &job).run().await.unwrap();
    let report = Job::migrate(&customers, &job).run().await.unwrap();
    assert_eq!(report.counts.changed, 1, "{:?}", report.failed);

    // An update that reads the record as it was in plaintext (with the version it has now),
    // after the job sealed it and revoked its admission: the record changed under the caller,
    // who is told to read it again — not that a plaintext record was refused.
    let u1 = Caller::user("u1").unwrap();
    let key = PlanCustomer::key("u1".to_owned()).unwrap();
    let mut customer = customers.get(&u1, &key).await.unwrap().unwrap();
    let sealed = customers.store().inner.items(table.name()).remove(0);
    let mut stale: Item = sealed
        .iter()
        .filter(|(name, _)| !name.starts_with("__cm_"))
        .map(|(name, value)| (name.to_owned(), value.clone()))
        .collect();
    stale.insert("ssn", s("078-05-1120"));
    *customers.store().stale.lock().unwrap() = vec![stale];
    customer.plan = "gold".into();
    let changed = customers
        .update(&u1, &mut customer, &[PlanCustomer::PLAN])
        .await
        .unwrap_err();
    assert!(
        matches!(
            changed,
            crypt_model::Error::Storage(crypt_model::error::StorageError::Conflict { .. })
        ),
        "{changed:?}"
    );
    assert!(customers.store().stale.lock().unwrap().is_empty());

    // Read again, it is moved to another plan by its owner.
    let mut customer = customers.get(&u1, &key).await.unwrap().unwrap();
    customer.plan = "gold".into();
    customers.put(&u1, &mut customer).await.unwrap();

    // A query of the basic plan that read the record before all this: read again, it is on
    // another plan now, and the page leaves it out.
    *customers.store().appear.lock().unwrap() = Some(legacy);
    let basic = Query::index("by_plan", "basic");
    let page = customers.query(&u1, &basic).await.unwrap();
    assert!(page.unreadable.is_empty(), "{:?}", page.unreadable);
    assert!(
        page.items.is_empty(),
        "a gold customer listed on the basic plan: {:?}",
        page.items.iter().map(|c| &c.plan).collect::<Vec<_>>()
    );
    let gold = customers
        .query(&u1, &Query::index("by_plan", "gold"))
        .await
        .unwrap();
    assert_eq!(gold.items.len(), 1);
}

/// A keyring whose unwraps wait, once armed, until released: a key-provider call held open.
#[derive(Debug)]
struct HeldKeyring {
    inner: LocalKeyring,
    armed: std::sync::atomic::AtomicBool,
    entered: tokio::sync::Notify,
    release: tokio::sync::Notify,
}

#[crypt_model::keyring::async_trait]
impl crypt_model::keyring::Keyring for HeldKeyring {
    async fn generate_data_key(
        &self,
        context: &crypt_model::keyring::EncryptionContext,
    ) -> crypt_model::Result<crypt_model::keyring::GeneratedDataKey> {
        self.inner.generate_data_key(context).await
    }
    async fn unwrap_data_key(
        &self,
        wrapped: &crypt_model::keyring::WrappedDataKey,
        context: &crypt_model::keyring::EncryptionContext,
    ) -> crypt_model::Result<crypt_model::keyring::DataKey> {
        if self.armed.swap(false, std::sync::atomic::Ordering::SeqCst) {
            self.entered.notify_one();
            self.release.notified().await;
        }
        self.inner.unwrap_data_key(wrapped, context).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_fetched_before_an_erasure_is_not_cached_after_it() {
    use crypt_model::OwnerKeys;
    use crypt_model_conformance::cases::Note;

    let store = MemoryStore::new();
    let key = [5; 32];
    let writer = Arc::new(
        Keys::new(LocalKeyring::new("k1", &key).unwrap()).with_owner_keys(
            OwnerKeys::new(store.clone(), "owner_keys", tombstones(&store)).unwrap(),
        ),
    );
    let alice = Caller::user("alice").unwrap();
    let mut note = Note {
        user_id: "alice".into(),
        n: 1,
        body: Sensitive::new("hers".into()),
    };
    Table::<Note, _>::new(store.clone(), writer)
        .unwrap()
        .put(&alice, &mut note)
        .await
        .unwrap();

    // A reader whose unwrap of alice's key is held open while the same process erases her.
    let keyring = Arc::new(HeldKeyring {
        inner: LocalKeyring::new("k1", &key).unwrap(),
        armed: std::sync::atomic::AtomicBool::new(true),
        entered: tokio::sync::Notify::new(),
        release: tokio::sync::Notify::new(),
    });
    let reader =
        Arc::new(Keys::new(keyring.clone()).with_owner_keys(
            OwnerKeys::new(store.clone(), "owner_keys", tombstones(&store)).unwrap(),
        ));
    let notes = Arc::new(
        Table::<Note, _>::new(store.clone(), reader.clone())
            .unwrap()
            .with_grant(crypt_model::Grant::delete("privacy").unwrap()),
    );
    let key_of = Note::key("alice".to_owned(), 1u32).unwrap();
    let in_flight = {
        let (notes, alice, key_of) = (notes.clone(), alice.clone(), key_of.clone());
        tokio::spawn(async move { notes.get(&alice, &key_of).await })
    };
    keyring.entered.notified().await;
    assert!(
        notes
            .erase_owner(&Caller::service("privacy").unwrap(), "alice")
            .await
            .unwrap()
    );
    keyring.release.notify_one();
    // The read that fetched the key before the erasure completes; the key is not kept.
    in_flight.await.unwrap().unwrap();
    let error = notes.get(&alice, &key_of).await.unwrap_err();
    assert!(
        matches!(
            error,
            crypt_model::Error::Key(KeyError::OwnerKeyErased { .. })
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn owner_keys_past_their_age_are_counted_and_swept_without_traffic() {
    use crypt_model::{CacheLimits, OwnerKeys};
    use crypt_model_conformance::cases::Note;

    let store = MemoryStore::new();
    let limits = CacheLimits::default().max_age(Duration::from_millis(200));
    let owner_keys = OwnerKeys::new(store.clone(), "owner_keys", tombstones(&store))
        .unwrap()
        .with_cache_limits(limits);
    let keys = Arc::new(Keys::new(LocalKeyring::generate().unwrap()).with_owner_keys(owner_keys));
    let notes = Table::<Note, _>::new(store.clone(), keys.clone()).unwrap();
    let mut note = Note {
        user_id: "ann".into(),
        n: 1,
        body: Sensitive::new("ann's".into()),
    };
    notes
        .put(&Caller::user("ann").unwrap(), &mut note)
        .await
        .unwrap();
    assert_eq!(keys.cached_keys().owner_keys, 1);
    // No call on the keys from here on: the background sweep alone drops (and wipes) it,
    // within a second of its age limit.
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while keys.cached_keys().owner_keys != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "an owner's key outlived its age"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
