//! The derive end to end: every field type through `to_item` → `from_item` → `open`, the owner
//! gate, grants and their log, and what a stored item can and cannot be made to do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crypt_model::error::{AccessError, DataError, IntegrityError, KeyError};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::Ordering;

use crypt_model::format::{HEADER_ATTRIBUTE, SEALED_ATTRIBUTE};
use crypt_model::{
    AttributeValue, CacheLimits, Caller, EncryptedItem, Error, Item, Keys, LocalKeyring, Sensitive,
    SerdeAttribute, SerdePlaintext,
};
use crypt_model_tests::keyrings::Switchable;
use crypt_model_tests::{CARD, NOTES, SSN, assert_clean, assert_item_clean, clean};
use zeroize::Zeroize;

#[derive(serde::Serialize, serde::Deserialize, Zeroize, PartialEq, Debug, Clone)]
struct CardDetails {
    number: String,
    expiry: String,
}
impl SerdePlaintext for CardDetails {}

#[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug, Clone)]
struct Address {
    city: String,
    zip: u32,
}
impl SerdeAttribute for Address {}

#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "profiles")]
struct Profile {
    #[partition_key]
    #[owner]
    user_id: String,
    #[sort_key]
    kind: String,
    #[sensitive]
    ssn: Sensitive<String>,
    #[sensitive]
    card: Option<Sensitive<CardDetails>>,
    #[crypt_model(rename = "name")]
    display_name: String,
}

fn profile(owner: &str) -> Profile {
    Profile {
        user_id: owner.into(),
        kind: "profile".into(),
        ssn: Sensitive::new(SSN.into()),
        card: Some(Sensitive::new(CardDetails {
            number: CARD.into(),
            expiry: "12/29".into(),
        })),
        display_name: "Alice".into(),
    }
}

/// Every supported type, plain and sensitive, with a separate owner and a numeric key.
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "everything")]
struct Everything {
    #[partition_key]
    id: u64,
    #[owner]
    owner: String,
    text: String,
    flag: bool,
    small: i8,
    big: u128,
    negative: i128,
    ratio: f64,
    bytes: Vec<u8>,
    maybe: Option<String>,
    absent: Option<u32>,
    list: Vec<String>,
    set: BTreeSet<String>,
    numbers: BTreeSet<i64>,
    map: HashMap<String, u16>,
    address: Address,
    #[sensitive]
    s_text: Sensitive<String>,
    #[sensitive]
    s_bytes: Sensitive<Vec<u8>>,
    #[sensitive]
    s_bool: Sensitive<bool>,
    #[sensitive]
    s_int: Sensitive<i128>,
    #[sensitive]
    s_float: Sensitive<f64>,
    #[sensitive]
    s_list: Sensitive<Vec<String>>,
    #[sensitive]
    s_map: Sensitive<BTreeMap<String, Vec<u8>>>,
    #[sensitive]
    s_set: Sensitive<BTreeSet<u32>>,
    #[sensitive]
    s_option: Sensitive<Option<String>>,
    #[sensitive]
    s_serde: Sensitive<CardDetails>,
    #[sensitive]
    s_some: Option<Sensitive<String>>,
    #[sensitive]
    s_none: Option<Sensitive<String>>,
}

fn everything() -> Everything {
    Everything {
        id: u64::MAX,
        owner: "carol".into(),
        text: "plain text".into(),
        flag: true,
        small: -128,
        big: u128::MAX,
        negative: i128::MIN,
        ratio: -0.125,
        bytes: vec![0, 1, 255],
        maybe: Some("here".into()),
        absent: None,
        list: vec!["a".into(), "b".into()],
        set: BTreeSet::from(["x".into()]),
        numbers: BTreeSet::from([-1, 1]),
        map: HashMap::from([("k".into(), 7)]),
        address: Address {
            city: "Lyon".into(),
            zip: 69001,
        },
        s_text: Sensitive::new(NOTES.into()),
        s_bytes: Sensitive::new(vec![9; 100]),
        s_bool: Sensitive::new(true),
        s_int: Sensitive::new(i128::MIN),
        s_float: Sensitive::new(f64::MAX),
        s_list: Sensitive::new(vec![SSN.into(), String::new()]),
        s_map: Sensitive::new(BTreeMap::from([("key".into(), vec![1, 2])])),
        s_set: Sensitive::new(BTreeSet::from([3, 4])),
        s_option: Sensitive::new(Some(CARD.into())),
        s_serde: Sensitive::new(CardDetails {
            number: CARD.into(),
            expiry: "01/30".into(),
        }),
        s_some: Some(Sensitive::new(SSN.into())),
        s_none: None,
    }
}

fn keys() -> Keys {
    Keys::new(LocalKeyring::new("k1", &[1; 32]).unwrap())
}

#[tokio::test]
async fn every_field_type_round_trips_through_to_item_from_item_and_open() {
    let keys = keys();
    let original = everything();
    let item = original.to_item(&keys).await.unwrap();
    assert_item_clean(&item);
    assert_eq!(
        item.get("id"),
        Some(&AttributeValue::N(u64::MAX.to_string()))
    );
    assert!(
        !item.contains("absent") && !item.contains("s_none"),
        "None stores nothing"
    );
    // Every sensitive field is in the one sealed message, none is an attribute of its own.
    for sensitive in Everything::SCHEMA.sensitive() {
        assert!(!item.contains(sensitive), "{sensitive}");
    }
    assert!(matches!(
        item.get(SEALED_ATTRIBUTE),
        Some(AttributeValue::B(_))
    ));

    let opened = Everything::from_item(item)
        .open(&Caller::user("carol").unwrap(), &keys)
        .await
        .unwrap();
    let o = &original;
    assert_eq!(
        (
            opened.id,
            &opened.owner,
            &opened.text,
            opened.flag,
            opened.small,
            opened.big,
            opened.negative
        ),
        (o.id, &o.owner, &o.text, o.flag, o.small, o.big, o.negative)
    );
    assert_eq!(
        (opened.ratio, &opened.bytes, &opened.maybe, opened.absent),
        (o.ratio, &o.bytes, &o.maybe, o.absent)
    );
    assert_eq!(
        (&opened.list, &opened.set, &opened.numbers, &opened.map),
        (&o.list, &o.set, &o.numbers, &o.map)
    );
    assert_eq!(opened.address, o.address);
    assert_eq!(opened.s_text.expose_secret(), o.s_text.expose_secret());
    assert_eq!(opened.s_bytes.expose_secret(), o.s_bytes.expose_secret());
    assert_eq!(opened.s_bool.expose_secret(), o.s_bool.expose_secret());
    assert_eq!(opened.s_int.expose_secret(), o.s_int.expose_secret());
    assert_eq!(opened.s_float.expose_secret(), o.s_float.expose_secret());
    assert_eq!(opened.s_list.expose_secret(), o.s_list.expose_secret());
    assert_eq!(opened.s_map.expose_secret(), o.s_map.expose_secret());
    assert_eq!(opened.s_set.expose_secret(), o.s_set.expose_secret());
    assert_eq!(opened.s_option.expose_secret(), o.s_option.expose_secret());
    assert_eq!(opened.s_serde.expose_secret(), o.s_serde.expose_secret());
    assert_eq!(
        opened.s_some.as_ref().map(|s| s.expose_secret()),
        Some(&SSN.to_owned())
    );
    assert!(opened.s_none.is_none());
}

#[test]
fn the_schema_is_generated_from_the_attributes() {
    let schema = Profile::SCHEMA;
    assert_eq!(schema.table(), "profiles");
    assert_eq!(schema.partition_key(), "user_id");
    assert_eq!(schema.sort_key(), Some("kind"));
    assert_eq!(schema.owner(), "user_id");
    assert_eq!(schema.sensitive(), &["ssn", "card"]);
    assert_eq!(schema.plain(), &["name"]);
    // The derive checks the rules at compile time and marks its schemas so; the same schema built
    // by hand, unmarked, passes the run-time check too.
    for schema in [Profile::SCHEMA, Everything::SCHEMA] {
        let mut rebuilt =
            crypt_model::Schema::new(schema.table(), schema.partition_key(), schema.owner())
                .with_sensitive(schema.sensitive())
                .with_plain(schema.plain())
                .with_unauthenticated(schema.unauthenticated())
                .with_blind_indexes(schema.blind_indexes());
        if let Some(sort_key) = schema.sort_key() {
            rebuilt = rebuilt.with_sort_key(sort_key);
        }
        if let Some(version) = schema.version() {
            rebuilt = rebuilt.with_version(version);
        }
        rebuilt.validate().unwrap();
        schema.validate().unwrap();
        assert_eq!(rebuilt.authenticated(), schema.authenticated());
    }
    assert_eq!(Everything::SCHEMA.owner(), "owner");
    assert_eq!(Everything::SCHEMA.sort_key(), None);
    assert_eq!(profile("alice").owner(), "alice");
}

#[tokio::test]
async fn the_owner_gets_plaintext_and_the_debug_output_is_redacted() {
    let keys = keys();
    let item = profile("alice").to_item(&keys).await.unwrap();
    assert_eq!(
        item.get("name"),
        Some(&AttributeValue::S("Alice".into())),
        "renamed"
    );
    let sealed = Profile::from_item(item);
    assert_clean(&format!("{sealed:?}"));
    assert_eq!(
        sealed.partition_key(),
        Some(&AttributeValue::S("alice".into()))
    );
    assert_eq!(
        sealed.sort_key(),
        Some(&AttributeValue::S("profile".into()))
    );
    assert_eq!(sealed.table(), "profiles");

    let opened = sealed
        .open(&Caller::user("alice").unwrap(), &keys)
        .await
        .unwrap();
    assert_eq!(opened.ssn.expose_secret(), SSN);
    assert_eq!(opened.card.as_ref().unwrap().expose_secret().number, CARD);
    let debug = format!("{opened:?}");
    assert!(debug.contains("ssn: Sensitive([REDACTED])"), "{debug}");
    assert!(
        debug.contains("card: Some(Sensitive([REDACTED]))"),
        "{debug}"
    );
    assert_clean(&debug);
    assert_clean(&format!("{opened:#?}"));
}

#[tokio::test]
async fn another_caller_is_refused_before_any_key_is_unwrapped() {
    let writer = keys();
    let item = profile("alice").to_item(&writer).await.unwrap();

    let (keyring, down) = Switchable::new(LocalKeyring::new("k1", &[1; 32]).unwrap());
    let reader = Keys::with_cache_limits(keyring, CacheLimits::disabled());
    for caller in [
        Caller::user("mallory").unwrap(),
        Caller::user("alice.").unwrap(),
        Caller::user("ALICE").unwrap(),
        Caller::service("alice").unwrap(),
    ] {
        let error = clean(
            Profile::from_item(item.clone())
                .open(&caller, &reader)
                .await
                .unwrap_err(),
        );
        // A service without any grant is told that it has none (configuration), a user that
        // the record is not theirs.
        assert!(
            matches!(&error, Error::Access(AccessError::Denied { caller: c, table }) if c == caller.id() && table == "profiles")
                || matches!(&error, Error::Access(AccessError::NoGrant { service, table, .. }) if service == caller.id() && table == "profiles"),
            "{caller:?}: {error:?}"
        );
    }
    assert_eq!(
        reader.keyring_calls().unwrap,
        0,
        "no key was unwrapped for a refused caller"
    );

    // Refusal does not depend on the key provider: it is decided first.
    down.store(true, Ordering::SeqCst);
    let error = Profile::from_item(item.clone())
        .open(&Caller::user("mallory").unwrap(), &reader)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Access(AccessError::Denied { .. })));
    let error = Profile::from_item(item)
        .open(&Caller::user("alice").unwrap(), &reader)
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Key(KeyError::Provider { .. })),
        "the owner reaches the key provider"
    );
}

#[tokio::test]
async fn rewriting_the_stored_owner_to_the_attacker_gives_an_integrity_error() {
    let keys = keys();
    let item = profile("alice").to_item(&keys).await.unwrap();
    let mut stolen = item.clone();
    stolen.insert("user_id", AttributeValue::S("mallory".into()));
    let sealed = Profile::from_item(stolen);
    assert_eq!(
        sealed.owner(),
        Some("mallory"),
        "the gate passes: mallory is the stored owner"
    );
    let error = clean(
        sealed
            .open(&Caller::user("mallory").unwrap(), &keys)
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(&error, Error::Integrity(IntegrityError { attribute, .. }) if attribute == SEALED_ATTRIBUTE),
        "{error:?}"
    );

    // Same with an owner that is not the partition key.
    let item = everything().to_item(&keys).await.unwrap();
    let mut stolen = item.clone();
    stolen.insert("owner", AttributeValue::S("mallory".into()));
    let error = clean(
        Everything::from_item(stolen)
            .open(&Caller::user("mallory").unwrap(), &keys)
            .await
            .unwrap_err(),
    );
    assert!(matches!(error, Error::Integrity(_)), "{error:?}");
}

#[tokio::test]
async fn opening_names_missing_and_malformed_attributes_and_never_their_values() {
    let keys = keys();
    let alice = Caller::user("alice").unwrap();
    let item = profile("alice").to_item(&keys).await.unwrap();
    let opened = |item: Item| {
        let (keys, alice) = (&keys, &alice);
        async move {
            clean(
                Profile::from_item(item)
                    .open(alice, keys)
                    .await
                    .unwrap_err(),
            )
        }
    };
    let without = |name: &str| {
        let mut item = item.clone();
        item.remove(name);
        item
    };
    let with = |name: &str, value: AttributeValue| {
        let mut item = item.clone();
        item.insert(name, value);
        item
    };
    // The record's shape first: a missing key or header is named.
    for name in ["kind", HEADER_ATTRIBUTE] {
        let error = opened(without(name)).await;
        assert!(
            matches!(&error, Error::Data(DataError::Missing { attribute }) if attribute == name),
            "{name}: {error:?}"
        );
    }
    // A deleted, retyped or planted authenticated attribute fails the whole item's check.
    for edited in [
        without("name"),
        without(SEALED_ATTRIBUTE),
        with("name", AttributeValue::N("4111111111111111".into())),
    ] {
        let error = opened(edited).await;
        assert!(matches!(&error, Error::Integrity(_)), "{error:?}");
    }
    // An owner that is no string belongs to no one: refused, as any record of someone else.
    for edited in [
        without("user_id"),
        with("user_id", AttributeValue::N("1".into())),
    ] {
        let error = opened(edited).await;
        assert!(
            matches!(&error, Error::Access(AccessError::Denied { .. })),
            "{error:?}"
        );
    }
    for (name, value) in [
        ("ssn", AttributeValue::S(SSN.into())),
        ("card", AttributeValue::B(vec![1])),
        (HEADER_ATTRIBUTE, AttributeValue::S(CARD.into())),
    ] {
        let error = opened(with(name, value)).await;
        assert!(
            matches!(&error, Error::Data(DataError::Malformed { attribute, .. }) if attribute == name),
            "{name}: {error:?}"
        );
        assert!(!error.to_string().contains("4111111111111111"));
    }
    let error = opened(with(HEADER_ATTRIBUTE, AttributeValue::B(vec![9]))).await;
    assert!(
        matches!(
            error,
            Error::Data(DataError::UnsupportedVersion { version: 9, .. })
        ),
        "{error:?}"
    );
    // An optional sensitive field may be absent: it is simply not in the sealed message.
    let mut no_card = profile("alice");
    no_card.card = None;
    let stored = no_card.to_item(&keys).await.unwrap();
    let opened = Profile::from_item(stored)
        .open(&alice, &keys)
        .await
        .unwrap();
    assert!(opened.card.is_none());
}

#[tokio::test]
async fn a_value_that_cannot_be_stored_fails_the_write_naming_the_field() {
    #[derive(EncryptedItem)]
    #[crypt_model(table = "measurements")]
    struct Measurement {
        #[partition_key]
        #[owner]
        user: String,
        value: f64,
    }
    let error = Measurement {
        user: "u".into(),
        value: f64::NAN,
    }
    .to_item(&keys())
    .await
    .unwrap_err();
    assert!(
        matches!(&error, Error::Data(DataError::InvalidValue { attribute, .. }) if attribute == "value"),
        "{error:?}"
    );
}
