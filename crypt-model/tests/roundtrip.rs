//! Round trips of every supported type, plain (as an attribute) and sensitive (encoded,
//! encrypted and decrypted), and property tests over arbitrary strings and bytes up to 350 KB.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use crypt_model::error::DataError;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Debug;

use common::*;
use crypt_model::attribute::Attribute;
use crypt_model::format::MAX_FIELD_LEN;
use crypt_model::hazmat::Plaintexts;
use crypt_model::plaintext::{ConversionError, Encoder, Plaintext};
use crypt_model::{
    AttributeValue, Error, Item, Keys, Schema, Sensitive, SerdeAttribute, SerdePlaintext,
    zeroize::Zeroize,
};
use proptest::prelude::*;

const VAULT: Schema = Schema::new("vault", "owner", "owner").with_sensitive(&["value"]);

fn attribute_round_trip<T: Attribute + PartialEq + Debug>(value: T) -> AttributeValue {
    let stored = value.to_attribute().unwrap();
    assert_eq!(
        T::from_attribute(stored.clone()).unwrap(),
        value,
        "via {stored:?}"
    );
    stored
}

#[test]
fn plain_attributes_round_trip() {
    assert_eq!(
        attribute_round_trip(String::from("héllo")),
        AttributeValue::S("héllo".into())
    );
    assert_eq!(
        attribute_round_trip(String::new()),
        AttributeValue::S(String::new())
    );
    assert_eq!(attribute_round_trip(true), AttributeValue::Bool(true));
    assert_eq!(
        attribute_round_trip(vec![0u8, 255]),
        AttributeValue::B(vec![0, 255])
    );
    assert_eq!(
        attribute_round_trip(Option::<String>::None),
        AttributeValue::Null
    );
    attribute_round_trip(Some(7u32));
    attribute_round_trip(vec![String::from("a"), String::from("b")]);
    attribute_round_trip(vec![Some(1i64), None]);
    attribute_round_trip(vec![vec![1u8], vec![]]);
    attribute_round_trip(BTreeMap::from([("a".to_owned(), 1u8), ("b".to_owned(), 2)]));
    attribute_round_trip(HashMap::<String, Vec<String>>::from([(
        "k".to_owned(),
        vec!["v".to_owned()],
    )]));
    attribute_round_trip(1.5f64);
    attribute_round_trip(-0.000_001f64);
    attribute_round_trip(f64::MAX);
    attribute_round_trip(1.25f32);
}

#[test]
fn integers_keep_full_precision() {
    macro_rules! extremes {
        ($($t:ty),*) => {$(
            attribute_round_trip(<$t>::MIN);
            attribute_round_trip(<$t>::MAX);
            attribute_round_trip(0 as $t);
        )*};
    }
    extremes!(
        u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize
    );
    assert_eq!(
        attribute_round_trip(u128::MAX),
        AttributeValue::N("340282366920938463463374607431768211455".into())
    );
    assert_eq!(
        attribute_round_trip(i128::MIN),
        AttributeValue::N("-170141183460469231731687303715884105728".into())
    );
}

#[test]
fn sets_are_dynamodb_sets_and_an_empty_set_is_null() {
    let strings = BTreeSet::from(["x".to_owned(), "y".to_owned()]);
    assert!(matches!(attribute_round_trip(strings), AttributeValue::Ss(v) if v.len() == 2));
    let numbers = HashSet::<u64>::from([1, u64::MAX]);
    assert!(matches!(attribute_round_trip(numbers), AttributeValue::Ns(v) if v.len() == 2));
    let binaries = BTreeSet::from([vec![1u8], vec![2u8]]);
    assert!(matches!(attribute_round_trip(binaries), AttributeValue::Bs(v) if v.len() == 2));
    assert_eq!(
        attribute_round_trip(BTreeSet::<String>::new()),
        AttributeValue::Null
    );
}

#[test]
fn wrong_types_say_what_was_expected_and_not_what_was_found() {
    let error = String::from_attribute(AttributeValue::N("12345".into())).unwrap_err();
    assert_eq!(error.to_string(), "expected a string (S)");
    let error = u8::from_attribute(AttributeValue::N("300".into())).unwrap_err();
    assert_eq!(error.to_string(), "expected a number that fits in u8");
    assert!(!error.to_string().contains("300"));
    assert!(i32::from_attribute(AttributeValue::N("1.5".into())).is_err());
    assert!(Vec::<u8>::from_attribute(AttributeValue::S("x".into())).is_err());
    assert!(BTreeSet::<String>::from_attribute(AttributeValue::Ns(vec!["1".into()])).is_err());
    assert!(f64::NAN.to_attribute().is_err());
    assert!(f64::INFINITY.to_attribute().is_err());
}

#[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug, Zeroize)]
struct Card {
    number: String,
    expiry: (u8, u16),
    cvv: Option<String>,
}
impl SerdeAttribute for Card {}
impl SerdePlaintext for Card {}

fn card() -> Card {
    Card {
        number: CARD.to_owned(),
        expiry: (12, 2029),
        cvv: None,
    }
}

#[test]
fn serde_types_opt_in_as_attributes() {
    let stored = attribute_round_trip(card());
    assert!(matches!(stored, AttributeValue::M(_)));
    let error = Card::from_attribute(AttributeValue::S("nope".into())).unwrap_err();
    assert!(!error.to_string().contains("nope"));
}

/// Encrypts `value` as a sensitive field, decrypts it, and compares.
async fn sensitive_round_trip<T: Plaintext + PartialEq + Debug>(keys: &Keys, value: T) {
    let mut item = Item::from_iter([("owner", s("alice"))]);
    let mut plaintexts = Plaintexts::new();
    plaintexts.insert("value", &value).unwrap();
    crypt_model::hazmat::encrypt(keys, &VAULT, &mut item, &plaintexts)
        .await
        .unwrap();
    assert_item_clean(&item);
    let mut opened = crypt_model::hazmat::decrypt(keys, &VAULT, &item, &owner(&VAULT, &item))
        .await
        .unwrap();
    let back: Sensitive<T> = opened.take("value").unwrap().unwrap();
    assert_eq!(back.expose_secret(), &value);
}

#[tokio::test]
async fn sensitive_values_of_every_type_round_trip_through_the_cipher() {
    let keys = Keys::new(local("k1", 1));
    let c = &keys;
    sensitive_round_trip(c, SSN.to_owned()).await;
    sensitive_round_trip(c, String::new()).await;
    sensitive_round_trip(c, vec![0u8, 1, 255]).await;
    sensitive_round_trip(c, Vec::<u8>::new()).await;
    sensitive_round_trip(c, true).await;
    sensitive_round_trip(c, false).await;
    macro_rules! extremes {
        ($($t:ty),*) => {$(
            sensitive_round_trip(c, <$t>::MIN).await;
            sensitive_round_trip(c, <$t>::MAX).await;
        )*};
    }
    extremes!(
        u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize
    );
    sensitive_round_trip(c, -1.5e300f64).await;
    sensitive_round_trip(c, 3.25f32).await;
    sensitive_round_trip(c, Some(EMAIL.to_owned())).await;
    sensitive_round_trip(c, Option::<String>::None).await;
    sensitive_round_trip(c, vec![SSN.to_owned(), String::new(), NOTES.to_owned()]).await;
    sensitive_round_trip(c, vec![Some(1u32), None]).await;
    sensitive_round_trip(c, vec![vec![1u8, 2], vec![]]).await;
    sensitive_round_trip(c, BTreeSet::from([1i64, -1])).await;
    sensitive_round_trip(c, HashSet::from([SSN.to_owned()])).await;
    sensitive_round_trip(
        c,
        BTreeMap::from([("a".to_owned(), vec![1u16]), ("".to_owned(), vec![])]),
    )
    .await;
    sensitive_round_trip(c, HashMap::from([("k".to_owned(), CARD.to_owned())])).await;
    sensitive_round_trip(c, card()).await;
}

#[test]
fn plaintext_encodings_are_the_documented_bytes() {
    fn bytes<T: Plaintext>(value: T) -> Vec<u8> {
        let mut out = Encoder::new();
        value.encode(&mut out).unwrap();
        out.as_slice().to_vec()
    }
    assert_eq!(bytes(String::from("ab")), b"ab");
    assert_eq!(bytes(true), [1]);
    assert_eq!(bytes(0x0102u16), [1, 2]);
    assert_eq!(bytes(-1i32), [0xff; 4]);
    assert_eq!(bytes(7usize), [0, 0, 0, 0, 0, 0, 0, 7]);
    assert_eq!(bytes(1.0f64), 1.0f64.to_be_bytes());
    assert_eq!(bytes(Option::<u8>::None), [0]);
    assert_eq!(bytes(Some(5u8)), [1, 5]);
    assert_eq!(bytes(vec![9u8, 8]), [9, 8]);
    assert_eq!(
        bytes(vec![String::from("a"), String::from("bc")]),
        [0, 0, 0, 2, 0, 0, 0, 1, b'a', 0, 0, 0, 2, b'b', b'c']
    );
    assert_eq!(
        bytes(BTreeMap::from([(String::from("k"), 1u8)])),
        [0, 0, 0, 1, 0, 0, 0, 1, b'k', 0, 0, 0, 1, 1]
    );
}

#[test]
fn malformed_plaintext_bytes_are_refused_without_echoing_them() {
    assert!(String::decode(&[0xff, 0xfe]).is_err());
    assert!(bool::decode(&[2]).is_err());
    assert!(u32::decode(&[1, 2, 3]).is_err());
    assert!(usize::decode(&u64::MAX.to_be_bytes()).is_ok() || cfg!(target_pointer_width = "32"));
    assert!(Option::<u8>::decode(&[0, 1]).is_err());
    assert!(
        Vec::<String>::decode(&[0, 0, 0, 2, 0, 0, 0, 1, b'a']).is_err(),
        "count too large"
    );
    assert!(
        Vec::<String>::decode(&[0, 0, 0, 0, 9]).is_err(),
        "trailing bytes"
    );
    assert!(BTreeMap::<String, u8>::decode(&[0, 0, 0, 1, 0, 0, 0, 1, b'k']).is_err());
    // A count larger than the bytes can hold is refused before anything is sized from it.
    let huge_count = [0xff; 4];
    assert!(Vec::<String>::decode(&huge_count).is_err());
    assert!(HashSet::<u64>::decode(&huge_count).is_err());
    assert!(HashMap::<String, u64>::decode(&huge_count).is_err());
    assert!(HashMap::<String, u8>::decode(&[0, 0, 0, 2, 0, 0, 0, 1, b'k', 0, 0, 0, 1, 1]).is_err());
    let error = Card::decode(b"078-05-1120").unwrap_err();
    assert!(!error.to_string().contains("078"));
}

/// A value whose encoding always fails, as a type of the application's might.
struct Unencodable;

impl Plaintext for Unencodable {
    fn encode(&self, _: &mut Encoder) -> Result<(), ConversionError> {
        Err(ConversionError::expected("a value this type can encode"))
    }
    fn decode(_: &[u8]) -> Result<Self, ConversionError> {
        Err(ConversionError::expected("bytes this type can decode"))
    }
    fn wipe(&mut self) {}
}

#[test]
fn a_value_that_cannot_be_encoded_is_a_write_error_that_says_so() {
    let error = Plaintexts::new().insert("value", &Unencodable).unwrap_err();
    assert!(
        matches!(error, Error::Data(DataError::InvalidValue { .. })),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "attribute `value` cannot be stored: expected a value this type can encode"
    );
    // The read side of the same error type names the attribute as malformed.
    let mut plaintexts = Plaintexts::new();
    plaintexts.insert_bytes("value", zeroize::Zeroizing::new(b"\xff".to_vec()));
    let error = plaintexts.take::<String>("value").unwrap_err();
    assert_eq!(
        error.to_string(),
        "attribute `value` is malformed: expected UTF-8 text"
    );
}

#[test]
fn every_attribute_type_round_trips_through_dynamodb_json() {
    let item = Item::from_iter([
        ("s", s("text \"quoted\" \u{1}")),
        ("n", AttributeValue::N("-12.50".into())),
        ("b", AttributeValue::B(vec![0, 255, 7])),
        ("bool", AttributeValue::Bool(true)),
        ("null", AttributeValue::Null),
        (
            "l",
            AttributeValue::L(vec![s("a"), AttributeValue::N("1".into())]),
        ),
        (
            "m",
            AttributeValue::M(BTreeMap::from([
                ("z".to_owned(), s("last")),
                ("a".to_owned(), AttributeValue::Bs(vec![vec![1], vec![2]])),
            ])),
        ),
        ("ss", AttributeValue::Ss(vec!["x".into(), "y".into()])),
        ("ns", AttributeValue::Ns(vec!["1".into(), "2.5".into()])),
        ("bs", AttributeValue::Bs(vec![vec![9, 9]])),
    ]);
    let json = item.to_dynamodb_json();
    assert_eq!(Item::from_dynamodb_json(&json).unwrap(), item, "{json}");
    assert_eq!(json, item.to_dynamodb_json(), "the text is stable");
    let (a, z) = (json.find("\"a\":").unwrap(), json.find("\"z\":").unwrap());
    assert!(a < z, "map entries print in name order: {json}");
}

#[test]
fn malformed_dynamodb_json_names_the_attribute_and_never_echoes_the_text() {
    for (json, attribute) in [
        (
            r#"{"ok": {"S": "fine"}, "ssn": {"X": "078-05-1120"}}"#,
            "ssn",
        ),
        (r#"{"ssn": {"B": "078-05-1120!"}}"#, "ssn"),
        (r#"{"ssn": {"S": "078-05-1120", "N": "1"}}"#, "ssn"),
        (r#"{"ssn": "078-05-1120"}"#, "ssn"),
        (r#"["078-05-1120"]"#, "(item)"),
        ("078-05-1120", "(item)"),
    ] {
        let error = clean(Item::from_dynamodb_json(json).unwrap_err());
        assert!(
            matches!(&error, Error::Data(DataError::Malformed { attribute: a, .. }) if a == attribute),
            "{json}: {error:?}"
        );
    }
}

#[test]
fn sensitive_is_redacted_and_wipes_what_it_holds() {
    let ssn = Sensitive::new(SSN.to_owned());
    assert_eq!(format!("{ssn:?}"), "Sensitive([REDACTED])");
    assert_eq!(format!("{:?}", Some(&ssn)), "Some(Sensitive([REDACTED]))");

    // What drop calls: every type's wipe leaves nothing of the value.
    let mut text = SSN.to_owned();
    text.wipe();
    assert!(text.is_empty());
    let mut list = vec![SSN.to_owned(), EMAIL.to_owned()];
    list.wipe();
    assert!(list.is_empty());
    let mut map = BTreeMap::from([(SSN.to_owned(), EMAIL.to_owned())]);
    map.wipe();
    assert!(map.is_empty());
    let mut number = 123_456_789u64;
    Plaintext::wipe(&mut number);
    assert_eq!(number, 0);
    let mut c = card();
    Plaintext::wipe(&mut c);
    assert!(c.number.is_empty());
}

#[tokio::test]
async fn empty_and_350_kb_values_round_trip_and_oversized_ones_are_refused() {
    let keys = Keys::new(local("k1", 1));
    sensitive_round_trip(&keys, String::new()).await;
    sensitive_round_trip(&keys, "x".repeat(350 * 1024)).await;
    sensitive_round_trip(&keys, vec![0xa5u8; 350 * 1024]).await;

    let mut item = Item::from_iter([("owner", s("alice"))]);
    let mut plaintexts = Plaintexts::new();
    plaintexts
        .insert("value", &vec![0u8; MAX_FIELD_LEN + 1])
        .unwrap();
    let error = clean(
        crypt_model::hazmat::encrypt(&keys, &VAULT, &mut item, &plaintexts)
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(&error, Error::Data(DataError::InvalidValue { attribute, .. }) if attribute == "value")
    );
    assert_eq!(item.len(), 1, "nothing was added");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_round_trip_encrypted(value in any::<String>()) {
        let keys = Keys::new(local("k1", 1));
        runtime().block_on(sensitive_round_trip(&keys, value));
    }

    #[test]
    fn arbitrary_bytes_round_trip_encrypted(value in prop::collection::vec(any::<u8>(), 0..4096)) {
        let keys = Keys::new(local("k1", 1));
        runtime().block_on(sensitive_round_trip(&keys, value));
    }

    #[test]
    fn arbitrary_collections_round_trip_as_plaintext(
        value in prop::collection::btree_map(any::<String>(), prop::collection::vec(any::<Option<i128>>(), 0..4), 0..8)
    ) {
        let mut bytes = Encoder::new();
        value.encode(&mut bytes).unwrap();
        prop_assert_eq!(BTreeMap::decode(bytes.as_slice()).unwrap(), value);
    }

    #[test]
    fn arbitrary_numbers_round_trip_as_attributes(a in any::<i128>(), b in any::<u128>(), c in any::<f64>()) {
        prop_assert_eq!(i128::from_attribute(a.to_attribute().unwrap()).unwrap(), a);
        prop_assert_eq!(u128::from_attribute(b.to_attribute().unwrap()).unwrap(), b);
        if c.is_finite() {
            prop_assert_eq!(f64::from_attribute(c.to_attribute().unwrap()).unwrap(), c);
        }
    }

    #[test]
    fn arbitrary_strings_as_attributes(value in any::<String>(), key in any::<String>()) {
        let map = BTreeMap::from([(key, value.clone())]);
        prop_assert_eq!(BTreeMap::<String, String>::from_attribute(map.to_attribute().unwrap()).unwrap(), map);
    }
}

// Large values cost a scan of the stored item for secrets each: fewer cases cover the sizes.
proptest! {
    #![proptest_config(ProptestConfig { cases: 8, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn arbitrary_large_values_round_trip_encrypted(len in 0usize..=350 * 1024, byte in any::<u8>()) {
        let keys = Keys::new(local("k1", 1));
        runtime().block_on(sensitive_round_trip(&keys, vec![byte; len]));
    }
}
