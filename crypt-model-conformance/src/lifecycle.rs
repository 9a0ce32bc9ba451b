//! The lifecycle: migration mode and the migration job, re-encryption under a new key, the
//! inventory of keys — on every store, with the application writing while the jobs run.
// A case is named as the sentence it checks; its models and helpers serve the cases.
#![allow(missing_docs)]

use crypt_model::error::{AccessError, DataError};
use std::collections::BTreeMap;
use std::sync::Arc;

use crypt_model::keyring::LocalErasureKey;
use crypt_model::lifecycle::{Job, JobReport, MemoryCheckpoints};
use crypt_model::store::Condition;
use crypt_model::{
    AttributeValue, Caller, EncryptedItem, Error, Grant, Item, Keys, LocalKeyring, MigrationPlans,
    Sensitive, Store, Table, TableRef,
};

use super::{Harness, s, table_with};

/// A model whose table was written before encryption.
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "conf_migrate", migrate_from_plaintext)]
pub struct Customer {
    #[partition_key]
    #[owner]
    pub user_id: String,
    #[sensitive]
    pub ssn: Sensitive<String>,
    #[sensitive]
    pub card: Option<Sensitive<String>>,
    pub plan: String,
}

/// The same table, as a model not in migration mode.
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "conf_migrate")]
pub struct StrictCustomer {
    #[partition_key]
    #[owner]
    pub user_id: String,
    #[sensitive]
    pub ssn: Sensitive<String>,
    #[sensitive]
    pub card: Option<Sensitive<String>>,
    pub plan: String,
}

pub(crate) const JOB: &str = "lifecycle-job";

pub(crate) fn keyring(primary: &str) -> LocalKeyring {
    LocalKeyring::new(primary, &key_bytes(primary)).unwrap()
}

pub(crate) fn key_bytes(id: &str) -> [u8; 32] {
    let mut key = [0; 32];
    key[..id.len()].copy_from_slice(id.as_bytes());
    key
}

pub(crate) fn keys(keyring: LocalKeyring) -> Arc<Keys> {
    Arc::new(Keys::new(keyring))
}

/// The key that tags the migration plans in these cases.
pub(crate) fn plan_key() -> LocalErasureKey {
    LocalErasureKey::new("migration-1", &[6; 32]).unwrap()
}

/// The migration plans of these cases, in a plan table the harness made.
pub(crate) async fn plans<H: Harness>(backend: &H) -> MigrationPlans {
    let table = backend
        .table(TableRef::new("conf_migration_plans", "entry", None).unwrap())
        .await;
    MigrationPlans::new(backend.store(), table.name(), plan_key()).unwrap()
}

/// The customers table on `backend`, with the job's grants and the migration plans.
pub(crate) async fn customers<H: Harness>(
    backend: &H,
    keys: Arc<Keys>,
) -> Table<Customer, H::Store> {
    table_with::<Customer, _>(backend, keys)
        .await
        .with_grant(Grant::read(JOB).unwrap())
        .with_grant(Grant::write(JOB).unwrap())
        .with_plaintext_migration(plans(backend).await)
}

/// The same table under another keys, with the job's grants and its migration plans.
pub(crate) fn under<S: Store + Clone + 'static>(
    table: &Table<Customer, S>,
    keys: Arc<Keys>,
) -> Table<Customer, S> {
    let under = Table::named(table.store().clone(), keys, table.table_ref().name())
        .unwrap()
        .with_grant(Grant::read(JOB).unwrap())
        .with_grant(Grant::write(JOB).unwrap());
    match table.plaintext_migration() {
        Some(plans) => under.with_plaintext_migration(plans.clone()),
        None => under,
    }
}

/// Runs the plan job over `table`: every record stored in plaintext is admitted as it is.
pub async fn plan<T: EncryptedItem + Send + Sync, S: Store + Clone + 'static>(
    table: &Table<T, S>,
    caller: &str,
) -> JobReport {
    complete(Job::plan_migration(
        table,
        &Caller::service(caller).unwrap(),
    ))
    .await
}

/// Runs a job to its end; its report, which has no failure.
pub async fn complete<T: EncryptedItem + Send + Sync, S: Store + Clone + 'static>(
    job: Job<'_, T, S>,
) -> JobReport {
    let report = job.run().await.unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.counts.failed, 0, "{:?}", report.failed);
    report
}

pub(crate) fn ssn(i: usize) -> String {
    format!("{:03}-{:02}-{:04}", i % 900 + 100, i % 90 + 10, i)
}

/// The item an application stored before encryption: its SSN and card in plain, an attribute
/// the model does not know.
pub(crate) fn plaintext_item(i: usize) -> Item {
    let mut item = Item::from_iter([
        ("user_id", s(&format!("u{i:05}"))),
        ("ssn", s(&ssn(i))),
        ("plan", s("basic")),
        ("legacy_note", s("kept")),
    ]);
    match i % 3 {
        0 => item.insert("card", s(&format!("4111-{i:012}"))),
        1 => item.insert("card", AttributeValue::Null),
        _ => None,
    };
    item
}

/// Stores `count` plaintext items, 25 per batch, and admits them into the migration plan.
pub(crate) async fn seed<S: Store + Clone + 'static>(table: &Table<Customer, S>, count: usize) {
    let items: Vec<Item> = (0..count).map(plaintext_item).collect();
    for chunk in items.chunks(25) {
        let mut pending = chunk.to_vec();
        while !pending.is_empty() {
            pending = table
                .store()
                .batch_put(table.table_ref(), pending)
                .await
                .unwrap();
        }
    }
    plan(table, JOB).await;
}

/// Every stored item.
pub(crate) async fn stored<S: Store + Clone + 'static>(table: &Table<Customer, S>) -> Vec<Item> {
    let mut items = Vec::new();
    let mut scan = crypt_model::Scan::all();
    loop {
        let page = table.store().scan(table.table_ref(), &scan).await.unwrap();
        items.extend(page.items);
        match page.cursor {
            Some(cursor) => scan = scan.after(Some(cursor)),
            None => return items,
        }
    }
}

/// Every record, opened by the job's service.
pub(crate) async fn records<S: Store + Clone + 'static>(
    table: &Table<Customer, S>,
) -> BTreeMap<String, Customer> {
    let service = Caller::service(JOB).unwrap();
    let mut records = BTreeMap::new();
    let mut scan = crypt_model::Scan::all();
    loop {
        let page = table.scan(&service, &scan).await.unwrap();
        for record in page.items {
            records.insert(record.user_id.clone(), record);
        }
        match page.cursor {
            Some(cursor) => scan = scan.after(Some(cursor)),
            None => return records,
        }
    }
}

/// What the application changes in record `i`.
pub(crate) fn updated_ssn(i: usize) -> String {
    format!("new-{}", ssn(i))
}

/// Checks that every record is encrypted and holds its value: the updated one for `updated`.
pub(crate) async fn assert_all_encrypted<S: Store + Clone + 'static>(
    table: &Table<Customer, S>,
    count: usize,
    updated: &dyn Fn(usize) -> bool,
) {
    let number = |item: &Item| match item.get("user_id") {
        Some(AttributeValue::S(id)) => id[1..].parse::<usize>().unwrap(),
        other => panic!("{other:?}"),
    };
    for item in stored(table).await {
        assert!(item.contains("__cm_header"), "left in plaintext");
        assert!(
            !item.contains("ssn") && !item.contains("card"),
            "plain value left"
        );
        // The job keeps what the model does not know (an application's put replaces it all).
        if !updated(number(&item)) {
            assert_eq!(
                item.get("legacy_note"),
                Some(&s("kept")),
                "unknown attribute lost"
            );
        }
    }
    let records = records(table).await;
    assert_eq!(records.len(), count);
    for i in 0..count {
        let record = &records[&format!("u{i:05}")];
        let expected = if updated(i) { updated_ssn(i) } else { ssn(i) };
        assert_eq!(record.ssn.expose_secret(), &expected, "record {i}");
        let card = record.card.as_ref().map(|c| c.expose_secret().clone());
        let expected_card = (i % 3 == 0).then(|| format!("4111-{i:012}"));
        assert_eq!(card, expected_card, "record {i}");
    }
}

pub async fn migration_mode_reads_plaintext_and_every_write_encrypts(backend: &impl Harness) {
    let keys = keys(keyring("k1"));
    let table = customers(backend, keys.clone()).await;
    seed(&table, 3).await;
    let alice = Caller::user("u00000").unwrap();

    // Read: accepted, counted.
    let mut record = table
        .get(&alice, &Customer::key("u00000".to_owned()).unwrap())
        .await
        .unwrap()
        .expect("the plaintext record is read");
    assert_eq!(record.ssn.expose_secret(), &ssn(0));
    assert_eq!(table.plaintext_reads(), 1);
    // Someone else reads it as a missing record, and nothing is counted.
    let bob = Caller::user("u00001").unwrap();
    assert!(
        table
            .get(&bob, &Customer::key("u00000".to_owned()).unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(table.plaintext_reads(), 1);

    // Write: encrypted.
    record.plan = "gold".into();
    table.put(&alice, &mut record).await.unwrap();
    let items = stored(&table).await;
    let written = items
        .iter()
        .find(|item| item.get("user_id") == Some(&s("u00000")))
        .unwrap();
    assert!(written.contains("__cm_sealed") && !written.contains("ssn"));
    assert!(
        !format!("{written:?}").contains(&ssn(0)),
        "plaintext in the stored item"
    );

    // The same table, read by a model not in migration mode: plaintext records fail closed.
    let strict = Table::<StrictCustomer, _>::named(
        table.store().clone(),
        keys.clone(),
        table.table_ref().name(),
    )
    .unwrap();
    let error = strict
        .get(&bob, &StrictCustomer::key("u00001".to_owned()).unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            Error::Data(DataError::Malformed { .. }) | Error::Data(DataError::Missing { .. })
        ),
        "{error:?}"
    );

    // A record whose header was deleted but whose message is left is not "plaintext": it fails
    // closed, and is not counted.
    let mut damaged = written.clone();
    damaged.remove("__cm_header");
    table
        .store()
        .put(table.table_ref(), damaged, &Condition::Always)
        .await
        .unwrap();
    let error = table
        .get(&alice, &Customer::key("u00000".to_owned()).unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Data(DataError::Missing { .. })),
        "{error:?}"
    );
    assert_eq!(table.plaintext_reads(), 1);
}

pub async fn a_job_is_for_a_granted_service_only(backend: &impl Harness) {
    let table = customers(backend, keys(keyring("k1"))).await;
    seed(&table, 2).await;
    for caller in [
        Caller::user("u00000").unwrap(),
        Caller::service("reporting").unwrap(),
    ] {
        let error = Job::migrate(&table, &caller).run().await.unwrap_err();
        assert!(
            matches!(
                &error,
                Error::Access(AccessError::Denied { .. } | AccessError::NoGrant { .. })
            ),
            "{error:?}"
        );
    }
    // A service granted read only may take an inventory, not migrate.
    let reader = Table::<Customer, _>::named(
        table.store().clone(),
        keys(keyring("k1")),
        table.table_ref().name(),
    )
    .unwrap()
    .with_grant(Grant::read("auditor").unwrap());
    let auditor = Caller::service("auditor").unwrap();
    assert!(matches!(
        Job::migrate(&reader, &auditor).run().await,
        Err(Error::Access(AccessError::Denied { .. }))
    ));
    let inventory = Job::inventory(&reader, &auditor).run().await.unwrap();
    assert_eq!(inventory.counts.plaintext, 2);
    assert!(stored(&table).await.iter().all(|item| item.contains("ssn")));
}

/// How many records the race below migrates: `CRYPT_MODEL_RACE_RECORDS` (a multiple of 10, at
/// most 99,990), 1,000 by default so that the suite stays within CI's time on a serialised moto;
/// the full scenario is `CRYPT_MODEL_RACE_RECORDS=10000` (about ten minutes on moto).
fn race_records() -> usize {
    let Ok(text) = std::env::var("CRYPT_MODEL_RACE_RECORDS") else {
        return 1_000;
    };
    match text.parse::<usize>() {
        Ok(n) if n > 0 && n % 10 == 0 && n < 100_000 => n,
        _ => panic!("CRYPT_MODEL_RACE_RECORDS={text}: give a multiple of 10 from 10 to 99,990"),
    }
}

pub async fn a_migration_races_the_application_and_loses_nothing(backend: &impl Harness) {
    let count = race_records();
    let updates = count / 10;
    let table = Arc::new(customers(backend, keys(keyring("k1"))).await);
    seed(&table, count).await;

    // The application updates every tenth record while the job runs.
    let application = {
        let table = table.clone();
        tokio::spawn(async move {
            for n in 0..updates {
                let i = n * 10;
                let id = format!("u{i:05}");
                let owner = Caller::user(&id).unwrap();
                let key = Customer::key(&id).unwrap();
                let mut record = table.get(&owner, &key).await.unwrap().unwrap();
                record.ssn = Sensitive::new(updated_ssn(i));
                table.put(&owner, &mut record).await.unwrap();
            }
        })
    };
    let service = Caller::service(JOB).unwrap();
    let report = Job::migrate(&table, &service)
        .segments(8)
        .checkpoints(MemoryCheckpoints::new())
        .run()
        .await
        .unwrap();
    application.await.unwrap();

    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.counts.seen, count as u64);
    assert_eq!(report.counts.failed, 0, "{:?}", report.failed);
    assert_eq!(report.counts.plaintext, 0);
    assert_eq!(
        report.counts.changed + report.counts.unchanged,
        count as u64
    );
    assert_eq!(
        report.key_ids,
        BTreeMap::from([("k1".to_owned(), count as u64)])
    );
    assert_all_encrypted(&table, count, &|i| i % 10 == 0).await;

    // Then every key rotates: the records move to the new primary key, and the old one can go.
    let rotated = keys(keyring("k2").with_read_key("k1", &key_bytes("k1")).unwrap());
    let table = under(&table, rotated);
    let report = complete(Job::reencrypt(&table, &service).segments(8)).await;
    assert_eq!(report.counts.changed, count as u64);
    assert_eq!(
        report.key_ids,
        BTreeMap::from([("k2".to_owned(), count as u64)])
    );

    // And again, by rewrapping: each data key wrapped under the new key once, the records
    // sealed again under their new headers.
    let rewrapping = keys(keyring("k3").with_read_key("k2", &key_bytes("k2")).unwrap());
    let table = under(&table, rewrapping.clone());
    let report = complete(Job::rewrap(&table, &service).segments(8)).await;
    assert_eq!(report.counts.changed, count as u64);
    let calls = rewrapping.keyring_calls();
    assert_eq!(calls.generate, 0, "a rewrap keeps the data keys");
    assert!(
        calls.rewrap <= 4 && calls.rewrap == calls.unwrap,
        "one rewrap per data key: {calls:?}"
    );

    let retired = keys(keyring("k3"));
    let table =
        Table::<Customer, _>::named(table.store().clone(), retired, table.table_ref().name())
            .unwrap()
            .with_grant(Grant::read(JOB).unwrap());
    let inventory = Job::inventory(&table, &service)
        .segments(4)
        .run()
        .await
        .unwrap();
    assert_eq!(inventory.counts.failed, 0, "{:?}", inventory.failed);
    assert_eq!(
        inventory.key_ids,
        BTreeMap::from([("k3".to_owned(), count as u64)]),
        "no record needs a retired key"
    );
    // Every record in one suite (the model's: the suite this run seals with).
    assert_eq!(
        inventory.suites.values().collect::<Vec<_>>(),
        [&(count as u64)],
        "{:?}",
        inventory.suites
    );
    assert_all_encrypted(&table, count, &|i| i % 10 == 0).await;
}
