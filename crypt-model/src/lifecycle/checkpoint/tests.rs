//! The checkpoints' JSON, the files, and the leases of every implementation.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use super::*;
use crate::attribute::AttributeValue;
use crate::error::DataError;
use crate::lifecycle::Counts;
use crate::lifecycle::Failure;
use crate::store::Store;

fn checkpoint() -> Checkpoint {
    let mut checkpoint = Checkpoint::start("migrate:profiles", 3, 8);
    checkpoint.cursor = Some(Cursor::new(Item::from_iter([
        ("pk", AttributeValue::S("alice".into())),
        ("sk", AttributeValue::N("7".into())),
    ])));
    checkpoint.counts = Counts {
        seen: 10,
        changed: 6,
        unchanged: 2,
        skipped: 1,
        erased: 0,
        failed: 1,
        plaintext: 1,
    };
    checkpoint.failed.push(Failure {
        key: Key::new(AttributeValue::S("bob".into())).with_sort(AttributeValue::B(vec![1])),
        reason: "attribute `card` is malformed".into(),
    });
    checkpoint.key_ids.insert("k1".into(), 8);
    checkpoint.suites.insert("aes256gcm-hkdf-sha256".into(), 8);
    checkpoint
}

#[test]
fn a_checkpoint_reads_back_as_written() {
    let checkpoint = checkpoint();
    assert_eq!(
        Checkpoint::from_json(&checkpoint.to_json()).unwrap(),
        checkpoint
    );
    let fresh = Checkpoint::start("inventory:t", 0, 1);
    assert_eq!(Checkpoint::from_json(&fresh.to_json()).unwrap(), fresh);
    for text in ["", "{}", "[]", r#"{"job": 1}"#] {
        assert!(matches!(
            Checkpoint::from_json(text),
            Err(Error::Data(DataError::Malformed { .. }))
        ));
    }
    // Debug shows no key.
    assert!(!format!("{checkpoint:?}").contains("alice"));
    // A checkpoint of a release before suites reads with none counted.
    let mut before: serde_json::Value = serde_json::from_str(&checkpoint.to_json()).unwrap();
    before.as_object_mut().unwrap().remove("suites");
    let read = Checkpoint::from_json(&before.to_string()).unwrap();
    assert_eq!(
        (read.suites.len(), read.key_ids),
        (0, checkpoint.key_ids.clone())
    );
    // A suite's name only: a report prints them, and a forged one could print anything.
    before["suites"] = serde_json::json!({"aes256gcm-hkdf-sha256\n  key k9: 9 records": 1});
    assert!(matches!(
        Checkpoint::from_json(&before.to_string()),
        Err(Error::Data(DataError::Malformed { .. }))
    ));
}

#[tokio::test]
async fn file_checkpoints_replace_each_segments_file() {
    let dir = std::env::temp_dir().join(format!(
        "crypt-model-checkpoints-{}-{}",
        std::process::id(),
        crate::random::array::<8>()
            .unwrap()
            .map(|b| format!("{b:02x}"))
            .concat()
    ));
    let files = FileCheckpoints::new(&dir).unwrap();
    assert_eq!(files.load("migrate:profiles", 3).await.unwrap(), None);
    let mut checkpoint = checkpoint();
    files.save(&checkpoint).await.unwrap();
    checkpoint.done = true;
    checkpoint.cursor = None;
    files.save(&checkpoint).await.unwrap();
    assert_eq!(
        files.load("migrate:profiles", 3).await.unwrap(),
        Some(checkpoint.clone())
    );
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    // The checkpoint, and the file its segment is locked by.
    assert_eq!(
        names,
        ["migrate%3Aprofiles.3.json", "migrate%3Aprofiles.3.lock"]
    );
    // Names that differ only in punctuation keep their own files.
    let mut other = Checkpoint::start("migrate.profiles", 3, 8);
    other.done = true;
    files.save(&other).await.unwrap();
    assert_eq!(
        files.load("migrate.profiles", 3).await.unwrap(),
        Some(other)
    );
    assert_eq!(
        files.load("migrate:profiles", 3).await.unwrap(),
        Some(checkpoint.clone())
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The owner's only: they hold record keys.
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&files.path("migrate:profiles", 3)), 0o600);
        // A link planted where the next file is written is replaced, not written through.
        let victim = dir.join("victim");
        std::fs::write(&victim, "kept").unwrap();
        let partial = files
            .path("migrate:profiles", 3)
            .with_extension("json.partial");
        std::os::unix::fs::symlink(&victim, &partial).unwrap();
        files.save(&checkpoint).await.unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "kept");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

fn lease(worker: &str, expires: u64) -> Lease {
    Lease {
        worker: worker.to_owned(),
        expires,
    }
}

fn taken(claim: Claim) -> Checkpoint {
    match claim {
        Claim::Taken(checkpoint) => checkpoint,
        other => panic!("not taken: {other:?}"),
    }
}

fn is_lost(result: Result<()>) -> bool {
    matches!(
        result,
        Err(Error::Storage(crate::error::StorageError::LeaseLost { .. }))
    )
}

/// The rules of leases, for checkpoints `a` and `b` as two workers see them (the same store).
/// `lapses`: whether a lease lapses by its time (a lock held by a live process does not).
async fn leases_hold(a: &dyn Checkpoints, b: &dyn Checkpoints, lapses: bool) {
    let job = "rewrap:t";
    let later = crate::lifecycle::lease::now_ms() + 60_000;
    let first = taken(a.claim(job, 0, 2, &lease("one", later)).await.unwrap());
    assert_eq!(
        (first.fence, first.lease.as_ref().map(|l| l.worker.as_str())),
        (1, Some("one"))
    );
    assert!(first.is_held(crate::lifecycle::lease::now_ms()));
    // Held by a live lease: another worker does not take it.
    match b.claim(job, 0, 2, &lease("two", later)).await.unwrap() {
        Claim::Held(held) => assert_eq!(held.worker, "one"),
        other => panic!("{other:?}"),
    }
    // Another number of segments is refused, before anything is written.
    assert!(matches!(
        b.claim(job, 0, 3, &lease("two", later)).await,
        Err(Error::Storage(
            crate::error::StorageError::InvalidRequest { .. }
        ))
    ));
    let mut progress = first.clone();
    progress.counts.seen = 5;
    a.save(&progress).await.unwrap();
    if lapses {
        // The first worker's lease lapses (it paused): the second takes the segment over, and
        // the first can save nothing over its progress any more.
        let mut lapsed = progress.clone();
        lapsed.lease = Some(lease("one", 1));
        a.save(&lapsed).await.unwrap();
        let second = taken(b.claim(job, 0, 2, &lease("two", later)).await.unwrap());
        assert_eq!((second.fence, second.counts.seen), (2, 5));
        let mut stale = lapsed.clone();
        stale.counts.seen = 99;
        assert!(is_lost(a.save(&stale).await));
        assert!(is_lost(a.release(&stale).await));
        let mut done = second.clone();
        done.done = true;
        b.release(&done).await.unwrap();
    } else {
        let mut done = progress.clone();
        done.done = true;
        a.release(&done).await.unwrap();
    }
    // Done: no one takes it again; its counts are the last saved.
    match b.claim(job, 0, 2, &lease("three", later)).await.unwrap() {
        Claim::Done(done) => assert!(done.done && done.lease.is_none() && done.counts.seen == 5),
        other => panic!("{other:?}"),
    }
    // A released segment is free at once.
    let other = taken(a.claim(job, 1, 2, &lease("one", later)).await.unwrap());
    a.release(&other).await.unwrap();
    let again = taken(b.claim(job, 1, 2, &lease("two", later)).await.unwrap());
    assert_eq!(again.fence, other.fence + 1);
    let listed = b.list(job).await.unwrap();
    assert_eq!(listed.iter().map(|c| c.segment).collect::<Vec<_>>(), [0, 1]);
    assert_eq!(b.list("another:t").await.unwrap(), []);
}

#[tokio::test]
async fn memory_checkpoints_hold_leases() {
    let shared = MemoryCheckpoints::new();
    leases_hold(&shared, &shared.clone(), true).await;
}

#[tokio::test]
async fn table_checkpoints_hold_leases() {
    let store = crate::MemoryStore::new();
    let a = TableCheckpoints::new(store.clone(), "jobs").unwrap();
    let b = TableCheckpoints::new(store.clone(), "jobs").unwrap();
    leases_hold(&a, &b, true).await;
    // An item edited so that its fence and its checkpoint disagree is refused.
    let mut items = store.items("jobs");
    let mut item = items.remove(0);
    item.insert("fence", AttributeValue::N("77".into()));
    store
        .put(a.table_ref(), item, &crate::store::Condition::Always)
        .await
        .unwrap();
    assert!(matches!(
        a.load("rewrap:t", 0).await,
        Err(Error::Data(DataError::Malformed { .. }))
    ));
}

#[tokio::test]
async fn file_checkpoints_lock_each_segment_for_its_process() {
    let dir = std::env::temp_dir().join(format!(
        "crypt-model-leases-{}-{}",
        std::process::id(),
        crate::random::array::<8>()
            .unwrap()
            .map(|b| format!("{b:02x}"))
            .concat()
    ));
    // Two instances: two processes, as far as the locks go.
    let a = FileCheckpoints::new(&dir).unwrap();
    let b = FileCheckpoints::existing(&dir).unwrap();
    leases_hold(&a, &b, false).await;
    // A lease that lapsed does not free a segment whose process still runs.
    let later = crate::lifecycle::lease::now_ms() + 60_000;
    let held = taken(
        a.claim("backfill:t", 0, 1, &lease("one", later))
            .await
            .unwrap(),
    );
    let mut lapsed = held.clone();
    lapsed.lease = Some(lease("one", 1));
    a.save(&lapsed).await.unwrap();
    assert!(matches!(
        b.claim("backfill:t", 0, 1, &lease("two", later))
            .await
            .unwrap(),
        Claim::Held(_)
    ));
    // The process ended (its lock closed): the next takes it over.
    drop(a);
    let over = taken(
        b.claim("backfill:t", 0, 1, &lease("two", later))
            .await
            .unwrap(),
    );
    assert_eq!(over.fence, 2);
    // A directory that is not there is an error for `existing`, and made by `new`.
    assert!(FileCheckpoints::existing(dir.join("mistyped")).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn what_a_writer_of_the_checkpoints_forges_holds_nothing_and_prints_nothing() {
    let checkpoints = MemoryCheckpoints::new();
    let now = crate::lifecycle::lease::now_ms();
    // A lease for ever: taken as lapsed.
    let mut forged = Checkpoint::start("rewrap:t", 0, 1);
    (forged.fence, forged.lease) = (3, Some(lease("mallory", u64::MAX)));
    checkpoints
        .saved()
        .insert(("rewrap:t".into(), 0), forged.clone());
    assert!(!forged.is_held(now));
    let taken = taken(
        checkpoints
            .claim("rewrap:t", 0, 1, &lease("one", now + 60_000))
            .await
            .unwrap(),
    );
    assert_eq!(taken.fence, 4);
    // A fence no claim can raise is refused, not wrapped.
    let mut stuck = Checkpoint::start("rewrap:t", 1, 2);
    stuck.fence = u64::MAX;
    checkpoints.saved().insert(("rewrap:t".into(), 1), stuck);
    assert!(matches!(
        checkpoints
            .claim("rewrap:t", 1, 2, &lease("one", now + 60_000))
            .await,
        Err(Error::Storage(
            crate::error::StorageError::InvalidRequest { .. }
        ))
    ));
    // A rate budget of 0, a key id or a worker's name that would move the terminal's cursor
    // or reorder its text: not a checkpoint.
    let json: serde_json::Value = serde_json::from_str(&checkpoint().to_json()).unwrap();
    for (field, value) in [
        ("job_rate", serde_json::json!(0)),
        ("key_ids", serde_json::json!({"k1\u{1b}[2J": 1})),
        ("key_ids", serde_json::json!({"k1\u{202e}": 1})),
        (
            "lease",
            serde_json::json!({"worker": "w\u{202e}", "expires": 1}),
        ),
    ] {
        let mut edited = json.clone();
        edited[field] = value;
        assert!(
            matches!(
                Checkpoint::from_json(&edited.to_string()),
                Err(Error::Data(DataError::Malformed { .. }))
            ),
            "{field}"
        );
    }
}
