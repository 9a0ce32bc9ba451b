//! Searchable sensitive fields: blind indexes on the memory store and on DynamoDB (moto).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod moto;

use crypt_model::error::{AccessError, ConfigError};
use std::collections::BTreeMap;
use std::sync::Arc;

use crypt_model::{
    AttributeValue, Caller, EncryptedItem, Error, IndexSecret, Keys, LocalKeyring, MemoryStore,
    Sensitive, Store, Table, TableRef,
};
use crypt_model_dynamo::{DynamoStore, ProvisionOptions, provision};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "idx_people")]
struct Person {
    #[partition_key]
    id: String,
    #[owner]
    owner: String,
    #[sensitive(index = "exact", normalize = "trim_lowercase")]
    email: Sensitive<String>,
    #[sensitive(index = "exact", bits = 8)]
    city: Sensitive<String>,
    #[sensitive(index = "exact", scope = "owner")]
    ssn: Option<Sensitive<String>>,
}

fn person(id: usize, owner: &str, email: &str, city: &str, ssn: Option<&str>) -> Person {
    Person {
        id: format!("p{id:05}"),
        owner: owner.into(),
        email: Sensitive::new(email.into()),
        city: Sensitive::new(city.into()),
        ssn: ssn.map(|s| Sensitive::new(s.into())),
    }
}

fn keys(secret: IndexSecret) -> Arc<Keys> {
    Arc::new(Keys::new(LocalKeyring::new("k1", &[3; 32]).unwrap()).with_index_secret(secret))
}

fn secret(byte: u8) -> IndexSecret {
    IndexSecret::from_bytes(&[byte; 32]).unwrap()
}

type People<S> = Table<Person, S>;

async fn memory_table(keys: Arc<Keys>) -> People<MemoryStore> {
    Table::new(MemoryStore::new(), keys).unwrap()
}

async fn dynamo_table(keys: Arc<Keys>) -> People<DynamoStore> {
    let client = moto::dynamo();
    let table = TableRef::for_schema(&moto::unique("idx-people"), &Person::SCHEMA).unwrap();
    provision(&client, &table, ProvisionOptions::default())
        .await
        .unwrap();
    Table::named(DynamoStore::new(client), keys, table.name()).unwrap()
}

async fn put_all<S: Store>(table: &People<S>, people: Vec<Person>) {
    for mut p in people {
        let owner = Caller::user(p.owner.clone()).unwrap();
        table.put(&owner, &mut p).await.unwrap();
    }
}

async fn finds_by_exact_value_with_and_without_normalisation<S: Store>(table: People<S>) {
    let alice = Caller::user("alice").unwrap();
    put_all(
        &table,
        vec![
            person(1, "alice", "  Alice@Example.COM ", "Lyon", None),
            person(2, "alice", "bob@example.com", "Paris", None),
        ],
    )
    .await;
    let found = table
        .find(&alice, &Person::by_email("alice@example.com").unwrap())
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        ["p00001"]
    );
    let found = table
        .find(&alice, &Person::by_email("ALICE@example.com  ").unwrap())
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "the search value is normalised too");
    // `city` is not normalised: the exact bytes only.
    assert_eq!(
        table
            .find(&alice, &Person::by_city("Lyon").unwrap())
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        table
            .find(&alice, &Person::by_city("lyon").unwrap())
            .await
            .unwrap()
            .is_empty()
    );
    // Another user finds nothing, though the (table-scoped) index value is the same.
    assert!(
        table
            .find(
                &Caller::user("mallory").unwrap(),
                &Person::by_email("alice@example.com").unwrap()
            )
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn memory_finds_by_exact_value() {
    finds_by_exact_value_with_and_without_normalisation(memory_table(keys(secret(1))).await).await;
}

#[tokio::test]
async fn dynamo_finds_by_exact_value() {
    finds_by_exact_value_with_and_without_normalisation(dynamo_table(keys(secret(1))).await).await;
}

/// With an 8-bit index, many cities share an index value; every search still returns exactly
/// the true matches.
async fn narrow_index_has_no_false_positives<S: Store>(table: People<S>, records: usize) {
    let cities: Vec<String> = (0..300).map(|i| format!("city-{i}")).collect();
    let mut truth: BTreeMap<String, usize> = BTreeMap::new();
    let mut people = Vec::with_capacity(records);
    for i in 0..records {
        let city = &cities[(i * 7919) % cities.len()];
        *truth.entry(city.clone()).or_default() += 1;
        people.push(person(
            i,
            "census",
            &format!("user{i}@example.com"),
            city,
            None,
        ));
    }
    let census = Caller::user("census").unwrap();
    put_all(&table, people).await;
    let mut checked = 0;
    for city in cities.iter().step_by(25) {
        let found = table
            .find(&census, &Person::by_city(city.clone()).unwrap())
            .await
            .unwrap();
        assert_eq!(found.len(), truth.get(city).copied().unwrap_or(0), "{city}");
        assert!(found.iter().all(|p| p.city.expose_secret() == city));
        checked += 1;
    }
    assert!(checked >= 10);
    let never = table
        .find(&census, &Person::by_city("atlantis").unwrap())
        .await
        .unwrap();
    assert!(never.is_empty());
}

#[tokio::test]
async fn memory_narrow_index_over_2000_records() {
    narrow_index_has_no_false_positives(memory_table(keys(secret(2))).await, 2000).await;
}

#[tokio::test]
async fn dynamo_narrow_index() {
    narrow_index_has_no_false_positives(dynamo_table(keys(secret(2))).await, 300).await;
}

fn index_attribute(item: &crypt_model::Item, field: &str) -> Vec<u8> {
    match item.get(&format!("__cm_ix_{field}")) {
        Some(AttributeValue::B(bytes)) => bytes.clone(),
        other => panic!("{field}: {other:?}"),
    }
}

#[tokio::test]
async fn an_owner_scoped_index_does_not_link_owners() {
    let keys = keys(secret(4));
    let a = person(1, "alice", "a@x.io", "Lyon", Some("078-05-1120"))
        .to_item(&keys)
        .await
        .unwrap();
    let b = person(2, "bob", "b@x.io", "Lyon", Some("078-05-1120"))
        .to_item(&keys)
        .await
        .unwrap();
    assert_ne!(
        index_attribute(&a, "ssn"),
        index_attribute(&b, "ssn"),
        "same SSN, two owners"
    );
    assert_eq!(
        index_attribute(&a, "city"),
        index_attribute(&b, "city"),
        "table scope links them"
    );

    let table = memory_table(keys).await;
    put_all(
        &table,
        vec![
            person(1, "alice", "a@x.io", "Lyon", Some("078-05-1120")),
            person(2, "bob", "b@x.io", "Lyon", Some("078-05-1120")),
        ],
    )
    .await;
    let mine = table
        .find(
            &Caller::user("alice").unwrap(),
            &Person::by_ssn("078-05-1120").unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        mine.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        ["p00001"]
    );
    // Even a service granted read cannot search an owner-scoped index.
    let table = table.with_grant(crypt_model::Grant::read("support").unwrap());
    let error = table
        .find(
            &Caller::service("support").unwrap(),
            &Person::by_ssn("078-05-1120").unwrap(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Access(AccessError::OwnerScopedIndex { field }) if field == "ssn"),
        "{error:?}"
    );
}

#[tokio::test]
async fn index_values_are_keyed_and_change_with_the_secret() {
    let email = "carol@example.com";
    let one = person(1, "carol", email, "Lyon", Some("123"))
        .to_item(&keys(secret(5)))
        .await
        .unwrap();
    let two = person(1, "carol", email, "Lyon", Some("123"))
        .to_item(&keys(secret(6)))
        .await
        .unwrap();
    let stored = index_attribute(&one, "email");
    assert_eq!(stored.len(), 2, "16 bits by default");
    let sha = Sha256::digest(email.as_bytes());
    let empty_hmac = <Hmac<Sha256> as KeyInit>::new_from_slice(&[])
        .unwrap()
        .chain_update(email.as_bytes())
        .finalize()
        .into_bytes();
    for plain in [&sha[..], &empty_hmac[..]] {
        assert_ne!(
            &plain[..stored.len()],
            stored.as_slice(),
            "the index is a keyed MAC, not a plain hash"
        );
    }
    for field in ["email", "city", "ssn"] {
        assert_ne!(
            index_attribute(&one, field),
            index_attribute(&two, field),
            "{field}: a new secret changes it"
        );
    }
    // No index secret, no write.
    let bare = Keys::new(LocalKeyring::generate().unwrap());
    let error = person(1, "carol", email, "Lyon", None)
        .to_item(&bare)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Config(ConfigError::NoIndexSecret { .. }))
            && error.to_string().contains("with_index_secret"),
        "{error:?}"
    );
    // A table of the model is refused the same way when it is built, not at its first write.
    let error = Table::<Person, _>::new(MemoryStore::new(), Arc::new(bare))
        .err()
        .unwrap();
    assert!(
        matches!(&error, Error::Config(ConfigError::NoIndexSecret { .. })),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_index_secret_wraps_and_unwraps_with_a_keyring() {
    let keyring = LocalKeyring::new("k1", &[9; 32]).unwrap();
    let (secret, wrapped) = IndexSecret::generate_wrapped(&keyring).await.unwrap();
    let again = IndexSecret::unwrap(&keyring, &wrapped).await.unwrap();
    assert_eq!(format!("{secret:?}"), "IndexSecret([REDACTED])");
    let a = person(1, "d", "d@x.io", "Lyon", None)
        .to_item(&keys(secret))
        .await
        .unwrap();
    let b = person(1, "d", "d@x.io", "Lyon", None)
        .to_item(&keys(again))
        .await
        .unwrap();
    assert_eq!(index_attribute(&a, "email"), index_attribute(&b, "email"));
}

/// The application's own normaliser: digits only.
fn digits_only(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "idx_phones")]
struct Contact {
    #[partition_key]
    #[owner]
    user_id: String,
    #[sort_key]
    name: String,
    #[sensitive(index = "exact", normalize_with = "digits_only")]
    phone: Sensitive<String>,
}

#[tokio::test]
async fn a_user_normaliser_is_applied_to_stored_and_sought_values() {
    let table = Table::<Contact, _>::new(MemoryStore::new(), keys(secret(7))).unwrap();
    let alice = Caller::user("alice").unwrap();
    let mut contact = Contact {
        user_id: "alice".into(),
        name: "bob".into(),
        phone: Sensitive::new("+1 (555) 010-9999".into()),
    };
    table.put(&alice, &mut contact).await.unwrap();
    let found = table
        .find(&alice, &Contact::by_phone("1-555-010-9999").unwrap())
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].phone.expose_secret(), "+1 (555) 010-9999");
    assert!(
        table
            .find(&alice, &Contact::by_phone("1-555-010-9998").unwrap())
            .await
            .unwrap()
            .is_empty()
    );
}
