//! Replacing an owner's key: a new key beside the old one, the owner's records re-encrypted onto
//! it, the old one erased — so that an old copy of one of their records no longer opens.
// A case is named as the sentence it checks; its helpers serve the cases.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use crypt_model::error::{ConfigError, KeyError};
use crypt_model::format::HEADER_ATTRIBUTE;
use crypt_model::lifecycle::Job;
use crypt_model::store::Condition;
use crypt_model::{
    AttributeValue, CacheLimits, Caller, EncryptedItem, Error, Grant, Item, Keys, LocalKeyring,
    Scan, Sensitive, Store, Table, TableRef,
};

use super::erasure::{KeyTables, Note, erasure_key, key_tables, owner_keys_with};
use super::{Harness, table_with};

/// How long a process keeps an owner's key in this case: the replacement's wait.
const AGE: Duration = Duration::from_secs(1);

/// An application's keys with the key tables `tables`, keeping owners' keys for [`AGE`].
fn keys_of<S: Store + Clone + 'static>(store: &S, tables: &KeyTables) -> Arc<Keys> {
    let owner_keys = owner_keys_with(store, tables, erasure_key())
        .with_cache_limits(CacheLimits::default().max_age(AGE));
    Arc::new(Keys::new(LocalKeyring::new("k1", &[3; 32]).unwrap()).with_owner_keys(owner_keys))
}

/// `owner`'s note `n` as a process of its own reads it: its body, or the error.
async fn read<S: Store + Clone + 'static>(
    store: &S,
    tables: &KeyTables,
    name: &str,
    owner: &str,
    n: u32,
) -> Result<String, Error> {
    let notes = Table::<Note, _>::named(store.clone(), keys_of(store, tables), name).unwrap();
    let key = Note::key(owner.to_owned(), n).unwrap();
    let note = notes.get(&Caller::user(owner).unwrap(), &key).await?;
    Ok(note.expect("the note").body.expose_secret().clone())
}

/// The stored item of `owner`'s note `n`, raw.
async fn stored<S: Store>(store: &S, notes: &TableRef, owner: &str, n: u32) -> Item {
    let key = Note::key(owner.to_owned(), n).unwrap();
    store
        .get(notes, &key)
        .await
        .unwrap()
        .expect("the stored note")
}

async fn put_note<S: Store + Clone + 'static>(notes: &Table<Note, S>, owner: &str, n: u32) {
    let mut note = Note {
        user_id: owner.into(),
        n,
        body: Sensitive::new(format!("{owner}'s note {n}")),
    };
    let caller = Caller::user(owner).unwrap();
    notes.put(&caller, &mut note).await.unwrap();
}

pub async fn a_replaced_owner_key_moves_their_records_and_old_copies_no_longer_open(
    backend: &impl Harness,
) {
    let store = backend.store();
    let tables = key_tables(backend, "conf_replace_keys").await;
    let notes = table_with::<Note, _>(backend, keys_of(&store, &tables))
        .await
        .with_grant(Grant::delete("privacy").unwrap())
        .with_grant(Grant::read("ops").unwrap())
        .with_grant(Grant::write("ops").unwrap());
    let name = notes.table_ref().name().to_owned();
    let table = notes.table_ref().clone();
    for owner in ["alice", "bob"] {
        for n in 0..2 {
            put_note(&notes, owner, n).await;
        }
    }
    // A backup's copy of alice's note 0, under her first key.
    let backup = stored(&store, &table, "alice", 0).await;
    let privacy = Caller::service("privacy").unwrap();
    // The key table and its rows (`<logical table>/<owner>`).
    let key_table = keys_of(&store, &tables)
        .owner_keys()
        .unwrap()
        .table_ref()
        .clone();
    let row_of = |owner: &str| {
        crypt_model::Key::new(AttributeValue::S(format!(
            "{}/{owner}",
            Note::SCHEMA.table()
        )))
    };

    // The replacement begins: her records still open, here and in any other process, and what
    // she writes now is sealed under the new key.
    assert!(notes.replace_owner_key(&privacy, "alice").await.unwrap());
    assert_eq!(
        read(&store, &tables, &name, "alice", 1).await.unwrap(),
        "alice's note 1"
    );
    put_note(&notes, "alice", 2).await;
    let header = |item: &Item| item.get(HEADER_ATTRIBUTE).cloned();
    assert_ne!(
        header(&stored(&store, &table, "alice", 2).await),
        header(&backup),
        "the new note is under the old key"
    );
    // A writer of the key table who swaps the new key and the old gets tampering, not a key to
    // seal under (nor a re-encryption onto the old key); a restore repairs it.
    let row = store
        .get(&key_table, &row_of("alice"))
        .await
        .unwrap()
        .unwrap();
    let mut swapped = row.clone();
    for (current, previous) in [
        ("key_id", "previous_key_id"),
        ("wrapped", "previous_wrapped"),
        ("handle", "previous_handle"),
    ] {
        swapped.insert(current, row.get(previous).unwrap().clone());
        swapped.insert(previous, row.get(current).unwrap().clone());
    }
    store
        .put(&key_table, swapped, &Condition::Always)
        .await
        .unwrap();
    for n in [1, 2] {
        let error = read(&store, &tables, &name, "alice", n).await.unwrap_err();
        assert!(matches!(error, Error::Integrity(_)), "note {n}: {error:?}");
    }
    store
        .put(&key_table, row, &Condition::Always)
        .await
        .unwrap();

    // Run again, it resumes without making a third key; a service without the grant may not.
    assert!(notes.replace_owner_key(&privacy, "alice").await.unwrap());
    let ops = Caller::service("ops").unwrap();
    assert!(notes.replace_owner_key(&ops, "alice").await.is_err());
    // Too early to finish: another process may still seal under the old key.
    let error = notes
        .finish_owner_key_replacement(&privacy, "alice")
        .await
        .expect_err("finished before the cache age passed");
    assert!(
        matches!(error, Error::Config(ConfigError::Unsupported { .. })),
        "{error:?}"
    );

    // A re-encryption run before the cache age has passed moves nothing of hers and reports her
    // two old notes as failures (another process may still seal under the old key after it).
    let early = Job::reencrypt(&notes, &ops).run().await.unwrap();
    assert_eq!((early.counts.changed, early.counts.failed), (0, 2));
    assert!(early.failed.iter().all(|f| f.reason.contains("cache age")));

    // After the cache age, the re-encryption moves her two old notes, and nothing of bob's.
    // The age, the margin of 2 s, and a second for the tombstone's whole seconds.
    tokio::time::sleep(AGE + Duration::from_millis(2100)).await;
    let report = Job::reencrypt(&notes, &ops).run().await.unwrap();
    assert_eq!((report.counts.changed, report.counts.failed), (2, 0));
    let again = Job::reencrypt(&notes, &ops).run().await.unwrap();
    assert_eq!(again.counts.changed, 0);
    // The key table's rows as a backup taken now holds them.
    let alices_row = store.get(&key_table, &row_of("alice")).await.unwrap();
    assert!(alices_row.as_ref().unwrap().contains("previous_handle"));
    assert!(
        notes
            .finish_owner_key_replacement(&privacy, "alice")
            .await
            .unwrap()
    );
    assert!(
        !notes
            .finish_owner_key_replacement(&privacy, "alice")
            .await
            .unwrap()
    );

    // Every record of hers opens, everywhere; bob's are untouched; the key table keeps one key.
    for n in 0..3 {
        let body = read(&store, &tables, &name, "alice", n).await.unwrap();
        assert_eq!(body, format!("alice's note {n}"));
    }
    assert_eq!(
        read(&store, &tables, &name, "bob", 1).await.unwrap(),
        "bob's note 1"
    );
    let rows = store.scan(&key_table, &Scan::all()).await.unwrap().items;
    assert!(rows.iter().all(|row| !row.contains("previous_handle")));

    // The backup's copy, put back, no longer opens: the old key is erased — also when a restore
    // of the key table brings back the row that kept it, until the sweep removes it.
    store.put(&table, backup, &Condition::Always).await.unwrap();
    let error = read(&store, &tables, &name, "alice", 0).await.unwrap_err();
    assert!(
        matches!(error, Error::Key(KeyError::OwnerKeyErased { .. })),
        "{error:?}"
    );
    let restored = alices_row.unwrap();
    store
        .put(&key_table, restored, &Condition::Always)
        .await
        .unwrap();
    let error = read(&store, &tables, &name, "alice", 0).await.unwrap_err();
    assert!(
        matches!(error, Error::Key(KeyError::OwnerKeyErased { .. })),
        "{error:?}"
    );
    let owner_keys = keys_of(&store, &tables);
    let sweep = owner_keys.owner_keys().unwrap();
    assert_eq!(sweep.reapply_erasures().await.unwrap(), 1);
    assert_eq!(sweep.reapply_erasures().await.unwrap(), 0);
    let row = store.get(&key_table, &row_of("alice")).await.unwrap();
    assert!(!row.unwrap().contains("previous_handle"));
    assert_eq!(
        read(&store, &tables, &name, "alice", 2).await.unwrap(),
        "alice's note 2"
    );

    // Only the erasure key makes a replacement: "replacing" added to a tombstone is tampering.
    let tombstones = keys_of(&store, &tables)
        .owner_keys()
        .unwrap()
        .tombstones()
        .table_ref()
        .clone();
    let genuine = store.scan(&tombstones, &Scan::all()).await.unwrap().items;
    for mut row in genuine.clone() {
        row.insert("replacing_since", AttributeValue::N("1".to_owned()));
        store
            .put(&tombstones, row, &Condition::Always)
            .await
            .unwrap();
    }
    let error = read(&store, &tables, &name, "alice", 1).await.unwrap_err();
    assert!(matches!(error, Error::Integrity(_)), "{error:?}");
    for row in genuine {
        store
            .put(&tombstones, row, &Condition::Always)
            .await
            .unwrap();
    }

    // A row gone during a replacement (deleted by a writer, or by an erasure that raced the
    // replacement's first step): the owner's next write makes a key of the new generation, and
    // every process accepts it.
    put_note(&notes, "carol", 0).await;
    assert!(notes.replace_owner_key(&privacy, "carol").await.unwrap());
    store
        .delete(&key_table, &row_of("carol"), &Condition::Always)
        .await
        .unwrap();
    let fresh = Table::<Note, _>::named(store.clone(), keys_of(&store, &tables), &name).unwrap();
    put_note(&fresh, "carol", 1).await;
    assert_eq!(
        read(&store, &tables, &name, "carol", 1).await.unwrap(),
        "carol's note 1"
    );

    // An erasure during a replacement erases both keys, and a key row put back from during it
    // stays erased.
    assert!(notes.replace_owner_key(&privacy, "bob").await.unwrap());
    put_note(&notes, "bob", 2).await;
    let bobs_row = store
        .get(&key_table, &row_of("bob"))
        .await
        .unwrap()
        .expect("bob's key row");
    assert!(notes.erase_owner(&privacy, "bob").await.unwrap());
    store
        .put(&key_table, bobs_row, &Condition::Always)
        .await
        .unwrap();
    for n in [0, 2] {
        let error = read(&store, &tables, &name, "bob", n).await.unwrap_err();
        assert!(
            matches!(error, Error::Key(KeyError::OwnerKeyErased { .. })),
            "note {n}: {error:?}"
        );
    }
}
