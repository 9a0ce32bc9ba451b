//! Authorization on every path, on every store: a record of someone else reads exactly like a
//! missing one (no item, no cursor, no error), grants have scopes, a service is never an owner,
//! and identities are checked.
// A case is named as the sentence it checks; its models and helpers serve the cases.
#![allow(missing_docs)]

use crate::fixtures::{Profile, SSN, profile};
use crypt_model::error::{AccessError, DataError, StorageError};
use crypt_model::store::Cursor;
use crypt_model::{
    AttributeValue, Caller, EncryptedItem, Error, Grant, Item, Key, Page, Query, Sensitive, Table,
    Write,
};

use crypt_model::Store as _;

use super::{Harness, put, s, table};

/// Entries of a shared partition (a group), each owned by one user: the owner is not in the key,
/// and a narrow blind index puts many owners' values in one index partition.
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "conf_entries")]
pub struct Entry {
    #[partition_key]
    pub group: String,
    #[sort_key]
    pub id: String,
    #[owner]
    pub user: String,
    #[sensitive(index = "exact", bits = 8)]
    pub email: Sensitive<String>,
}

fn entry(id: usize, user: &str) -> Entry {
    Entry {
        group: "g".into(),
        id: format!("e{id:02}"),
        user: user.into(),
        email: Sensitive::new(format!("{user}.{id}@example.com")),
    }
}

fn user(id: &str) -> Caller {
    Caller::user(id).unwrap()
}

fn service(name: &str) -> Caller {
    Caller::service(name).unwrap()
}

/// Follows `query`'s cursors for `caller`, checking every page: it holds at most `limit`
/// records, and its cursor names one of them. Returns the pages.
async fn pages<T: EncryptedItem + Send + Sync, S: crypt_model::Store>(
    table: &Table<T, S>,
    caller: &Caller,
    mut query: Query,
) -> Vec<Page<T>> {
    let mut pages = Vec::new();
    loop {
        let page = table.query(caller, &query).await.unwrap();
        let cursor = page.cursor.clone();
        pages.push(page);
        match cursor {
            Some(cursor) => query = query.after(Some(cursor)),
            None => return pages,
        }
    }
}

fn cursor_value(cursor: &Cursor, attribute: &str) -> String {
    match cursor.key().get(attribute) {
        Some(AttributeValue::S(value)) => value.clone(),
        other => panic!("cursor attribute {attribute}: {other:?}"),
    }
}

pub async fn a_foreign_partition_reads_like_a_missing_one(backend: &impl Harness) {
    let profiles = table::<Profile, _>(backend).await;
    let alice = user("alice");
    for kind in ["a", "b", "c"] {
        profiles
            .put(&alice, &mut profile("alice", kind))
            .await
            .unwrap();
    }
    let bob = user("bob");
    for partition in ["alice", "nobody"] {
        let page = profiles
            .query(&bob, &Query::partition(partition).limit(1))
            .await
            .unwrap();
        assert!(
            page.items.is_empty() && page.cursor.is_none(),
            "{partition}"
        );
        assert!(
            profiles
                .query_all(&bob, Query::partition(partition))
                .await
                .unwrap()
                .is_empty()
        );
    }
    // The owner pages through her own records; the last page has no cursor.
    let pages = pages(&profiles, &alice, Query::partition("alice").limit(1)).await;
    let kinds: Vec<Vec<String>> = pages
        .iter()
        .map(|p| p.items.iter().map(|r| r.kind.clone()).collect())
        .collect();
    assert_eq!(kinds, [["a"], ["b"], ["c"]]);
}

pub async fn pages_of_a_shared_partition_point_only_at_the_callers_records(backend: &impl Harness) {
    let entries = table::<Entry, _>(backend).await;
    // e00 alice, e01 bob, e02 alice, …, e09 bob: alice's last record is followed by bob's.
    for i in 0..10 {
        let owner = if i % 2 == 0 { "alice" } else { "bob" };
        entries
            .put(&user(owner), &mut entry(i, owner))
            .await
            .unwrap();
    }
    let alice = user("alice");
    let pages = pages(&entries, &alice, Query::partition("g").limit(1)).await;
    assert_eq!(
        pages.len(),
        5,
        "one page per record of alice's, and no empty last page"
    );
    for (i, page) in pages.iter().enumerate() {
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.items[0].user, "alice");
        match &page.cursor {
            Some(cursor) => assert_eq!(cursor_value(cursor, "id"), page.items[0].id),
            None => assert_eq!(i, 4, "only the page of her last record has no cursor"),
        }
    }
    let larger = pages_with_limit(&entries, &alice, 3).await;
    assert_eq!(larger, [3, 2]);

    // Someone with no record here sees what a missing partition shows.
    let carol = user("carol");
    for group in ["g", "missing"] {
        let page = entries
            .query(&carol, &Query::partition(group).limit(1))
            .await
            .unwrap();
        assert!(page.items.is_empty() && page.cursor.is_none(), "{group}");
    }
}

async fn pages_with_limit<S: crypt_model::Store>(
    entries: &Table<Entry, S>,
    caller: &Caller,
    limit: u32,
) -> Vec<usize> {
    let mut query = Query::partition("g").limit(limit);
    let mut sizes = Vec::new();
    loop {
        let page = entries.query(caller, &query).await.unwrap();
        sizes.push(page.items.len());
        match page.cursor {
            Some(cursor) => query = query.after(Some(cursor)),
            None => return sizes,
        }
    }
}

pub async fn an_index_partition_reveals_nothing_to_a_non_owner(backend: &impl Harness) {
    let entries = table::<Entry, _>(backend).await;
    for i in 0..20 {
        entries
            .put(&user("alice"), &mut entry(i, "alice"))
            .await
            .unwrap();
    }
    // Every value of the 8-bit index, as an attacker who knows the layout would try them.
    let mallory = user("mallory");
    for value in 0..=255u8 {
        let query = Query::index("cm_ix_email", AttributeValue::B(vec![value])).limit(1);
        let page = entries.query(&mallory, &query).await.unwrap();
        assert!(
            page.items.is_empty() && page.cursor.is_none(),
            "index value {value}"
        );
    }
    // The owner finds her own through the same index.
    let found = entries
        .find(
            &user("alice"),
            &Entry::by_email("alice.7@example.com").unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
}

pub async fn another_owners_malformed_item_reads_as_missing(backend: &impl Harness) {
    let entries = table::<Entry, _>(backend).await;
    let mut mine = entry(1, "alice");
    entries.put(&user("alice"), &mut mine).await.unwrap();
    // bob's item in the same partition, corrupted, with alice's index value so that her search
    // meets it.
    let stored = backend
        .store()
        .get(entries.table_ref(), &Key::new("g").with_sort("e01"))
        .await
        .unwrap()
        .unwrap();
    let index_attribute = Entry::SCHEMA.blind_indexes()[0].attribute();
    let mut planted = Item::from_iter([
        ("group", s("g")),
        ("id", s("e02")),
        ("user", s("bob")),
        ("__cm_header", AttributeValue::B(vec![1, 2, 3])),
        ("email", AttributeValue::S("not ciphertext".into())),
    ]);
    planted.insert(
        index_attribute,
        stored.get(index_attribute).unwrap().clone(),
    );
    put(&backend.store(), entries.table_ref(), planted).await;

    let alice = user("alice");
    let planted_key = Key::new("g").with_sort("e02");
    assert!(entries.get(&alice, &planted_key).await.unwrap().is_none());
    let all = entries
        .query_all(&alice, Query::partition("g"))
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    let batch = entries
        .batch_get(
            &alice,
            &[planted_key.clone(), Key::new("g").with_sort("e01")],
        )
        .await
        .unwrap();
    assert_eq!(batch.len(), 1);
    let found = entries
        .find(&alice, &Entry::by_email("alice.1@example.com").unwrap())
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    // Its owner learns of the corruption.
    assert!(matches!(
        entries.get(&user("bob"), &planted_key).await,
        Err(Error::Data(DataError::Malformed { attribute, .. })) if attribute == "email"
    ));
}

pub async fn grants_have_scopes_and_a_service_is_never_an_owner(backend: &impl Harness) {
    let profiles = table::<Profile, _>(backend).await;
    let alice = user("alice");
    profiles
        .put(&alice, &mut profile("alice", "main"))
        .await
        .unwrap();
    let key = Key::new("alice").with_sort("main");
    let profiles = profiles
        .with_grant(Grant::read("reader").unwrap())
        .with_grant(Grant::write("writer").unwrap())
        .with_grant(Grant::delete("deleter").unwrap());

    // Read: opens, and may neither write nor delete.
    let reader = service("reader");
    let read = profiles.get(&reader, &key).await.unwrap().unwrap();
    assert_eq!(read.ssn.expose_secret(), SSN);
    assert_eq!(
        profiles
            .query_all(&reader, Query::partition("alice"))
            .await
            .unwrap()
            .len(),
        1
    );
    let error = profiles
        .put(&reader, &mut profile("alice", "main"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Access(AccessError::Denied { .. })),
        "{error:?}"
    );
    assert!(!profiles.delete(&reader, &key).await.unwrap());

    // Write: writes for any owner, and reads nothing.
    let writer = service("writer");
    assert!(profiles.get(&writer, &key).await.unwrap().is_none());
    profiles
        .put(&writer, &mut profile("carol", "main"))
        .await
        .unwrap();
    assert!(!profiles.delete(&writer, &key).await.unwrap());
    let error = profiles
        .transact(&writer, vec![Write::Delete(key.clone())])
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Access(AccessError::Denied { .. })),
        "{error:?}"
    );

    // A service named like an owner is not that owner: with no grant, it is told so.
    let impostor = service("alice");
    let no_grant = |error: Error| {
        assert!(
            matches!(&error, Error::Access(AccessError::NoGrant { service, .. }) if service == "alice"),
            "{error:?}"
        );
    };
    no_grant(profiles.get(&impostor, &key).await.unwrap_err());
    no_grant(
        profiles
            .query_all(&impostor, Query::partition("alice"))
            .await
            .unwrap_err(),
    );
    no_grant(profiles.delete(&impostor, &key).await.unwrap_err());
    assert!(profiles.get(&alice, &key).await.unwrap().is_some());

    // Delete: deletes, and reads nothing.
    let deleter = service("deleter");
    assert!(profiles.get(&deleter, &key).await.unwrap().is_none());
    assert!(profiles.delete(&deleter, &key).await.unwrap());
    assert!(profiles.get(&alice, &key).await.unwrap().is_none());
}

/// A versioned record keyed by an email, its owner not in the key.
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "conf_accounts")]
pub struct Account {
    #[partition_key]
    pub email: String,
    #[owner]
    pub owner: String,
    #[crypt_model(version)]
    pub version: u64,
    #[sensitive]
    pub secret: Sensitive<String>,
}

fn account(email: &str, owner: &str, version: u64) -> Account {
    Account {
        email: email.into(),
        owner: owner.into(),
        version,
        secret: Sensitive::new(SSN.into()),
    }
}

pub async fn versioned_writes_read_a_foreign_record_as_a_missing_one(backend: &impl Harness) {
    let accounts = table::<Account, _>(backend).await;
    accounts
        .put(
            &user("alice"),
            &mut account("victim@example.com", "alice", 0),
        )
        .await
        .unwrap();
    let mallory = user("mallory");
    // A write "of an existing record" of mallory's, at a key alice holds and at a free one: the
    // same error, and nothing written.
    for email in ["victim@example.com", "nobody@example.com"] {
        let error = accounts
            .put(&mallory, &mut account(email, "mallory", 1))
            .await
            .unwrap_err();
        assert!(
            matches!(error, Error::Storage(StorageError::Conflict { .. })),
            "{email}: {error:?}"
        );
        let error = accounts
            .update(
                &mallory,
                &mut account(email, "mallory", 1),
                &[Account::SECRET],
            )
            .await
            .unwrap_err();
        assert!(
            matches!(error, Error::Storage(StorageError::Conflict { .. })),
            "{email}: {error:?}"
        );
    }
    let kept = accounts
        .get(&user("alice"), &Key::new("victim@example.com"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.version, 1);
}

pub async fn identities_are_checked(backend: &impl Harness) {
    for bad in [
        "",
        " ",
        "\t\n",
        "ali\u{7}ce",
        "bob\n",
        " alice",
        "alice ",
        "ali\u{200B}ce",
        "\u{202E}ecila",
        "\u{FEFF}bob",
    ] {
        for result in [Caller::user(bad), Caller::service(bad)] {
            assert!(
                matches!(
                    result,
                    Err(Error::Access(AccessError::InvalidIdentity { .. }))
                ),
                "{bad:?}: {result:?}"
            );
        }
        assert!(matches!(
            Grant::<Profile>::read(bad),
            Err(Error::Access(AccessError::InvalidIdentity { .. }))
        ));
    }
    // A record cannot be written with an owner no caller can be.
    let profiles = table::<Profile, _>(backend)
        .await
        .with_grant(Grant::write("writer").unwrap());
    for bad in ["", "  ", "a\rb"] {
        let error = profiles
            .put(&service("writer"), &mut profile(bad, "main"))
            .await
            .unwrap_err();
        assert!(
            matches!(error, Error::Access(AccessError::InvalidIdentity { .. })),
            "{bad:?}: {error:?}"
        );
        assert!(!error.to_string().contains(bad) || bad.trim().is_empty());
    }
    // A planted item whose owner is empty belongs to no one: no user ever opens it.
    let entries = table::<Entry, _>(backend).await;
    entries
        .put(&user("alice"), &mut entry(1, "alice"))
        .await
        .unwrap();
    let planted = Item::from_iter([
        ("group", s("g")),
        ("id", s("e02")),
        ("user", s("")),
        ("__cm_header", AttributeValue::B(vec![1])),
    ]);
    put(&backend.store(), entries.table_ref(), planted).await;
    let all = entries
        .query_all(&user("alice"), Query::partition("g"))
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
}
