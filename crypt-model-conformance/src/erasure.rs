//! Erasure by crypto-shredding: a model with a key per owner, an owner erased, and every copy of
//! their records failing closed while everyone else's stay readable.
// A case is named as the sentence it checks; its models and helpers serve the cases.
#![allow(missing_docs)]

use crypt_model::error::{AccessError, ConfigError, KeyError};
use std::sync::Arc;

use crypt_model::format::{HEADER_ATTRIBUTE, OWNER_KEY_ID};
use crypt_model::keyring::LocalErasureKey;
use crypt_model::lifecycle::Job;
use crypt_model::{
    AttributeValue, Caller, EncryptedItem, Error, Grant, Item, Keys, LocalKeyring, OwnerKeys, Scan,
    Sensitive, Store, Table, TableRef, Tombstones,
};

use super::{Harness, table_with};

/// Notes whose owners can be erased.
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "conf_shred", key_per_owner)]
pub struct Note {
    #[partition_key]
    #[owner]
    pub user_id: String,
    #[sort_key]
    pub n: u32,
    #[sensitive]
    pub body: Sensitive<String>,
}

/// `owner`'s stored records, raw.
async fn page_of<S: Store + Clone + 'static>(
    store: &S,
    notes: &Table<Note, S>,
    owner: &str,
) -> Vec<Item> {
    let page = store.scan(notes.table_ref(), &Scan::all()).await.unwrap();
    page.items
        .into_iter()
        .filter(|item| item.get("user_id") == Some(&owner.into()))
        .collect()
}

fn body(owner: &str, n: u32) -> String {
    format!("{owner}'s private note {n}")
}

/// A key table and its tombstone table, as the harness created them.
pub(crate) struct KeyTables {
    pub(crate) keys: String,
    pub(crate) tombstones: String,
}

/// Creates the key table `name` and its tombstone table.
pub(crate) async fn key_tables(backend: &impl Harness, name: &str) -> KeyTables {
    let keys = backend
        .table(TableRef::new(name, "owner_key", None).unwrap())
        .await;
    let tombstones = backend
        .table(TableRef::new(&format!("{name}_tombstones"), "tombstone", None).unwrap())
        .await;
    KeyTables {
        keys: keys.name().to_owned(),
        tombstones: tombstones.name().to_owned(),
    }
}

/// The application's erasure key in these cases.
pub(crate) fn erasure_key() -> LocalErasureKey {
    LocalErasureKey::new("erasure-1", &[5; 32]).unwrap()
}

/// The key table of `tables`, its tombstones authenticated by `key`.
pub(crate) fn owner_keys_with<S: Store + Clone + 'static>(
    store: &S,
    tables: &KeyTables,
    key: LocalErasureKey,
) -> OwnerKeys {
    let tombstones = Tombstones::new(store.clone(), &tables.tombstones, key).unwrap();
    OwnerKeys::new(store.clone(), &tables.keys, tombstones).unwrap()
}

/// The keys of an application with the key tables `tables`.
pub(crate) fn with_key_table<S: Store + Clone + 'static>(
    store: &S,
    tables: &KeyTables,
) -> Arc<Keys> {
    Arc::new(
        Keys::new(LocalKeyring::new("k1", &[3; 32]).unwrap()).with_owner_keys(owner_keys_with(
            store,
            tables,
            erasure_key(),
        )),
    )
}

pub async fn an_erased_owners_records_fail_closed_wherever_they_were_copied(
    backend: &impl Harness,
) {
    let store = backend.store();
    let keys = key_tables(backend, "conf_owner_keys").await;
    let writer = with_key_table(&store, &keys);
    let notes = table_with::<Note, _>(backend, writer.clone())
        .await
        .with_grant(Grant::read("reader").unwrap())
        .with_grant(Grant::delete("privacy").unwrap());
    for owner in ["alice", "bob"] {
        let caller = Caller::user(owner).unwrap();
        for n in 0..5 {
            let mut note = Note {
                user_id: owner.into(),
                n,
                body: Sensitive::new(body(owner, n)),
            };
            notes.put(&caller, &mut note).await.unwrap();
        }
    }
    // One key per owner: the provider generated two, and no table data key.
    assert_eq!(writer.keyring_calls().generate, 2);

    // A copy of alice's records, as a backup, an export or a stream record holds them.
    let page = store.scan(notes.table_ref(), &Scan::all()).await.unwrap();
    let copies: Vec<Item> = page
        .items
        .into_iter()
        .filter(|item| item.get("user_id") == Some(&"alice".into()))
        .collect();
    assert_eq!(copies.len(), 5);
    let alice = Caller::user("alice").unwrap();
    let first = Note::key("alice".to_owned(), 0u32).unwrap();
    assert!(notes.get(&alice, &first).await.unwrap().is_some());

    // Nobody else may erase her: another user, a service without the delete grant.
    for caller in [
        Caller::user("mallory").unwrap(),
        Caller::service("reader").unwrap(),
    ] {
        let error = notes.erase_owner(&caller, "alice").await.unwrap_err();
        assert!(
            matches!(error, Error::Access(AccessError::Denied { .. })),
            "{error:?}"
        );
    }
    assert!(notes.get(&alice, &first).await.unwrap().is_some());

    assert!(
        notes
            .erase_owner(&Caller::service("privacy").unwrap(), "alice")
            .await
            .unwrap()
    );

    // Her records fail closed: in the table, and from every copy, for any process.
    let error = notes.get(&alice, &first).await.unwrap_err();
    assert!(
        matches!(&error, Error::Key(KeyError::OwnerKeyErased { .. })),
        "{error:?}"
    );
    let elsewhere = with_key_table(&store, &keys);
    for copy in &copies {
        for reader in [&writer, &elsewhere] {
            let error = Note::from_item(copy.clone())
                .open(&alice, reader)
                .await
                .unwrap_err();
            assert!(
                matches!(&error, Error::Key(KeyError::OwnerKeyErased { .. })),
                "{error:?}"
            );
            assert!(!format!("{error} {error:?}").contains("private note"));
        }
    }
    // Bob's are untouched.
    let bob = Caller::user("bob").unwrap();
    let bobs = notes
        .query_all(&bob, Note::partition("bob".to_owned()).unwrap())
        .await
        .unwrap();
    assert_eq!(bobs.len(), 5);
    assert_eq!(bobs[4].body.expose_secret(), &body("bob", 4));

    // A service's scan passes over them, as over deleted records.
    let reader = Caller::service("reader").unwrap();
    let scanned = notes.scan(&reader, &Scan::all()).await.unwrap();
    assert_eq!(scanned.items.len(), 5);
    assert!(scanned.items.iter().all(|note| note.user_id == "bob"));

    // An inventory counts her records as erased, not as failures; a rotation does not fail for
    // them.
    let auditor =
        Table::<Note, _>::named(store.clone(), elsewhere.clone(), notes.table_ref().name())
            .unwrap()
            .with_grant(Grant::read("reader").unwrap())
            .with_grant(Grant::write("reader").unwrap());
    let inventory = Job::inventory(&auditor, &Caller::service("reader").unwrap())
        .run()
        .await
        .unwrap();
    let counts = inventory.counts;
    assert_eq!((counts.unchanged, counts.erased, counts.failed), (5, 5, 0));
    let rotation = Job::reencrypt(&auditor, &Caller::service("reader").unwrap())
        .run()
        .await
        .unwrap();
    assert_eq!(rotation.counts.failed, 0);
    assert!(rotation.is_complete());

    // If she comes back, she gets a new key; the old copies stay unreadable.
    let mut again = Note {
        user_id: "alice".into(),
        n: 9,
        body: Sensitive::new(body("alice", 9)),
    };
    notes.put(&alice, &mut again).await.unwrap();
    let read = notes
        .get(&alice, &Note::key("alice".to_owned(), 9u32).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.body.expose_secret(), &body("alice", 9));
    let error = Note::from_item(copies[0].clone())
        .open(&alice, &elsewhere)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Key(KeyError::OwnerKeyErased { .. })),
        "{error:?}"
    );

    // An edited record is not "erased": its handle, or its owner, changed in storage — or the
    // handle of an erased key copied in — names no key the key table holds or erased for that
    // owner: an integrity failure (so are bob's records read with a key table not theirs).
    let bobs_copy = page_of(&store, &notes, "bob").await.remove(0);
    let mut edited_handle = bobs_copy.clone();
    if let Some(AttributeValue::B(header)) = edited_handle.get_mut(HEADER_ATTRIBUTE) {
        let at = header
            .windows(OWNER_KEY_ID.len())
            .position(|w| w == OWNER_KEY_ID.as_bytes())
            .unwrap();
        header[at + OWNER_KEY_ID.len() + 2] ^= 1;
    }
    let mut moved = bobs_copy.clone();
    moved.insert("user_id", AttributeValue::S("nobody".into()));
    // A handle of alice's erased key, copied into bob's record, does not make it "erased".
    let mut borrowed = bobs_copy.clone();
    borrowed.insert(
        HEADER_ATTRIBUTE,
        copies[0].get(HEADER_ATTRIBUTE).unwrap().clone(),
    );
    let empty = key_tables(backend, "conf_owner_keys_other").await;
    for (item, reader, owner) in [
        (edited_handle, &elsewhere, "bob"),
        (moved, &elsewhere, "nobody"),
        (borrowed, &elsewhere, "bob"),
        (bobs_copy, &with_key_table(&store, &empty), "bob"),
    ] {
        let error = Note::from_item(item)
            .open(&Caller::user(owner).unwrap(), reader)
            .await
            .unwrap_err();
        assert!(matches!(&error, Error::Integrity(_)), "{error:?}");
    }

    // Without a key table, the model cannot be used at all.
    let bare = Arc::new(Keys::new(LocalKeyring::new("k1", &[3; 32]).unwrap()));
    assert!(matches!(
        Table::<Note, _>::named(store.clone(), bare, notes.table_ref().name()),
        Err(Error::Config(ConfigError::Unsupported { .. }))
    ));
}

pub async fn owner_keys_are_rewrapped_so_the_old_key_can_retire(backend: &impl Harness) {
    let store = backend.store();
    let keys = key_tables(backend, "conf_owner_keys_rotated").await;
    let with = |keyring: LocalKeyring| {
        Arc::new(Keys::new(keyring).with_owner_keys(owner_keys_with(&store, &keys, erasure_key())))
    };
    let old = || LocalKeyring::new("k1", &[3; 32]).unwrap();
    let notes = table_with::<Note, _>(backend, with(old()))
        .await
        .with_grant(Grant::delete("privacy").unwrap());
    let name = notes.table_ref().name().to_owned();
    let put = |owner: &'static str, n: u32| {
        let notes = &notes;
        async move {
            let mut note = Note {
                user_id: owner.into(),
                n,
                body: Sensitive::new(body(owner, n)),
            };
            let caller = Caller::user(owner).unwrap();
            notes.put(&caller, &mut note).await.unwrap();
        }
    };
    for owner in ["ann", "ben"] {
        put(owner, 1).await;
    }
    // Ann's key is being replaced: her row keeps the old key beside the new one (note 1 is under
    // the old, note 2 under the new), and the rewrap takes both.
    let privacy = Caller::service("privacy").unwrap();
    assert!(notes.replace_owner_key(&privacy, "ann").await.unwrap());
    put("ann", 2).await;

    let rotated = with(
        LocalKeyring::new("k2", &[4; 32])
            .unwrap()
            .with_read_key("k1", &[3; 32])
            .unwrap(),
    );
    assert_eq!(rotated.rewrap_owner_keys().await.unwrap(), 2);
    assert_eq!(rotated.rewrap_owner_keys().await.unwrap(), 0, "done once");

    // The old key retired: every owner's records open with the new key alone.
    let retired = with(LocalKeyring::new("k2", &[4; 32]).unwrap());
    let notes = Table::<Note, _>::named(store.clone(), retired, &name).unwrap();
    for (owner, n) in [("ann", 1), ("ann", 2), ("ben", 1)] {
        let note = notes
            .get(
                &Caller::user(owner).unwrap(),
                &Note::key(owner.to_owned(), n).unwrap(),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(note.body.expose_secret(), &body(owner, n));
    }
}

/// Notes first stored in plaintext, moving to a key per owner.
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "conf_shred_legacy", key_per_owner, migrate_from_plaintext)]
pub struct LegacyNote {
    #[partition_key]
    #[owner]
    pub user_id: String,
    #[sensitive]
    pub body: Sensitive<String>,
}

pub async fn a_dry_run_writes_nothing_not_even_an_owners_key(backend: &impl Harness) {
    let store = backend.store();
    let keys = key_tables(backend, "conf_owner_keys_dry").await;
    let app_keys = with_key_table(&store, &keys);
    let notes = table_with::<LegacyNote, _>(backend, app_keys.clone())
        .await
        .with_grant(Grant::read("migrator").unwrap())
        .with_grant(Grant::write("migrator").unwrap())
        .with_plaintext_migration(crate::lifecycle::plans(backend).await);
    for owner in ["ann", "ben"] {
        let legacy = Item::from_iter([
            ("user_id", super::s(owner)),
            ("body", super::s(&body(owner, 0))),
        ]);
        super::put(&store, notes.table_ref(), legacy).await;
    }
    crate::lifecycle::plan(&notes, "migrator").await;
    let before = app_keys.keyring_calls();
    let migrator = Caller::service("migrator").unwrap();
    let report = Job::migrate(&notes, &migrator)
        .dry_run(true)
        .run()
        .await
        .unwrap();
    assert_eq!((report.counts.changed, report.counts.plaintext), (2, 2));
    assert_eq!(
        report.key_ids.get(crypt_model::format::OWNER_KEY_ID),
        Some(&2)
    );
    // No record sealed, no owner key made (no row, no key-provider call).
    let scan = |table: TableRef| {
        let store = store.clone();
        async move { store.scan(&table, &Scan::all()).await.unwrap().items }
    };
    let key_table = app_keys.owner_keys().unwrap().table_ref().clone();
    let rows = scan(notes.table_ref().clone()).await;
    assert!(rows.iter().all(|row| row.contains("body")), "{rows:?}");
    assert!(
        scan(key_table.clone()).await.is_empty(),
        "a dry run made owner keys"
    );
    assert_eq!(app_keys.keyring_calls(), before);

    // The real run does what the dry run said.
    let report = Job::migrate(&notes, &migrator).run().await.unwrap();
    assert_eq!((report.counts.changed, report.counts.plaintext), (2, 0));
    assert_eq!(scan(key_table).await.len(), 2);
}

/// Members found by their email, whose owners can be erased.
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "conf_shred_search", key_per_owner)]
pub struct Member {
    #[partition_key]
    #[owner]
    pub user_id: String,
    #[sensitive(index = "exact", bits = 8)]
    pub email: Sensitive<String>,
}

pub async fn listings_pass_over_an_erased_owners_records_and_a_direct_read_names_the_erasure(
    backend: &impl Harness,
) {
    let store = backend.store();
    let tables = key_tables(backend, "conf_search_keys").await;
    let keys = Arc::new(
        Keys::new(LocalKeyring::new("k1", &[3; 32]).unwrap())
            .with_index_secret(crypt_model::IndexSecret::from_bytes(&[8; 32]).unwrap())
            .with_owner_keys(owner_keys_with(&store, &tables, erasure_key())),
    );
    let members = table_with::<Member, _>(backend, keys)
        .await
        .with_grant(Grant::read("directory").unwrap())
        .with_grant(Grant::delete("privacy").unwrap());
    // One email, two members (a shared inbox), so that a search finds both.
    for user in ["alice", "bob"] {
        let mut member = Member {
            user_id: user.into(),
            email: Sensitive::new("desk@example.com".into()),
        };
        members
            .put(&Caller::user(user).unwrap(), &mut member)
            .await
            .unwrap();
    }
    assert!(
        members
            .erase_owner(&Caller::service("privacy").unwrap(), "alice")
            .await
            .unwrap()
    );

    // A service's search and scan, and the owner's own query and search, pass over her record
    // as over a deleted one; a direct read of it says it was erased.
    let directory = Caller::service("directory").unwrap();
    let lookup = Member::by_email("desk@example.com").unwrap();
    let found = members.find(&directory, &lookup).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].user_id, "bob");
    let scanned = members.scan(&directory, &Scan::all()).await.unwrap();
    assert_eq!(scanned.items.len(), 1);
    let alice = Caller::user("alice").unwrap();
    assert!(members.find(&alice, &lookup).await.unwrap().is_empty());
    let partition = Member::partition("alice".to_owned()).unwrap();
    assert!(
        members
            .query_all(&alice, partition)
            .await
            .unwrap()
            .is_empty()
    );
    let error = members
        .get(&alice, &Member::key("alice".to_owned()).unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Key(KeyError::OwnerKeyErased { .. })),
        "{error:?}"
    );
}
