//! The lifecycle jobs' own cost, on the memory store: a migration, a re-encryption and a rewrap
//! of 1,000 records, beside the store's floor — the same conditional updates, with no
//! cryptography and no job — so that what the library adds shows as the difference; and a read
//! of a record stored in plaintext, bounded by the migration plan, beside an encrypted one
//! (docs/performance.md reports the figures; the moto comparison is
//! `crypt-model-dynamo/benches/migrate_moto.rs`).
//!
//! Run: `cargo bench -p crypt-model --bench lifecycle`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use crypt_model::keyring::LocalErasureKey;
use crypt_model::lifecycle::Job;
use crypt_model::store::{Condition, Update};
use crypt_model::{
    AttributeValue, Caller, EncryptedItem, Grant, Item, Key, Keys, LocalKeyring, MemoryStore,
    MigrationPlans, Sensitive, Store, Table,
};

const RECORDS: usize = 1_000;

/// Runs a future that never waits (the local keyring and the memory store never do, and the
/// jobs run without a rate limit).
fn now<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the benchmark's future waited"),
    }
}

/// The reference item of docs/performance.md's shape: two sensitive fields, one plain.
#[derive(EncryptedItem)]
#[crypt_model(table = "bench_customers", migrate_from_plaintext)]
struct Customer {
    #[partition_key]
    #[owner]
    user_id: String,
    #[sensitive]
    ssn: Sensitive<String>,
    #[sensitive]
    email: Sensitive<String>,
    plan: String,
}

fn plaintext(i: usize) -> Item {
    Item::from_iter([
        ("user_id", AttributeValue::S(format!("user-{i:06}"))),
        (
            "ssn",
            AttributeValue::S(format!("{:03}-45-{i:04}", i % 900 + 100)),
        ),
        ("email", AttributeValue::S(format!("user{i}@example.com"))),
        ("plan", AttributeValue::S("basic".into())),
    ])
}

/// The table, with the migration plans (kept in the same store).
fn table(store: &MemoryStore, keys: Arc<Keys>) -> Table<Customer, MemoryStore> {
    let key = LocalErasureKey::new("migration", &[9; 32]).unwrap();
    let plans = MigrationPlans::new(store.clone(), "bench_plans", key).unwrap();
    Table::new(store.clone(), keys)
        .unwrap()
        .with_grant(Grant::read("job").unwrap())
        .with_grant(Grant::write("job").unwrap())
        .with_plaintext_migration(plans)
}

fn keyring(primary: &str) -> LocalKeyring {
    LocalKeyring::new(primary, &[primary.as_bytes()[1]; 32]).unwrap()
}

/// A store holding the records in plaintext, each admitted by the migration plan.
fn plaintext_store() -> MemoryStore {
    let store = MemoryStore::new();
    let table = table(&store, Arc::new(Keys::new(keyring("k1"))));
    for i in 0..RECORDS {
        now(store.put(table.table_ref(), plaintext(i), &Condition::Always)).unwrap();
    }
    let planned = now(Job::plan_migration(&table, &Caller::service("job").unwrap()).run());
    assert_eq!(planned.unwrap().counts.plaintext, RECORDS as u64);
    store
}

/// A store holding the records encrypted under key `k1`.
fn encrypted_store() -> MemoryStore {
    let store = plaintext_store();
    let table = table(&store, Arc::new(Keys::new(keyring("k1"))));
    now(Job::migrate(&table, &Caller::service("job").unwrap()).run()).unwrap();
    store
}

fn jobs(c: &mut Criterion) {
    let mut group = c.benchmark_group("lifecycle");
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    let job = Caller::service("job").unwrap();

    // The floor: each record read by a scan and written back by a conditional update of the
    // same shape as a migration's (its attributes compared, two attributes set, the plain
    // values removed), with nothing computed.
    group.bench_function("store floor: scan and conditional update", |b| {
        b.iter_batched(
            plaintext_store,
            |store| {
                let table = table(&store, Arc::new(Keys::new(keyring("k1"))));
                let page = now(store.scan(table.table_ref(), &crypt_model::Scan::all())).unwrap();
                for item in page.items {
                    let key = Key::new(item.get("user_id").unwrap().clone());
                    let mut update = Update::default();
                    update
                        .set
                        .insert("__cm_header", AttributeValue::B(vec![2; 110]));
                    update
                        .set
                        .insert("__cm_sealed", AttributeValue::B(vec![3; 90]));
                    update.remove = vec!["ssn".into(), "email".into()];
                    let mut conditions = vec![Condition::Exists, Condition::absent("__cm_header")];
                    for (name, value) in item.iter().filter(|(n, _)| *n != "user_id") {
                        conditions.push(Condition::equals(name, value.clone()));
                    }
                    now(store.update(
                        table.table_ref(),
                        &key,
                        &update,
                        &Condition::And(conditions),
                    ))
                    .unwrap();
                }
            },
            BatchSize::PerIteration,
        );
    });

    group.bench_function("migrate", |b| {
        b.iter_batched(
            plaintext_store,
            |store| {
                let table = table(&store, Arc::new(Keys::new(keyring("k1"))));
                let report = now(Job::migrate(&table, &job).run()).unwrap();
                assert_eq!(report.counts.changed, RECORDS as u64);
            },
            BatchSize::PerIteration,
        );
    });

    let rotated = || {
        Arc::new(Keys::new(
            keyring("k2").with_read_key("k1", &[b'1'; 32]).unwrap(),
        ))
    };
    group.bench_function("reencrypt", |b| {
        b.iter_batched(
            encrypted_store,
            |store| {
                let table = table(&store, rotated());
                let report = now(Job::reencrypt(&table, &job).run()).unwrap();
                assert_eq!(report.counts.changed, RECORDS as u64);
            },
            BatchSize::PerIteration,
        );
    });

    group.bench_function("rewrap", |b| {
        b.iter_batched(
            encrypted_store,
            |store| {
                let table = table(&store, rotated());
                let report = now(Job::rewrap(&table, &job).run()).unwrap();
                assert_eq!(report.counts.changed, RECORDS as u64);
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

/// The cost of migration mode's bound on a read: a record stored in plaintext is read only after
/// its admission is fetched and its tag checked (the plan itself is cached for a minute), beside
/// the read of the same record encrypted.
fn reads(c: &mut Criterion) {
    let mut group = c.benchmark_group("lifecycle/get");
    let keys = Arc::new(Keys::new(keyring("k1")));
    let owner = Caller::user("user-000007").unwrap();
    let key = Customer::key("user-000007".to_owned()).unwrap();
    let planned = table(&plaintext_store(), keys.clone());
    let encrypted = table(&encrypted_store(), keys);
    group.bench_function("plaintext admitted by the plan", |b| {
        b.iter(|| now(planned.get(&owner, &key)).unwrap().unwrap());
    });
    group.bench_function("encrypted", |b| {
        b.iter(|| now(encrypted.get(&owner, &key)).unwrap().unwrap());
    });
    group.finish();
}

criterion_group!(benches, jobs, reads);
criterion_main!(benches);
