//! The soak workload, shared by the soak on `MemoryStore` (`crypt-model/tests/soak.rs`) and the
//! shorter one on moto (`tests/soak_moto.rs`): 8 concurrent tasks of mixed operations —
//! versioned increments of shared counters, partial updates, queries, puts, deletes,
//! transactions, and another user's reads and takeover attempts — then the invariants: no lost
//! update (each counter holds exactly the increments acknowledged), no takeover, the owner gate
//! held; and memory bounded (resident size after a warm-up and at the end, the key caches within
//! their limits).

use crypt_model::error::StorageError;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::draw::Draw;

use crypt_model::{
    CacheLimits, Caller, EncryptedItem, Error, Key, Query, Sensitive, Store, Table, Write,
};

/// A counter of the soak: shared by the tasks, versioned, its count and note encrypted.
#[derive(EncryptedItem)]
#[crypt_model(table = "soak")]
pub struct Counter {
    #[partition_key]
    #[owner]
    user_id: String,
    #[sort_key]
    n: u32,
    #[crypt_model(version)]
    version: u64,
    #[sensitive]
    count: Sensitive<u64>,
    #[sensitive]
    note: Sensitive<String>,
}

/// Shared counters, keys `0..COUNTERS`; scratch records, keys from `SCRATCH`.
const COUNTERS: u32 = 16;
const SCRATCH: u32 = 1_000;
/// Concurrent tasks.
pub const TASKS: u64 = 8;

/// `owner`'s counter `n`, at `count`.
pub fn counter(owner: &str, n: u32, count: u64) -> Counter {
    Counter {
        user_id: owner.into(),
        n,
        version: 0,
        count: Sensitive::new(count),
        note: Sensitive::new(format!("soak note {n}")),
    }
}

/// The process's resident size, in bytes (Linux).
fn resident() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm (Linux)");
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[derive(Default)]
struct Tally {
    increments: Vec<AtomicU64>,
    conflicts: AtomicU64,
    operations: AtomicU64,
    refused: AtomicU64,
}

async fn task<S: Store + 'static>(
    table: Arc<Table<Counter, S>>,
    tally: Arc<Tally>,
    seed: u64,
    ops: u64,
) {
    let shared = Caller::user("shared").unwrap();
    let mallory = Caller::user("mallory").unwrap();
    let mut draw = Draw(seed);
    for _ in 0..ops {
        let n = draw.below(u64::from(COUNTERS)) as u32;
        let key = Counter::key("shared".to_owned(), n).unwrap();
        let scratch = SCRATCH + draw.below(64) as u32;
        match draw.below(20) {
            // A versioned increment: read, add one, write if nobody wrote meanwhile.
            0..=5 => {
                let mut record = table.get(&shared, &key).await.unwrap().unwrap();
                let count = *record.count.expose_secret() + 1;
                record.count = Sensitive::new(count);
                match table.put(&shared, &mut record).await {
                    Ok(()) => {
                        tally.increments[n as usize].fetch_add(1, Ordering::SeqCst);
                    }
                    Err(Error::Storage(StorageError::Conflict { .. })) => {
                        tally.conflicts.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(error) => panic!("{error}"),
                }
            }
            // A partial update of the note (the count kept).
            6..=8 => {
                let mut record = table.get(&shared, &key).await.unwrap().unwrap();
                record.note = Sensitive::new(format!("soak note {n} {seed}"));
                match table.update(&shared, &mut record, &[Counter::NOTE]).await {
                    Ok(()) => {}
                    Err(Error::Storage(StorageError::Conflict { .. })) => {
                        tally.conflicts.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(error) => panic!("{error}"),
                }
            }
            9..=10 => {
                let page = table
                    .query(&shared, &Query::partition("shared").limit(8))
                    .await
                    .unwrap();
                assert!(page.items.iter().all(|c| c.user_id == "shared"));
            }
            11..=12 => {
                let mut record = counter("shared", scratch, 0);
                if let Some(stored) = table
                    .get(
                        &shared,
                        &Counter::key("shared".to_owned(), scratch).unwrap(),
                    )
                    .await
                    .unwrap()
                {
                    record.version = stored.version;
                }
                match table.put(&shared, &mut record).await {
                    Ok(()) | Err(Error::Storage(StorageError::Conflict { .. })) => {}
                    Err(error) => panic!("{error}"),
                }
            }
            13..=14 => {
                let key = Key::new("shared").with_sort(scratch);
                table.delete(&shared, &key).await.unwrap();
            }
            15 => {
                let mut first = counter("shared", scratch, 1);
                let writes = vec![
                    Write::Put(&mut first),
                    Write::Delete(Key::new("shared").with_sort(SCRATCH + 64 + (seed as u32 % 8))),
                ];
                match table.transact(&shared, writes).await {
                    Ok(())
                    | Err(Error::Storage(StorageError::TransactionCancelled { .. }))
                    | Err(Error::Storage(StorageError::Conflict { .. })) => {}
                    Err(error) => panic!("{error}"),
                }
            }
            // Another user: reads what looks like nothing; a takeover is refused.
            16..=17 => {
                assert!(table.get(&mallory, &key).await.unwrap().is_none());
                tally.refused.fetch_add(1, Ordering::SeqCst);
            }
            _ => {
                let mut theirs = counter("shared", n, 0);
                let refused = table.put(&mallory, &mut theirs).await.is_err();
                assert!(refused, "mallory wrote shared's counter");
                tally.refused.fetch_add(1, Ordering::SeqCst);
            }
        }
        tally.operations.fetch_add(1, Ordering::SeqCst);
    }
}

/// Runs the soak on `table` (empty, its keys with `limits`): a warm-up of a tenth of `ops` per
/// task, then `ops` per task, each of the [`TASKS`] tasks seeded; then checks the invariants and
/// that resident size grew by less than `max_growth` bytes over the measured run. Returns the
/// report line, with every figure of docs/reliability.md.
pub async fn soak<S: Store + 'static>(
    table: Table<Counter, S>,
    limits: CacheLimits,
    ops: u64,
    max_growth: u64,
) -> String {
    let table = Arc::new(table);
    let shared = Caller::user("shared").unwrap();
    for n in 0..COUNTERS {
        table
            .put(&shared, &mut counter("shared", n, 0))
            .await
            .unwrap();
    }
    let tally = Arc::new(Tally {
        increments: (0..COUNTERS).map(|_| AtomicU64::new(0)).collect(),
        ..Tally::default()
    });
    // A warm-up of a tenth, then the run proper, its resident size measured either side.
    let run = |ops: u64, round: u64| {
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| tokio::spawn(task(table.clone(), tally.clone(), round * 100 + t, ops)))
            .collect();
        async move {
            for task in tasks {
                task.await.unwrap();
            }
        }
    };
    run(ops / 10, 1).await;
    let (before, started) = (resident(), Instant::now());
    run(ops, 2).await;
    let (after, elapsed) = (resident(), started.elapsed());

    // No lost update: each counter holds exactly the increments acknowledged.
    for n in 0..COUNTERS {
        let stored = table
            .get(&shared, &Counter::key("shared".to_owned(), n).unwrap())
            .await
            .unwrap()
            .unwrap();
        let acknowledged = tally.increments[n as usize].load(Ordering::SeqCst);
        assert_eq!(*stored.count.expose_secret(), acknowledged, "counter {n}");
    }
    // The key caches within their limits; memory bounded.
    let cached = table.keys().cached_keys();
    assert!(cached.data_keys <= 1, "{cached:?}");
    assert!(
        cached.unwrapped_keys <= limits.unwrapped_keys(),
        "{cached:?}"
    );
    let growth = after.saturating_sub(before);
    assert!(
        growth < max_growth,
        "resident size grew by {growth} bytes over the run"
    );
    let operations = tally.operations.load(Ordering::SeqCst);
    let rate = (ops * TASKS) as f64 / elapsed.as_secs_f64();
    format!(
        "soak: {TASKS} tasks, {operations} operations ({ops} per task in the measured run, in \
         {:.1} s, {rate:.0} operations/s), {} versioned increments acknowledged, {} conflicts (a \
         stale write refused, nothing lost), {} reads and writes of another user refused or \
         empty; resident {} KiB after the warm-up, {} KiB at the end; key caches {cached:?}",
        elapsed.as_secs_f64(),
        tally
            .increments
            .iter()
            .map(|i| i.load(Ordering::SeqCst))
            .sum::<u64>(),
        tally.conflicts.load(Ordering::SeqCst),
        tally.refused.load(Ordering::SeqCst),
        before / 1024,
        after / 1024,
    )
}
