//! The lifecycle jobs under stress: stopped and killed at random points and resumed, records
//! they cannot process, processes sharing a job's segments.
// A case is named as the sentence it checks; its models and helpers serve the cases.
#![allow(missing_docs)]

use crypt_model::error::StorageError;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crypt_model::lifecycle::{Job, MemoryCheckpoints, StopSignal};
use crypt_model::store::Condition;
use crypt_model::{AttributeValue, Caller, Error, Store};

use crate::lifecycle::*;
use crate::{Harness, s};

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
    let table = customers(backend, keys(keyring("k1"))).await;
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
            // A run killed leaves its segments' leases; the next run, under the same worker
            // name, takes them back at once (as a restarted process given its name does).
            .worker_name("runner")
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
    let table = customers(backend, keys(keyring("k1"))).await;
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
    // The plan job, run again, admits neither (each fails to parse, and is reported), and the
    // migration refuses to seal them.
    let planned = Job::plan_migration(&table, &Caller::service(JOB).unwrap())
        .run()
        .await
        .unwrap();
    assert_eq!((planned.counts.failed, planned.counts.plaintext), (2, 4));
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
    for failure in &report.failed {
        assert!(
            failure.reason.contains("did not admit"),
            "{}",
            failure.reason
        );
    }
    let mut failed: Vec<String> = planned
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
    for failure in report.failed.iter().chain(&planned.failed) {
        assert!(!failure.reason.contains("4111"), "a value in a report");
    }
    // The records it could not process are left as they were.
    let items = stored(&table).await;
    assert_eq!(items.iter().filter(|i| i.contains("ssn")).count(), 2);
}

pub async fn processes_sharing_the_segments_migrate_the_whole_table(backend: &impl Harness) {
    const COUNT: usize = 300;
    let table = customers(backend, keys(keyring("k1"))).await;
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
    assert!(
        matches!(error, Error::Storage(StorageError::InvalidRequest { .. })),
        "{error:?}"
    );
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
        matches!(&error, Error::Storage(StorageError::InvalidRequest { .. }))
            && error.to_string().contains("2 segments"),
        "{error}"
    );
}

pub async fn a_record_too_large_once_sealed_is_reported_and_the_job_goes_on(
    backend: &impl Harness,
) {
    let table = customers(backend, keys(keyring("k1"))).await;
    let store = table.store();
    // A record stored in plaintext just under DynamoDB's item limit: sealed, it would be over.
    let mut big = plaintext_item(7);
    let size = |item: &crypt_model::Item| -> usize {
        item.iter()
            .map(|(name, value)| {
                name.len()
                    + match value {
                        AttributeValue::S(s) | AttributeValue::N(s) => s.len(),
                        _ => 16,
                    }
            })
            .sum()
    };
    big.insert("ssn", s(""));
    // The largest the store takes, within 200 bytes (moto's limit is a little below DynamoDB's).
    let mut room = crypt_model::store::MAX_ITEM_SIZE - size(&big) - 100;
    let accepted_at_dynamodbs_limit = loop {
        big.insert("ssn", s(&"7".repeat(room)));
        match store
            .put(table.table_ref(), big.clone(), &Condition::Always)
            .await
        {
            Ok(()) => break size(&big) >= crypt_model::store::MAX_ITEM_SIZE - 200,
            Err(Error::Storage(StorageError::ItemTooLarge { .. })) => room -= 200,
            Err(other) => panic!("{other:?}"),
        }
    };
    seed(&table, 3).await;
    let service = Caller::service(JOB).unwrap();
    // The dry run predicts it; the migration reports it, with its size and the limit, and goes
    // on with the others.
    // A dry run predicts it where the store takes items up to DynamoDB's limit (it allows
    // for what sealing adds; a store with a lower limit refuses only the write).
    let runs: &[bool] = match accepted_at_dynamodbs_limit {
        true => &[true, false],
        false => &[false],
    };
    for &dry_run in runs {
        let report = Job::migrate(&table, &service)
            .segments(2)
            .dry_run(dry_run)
            .run()
            .await
            .unwrap();
        assert!(report.is_complete(), "{report:?}");
        assert_eq!(
            (report.counts.changed, report.counts.failed),
            (3, 1),
            "dry run {dry_run}: {report:?}"
        );
        let reason = &report.failed[0].reason;
        assert!(reason.contains("over DynamoDB's item limit"), "{reason}");
        assert!(!reason.contains("777"), "a value in a report");
    }
    assert_eq!(
        stored(&table)
            .await
            .iter()
            .filter(|item| item.contains("ssn"))
            .count(),
        1,
        "only the large record is left in plaintext"
    );
}
