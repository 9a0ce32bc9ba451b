//! Many workers on one job: segments taken from a shared job table, leases that lapse and are
//! taken over, a fenced-off worker that saves nothing, a second run refused while the first
//! holds the job.
// A case is named as the sentence it checks; its models and helpers serve the cases.
#![allow(missing_docs)]

use std::time::Duration;

use crypt_model::error::StorageError;
use crypt_model::lifecycle::{Checkpoints, Claim, Job, Lease, TableCheckpoints};
use crypt_model::{Caller, Error};

use crate::Harness;
use crate::lifecycle::*;

/// The job table on `backend`.
async fn job_table<H: Harness>(backend: &H) -> TableCheckpoints {
    let wanted = TableCheckpoints::new(backend.store(), "conf_jobs").unwrap();
    let table = backend.table(wanted.table_ref().clone()).await;
    TableCheckpoints::new(backend.store(), table.name()).unwrap()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

pub async fn workers_sharing_a_job_table_do_every_record_once_and_take_over_a_killed_workers_segments(
    backend: &impl Harness,
) {
    const COUNT: usize = 240;
    let table = customers(backend, keys(keyring("k1"))).await;
    seed(&table, COUNT).await;
    let service = Caller::service(JOB).unwrap();
    let jobs = job_table(backend).await;
    let worker = |name: &str| {
        Job::migrate(&table, &service)
            .named("migrate:workers")
            .segments(8)
            .page_size(10)
            .checkpoints(jobs.clone())
            .lease(Duration::from_secs(1))
            .worker_name(name)
            .worker(2)
    };
    // The first worker takes two segments, and is killed while it works them: their leases
    // stay until they lapse.
    let killed = tokio::time::timeout(
        Duration::from_millis(150),
        worker("killed").rate_limit(100).run(),
    )
    .await;
    assert!(
        killed.is_err(),
        "the first worker finished before it was killed"
    );
    let held: Vec<_> = (jobs.list("migrate:workers").await.unwrap())
        .into_iter()
        .filter(|c| c.lease.is_some() && !c.done)
        .collect();
    assert_eq!(held.len(), 2, "{held:?}");
    // Two more workers take the other segments, wait for the killed one's leases to lapse, and
    // take its segments over from their last checkpoints.
    let (second, third) = tokio::join!(worker("second").run(), worker("third").run());
    let (second, third) = (second.unwrap(), third.unwrap());
    for report in [&second, &third] {
        // Each reports the whole job, as the job table has it.
        assert!(report.is_complete(), "{report:?}");
        assert_eq!(report.segments_done, 8);
        assert_eq!(report.counts.seen, COUNT as u64, "{report:?}");
        assert_eq!(
            report.counts.changed + report.counts.unchanged,
            COUNT as u64
        );
        assert_eq!((report.counts.plaintext, report.counts.failed), (0, 0));
    }
    assert_all_encrypted(&table, COUNT, &|_| false).await;
    let after = jobs.list("migrate:workers").await.unwrap();
    assert_eq!(after.len(), 8);
    assert!(after.iter().all(|c| c.done && c.lease.is_none()));
    for segment in &held {
        let now = &after[segment.segment as usize];
        assert!(
            now.fence > segment.fence,
            "segment {} never taken over",
            now.segment
        );
    }
    // A worker that joins a finished job finds nothing to do.
    let late = worker("late").run().await.unwrap();
    assert!(late.is_complete());
    assert_eq!(late.counts.seen, COUNT as u64);
}

pub async fn a_worker_whose_lease_was_taken_over_saves_nothing_over_its_successor(
    backend: &impl Harness,
) {
    let jobs = job_table(backend).await;
    let job = "rewrap:fenced";
    let lease = |worker: &str, expires: u64| Lease {
        worker: worker.to_owned(),
        expires,
    };
    let Claim::Taken(first) = jobs
        .claim(job, 0, 1, &lease("one", now_ms() + 150))
        .await
        .unwrap()
    else {
        panic!("a free segment is not taken");
    };
    // Held while its lease holds.
    assert!(matches!(
        jobs.claim(job, 0, 1, &lease("two", now_ms() + 60_000)).await.unwrap(),
        Claim::Held(Lease { ref worker, .. }) if worker == "one"
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Lapsed: taken over, with the first worker's progress.
    let Claim::Taken(second) = jobs
        .claim(job, 0, 1, &lease("two", now_ms() + 60_000))
        .await
        .unwrap()
    else {
        panic!("a lapsed lease is not taken over");
    };
    assert_eq!(second.fence, first.fence + 1);
    let mut late = first.clone();
    late.counts.seen = 1_000;
    late.done = true;
    let refused = jobs.save(&late).await.unwrap_err();
    assert!(
        matches!(refused, Error::Storage(StorageError::LeaseLost { .. })),
        "{refused:?}"
    );
    assert!(jobs.release(&late).await.is_err());
    let stored = jobs.load(job, 0).await.unwrap().unwrap();
    assert_eq!(
        (
            stored.done,
            stored.counts.seen,
            stored.lease.unwrap().worker
        ),
        (false, 0, "two".to_owned())
    );
}

pub async fn a_second_run_of_a_job_is_refused_while_the_first_holds_its_segments(
    backend: &impl Harness,
) {
    const COUNT: usize = 60;
    let table = customers(backend, keys(keyring("k1"))).await;
    seed(&table, COUNT).await;
    let service = Caller::service(JOB).unwrap();
    let jobs = job_table(backend).await;
    let run = |rate| {
        Job::migrate(&table, &service)
            .named("migrate:twice")
            .segments(2)
            .page_size(10)
            .rate_limit(rate)
            .checkpoints(jobs.clone())
            .run()
    };
    let first = run(200);
    let second = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        run(0).await
    };
    let (first, second) = tokio::join!(first, second);
    assert!(first.unwrap().is_complete());
    let refused = second.unwrap_err();
    assert!(
        matches!(refused, Error::Storage(StorageError::LeaseHeld { .. })),
        "{refused:?}"
    );
    let message = refused.to_string();
    assert!(
        message.contains("another run of the job is going on"),
        "{message}"
    );
    // Once the first is done, a run again finds the job complete, nothing left held.
    let again = run(0).await.unwrap();
    assert!(again.is_complete());
    assert_eq!(again.counts.seen, COUNT as u64);
    assert_all_encrypted(&table, COUNT, &|_| false).await;
}

pub async fn a_worker_restarted_under_its_name_takes_its_segments_back_at_once(
    backend: &impl Harness,
) {
    const COUNT: usize = 60;
    let table = customers(backend, keys(keyring("k1"))).await;
    seed(&table, COUNT).await;
    let service = Caller::service(JOB).unwrap();
    let jobs = job_table(backend).await;
    // A minute's lease: the restarted worker must not wait it out.
    let worker = || {
        Job::migrate(&table, &service)
            .named("migrate:restarted")
            .segments(4)
            .page_size(5)
            .checkpoints(jobs.clone())
            .worker_name("task-7")
            .worker(2)
    };
    let killed =
        tokio::time::timeout(Duration::from_millis(150), worker().rate_limit(40).run()).await;
    assert!(killed.is_err(), "the worker finished before it was killed");
    let started = std::time::Instant::now();
    let report = worker().run().await.unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.counts.seen, COUNT as u64, "{report:?}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the restarted worker waited for its own leases to lapse"
    );
    assert_all_encrypted(&table, COUNT, &|_| false).await;
}
