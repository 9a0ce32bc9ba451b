//! Erasure against the key table's own writers: a tombstone only the erasure key makes, a key
//! row put back after its erasure, a key row overwritten or deleted by a writer.
// A case is named as the sentence it checks; its helpers serve the cases.
#![allow(missing_docs)]

use crypt_model::error::KeyError;
use std::sync::Arc;

use crypt_model::format::{HEADER_ATTRIBUTE, OWNER_KEY_ID};
use crypt_model::keyring::LocalErasureKey;
use crypt_model::lifecycle::Job;
use crypt_model::store::Condition;
use crypt_model::{
    AttributeValue, Caller, EncryptedItem, Error, Grant, Item, Keys, LocalKeyring, OwnerKeys, Scan,
    Sensitive, Store, Table, TableRef, Tombstones,
};

use super::erasure::{KeyTables, Note, erasure_key, key_tables, owner_keys_with, with_key_table};
use super::{Harness, table_with};

/// Puts `owner`'s notes 0..n.
async fn notes_of<S: Store + Clone + 'static>(notes: &Table<Note, S>, owner: &str, n: u32) {
    for n in 0..n {
        let mut note = Note {
            user_id: owner.into(),
            n,
            body: Sensitive::new(format!("{owner}'s secret note {n}")),
        };
        notes
            .put(&Caller::user(owner).unwrap(), &mut note)
            .await
            .unwrap();
    }
}

/// Every row of `table`, raw.
async fn rows<S: Store>(store: &S, table: &TableRef) -> Vec<Item> {
    store.scan(table, &Scan::all()).await.unwrap().items
}

/// The error of `owner` reading their note 0 through `keys`, in a process of its own.
async fn read_error<S: Store + Clone + 'static>(
    store: &S,
    keys: Arc<Keys>,
    name: &str,
    owner: &str,
) -> Error {
    let notes = Table::<Note, _>::named(store.clone(), keys, name).unwrap();
    let key = Note::key(owner.to_owned(), 0u32).unwrap();
    notes
        .get(&Caller::user(owner).unwrap(), &key)
        .await
        .expect_err("the note opened")
}

fn is_erased(error: &Error) -> bool {
    matches!(error, Error::Key(KeyError::OwnerKeyErased { .. }))
}

/// A case's key tables (named after `name`), the application's keys, and its notes table (with
/// the `privacy` service granted erasure) holding two notes of each of `owners`.
async fn erasable<H: Harness>(
    backend: &H,
    name: &str,
    owners: &[&str],
) -> (KeyTables, Arc<Keys>, Table<Note, H::Store>) {
    let tables = key_tables(backend, name).await;
    let app = with_key_table(&backend.store(), &tables);
    let notes = table_with::<Note, _>(backend, app.clone())
        .await
        .with_grant(Grant::delete("privacy").unwrap());
    for owner in owners {
        notes_of(&notes, owner, 2).await;
    }
    (tables, app, notes)
}

pub async fn a_forged_or_edited_tombstone_reads_as_tampering_never_as_an_erasure(
    backend: &impl Harness,
) {
    let store = backend.store();
    let (tables, app, notes) = erasable(backend, "conf_forged_keys", &["alice", "bob"]).await;
    let name = notes.table_ref().name().to_owned();

    // A writer of both tables, with the library and an erasure key of its own, "erases" alice:
    // her row is gone and a tombstone stands for it, but not one the erasure key made.
    let forger = Arc::new(
        Keys::new(LocalKeyring::new("k1", &[3; 32]).unwrap()).with_owner_keys(owner_keys_with(
            &store,
            &tables,
            LocalErasureKey::new("mallory", &[9; 32]).unwrap(),
        )),
    );
    let forged = Table::<Note, _>::named(store.clone(), forger, &name)
        .unwrap()
        .with_grant(Grant::delete("mallory").unwrap());
    assert!(
        forged
            .erase_owner(&Caller::service("mallory").unwrap(), "alice")
            .await
            .unwrap()
    );
    let error = read_error(&store, with_key_table(&store, &tables), &name, "alice").await;
    assert!(matches!(error, Error::Integrity(_)), "{error:?}");

    // A genuine erasure's tombstone, edited in storage, is no longer believed either.
    assert!(
        notes
            .erase_owner(&Caller::service("privacy").unwrap(), "bob")
            .await
            .unwrap()
    );
    let error = read_error(&store, with_key_table(&store, &tables), &name, "bob").await;
    assert!(is_erased(&error), "{error:?}");
    let tombstones = app.owner_keys().unwrap().tombstones().table_ref().clone();
    for mut row in rows(&store, &tombstones).await {
        if let Some(AttributeValue::B(tag)) = row.get_mut("tag") {
            tag[0] ^= 1;
        }
        store
            .put(&tombstones, row, &Condition::Always)
            .await
            .unwrap();
    }
    let error = read_error(&store, with_key_table(&store, &tables), &name, "bob").await;
    assert!(matches!(error, Error::Integrity(_)), "{error:?}");

    // An inventory counts them as failures, not as erased: the acceptance check catches it.
    let auditor = Table::<Note, _>::named(store.clone(), with_key_table(&store, &tables), &name)
        .unwrap()
        .with_grant(Grant::read("auditor").unwrap());
    let report = Job::inventory(&auditor, &Caller::service("auditor").unwrap())
        .run()
        .await
        .unwrap();
    assert_eq!((report.counts.erased, report.counts.failed), (0, 4));
}

pub async fn a_key_row_put_back_after_its_erasure_stays_erased_until_the_sweep_or_a_write_replaces_it(
    backend: &impl Harness,
) {
    let store = backend.store();
    let (tables, app, notes) = erasable(backend, "conf_restored_keys", &["alice"]).await;
    let name = notes.table_ref().name().to_owned();
    let key_table = app.owner_keys().unwrap().table_ref().clone();
    let backup = rows(&store, &key_table).await;
    assert_eq!(backup.len(), 1);

    assert!(
        notes
            .erase_owner(&Caller::service("privacy").unwrap(), "alice")
            .await
            .unwrap()
    );
    // The key table restored from a backup (or the row put back by a raw write).
    for row in backup.clone() {
        store
            .put(&key_table, row, &Condition::Always)
            .await
            .unwrap();
    }

    // Still erased: in the process that erased her, and in a new one.
    let alice = Caller::user("alice").unwrap();
    let first = Note::key("alice".to_owned(), 0u32).unwrap();
    let error = notes.get(&alice, &first).await.unwrap_err();
    assert!(is_erased(&error), "{error:?}");
    let fresh = with_key_table(&store, &tables);
    let error = read_error(&store, fresh.clone(), &name, "alice").await;
    assert!(is_erased(&error), "{error:?}");

    // The sweep deletes the row again, once.
    let sweeper = fresh.owner_keys().unwrap();
    assert_eq!(sweeper.reapply_erasures().await.unwrap(), 1);
    assert_eq!(sweeper.reapply_erasures().await.unwrap(), 0);
    assert!(rows(&store, &key_table).await.is_empty());

    // Put back once more: her next write replaces it by a new key (the next generation), and
    // her old records stay erased.
    for row in backup.clone() {
        store
            .put(&key_table, row, &Condition::Always)
            .await
            .unwrap();
    }
    let elsewhere = Table::<Note, _>::named(store.clone(), fresh.clone(), &name).unwrap();
    let mut again = Note {
        user_id: "alice".into(),
        n: 7,
        body: Sensitive::new("written after her erasure".into()),
    };
    elsewhere.put(&alice, &mut again).await.unwrap();
    let now = rows(&store, &key_table).await;
    assert_eq!(now.len(), 1);
    assert_ne!(now[0].get("handle"), backup[0].get("handle"));
    let error = read_error(&store, with_key_table(&store, &tables), &name, "alice").await;
    assert!(is_erased(&error), "{error:?}");
    let back = elsewhere
        .get(&alice, &Note::key("alice".to_owned(), 7u32).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.body.expose_secret(), "written after her erasure");
}

pub async fn a_key_row_overwritten_or_deleted_by_a_writer_reads_as_tampering_and_a_restore_recovers_it(
    backend: &impl Harness,
) {
    let store = backend.store();
    let (tables, app, notes) = erasable(backend, "conf_sabotaged_keys", &["alice"]).await;
    let name = notes.table_ref().name().to_owned();
    let key_table = app.owner_keys().unwrap().table_ref().clone();
    let backup = rows(&store, &key_table).await;

    // Overwritten (another key and handle), then deleted: tampering, never "erased".
    let mut overwritten = backup[0].clone();
    overwritten.insert("handle", AttributeValue::B(vec![7; 16]));
    overwritten.insert("wrapped", AttributeValue::B(vec![7; 72]));
    store
        .put(&key_table, overwritten, &Condition::Always)
        .await
        .unwrap();
    let error = read_error(&store, with_key_table(&store, &tables), &name, "alice").await;
    assert!(matches!(error, Error::Integrity(_)), "{error:?}");
    let row_key = key_table.key_of(&backup[0]).unwrap();
    store
        .delete(&key_table, &row_key, &Condition::Always)
        .await
        .unwrap();
    let error = read_error(&store, with_key_table(&store, &tables), &name, "alice").await;
    assert!(matches!(error, Error::Integrity(_)), "{error:?}");

    // A restore of the key table brings her key back.
    for row in backup {
        store
            .put(&key_table, row, &Condition::Always)
            .await
            .unwrap();
    }
    let restored =
        Table::<Note, _>::named(store.clone(), with_key_table(&store, &tables), &name).unwrap();
    let note = restored
        .get(
            &Caller::user("alice").unwrap(),
            &Note::key("alice".to_owned(), 1u32).unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(note.body.expose_secret(), "alice's secret note 1");
}

pub async fn an_erasure_holds_when_a_writer_hid_or_changed_the_key_row_before_and_puts_it_back_after(
    backend: &impl Harness,
) {
    let store = backend.store();
    let owners = ["alice", "bob", "carol"];
    let (tables, app, notes) = erasable(backend, "conf_hidden_keys", &owners).await;
    let name = notes.table_ref().name().to_owned();
    let key_table = app.owner_keys().unwrap().table_ref().clone();
    let backup = rows(&store, &key_table).await;
    assert_eq!(backup.len(), 3);

    // Before the erasure a writer of the key table hides alice's row, gives bob's another
    // handle and strips carol's of its handle.
    for row in &backup {
        let owner = match row.get("owner_key") {
            Some(AttributeValue::S(key)) => key.rsplit('/').next().unwrap().to_owned(),
            _ => unreachable!(),
        };
        let mut sabotaged = row.clone();
        match owner.as_str() {
            "alice" => {
                let key = key_table.key_of(row).unwrap();
                store
                    .delete(&key_table, &key, &Condition::Always)
                    .await
                    .unwrap();
                continue;
            }
            "bob" => sabotaged.insert("handle", AttributeValue::B(vec![0xff; 16])),
            _ => sabotaged.remove("handle"),
        };
        store
            .put(&key_table, sabotaged, &Condition::Always)
            .await
            .unwrap();
    }
    let privacy = Caller::service("privacy").unwrap();
    for owner in owners {
        notes.erase_owner(&privacy, owner).await.unwrap();
    }
    // Then the genuine rows come back (a restore, or the same writer).
    for row in backup {
        store
            .put(&key_table, row, &Condition::Always)
            .await
            .unwrap();
    }
    for owner in owners {
        let error = read_error(&store, with_key_table(&store, &tables), &name, owner).await;
        assert!(is_erased(&error), "{owner}: {error:?}");
    }
    // A rotation of the key-encryption key does not carry the put-back keys over (nor stops at
    // a row that is not one), and the sweep deletes them.
    let junk = Item::from_iter([(
        "owner_key",
        AttributeValue::S(format!("{}/mallory", Note::SCHEMA.table())),
    )]);
    store
        .put(&key_table, junk.clone(), &Condition::Always)
        .await
        .unwrap();
    let rotating = Keys::new(
        LocalKeyring::new("k2", &[4; 32])
            .unwrap()
            .with_read_key("k1", &[3; 32])
            .unwrap(),
    )
    .with_owner_keys(owner_keys_with(&store, &tables, erasure_key()));
    assert_eq!(rotating.rewrap_owner_keys().await.unwrap(), 0);
    let sweeper = with_key_table(&store, &tables);
    assert_eq!(
        sweeper
            .owner_keys()
            .unwrap()
            .reapply_erasures()
            .await
            .unwrap(),
        3
    );
    assert_eq!(rows(&store, &key_table).await, vec![junk]);
}

/// The handle in a stored record's header, to edit.
fn handle_of(item: &mut Item) -> &mut [u8] {
    let Some(AttributeValue::B(header)) = item.get_mut(HEADER_ATTRIBUTE) else {
        unreachable!("an encrypted record has a header")
    };
    let at = header
        .windows(OWNER_KEY_ID.len())
        .position(|w| w == OWNER_KEY_ID.as_bytes())
        .unwrap()
        + OWNER_KEY_ID.len()
        + 2;
    &mut header[at..at + 16]
}

pub async fn a_handle_of_no_live_generation_reads_as_tampering_never_as_an_erasure(
    backend: &impl Harness,
) {
    let store = backend.store();
    let (tables, app, notes) = erasable(backend, "conf_generations", &["alice", "bob"]).await;
    let name = notes.table_ref().name().to_owned();
    let key_table = app.owner_keys().unwrap().table_ref().clone();

    // A record whose handle names generation 0, or a later generation than the live one, of an
    // owner never erased: edited, not erased.
    let alice = Caller::user("alice").unwrap();
    let stored = store
        .scan(notes.table_ref(), &Scan::all())
        .await
        .unwrap()
        .items;
    let record = stored
        .iter()
        .find(|item| item.get("user_id") == Some(&AttributeValue::S("alice".into())))
        .unwrap();
    for generation in [[0u8; 4], [0, 0, 0, 2], [0xff; 4]] {
        let mut edited = record.clone();
        handle_of(&mut edited)[..4].copy_from_slice(&generation);
        let error = Note::from_item(edited)
            .open(&alice, &with_key_table(&store, &tables))
            .await
            .unwrap_err();
        assert!(
            matches!(error, Error::Integrity(_)),
            "{generation:?}: {error:?}"
        );
    }

    // A key row given a generation above the live one (its key kept): no new record is sealed
    // under it, and no read opens with it; the next erasure deletes it all the same.
    let bob = Caller::user("bob").unwrap();
    let mut rows_now = rows(&store, &key_table).await;
    let bobs = rows_now
        .iter_mut()
        .find(
            |row| matches!(row.get("owner_key"), Some(AttributeValue::S(k)) if k.ends_with("/bob")),
        )
        .unwrap();
    if let Some(AttributeValue::B(handle)) = bobs.get_mut("handle") {
        handle[..4].copy_from_slice(&[0xff; 4]);
    }
    store
        .put(&key_table, bobs.clone(), &Condition::Always)
        .await
        .unwrap();
    let fresh = Table::<Note, _>::named(store.clone(), with_key_table(&store, &tables), &name)
        .unwrap()
        .with_grant(Grant::delete("privacy").unwrap());
    let mut note = Note {
        user_id: "bob".into(),
        n: 5,
        body: Sensitive::new("under a planted handle".into()),
    };
    let error = fresh.put(&bob, &mut note).await.unwrap_err();
    assert!(matches!(error, Error::Integrity(_)), "{error:?}");
    let error = read_error(&store, with_key_table(&store, &tables), &name, "bob").await;
    assert!(matches!(error, Error::Integrity(_)), "{error:?}");
    assert!(
        fresh
            .erase_owner(&Caller::service("privacy").unwrap(), "bob")
            .await
            .unwrap()
    );
    let error = read_error(&store, with_key_table(&store, &tables), &name, "bob").await;
    assert!(is_erased(&error), "{error:?}");

    // Two erasures at once never move the tombstone back: each counts.
    let privacy = Caller::service("privacy").unwrap();
    let (first, second) = tokio::join!(
        fresh.erase_owner(&privacy, "alice"),
        notes.erase_owner(&privacy, "alice")
    );
    first.unwrap();
    second.unwrap();
    let tombstones = app.owner_keys().unwrap().tombstones().table_ref().clone();
    let through: Vec<_> = rows(&store, &tombstones)
        .await
        .into_iter()
        .filter_map(|row| row.get("erased_through").cloned())
        .collect();
    assert!(
        through.contains(&AttributeValue::N("2".into())),
        "{through:?}"
    );
}

pub async fn erasures_made_under_a_rotated_out_erasure_key_still_hold(backend: &impl Harness) {
    let store = backend.store();
    let (tables, _, notes) = erasable(backend, "conf_rotated_erasure", &["alice", "bob"]).await;
    let name = notes.table_ref().name().to_owned();
    let privacy = Caller::service("privacy").unwrap();
    assert!(notes.erase_owner(&privacy, "alice").await.unwrap());

    // The erasure key rotated: the new one tags new tombstones, the old one still verifies.
    let new_key = || LocalErasureKey::new("erasure-2", &[8; 32]).unwrap();
    let rotated = |previous: bool| {
        let mut tombstones = Tombstones::new(store.clone(), &tables.tombstones, new_key()).unwrap();
        if previous {
            tombstones = tombstones.with_previous_key(erasure_key());
        }
        let owner_keys = OwnerKeys::new(store.clone(), &tables.keys, tombstones).unwrap();
        Arc::new(Keys::new(LocalKeyring::new("k1", &[3; 32]).unwrap()).with_owner_keys(owner_keys))
    };
    let error = read_error(&store, rotated(true), &name, "alice").await;
    assert!(is_erased(&error), "{error:?}");
    let after = Table::<Note, _>::named(store.clone(), rotated(true), &name)
        .unwrap()
        .with_grant(Grant::delete("privacy").unwrap());
    assert!(after.erase_owner(&privacy, "bob").await.unwrap());
    let error = read_error(&store, rotated(true), &name, "bob").await;
    assert!(is_erased(&error), "{error:?}");
    // Without the old key, its tombstones are not believed: tampering, never "erased".
    let error = read_error(&store, rotated(false), &name, "alice").await;
    assert!(matches!(error, Error::Integrity(_)), "{error:?}");
}
