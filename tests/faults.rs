//! The library under faults: a proxy between the SDK clients and moto (`proxy/mod.rs`) injects
//! HTTP 500 and 503, throttling, connection resets before a request and after it was applied,
//! latency, partial batch results, KMS requests failing now and then and a KMS outage, while a
//! seeded workload writes and reads through a `Table`. Properties: every write the library
//! acknowledged is stored as written; every write it reported failed is absent or whole (its new
//! values, or what was there); a read finds one of those; every stored item opens; nothing is
//! written while KMS is down; retries are bounded and reported; no error holds a plaintext value.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod moto;
mod proxy;

use crypt_model::error::{KeyError, StorageError};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::config::retry::RetryConfig;
use crypt_model::store::Scan;
use crypt_model::{
    CacheLimits, Caller, EncryptedItem, Error, Grant, Key, Keys, Sensitive, Store, Table, Write,
};
use crypt_model_dynamo::{DynamoStore, KmsKeyring, ProvisionOptions, provision};
use crypt_model_tests::Profile;
use crypt_model_tests::draw::Draw;
use proxy::{FaultProxy, Faults};

/// Every sensitive value the workload writes starts with this: no error may hold it.
const SECRET: &str = "fault-secret-";

/// The profiles table through `endpoint` (the proxy's or moto's), keyed by `key`.
async fn profiles(endpoint: &str, name: &str, key: &str) -> Table<Profile, DynamoStore> {
    profiles_caching(endpoint, name, key, CacheLimits::default()).await
}

/// [`profiles`], its keys cached within `limits`.
async fn profiles_caching(
    endpoint: &str,
    name: &str,
    key: &str,
    limits: CacheLimits,
) -> Table<Profile, DynamoStore> {
    // The SDK's standard retry (3 attempts), as `aws_config::load_defaults` gives it, with a
    // shorter first backoff (20 ms, not 1 s) to keep the run short.
    let retry = RetryConfig::standard().with_initial_backoff(Duration::from_millis(20));
    let config = moto::sdk_config(endpoint)
        .to_builder()
        .retry_config(retry)
        .build();
    let keyring = KmsKeyring::new(aws_sdk_kms::Client::new(&config), key).unwrap();
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config));
    let keys = Keys::with_cache_limits(keyring, limits);
    Table::named(store, Arc::new(keys), name)
        .unwrap()
        .with_batch_retry(8, Duration::from_millis(5))
}

/// A new profiles table on moto and a new KMS key.
async fn setup(name: &str) -> (String, String) {
    let name = moto::unique(name);
    let key = moto::kms_key(&moto::kms()).await;
    let direct = profiles(&moto::endpoint(), &name, &key).await;
    provision(
        &moto::dynamo(),
        direct.table_ref(),
        ProvisionOptions::default(),
    )
    .await
    .unwrap();
    (name, key)
}

fn profile(owner: &str, kind: &str, value: &str) -> Profile {
    Profile {
        user_id: owner.into(),
        kind: kind.into(),
        ssn: Sensitive::new(value.into()),
    }
}

/// The number in the environment variable `name`, or `default`.
fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn no_secret(error: &Error) {
    let text = format!("{error} {error:?}");
    assert!(
        !text.contains(SECRET),
        "an error holds a plaintext value: {text}"
    );
}

/// What each key may hold: after an acknowledged write, that write alone; after a failed one,
/// also what it wrote (it may have been applied before the failure), `None` for a deletion.
type Possible = BTreeMap<(String, String), BTreeSet<Option<String>>>;

fn acknowledged(possible: &mut Possible, key: (String, String), value: Option<String>) {
    possible.insert(key, BTreeSet::from([value]));
}

fn failed(possible: &mut Possible, key: (String, String), value: Option<String>) {
    possible
        .entry(key)
        .or_insert_with(|| BTreeSet::from([None]))
        .insert(value);
}

/// A seeded workload through `table` — puts, deletes, batches, transactions and reads of four
/// owners' records, one at a time — and what each key may hold after it. A read must find the
/// last acknowledged write or one of the failed ones since; no error may hold a secret.
async fn workload(
    table: &Table<Profile, DynamoStore>,
    seed: u64,
    operations: u64,
) -> (Possible, u64, u64) {
    let mut draw = Draw(seed);
    let mut possible = Possible::new();
    let (mut ok, mut errors) = (0u64, 0u64);
    let owners = ["u0", "u1", "u2", "u3"];
    let kinds = ["k0", "k1", "k2", "k3", "k4", "k5"];
    for n in 0..operations {
        let owner = owners[draw.below(4) as usize];
        let caller = Caller::user(owner).unwrap();
        let kind = kinds[draw.below(6) as usize];
        let value = format!("{SECRET}{n}");
        let at = |kind: &str| (owner.to_owned(), kind.to_owned());
        let outcome = match draw.below(12) {
            0..=4 => {
                let result = table.put(&caller, &mut profile(owner, kind, &value)).await;
                let record = if result.is_ok() { acknowledged } else { failed };
                record(&mut possible, at(kind), Some(value));
                result
            }
            5 => {
                let result = table
                    .delete(&caller, &Key::new(owner).with_sort(kind))
                    .await;
                let record = if result.is_ok() { acknowledged } else { failed };
                record(&mut possible, at(kind), None);
                result.map(|_| ())
            }
            6..=7 => {
                // A batch of this owner's records, one per kind.
                let records: Vec<Profile> = kinds
                    .iter()
                    .map(|k| profile(owner, k, &format!("{value}-{k}")))
                    .collect();
                let result = table.batch_put(&caller, &records).await;
                let unprocessed: BTreeSet<String> = match &result {
                    Err(Error::Storage(StorageError::Unprocessed { keys, .. })) => keys
                        .iter()
                        .map(|k| match &k.sort {
                            Some(crypt_model::AttributeValue::S(s)) => s.clone(),
                            other => panic!("a batch key with no sort key: {other:?}"),
                        })
                        .collect(),
                    _ => BTreeSet::new(),
                };
                for k in kinds {
                    let written = Some(format!("{value}-{k}"));
                    // Named unprocessed (or the whole batch failed): absent or whole.
                    if result.is_ok()
                        || (matches!(
                            result,
                            Err(Error::Storage(StorageError::Unprocessed { .. }))
                        ) && !unprocessed.contains(k))
                    {
                        acknowledged(&mut possible, at(k), written);
                    } else {
                        failed(&mut possible, at(k), written);
                    }
                }
                result
            }
            8..=9 => {
                // A transaction: two puts and a delete of this owner's records.
                let (a, b, c) = ("k0", "k1", "k2");
                let mut first = profile(owner, a, &format!("{value}-t"));
                let mut second = profile(owner, b, &format!("{value}-t"));
                let writes = vec![
                    Write::Put(&mut first),
                    Write::Put(&mut second),
                    Write::Delete(Key::new(owner).with_sort(c)),
                ];
                let result = table.transact(&caller, writes).await;
                let record = if result.is_ok() { acknowledged } else { failed };
                record(&mut possible, at(a), Some(format!("{value}-t")));
                record(&mut possible, at(b), Some(format!("{value}-t")));
                record(&mut possible, at(c), None);
                result
            }
            _ => {
                // A read: what was written last, or (after a failure) one of the candidates.
                let result = table.get(&caller, &Key::new(owner).with_sort(kind)).await;
                if let Ok(found) = &result {
                    let found = found.as_ref().map(|p| p.ssn.expose_secret().clone());
                    let allowed = possible
                        .get(&at(kind))
                        .cloned()
                        .unwrap_or_else(|| BTreeSet::from([None]));
                    assert!(
                        allowed.contains(&found),
                        "read {found:?}, not one of {allowed:?}"
                    );
                }
                result.map(|_| ())
            }
        };
        match outcome {
            Ok(()) => ok += 1,
            Err(error) => {
                no_secret(&error);
                errors += 1;
            }
        }
    }

    (possible, ok, errors)
}

/// Reads what is stored in `name`, straight from moto: every item opens, every key holds one of
/// the values `possible` allows it.
async fn assert_stored(name: &str, key: &str, possible: &Possible) {
    // Read what is stored, straight from moto: every item whole, every key as possible.
    let direct = profiles(&moto::endpoint(), name, key).await;
    let items = direct
        .store()
        .scan(direct.table_ref(), &Scan::all())
        .await
        .unwrap()
        .items;
    let mut stored: BTreeMap<(String, String), Option<String>> = BTreeMap::new();
    for item in items {
        let reader = crypt_model::access::Gate::new().with_grant(Grant::read("reader").unwrap());
        let record = Profile::from_item(item)
            .open_with(&Caller::service("reader").unwrap(), &reader, direct.keys())
            .await;
        let record = match record {
            Ok(record) => record,
            Err(error) => panic!("a stored item does not open (torn by a fault?): {error}"),
        };
        stored.insert(
            (record.user_id.clone(), record.kind.clone()),
            Some(record.ssn.expose_secret().clone()),
        );
    }
    for (key, allowed) in possible {
        let found = stored.get(key).cloned().unwrap_or(None);
        assert!(
            allowed.contains(&found),
            "{key:?} holds {found:?}, which is none of {allowed:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_faults_acknowledged_writes_are_stored_and_failed_ones_absent_or_whole() {
    let seed = env_or("CRYPT_MODEL_FAULT_SEED", 17);
    let operations = env_or("CRYPT_MODEL_FAULT_OPERATIONS", 300);
    let (name, key) = setup("faults").await;
    let proxy = FaultProxy::start(&moto::endpoint(), seed).await;
    let table = profiles(&proxy.endpoint, &name, &key).await;
    proxy.set(Faults {
        error_500: 0.05,
        error_503: 0.05,
        throttle: 0.05,
        reset_before: 0.05,
        reset_after: 0.05,
        partial_batch: 0.5,
        latency: Duration::from_millis(10),
        kms_down: false,
        kms_error: 0.0,
    });
    let (possible, ok, errors) = workload(&table, seed, operations).await;
    assert_stored(&name, &key, &possible).await;
    let counts = proxy.counts();
    let requests: u64 = counts.requests.values().sum();
    let faults: u64 = counts.faults.values().sum();
    eprintln!(
        "faults: seed {seed}, {operations} operations ({ok} acknowledged, {errors} failed), \
         {requests} requests, {faults} faults injected: {:?}; requests by operation: {:?}",
        counts.faults, counts.requests
    );
    assert!(
        faults > 0 && ok > 0,
        "the run injected no fault, or nothing succeeded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kms_failing_in_the_middle_of_a_workload_loses_nothing() {
    let seed = env_or("CRYPT_MODEL_FAULT_SEED", 23);
    let operations = env_or("CRYPT_MODEL_FAULT_OPERATIONS", 200);
    let (name, key) = setup("kms-faults").await;
    let proxy = FaultProxy::start(&moto::endpoint(), seed).await;
    // A data key for every two records, one unwrapped key kept: KMS is asked all the time, by
    // writes (GenerateDataKey) and by reads (Decrypt).
    let limits = CacheLimits::default().max_items(2).max_unwrapped_keys(1);
    let table = profiles_caching(&proxy.endpoint, &name, &key, limits).await;
    proxy.set(Faults {
        kms_error: 0.25,
        latency: Duration::from_millis(5),
        ..Faults::default()
    });
    let (possible, ok, errors) = workload(&table, seed, operations).await;
    assert_stored(&name, &key, &possible).await;
    let counts = proxy.counts();
    let kms_requests: u64 = counts
        .requests
        .iter()
        .filter(|(op, _)| op.starts_with("TrentService."))
        .map(|(_, n)| n)
        .sum();
    let kms_faults: u64 = counts
        .faults
        .iter()
        .filter(|(kind, _)| kind.starts_with("kms_"))
        .map(|(_, n)| n)
        .sum();
    eprintln!(
        "kms faults: seed {seed}, {operations} operations ({ok} acknowledged, {errors} failed), \
         {kms_requests} KMS requests, {kms_faults} KMS faults injected: {:?}",
        counts.faults
    );
    assert!(kms_faults > 0, "no KMS fault was injected: {counts:?}");
    assert!(
        errors > 0 && ok > 0,
        "no KMS fault reached the caller, or nothing succeeded"
    );
}

#[tokio::test]
async fn nothing_is_written_while_kms_is_down() {
    let (name, key) = setup("kms-down").await;
    let proxy = FaultProxy::start(&moto::endpoint(), 5).await;
    proxy.set(Faults {
        kms_down: true,
        ..Faults::default()
    });
    let table = profiles(&proxy.endpoint, &name, &key).await;
    let alice = Caller::user("alice").unwrap();
    for n in 0..5 {
        let error = table
            .put(
                &alice,
                &mut profile("alice", &format!("k{n}"), &format!("{SECRET}{n}")),
            )
            .await
            .unwrap_err();
        no_secret(&error);
        assert!(
            matches!(error, Error::Key(KeyError::Provider { .. })),
            "{error:?}"
        );
    }
    let direct = profiles(&moto::endpoint(), &name, &key).await;
    let scan = direct
        .store()
        .scan(direct.table_ref(), &Scan::all())
        .await
        .unwrap();
    assert!(
        scan.items.is_empty(),
        "a write went through while KMS was down"
    );
    let kms_requests: u64 = proxy
        .counts()
        .requests
        .iter()
        .filter(|(op, _)| op.starts_with("TrentService."))
        .map(|(_, n)| n)
        .sum();
    assert!(kms_requests >= 5, "KMS was not asked: {:?}", proxy.counts());

    // KMS back: the same writes go through.
    proxy.set(Faults::default());
    table
        .put(&alice, &mut profile("alice", "k0", &format!("{SECRET}0")))
        .await
        .unwrap();
}

#[tokio::test]
async fn retries_are_bounded_and_what_is_left_is_reported_by_key() {
    let (name, key) = setup("bounded").await;
    let proxy = FaultProxy::start(&moto::endpoint(), 9).await;
    let table = profiles(&proxy.endpoint, &name, &key).await;
    let alice = Caller::user("alice").unwrap();
    // The data key first, so that only DynamoDB is counted below.
    table
        .put(&alice, &mut profile("alice", "warm", &format!("{SECRET}w")))
        .await
        .unwrap();

    // Throttled every time: the SDK's attempts, then a typed error.
    proxy.set(Faults {
        throttle: 1.0,
        ..Faults::default()
    });
    let before = proxy.counts().requests;
    let error = table
        .put(&alice, &mut profile("alice", "t", &format!("{SECRET}t")))
        .await
        .unwrap_err();
    no_secret(&error);
    assert!(
        matches!(error, Error::Storage(StorageError::Throttled { .. })),
        "{error:?}"
    );
    let puts = |requests: &BTreeMap<String, u64>| {
        requests
            .get("DynamoDB_20120810.PutItem")
            .copied()
            .unwrap_or(0)
    };
    let attempts = puts(&proxy.counts().requests) - puts(&before);
    assert_eq!(attempts, 3, "the SDK's standard retry makes 3 attempts");

    // Each batch attempt processes half of what is left: the last item never is. After the
    // table's 8 attempts, the error names it; the others are stored.
    proxy.set(Faults {
        partial_batch: 1.0,
        ..Faults::default()
    });
    let records: Vec<Profile> = (0..4)
        .map(|n| profile("alice", &format!("b{n}"), &format!("{SECRET}b{n}")))
        .collect();
    let error = table.batch_put(&alice, &records).await.unwrap_err();
    no_secret(&error);
    let Error::Storage(StorageError::Unprocessed { keys, attempts, .. }) = &error else {
        panic!("{error:?}");
    };
    assert_eq!((keys.len(), *attempts), (1, 8), "{error}");
    proxy.set(Faults::default());
    for n in 0..4 {
        let key = Key::new("alice").with_sort(format!("b{n}"));
        let found = table.get(&alice, &key).await.unwrap();
        assert_eq!(found.is_none(), keys.contains(&key), "b{n}");
    }
    assert_eq!(proxy.counts().faults.get("partial_batch"), Some(&8));
}

#[tokio::test]
async fn a_write_applied_but_never_acknowledged_is_whole() {
    let (name, key) = setup("applied").await;
    let proxy = FaultProxy::start(&moto::endpoint(), 3).await;
    let table = profiles(&proxy.endpoint, &name, &key).await;
    let alice = Caller::user("alice").unwrap();
    table
        .put(&alice, &mut profile("alice", "k", &format!("{SECRET}old")))
        .await
        .unwrap();
    // Every attempt reaches the server and is applied; every answer is lost.
    proxy.set(Faults {
        reset_after: 1.0,
        ..Faults::default()
    });
    let error = table
        .put(&alice, &mut profile("alice", "k", &format!("{SECRET}new")))
        .await
        .unwrap_err();
    no_secret(&error);
    proxy.set(Faults::default());
    // Reported failed, yet stored: whole, the new values under a header that opens them.
    let read = table
        .get(&alice, &Key::new("alice").with_sort("k"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.ssn.expose_secret(), &format!("{SECRET}new"));
    assert_eq!(proxy.counts().faults.get("reset_after_apply"), Some(&3));
}

/// A rotation through a proxy that throttles (ProvisionedThroughputExceeded past the SDK's own
/// retries) slows down, retries, and speeds up again once the throttling stops: it finishes
/// with every record rewritten and nothing failed.
#[tokio::test]
async fn a_job_throttled_slows_down_and_recovers_without_failures() {
    const COUNT: usize = 200;
    let (name, k1) = setup("throttled-job").await;
    let writer = profiles(&moto::endpoint(), &name, &k1).await;
    for i in 0..COUNT {
        let owner = format!("u{i:03}");
        let mut record = profile(&owner, "main", &format!("{SECRET}{i}"));
        let caller = Caller::user(&owner).unwrap();
        writer.put(&caller, &mut record).await.unwrap();
    }
    let service = Caller::service("rotator").unwrap();
    let k2 = moto::kms_key(&moto::kms()).await;
    let proxy = FaultProxy::start(&moto::endpoint(), 13).await;
    proxy.set(Faults {
        throttle: 0.6,
        ..Faults::default()
    });
    let retry = RetryConfig::standard().with_initial_backoff(Duration::from_millis(5));
    let config = moto::sdk_config(&proxy.endpoint)
        .to_builder()
        .retry_config(retry)
        .build();
    let keyring = KmsKeyring::connect(aws_sdk_kms::Client::new(&config), &k2, &[&k1])
        .await
        .unwrap();
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config));
    let table = Table::<Profile, _>::named(store, Arc::new(Keys::new(keyring)), &name)
        .unwrap()
        .with_grant(Grant::read("rotator").unwrap())
        .with_grant(Grant::write("rotator").unwrap());
    let clear = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        proxy.set(Faults::default());
    };
    let job = crypt_model::lifecycle::Job::reencrypt(&table, &service)
        .segments(2)
        .page_size(25)
        .rate_limit(100)
        .run();
    let (report, ()) = tokio::join!(job, clear);
    let report = report.unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.counts.failed, 0, "{:?}", report.failed);
    assert_eq!(report.counts.changed, COUNT as u64, "{report:?}");
    assert_eq!(report.key_ids, BTreeMap::from([(k2.clone(), COUNT as u64)]));
    // It slowed down, and came back up once the throttling stopped.
    assert!(report.throttled > 0, "{report:?}");
    let slowest = report.slowest_rate.unwrap();
    assert!(slowest < 50.0, "{report:?}");
    assert!(report.final_rate.unwrap() > slowest, "{report:?}");
    assert!(
        proxy.counts().faults.get("throttled").copied().unwrap_or(0) > 0,
        "{:?}",
        proxy.counts()
    );
}

/// A rotation limited in write capacity units, on a store that counts what DynamoDB says each
/// request consumed, spends them no faster than the limit; a store that counts none is refused
/// before anything is read.
#[tokio::test]
async fn a_job_limited_in_write_units_spends_them_no_faster_than_the_limit() {
    const COUNT: usize = 30;
    const UNITS: u32 = 20;
    let (name, k1) = setup("capacity-job").await;
    let writer = profiles(&moto::endpoint(), &name, &k1).await;
    for i in 0..COUNT {
        let owner = format!("u{i:03}");
        let mut record = profile(&owner, "main", &format!("{SECRET}{i}"));
        writer
            .put(&Caller::user(&owner).unwrap(), &mut record)
            .await
            .unwrap();
    }
    let k2 = moto::kms_key(&moto::kms()).await;
    let keyring = KmsKeyring::connect(moto::kms(), &k2, &[&k1]).await.unwrap();
    let keys = Arc::new(Keys::new(keyring));
    let service = Caller::service("rotator").unwrap();
    let table_on = |store: DynamoStore| {
        Table::<Profile, _>::named(store, keys.clone(), &name)
            .unwrap()
            .with_grant(Grant::read("rotator").unwrap())
            .with_grant(Grant::write("rotator").unwrap())
    };
    let uncounted = table_on(DynamoStore::new(moto::dynamo()));
    let refused = crypt_model::lifecycle::Job::reencrypt(&uncounted, &service)
        .write_capacity_limit(UNITS)
        .run()
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("counting_capacity"),
        "{refused}"
    );
    let store = DynamoStore::new(moto::dynamo()).counting_capacity();
    let table = table_on(store.clone());
    let started = std::time::Instant::now();
    let report = crypt_model::lifecycle::Job::reencrypt(&table, &service)
        .segments(2)
        .write_capacity_limit(UNITS)
        .run()
        .await
        .unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(report.counts.changed, COUNT as u64, "{report:?}");
    let spent = store.consumed_capacity().unwrap().write;
    assert!(spent >= COUNT as f64 * 0.5, "{spent} units counted");
    // The last record of each segment spends its units after its turn: all the others' came
    // at the limit.
    let slowest_allowed = (spent - 2.0) / f64::from(UNITS);
    assert!(
        elapsed >= slowest_allowed,
        "{spent} units in {elapsed:.2} s, over {UNITS} a second"
    );
}
