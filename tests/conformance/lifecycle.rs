//! The lifecycle: migration mode and the migration job, re-encryption under a new key, the
//! inventory of keys — on every store, with the application writing while the jobs run.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crypt_model::lifecycle::{Job, JobReport, MemoryCheckpoints, StopSignal};
use crypt_model::store::Condition;
use crypt_model::{
    AttributeValue, Caller, Cipher, EncryptedItem, Error, Grant, Item, LocalKeyring, Sensitive,
    Store, Table,
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

const JOB: &str = "lifecycle-job";

fn keyring(primary: &str) -> LocalKeyring {
    LocalKeyring::new(primary, &key_bytes(primary)).unwrap()
}

fn key_bytes(id: &str) -> [u8; 32] {
    let mut key = [0; 32];
    key[..id.len()].copy_from_slice(id.as_bytes());
    key
}

fn cipher(keyring: LocalKeyring) -> Arc<Cipher> {
    Arc::new(Cipher::new(keyring))
}

/// The customers table on `backend`, with the job's grants.
async fn customers(backend: &impl Harness, cipher: Arc<Cipher>) -> Table<Customer, Arc<dyn Store>> {
    table_with::<Customer>(backend, cipher)
        .await
        .with_grant(Grant::read(JOB).unwrap())
        .with_grant(Grant::write(JOB).unwrap())
}

/// The same table under another cipher, with the job's grants.
fn under(
    table: &Table<Customer, Arc<dyn Store>>,
    cipher: Arc<Cipher>,
) -> Table<Customer, Arc<dyn Store>> {
    Table::named(table.store().clone(), cipher, table.table_ref().name())
        .unwrap()
        .with_grant(Grant::read(JOB).unwrap())
        .with_grant(Grant::write(JOB).unwrap())
}

/// Runs a job to its end; its report, which has no failure.
pub async fn complete<T: EncryptedItem + Send + Sync>(
    job: Job<'_, T, Arc<dyn Store>>,
) -> JobReport {
    let report = job.run().await.unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.counts.failed, 0, "{:?}", report.failed);
    report
}

fn ssn(i: usize) -> String {
    format!("{:03}-{:02}-{:04}", i % 900 + 100, i % 90 + 10, i)
}

/// The item an application stored before encryption: its SSN and card in plain, an attribute
/// the model does not know.
fn plaintext_item(i: usize) -> Item {
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

/// Stores `count` plaintext items, 25 per batch.
async fn seed(table: &Table<Customer, Arc<dyn Store>>, count: usize) {
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
}

/// Every stored item.
async fn stored(table: &Table<Customer, Arc<dyn Store>>) -> Vec<Item> {
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
async fn records(table: &Table<Customer, Arc<dyn Store>>) -> BTreeMap<String, Customer> {
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
fn updated_ssn(i: usize) -> String {
    format!("new-{}", ssn(i))
}

/// Checks that every record is encrypted and holds its value: the updated one for `updated`.
async fn assert_all_encrypted(
    table: &Table<Customer, Arc<dyn Store>>,
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
    let cipher = cipher(keyring("k1"));
    let table = customers(backend, cipher.clone()).await;
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
        cipher.clone(),
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
            Error::MalformedAttribute { .. } | Error::MissingAttribute { .. }
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
        matches!(&error, Error::MissingAttribute { .. }),
        "{error:?}"
    );
    assert_eq!(table.plaintext_reads(), 1);
}

pub async fn a_job_is_for_a_granted_service_only(backend: &impl Harness) {
    let table = customers(backend, cipher(keyring("k1"))).await;
    seed(&table, 2).await;
    for caller in [
        Caller::user("u00000").unwrap(),
        Caller::service("reporting").unwrap(),
    ] {
        let error = Job::migrate(&table, &caller).run().await.unwrap_err();
        assert!(matches!(&error, Error::AccessDenied { .. }), "{error:?}");
    }
    // A service granted read only may take an inventory, not migrate.
    let reader = Table::<Customer, _>::named(
        table.store().clone(),
        cipher(keyring("k1")),
        table.table_ref().name(),
    )
    .unwrap()
    .with_grant(Grant::read("auditor").unwrap());
    let auditor = Caller::service("auditor").unwrap();
    assert!(matches!(
        Job::migrate(&reader, &auditor).run().await,
        Err(Error::AccessDenied { .. })
    ));
    let inventory = Job::inventory(&reader, &auditor).run().await.unwrap();
    assert_eq!(inventory.counts.plaintext, 2);
    assert!(stored(&table).await.iter().all(|item| item.contains("ssn")));
}

pub async fn a_migration_races_the_application_and_loses_nothing(backend: &impl Harness) {
    const COUNT: usize = 10_000;
    const UPDATES: usize = 1_000;
    let table = Arc::new(customers(backend, cipher(keyring("k1"))).await);
    seed(&table, COUNT).await;

    // The application updates every tenth record while the job runs.
    let application = {
        let table = table.clone();
        tokio::spawn(async move {
            for n in 0..UPDATES {
                let i = n * (COUNT / UPDATES);
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
    assert_eq!(report.counts.seen, COUNT as u64);
    assert_eq!(report.counts.failed, 0, "{:?}", report.failed);
    assert_eq!(report.counts.plaintext, 0);
    assert_eq!(
        report.counts.changed + report.counts.unchanged,
        COUNT as u64
    );
    assert_eq!(
        report.key_ids,
        BTreeMap::from([("k1".to_owned(), COUNT as u64)])
    );
    assert_all_encrypted(&table, COUNT, &|i| i % (COUNT / UPDATES) == 0).await;

    // Then every key rotates: the records move to the new primary key, and the old one can go.
    let rotated = cipher(keyring("k2").with_read_key("k1", &key_bytes("k1")).unwrap());
    let table = under(&table, rotated);
    let report = complete(Job::reencrypt(&table, &service).segments(8)).await;
    assert_eq!(report.counts.changed, COUNT as u64);
    assert_eq!(
        report.key_ids,
        BTreeMap::from([("k2".to_owned(), COUNT as u64)])
    );

    // And again, by rewrapping: each data key wrapped under the new key once, the records
    // sealed again under their new headers.
    let rewrapping = cipher(keyring("k3").with_read_key("k2", &key_bytes("k2")).unwrap());
    let table = under(&table, rewrapping.clone());
    let report = complete(Job::rewrap(&table, &service).segments(8)).await;
    assert_eq!(report.counts.changed, COUNT as u64);
    let calls = rewrapping.keyring_calls();
    assert_eq!(calls.generate, 0, "a rewrap keeps the data keys");
    assert!(
        calls.rewrap <= 4 && calls.rewrap == calls.unwrap,
        "one rewrap per data key: {calls:?}"
    );

    let retired = cipher(keyring("k3"));
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
        BTreeMap::from([("k3".to_owned(), COUNT as u64)]),
        "no record needs a retired key"
    );
    assert_all_encrypted(&table, COUNT, &|i| i % (COUNT / UPDATES) == 0).await;
}

/// A small deterministic generator, so that a failure can be replayed from its seed.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

pub async fn a_job_stopped_and_killed_at_random_points_resumes_to_the_same_state(
    backend: &impl Harness,
) {
    const COUNT: usize = 600;
    let table = customers(backend, cipher(keyring("k1"))).await;
    seed(&table, COUNT).await;
    let seed_value = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    println!("seed {seed_value}");
    let mut random = Lcg(seed_value);
    let service = Caller::service(JOB).unwrap();
    let checkpoints = MemoryCheckpoints::new();
    let mut runs = 0;
    let report = loop {
        runs += 1;
        assert!(runs < 200, "the job does not progress (seed {seed_value})");
        let stop = StopSignal::new();
        let job = Job::migrate(&table, &service)
            .segments(3)
            .page_size(1 + random.below(40) as u32)
            // At most 5,000 records a second: a run takes over 100 ms even in memory.
            .rate_limit(5_000)
            .checkpoints(checkpoints.clone())
            .stop_on(&stop)
            .run();
        // Later runs get longer, so that a slow store's pages finish too.
        let after = Duration::from_micros(random.below(20_000 * runs));
        if random.below(3) == 0 {
            // Killed: the run is dropped wherever it is.
            match tokio::time::timeout(after, job).await {
                Ok(report) => break report.unwrap(),
                Err(_) => continue,
            }
        } else {
            // Stopped: it saves where it is.
            let stopper = {
                let stop = stop.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(after).await;
                    stop.stop();
                })
            };
            let report = job.await.unwrap();
            stopper.abort();
            if report.is_complete() {
                break report;
            }
            assert!(report.stopped);
        }
    };
    println!("{runs} runs");
    assert!(runs >= 2, "the job was never interrupted");
    // Every record was counted once, over all the runs that saved their work, whatever was
    // redone after a kill.
    assert_eq!(report.counts.seen, COUNT as u64, "seed {seed_value}");
    assert_eq!(
        report.counts.changed + report.counts.unchanged,
        COUNT as u64
    );
    assert_eq!(report.counts.plaintext, 0);
    assert_all_encrypted(&table, COUNT, &|_| false).await;
    // Run again, it finds everything done.
    let again = Job::migrate(&table, &service)
        .segments(3)
        .checkpoints(MemoryCheckpoints::new())
        .run()
        .await
        .unwrap();
    assert_eq!(
        (again.counts.changed, again.counts.unchanged),
        (0, COUNT as u64)
    );
}

pub async fn a_job_reports_the_records_it_cannot_process_and_goes_on(backend: &impl Harness) {
    let table = customers(backend, cipher(keyring("k1"))).await;
    seed(&table, 4).await;
    let store = table.store();
    // A plan that is not a string; a card that is not a string.
    let mut no_owner = plaintext_item(1);
    no_owner.insert("user_id", s("u00001"));
    no_owner.insert("plan", AttributeValue::N("7".into()));
    store
        .put(table.table_ref(), no_owner, &Condition::Always)
        .await
        .unwrap();
    let mut bad_card = plaintext_item(2);
    bad_card.insert("card", AttributeValue::Bool(true));
    store
        .put(table.table_ref(), bad_card, &Condition::Always)
        .await
        .unwrap();
    let report = Job::migrate(&table, &Caller::service(JOB).unwrap())
        .run()
        .await
        .unwrap();
    assert_eq!(
        (
            report.counts.changed,
            report.counts.failed,
            report.counts.plaintext
        ),
        (2, 2, 2)
    );
    let mut failed: Vec<String> = report
        .failed
        .iter()
        .map(|f| format!("{:?}: {}", f.key.partition, f.reason))
        .collect();
    failed.sort();
    assert!(
        failed[0].contains("u00001") && failed[0].contains("plan"),
        "{failed:?}"
    );
    assert!(
        failed[1].contains("u00002") && failed[1].contains("card"),
        "{failed:?}"
    );
    for failure in &report.failed {
        assert!(!failure.reason.contains("4111"), "a value in a report");
    }
    // The records it could not process are left as they were.
    let items = stored(&table).await;
    assert_eq!(items.iter().filter(|i| i.contains("ssn")).count(), 2);
}

pub async fn processes_sharing_the_segments_migrate_the_whole_table(backend: &impl Harness) {
    const COUNT: usize = 300;
    let table = customers(backend, cipher(keyring("k1"))).await;
    seed(&table, COUNT).await;
    let service = Caller::service(JOB).unwrap();

    // Two processes, each with its share of six segments and checkpoints of its own; the first
    // reports its progress page by page.
    let progress = Arc::new(std::sync::Mutex::new(BTreeMap::new()));
    let seen = progress.clone();
    let (first, second) = tokio::join!(
        Job::migrate(&table, &service)
            .segments(6)
            .run_segments(0..4)
            .page_size(20)
            .checkpoints(MemoryCheckpoints::new())
            .on_progress(move |p| {
                seen.lock().unwrap().insert(p.segment, *p);
            })
            .run(),
        Job::migrate(&table, &service)
            .segments(6)
            .run_segments(4..6)
            .checkpoints(MemoryCheckpoints::new())
            .run(),
    );
    let (first, second) = (first.unwrap(), second.unwrap());
    assert!(first.is_complete() && second.is_complete());
    assert_eq!((first.segments_done, second.segments_done), (4, 2));
    {
        let last = progress.lock().unwrap();
        assert_eq!(last.keys().copied().collect::<Vec<_>>(), [0, 1, 2, 3]);
        assert!(last.values().all(|p| p.done));
        assert_eq!(
            last.values().map(|p| p.counts.seen).sum::<u64>(),
            first.counts.seen
        );
    }
    assert_eq!(first.counts.seen + second.counts.seen, COUNT as u64);
    assert_eq!(first.counts.changed + second.counts.changed, COUNT as u64);
    assert_all_encrypted(&table, COUNT, &|_| false).await;

    // A share outside the segments, and a resumption with another number of segments, are
    // refused before anything is read.
    let error = Job::migrate(&table, &service)
        .segments(6)
        .run_segments(4..7)
        .run()
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidRequest { .. }), "{error:?}");
    let checkpoints = MemoryCheckpoints::new();
    Job::migrate(&table, &service)
        .segments(2)
        .checkpoints(checkpoints.clone())
        .run()
        .await
        .unwrap();
    let error = Job::migrate(&table, &service)
        .segments(3)
        .checkpoints(checkpoints)
        .run()
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::InvalidRequest { .. }) && error.to_string().contains("2 segments"),
        "{error}"
    );
}
