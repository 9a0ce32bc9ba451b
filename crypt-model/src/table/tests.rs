//! The record pipeline parses a stored record's header once per read.

use std::sync::Arc;

use crate::format::header::PARSES;
use crate::{Caller, Cipher, EncryptedItem, LocalKeyring, MemoryStore, Query, Sensitive, Table};

#[derive(crate::EncryptedItem)]
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
    let cipher = Arc::new(Cipher::new(LocalKeyring::generate().unwrap()));
    let notes = Table::<Note, _>::new(MemoryStore::new(), cipher.clone()).unwrap();
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
    let (opened, count) = parses(async { Note::from_item(item).open(&alice, &cipher).await }).await;
    opened.unwrap();
    assert_eq!(count, 1, "Sealed::open");

    // An update reads the stored record once (and writes a new header it does not parse).
    read.body = Sensitive::new("changed".into());
    let (updated, count) = parses(notes.update(&alice, &mut read, &[Note::BODY])).await;
    updated.unwrap();
    assert_eq!(count, 1, "update");
}
