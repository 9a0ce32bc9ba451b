//! A model's transitions between versions, as a rolling deploy or a rollback sees them: a
//! previous version reads what a newer one indexed, and names the version it lacks for a record
//! that authenticates a field it does not know — never an integrity failure for a genuine
//! record; a field marked `unauthenticated` still opens the records that authenticated it, until
//! a re-encryption seals them again; a record sealed under its owner's key, read by a version
//! without a key per owner, names that version too.
// A case is named as the sentence it checks; its models and helpers serve the cases.
#![allow(missing_docs)]

use std::sync::Arc;

use crypt_model::error::DataError;
use crypt_model::lifecycle::Job;
use crypt_model::store::Condition;
use crypt_model::{
    AttributeValue, Caller, EncryptedItem, Error, Grant, IndexSecret, Item, Keys, LocalKeyring,
    Sensitive, Store, Table,
};

use super::erasure::{key_tables, with_key_table};
use super::lifecycle::complete;
use super::{Harness, s, table_with};

/// The previous version: no index, no nickname; a TTL another writer sets.
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "conf_transition")]
pub struct AccountV1 {
    #[partition_key]
    #[owner]
    pub user_id: String,
    #[sensitive]
    pub email: Sensitive<String>,
    pub plan: String,
    #[crypt_model(unauthenticated)]
    pub ttl: Option<u64>,
    #[crypt_model(version)]
    pub version: u64,
}

/// The newer version: a blind index on the email, and an optional nickname.
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "conf_transition")]
pub struct AccountV2 {
    #[partition_key]
    #[owner]
    pub user_id: String,
    #[sensitive(index = "exact")]
    pub email: Sensitive<String>,
    pub plan: String,
    pub nickname: Option<String>,
    #[crypt_model(unauthenticated)]
    pub ttl: Option<u64>,
    #[crypt_model(version)]
    pub version: u64,
}

fn keys() -> Arc<Keys> {
    Arc::new(
        Keys::new(LocalKeyring::new("k1", &[1; 32]).unwrap())
            .with_index_secret(IndexSecret::from_bytes(&[2; 32]).unwrap()),
    )
}

/// The raw stored item under `id`.
async fn raw<S: Store>(store: &S, table: &crypt_model::TableRef, id: &str) -> Item {
    store
        .get(table, &crypt_model::Key::new(s(id)))
        .await
        .unwrap()
        .unwrap()
}

fn is_another_model(error: &Error, naming: &str) -> bool {
    matches!(error, Error::Data(DataError::WrittenByAnotherModel { reason, .. }) if reason.contains(naming))
}

pub async fn a_previous_version_reads_what_a_newer_one_indexed_and_names_the_version_it_lacks(
    backend: &impl Harness,
) {
    let v2 = table_with::<AccountV2, _>(backend, keys())
        .await
        .with_grant(Grant::read("job").unwrap())
        .with_grant(Grant::write("job").unwrap());
    let store = v2.store().clone();
    let v1 = Table::<AccountV1, _>::named(store.clone(), keys(), v2.table_ref().name()).unwrap();
    for (id, nickname) in [("a0", None), ("a1", Some("ace".to_owned())), ("a2", None)] {
        let mut account = AccountV2 {
            user_id: id.into(),
            email: Sensitive::new(format!("{id}@example.com")),
            plan: "basic".into(),
            nickname,
            ttl: Some(1_900_000_000),
            version: 0,
        };
        v2.put(&Caller::user(id).unwrap(), &mut account)
            .await
            .unwrap();
    }
    let read = |id: &'static str| {
        let v1 = &v1;
        async move {
            v1.get(&Caller::user(id).unwrap(), &AccountV1::key(id).unwrap())
                .await
        }
    };
    // Indexed by the newer version: the previous one opens it (and ignores the index), beside
    // an unauthenticated TTL that neither version authenticates.
    let a0 = read("a0").await.unwrap().unwrap();
    assert_eq!(a0.email.expose_secret(), "a0@example.com");
    // Its update removes the index it does not declare rather than leave it unauthenticated:
    // the newer version reads the record, and finds it again after a backfill.
    let mut a2 = read("a2").await.unwrap().unwrap();
    a2.plan = "silver".into();
    v1.update(&Caller::user("a2").unwrap(), &mut a2, &[AccountV1::PLAN])
        .await
        .unwrap();
    let stored = raw(&store, v2.table_ref(), "a2").await;
    assert!(!stored.contains("__cm_ix_email"), "{stored:?}");
    let a2_caller = Caller::user("a2").unwrap();
    let again = v2.get(&a2_caller, &AccountV2::key("a2").unwrap()).await;
    assert_eq!(again.unwrap().unwrap().plan, "silver");
    let by_email = AccountV2::by_email("a2@example.com").unwrap();
    assert!(v2.find(&a2_caller, &by_email).await.unwrap().is_empty());
    let job = Caller::service("job").unwrap();
    complete(Job::backfill(&v2, &job)).await;
    assert_eq!(v2.find(&a2_caller, &by_email).await.unwrap().len(), 1);
    // A field it does not know, authenticated: named, not taken for tampering.
    let error = read("a1").await.unwrap_err();
    assert!(is_another_model(&error, "nickname"), "{error:?}");
    assert!(!format!("{error}").contains("ace"), "{error}");

    // The previous version writes a0 again: without the index, which the newer one reads.
    let mut a0 = a0;
    a0.plan = "gold".into();
    v1.put(&Caller::user("a0").unwrap(), &mut a0).await.unwrap();
    let again = v2
        .get(&Caller::user("a0").unwrap(), &AccountV2::key("a0").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.plan, "gold");

    // A header whose key id was edited to claim its owner's key: named, but as unverified.
    let original = raw(&store, v2.table_ref(), "a1").await;
    let mut forged = original.clone();
    let Some(AttributeValue::B(header)) = forged.get("__cm_header").cloned() else {
        panic!("a header")
    };
    let id = crypt_model::format::OWNER_KEY_ID.as_bytes();
    // The key id's length follows the version (and, in version 4, the suite byte).
    let at = if header[0] == 4 { 2 } else { 1 };
    let old_len = usize::from(u16::from_be_bytes([header[at], header[at + 1]]));
    let mut edited = header[..at].to_vec();
    edited.extend_from_slice(&u16::try_from(id.len()).unwrap().to_be_bytes());
    edited.extend_from_slice(id);
    edited.extend_from_slice(&header[at + 2 + old_len..]);
    forged.insert("__cm_header", AttributeValue::B(edited));
    store
        .put(v2.table_ref(), forged, &Condition::Always)
        .await
        .unwrap();
    let error = read("a1").await.unwrap_err();
    assert!(is_another_model(&error, "unverified"), "{error:?}");
    store
        .put(v2.table_ref(), original, &Condition::Always)
        .await
        .unwrap();

    // Tampering still reads as tampering, with or without an attribute it does not know.
    for id in ["a0", "a1"] {
        let mut item = raw(&store, v2.table_ref(), id).await;
        item.insert("plan", s("platinum"));
        store
            .put(v2.table_ref(), item, &Condition::Always)
            .await
            .unwrap();
        let error = v1
            .get(&Caller::user(id).unwrap(), &AccountV1::key(id).unwrap())
            .await
            .unwrap_err();
        assert!(matches!(error, Error::Integrity(_)), "{id}: {error:?}");
    }
    // An index attribute planted on a record the previous version wrote changes nothing.
    let mut planted = raw(&store, v2.table_ref(), "a0").await;
    planted.insert("plan", s("gold"));
    planted.insert("__cm_ix_other", AttributeValue::B(vec![1, 2]));
    store
        .put(v2.table_ref(), planted, &Condition::Always)
        .await
        .unwrap();
    assert!(read("a0").await.unwrap().is_some());
}

/// A model with an authenticated tier.
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "conf_unauthenticate")]
pub struct Tiered {
    #[partition_key]
    #[owner]
    pub user_id: String,
    #[sensitive]
    pub email: Sensitive<String>,
    pub tier: String,
}

/// The same, the tier now left to another writer.
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "conf_unauthenticate")]
pub struct Untiered {
    #[partition_key]
    #[owner]
    pub user_id: String,
    #[sensitive]
    pub email: Sensitive<String>,
    #[crypt_model(unauthenticated)]
    pub tier: String,
}

pub async fn a_field_marked_unauthenticated_opens_the_records_that_authenticated_it_until_they_are_sealed_again(
    backend: &impl Harness,
) {
    let k1 = || Arc::new(Keys::new(LocalKeyring::new("k1", &[1; 32]).unwrap()));
    let tiered = table_with::<Tiered, _>(backend, k1()).await;
    let store = tiered.store().clone();
    let name = tiered.table_ref().name().to_owned();
    for id in ["t0", "t1"] {
        let mut record = Tiered {
            user_id: id.into(),
            email: Sensitive::new(format!("{id}@example.com")),
            tier: "silver".into(),
        };
        tiered
            .put(&Caller::user(id).unwrap(), &mut record)
            .await
            .unwrap();
    }
    // The next version: both records still open.
    let rotated = Arc::new(Keys::new(
        LocalKeyring::new("k2", &[2; 32])
            .unwrap()
            .with_read_key("k1", &[1; 32])
            .unwrap(),
    ));
    let untiered = Table::<Untiered, _>::named(store.clone(), rotated, &name)
        .unwrap()
        .with_grant(Grant::read("job").unwrap())
        .with_grant(Grant::write("job").unwrap());
    let read = |id: &'static str| {
        let untiered = &untiered;
        async move {
            untiered
                .get(&Caller::user(id).unwrap(), &Untiered::key(id).unwrap())
                .await
        }
    };
    assert_eq!(read("t0").await.unwrap().unwrap().tier, "silver");
    // Changed by another writer before it is sealed again: still an integrity failure (the
    // record authenticates it).
    let mut changed = raw(&store, tiered.table_ref(), "t1").await;
    changed.insert("tier", s("gold"));
    store
        .put(tiered.table_ref(), changed, &Condition::Always)
        .await
        .unwrap();
    assert!(matches!(read("t1").await.unwrap_err(), Error::Integrity(_)));

    // The re-encryption seals t0 again under this version; then the tier may change.
    let report = Job::reencrypt(&untiered, &Caller::service("job").unwrap())
        .run()
        .await
        .unwrap();
    assert_eq!((report.counts.changed, report.counts.failed), (1, 1));
    let mut resealed = raw(&store, tiered.table_ref(), "t0").await;
    resealed.insert("tier", s("gold"));
    store
        .put(tiered.table_ref(), resealed, &Condition::Always)
        .await
        .unwrap();
    assert_eq!(read("t0").await.unwrap().unwrap().tier, "gold");
}

/// Notes, before and after the move to a key per owner.
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "conf_owner_move")]
pub struct SharedNote {
    #[partition_key]
    #[owner]
    pub user_id: String,
    #[sensitive]
    pub body: Sensitive<String>,
}

#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "conf_owner_move", key_per_owner)]
pub struct OwnedNote {
    #[partition_key]
    #[owner]
    pub user_id: String,
    #[sensitive]
    pub body: Sensitive<String>,
}

pub async fn a_version_without_a_key_per_owner_names_the_version_that_sealed_a_record_under_its_owners_key(
    backend: &impl Harness,
) {
    let store = backend.store();
    let tables = key_tables(backend, "conf_owner_move_keys").await;
    let owned = table_with::<OwnedNote, _>(backend, with_key_table(&store, &tables)).await;
    let shared = Table::<SharedNote, _>::named(
        store.clone(),
        Arc::new(Keys::new(LocalKeyring::new("k1", &[3; 32]).unwrap())),
        owned.table_ref().name(),
    )
    .unwrap();
    let ann = Caller::user("ann").unwrap();
    let mut note = SharedNote {
        user_id: "ann".into(),
        body: Sensitive::new("before the move".into()),
    };
    shared.put(&ann, &mut note).await.unwrap();
    // The newer version reads what the previous one wrote, and seals under the owner's key.
    let mut moved = owned
        .get(&ann, &OwnedNote::key("ann").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(moved.body.expose_secret(), "before the move");
    let before = raw(&store, owned.table_ref(), "ann").await;
    owned.put(&ann, &mut moved).await.unwrap();
    // The previous version is told which version wrote it, not about a missing KMS key.
    let error = shared
        .get(&ann, &SharedNote::key("ann").unwrap())
        .await
        .unwrap_err();
    assert!(is_another_model(&error, "key_per_owner"), "{error:?}");
    let owned = owned.with_grant(Grant::read("auditor").unwrap());
    let inventory = complete(Job::inventory(&owned, &Caller::service("auditor").unwrap())).await;
    assert_eq!(
        inventory.key_ids.keys().collect::<Vec<_>>(),
        [crypt_model::format::OWNER_KEY_ID]
    );

    // The copy under the shared key, put back: still read, with what it held then, until the
    // key table refuses shared keys (the inventory shows none are left); then it is tampering.
    store
        .put(owned.table_ref(), before, &Condition::Always)
        .await
        .unwrap();
    assert!(
        owned
            .get(&ann, &OwnedNote::key("ann").unwrap())
            .await
            .unwrap()
            .is_some()
    );
    let refusing = erasure_keys_refusing_shared(&store, &tables);
    let strict =
        Table::<OwnedNote, _>::named(store.clone(), refusing, owned.table_ref().name()).unwrap();
    let error = strict
        .get(&ann, &OwnedNote::key("ann").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Integrity(_)), "{error:?}");
}

/// The keys of [`with_key_table`], the key table refusing records under shared keys.
fn erasure_keys_refusing_shared<S: Store + Clone + 'static>(
    store: &S,
    tables: &super::erasure::KeyTables,
) -> Arc<Keys> {
    let owner_keys = super::erasure::owner_keys_with(store, tables, super::erasure::erasure_key())
        .refusing_shared_keys();
    Arc::new(Keys::new(LocalKeyring::new("k1", &[3; 32]).unwrap()).with_owner_keys(owner_keys))
}
