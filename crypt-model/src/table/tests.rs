//! The record pipeline parses a stored record's header once per read.

use std::sync::Arc;

use crate::format::header::PARSES;
use crate::{Caller, EncryptedItem, Keys, LocalKeyring, MemoryStore, Query, Sensitive, Table};

#[derive(crate::EncryptedItem, Debug)]
#[crypt_model(table = "notes")]
struct Note {
    #[partition_key]
    #[owner]
    user_id: String,
    #[sort_key]
    n: u32,
    #[sensitive]
    body: Sensitive<String>,
    #[crypt_model(version)]
    version: u64,
}

/// How many headers `f` parses.
async fn parses<R>(f: impl std::future::Future<Output = R>) -> (R, usize) {
    let before = PARSES.with(|p| p.get());
    let out = f.await;
    (out, PARSES.with(|p| p.get()) - before)
}

#[tokio::test(flavor = "current_thread")]
async fn a_read_parses_the_stored_header_once() {
    let keys = Arc::new(Keys::new(LocalKeyring::generate().unwrap()));
    let notes = Table::<Note, _>::new(MemoryStore::new(), keys.clone()).unwrap();
    let alice = Caller::user("alice").unwrap();
    for n in 0..3 {
        let mut note = Note {
            user_id: "alice".into(),
            n,
            body: Sensitive::new(format!("note {n}")),
            version: 0,
        };
        notes.put(&alice, &mut note).await.unwrap();
    }
    let key = Note::key("alice".to_owned(), 1u32).unwrap();

    let (read, count) = parses(notes.get(&alice, &key)).await;
    let mut read = read.unwrap().unwrap();
    assert_eq!(count, 1, "get");

    let (page, count) = parses(notes.query_all(&alice, Query::partition("alice"))).await;
    assert_eq!(
        (page.unwrap().len(), count),
        (3, 3),
        "query: one parse per record"
    );

    // Someone else's records are parsed (once) and refused.
    let bob = Caller::user("bob").unwrap();
    let (page, count) = parses(notes.batch_get(&bob, std::slice::from_ref(&key))).await;
    assert_eq!(
        (page.unwrap().len(), count),
        (0, 0),
        "a key of another owner is not read"
    );

    let item = notes.store().items("notes").remove(0);
    let (opened, count) = parses(async { Note::from_item(item).open(&alice, &keys).await }).await;
    opened.unwrap();
    assert_eq!(count, 1, "Sealed::open");

    // An update reads the stored record once (and writes a new header it does not parse).
    read.body = Sensitive::new("changed".into());
    let (updated, count) = parses(notes.update(&alice, &mut read, &[Note::BODY])).await;
    updated.unwrap();
    assert_eq!(count, 1, "update");
}

#[tokio::test(flavor = "current_thread")]
async fn only_a_permit_to_read_opens_a_record_and_its_admission_names_that_record_only() {
    use crate::access::{Logged, Scope};
    use crate::error::{AccessError, Error};

    let keys = Arc::new(Keys::new(LocalKeyring::generate().unwrap()));
    let notes = Table::<Note, _>::new(MemoryStore::new(), keys).unwrap();
    let alice = Caller::user("alice").unwrap();
    let mut note = Note {
        user_id: "alice".into(),
        n: 1,
        body: Sensitive::new("milk".into()),
        version: 0,
    };
    notes.put(&alice, &mut note).await.unwrap();
    let key = Note::key("alice".to_owned(), 1u32).unwrap();
    let records = notes.records();

    // A permit to write (an update's, which seals the record again in memory) does not open it
    // into the model, which would hand a write-only service the plaintext.
    let stored = records.fetch(&key).await.unwrap().unwrap();
    let permit = records
        .gate
        .permit(&alice, &Note::SCHEMA, stored, Scope::Write, Logged::Nothing)
        .unwrap();
    let error = records.open(permit).await.unwrap_err();
    assert!(
        matches!(error, Error::Access(AccessError::Denied { .. })),
        "{error:?}"
    );

    // A permit's admission is the key of its own record: table, owner, header.
    let stored = records.fetch(&key).await.unwrap().unwrap();
    let header = stored.header().unwrap().clone();
    let permit = records
        .gate
        .permit(&alice, &Note::SCHEMA, stored, Scope::Read, Logged::Nothing)
        .unwrap();
    let admission = permit.admission().unwrap();
    assert_eq!(
        (
            admission.table(),
            admission.owner(),
            admission.key_id(),
            admission.wrapped()
        ),
        ("notes", "alice", header.key_id(), header.wrapped())
    );
    assert_eq!(
        records.open(permit).await.unwrap().body.expose_secret(),
        "milk"
    );
}
