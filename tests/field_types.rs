//! The field types of docs/types.md, one by one: the plain attribute each is stored as, the bytes
//! of each sensitive encoding (part of the format), what malformed input gives, and
//! `Sensitive<T>` read straight from a request body. (Through a table on both stores: the
//! conformance suite's `types.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::num::{NonZeroI64, NonZeroU8};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use crypt_model::attribute::Attribute;
use crypt_model::plaintext::{Encoder, Plaintext};
use crypt_model::{AttributeValue, Sensitive};
use rust_decimal::Decimal;
use uuid::Uuid;

fn s(text: &str) -> AttributeValue {
    AttributeValue::S(text.into())
}

fn n(text: &str) -> AttributeValue {
    AttributeValue::N(text.into())
}

/// Stores `value`, checks the attribute, reads it back equal.
fn plain<T: Attribute + PartialEq + Debug>(value: T, stored: AttributeValue) {
    let attribute = value.to_attribute().unwrap();
    assert_eq!(attribute, stored, "{value:?}");
    assert_eq!(T::from_attribute(attribute).unwrap(), value);
}

/// Encodes `value`, checks the bytes, decodes it back equal, and checks that it wipes.
fn sensitive<T: Plaintext + PartialEq + Debug + Clone>(value: T, bytes: &[u8]) {
    let mut out = Encoder::new();
    value.encode(&mut out).unwrap();
    assert_eq!(out.as_slice(), bytes, "{value:?}");
    assert_eq!(T::decode(bytes).unwrap(), value);
    let mut wiped = value.clone();
    wiped.wipe();
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

#[test]
fn standard_types_are_stored_as_documented() {
    plain(Box::<str>::from("text"), s("text"));
    plain('é', s("é"));
    plain(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), s("192.0.2.1"));
    plain(Ipv6Addr::LOCALHOST, s("::1"));
    plain(
        UNIX_EPOCH + Duration::new(1_700_000_000, 500_000_000),
        n("1700000000.5"),
    );
    plain(UNIX_EPOCH - Duration::from_nanos(1), n("-0.000000001"));
    plain(UNIX_EPOCH, n("0"));
    plain(Duration::from_millis(1_500), n("1.5"));
    plain(NonZeroU8::new(7).unwrap(), n("7"));
    plain(NonZeroI64::new(-7).unwrap(), n("-7"));
    plain([1u8, 2, 3], AttributeValue::B(vec![1, 2, 3]));
    plain(
        ["a".to_owned(), "b".to_owned()],
        AttributeValue::L(vec![s("a"), s("b")]),
    );
    plain(
        ("x".to_owned(), 5u8),
        AttributeValue::L(vec![s("x"), n("5")]),
    );
    // Numbers come back from DynamoDB in any notation of the same value.
    assert_eq!(
        SystemTime::from_attribute(n("17E8")).unwrap(),
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    );
    assert_eq!(Duration::from_attribute(n("-0")).unwrap(), Duration::ZERO);
}

#[test]
fn other_crates_types_are_stored_as_documented() {
    plain(
        at("2024-05-01T12:00:00.5+02:00"),
        s("2024-05-01T10:00:00.500000000Z"),
    );
    plain(
        NaiveDate::from_ymd_opt(2024, 2, 29).unwrap(),
        s("2024-02-29"),
    );
    plain(
        NaiveDate::from_ymd_opt(2024, 2, 29)
            .unwrap()
            .and_hms_opt(1, 2, 3)
            .unwrap(),
        s("2024-02-29T01:02:03.000000000"),
    );
    let seen = time::OffsetDateTime::from_unix_timestamp(0).unwrap();
    plain(seen, s("1970-01-01T00:00:00.000000000Z"));
    plain(
        time::Date::from_calendar_date(2024, time::Month::February, 29).unwrap(),
        s("2024-02-29"),
    );
    let uuid = Uuid::from_u128(0x67e5_5044_10b1_426f_9247_bb68_0e5f_e0c8);
    plain(uuid, s("67e55044-10b1-426f-9247-bb680e5fe0c8"));
    plain(
        std::collections::BTreeSet::from([uuid]),
        AttributeValue::Ss(vec!["67e55044-10b1-426f-9247-bb680e5fe0c8".into()]),
    );
    assert_eq!(
        Uuid::from_attribute(s("67E5504410B1426F9247BB680E5FE0C8")).unwrap(),
        uuid
    );
    plain(Decimal::new(150, 2), n("1.5"));
    plain(Decimal::ZERO, n("0"));
    assert_eq!(
        Decimal::from_attribute(n("15E-1")).unwrap(),
        Decimal::new(15, 1)
    );
    plain(
        serde_json::json!({"a": [1, "x", null, true]}),
        AttributeValue::M(BTreeMap::from([(
            "a".to_owned(),
            AttributeValue::L(vec![
                n("1"),
                s("x"),
                AttributeValue::Null,
                AttributeValue::Bool(true),
            ]),
        )])),
    );
    // Written by another tool: any RFC 3339 offset is the same instant.
    assert_eq!(
        DateTime::<Utc>::from_attribute(s("2024-05-01T12:00:00+02:00")).unwrap(),
        at("2024-05-01T10:00:00Z")
    );
}

/// The error reading `value` as a `T` gives: it says what was expected and never echoes.
fn refused<T: Attribute + Debug>(value: AttributeValue) {
    let shown = format!("{value:?}");
    let error = T::from_attribute(value)
        .map(|read| panic!("{shown} was accepted as {read:?}"))
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("expected "), "{error}");
    assert!(
        !error.contains("secret-ish") && !error.contains("999"),
        "{error}"
    );
}

#[test]
fn wrong_or_malformed_plain_values_say_what_was_expected() {
    refused::<char>(s("ab"));
    refused::<Duration>(n("1E-10"));
    refused::<Duration>(n("-1"));
    refused::<NonZeroU8>(n("0"));
    refused::<IpAddr>(s("999.1.1.1"));
    refused::<NaiveDate>(s("2024-13-01"));
    refused::<Uuid>(s("secret-ish"));
    refused::<Decimal>(s("1.5"));
    refused::<[u8; 3]>(AttributeValue::B(vec![1, 2]));
    refused::<(String, u8)>(AttributeValue::L(vec![s("x")]));
    refused::<SystemTime>(n("1E-10"));
    refused::<DateTime<Utc>>(s("yesterday"));
    // Exactly, or not at all: 29 decimals do not fit a Decimal, and are not rounded.
    refused::<Decimal>(n("1.00000000000000000000000000001"));
    let year_10000 = NaiveDate::from_ymd_opt(10_000, 1, 1).unwrap();
    assert!(
        year_10000.to_attribute().is_err(),
        "four-digit years keep the text sortable"
    );
    // The last instant of year 9999 an hour west of UTC is in year 10000 in UTC: an error, not
    // the panic of `time`'s own conversion.
    let late = time::OffsetDateTime::parse(
        "9999-12-31T23:59:59-01:00",
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(late.to_attribute().is_err());
}

#[test]
fn sensitive_encodings_are_the_documented_bytes() {
    sensitive(Box::<str>::from("ab"), b"ab");
    sensitive('é', &[0, 0, 0, 0xe9]);
    sensitive([7u8; 3], &[7, 7, 7]);
    sensitive((1u8, "a".to_owned()), &[0, 0, 0, 1, 1, 0, 0, 0, 1, b'a']);
    let mut instant = vec![0, 0, 0, 0, 0x65, 0x53, 0xf1, 0x00];
    instant.extend_from_slice(&500_000_000u32.to_be_bytes());
    sensitive(
        UNIX_EPOCH + Duration::new(1_700_000_000, 500_000_000),
        &instant,
    );
    // Before the epoch, seconds round down and the nanoseconds count up from there.
    let mut before = (-1i64).to_be_bytes().to_vec();
    before.extend_from_slice(&750_000_000u32.to_be_bytes());
    sensitive(UNIX_EPOCH - Duration::from_millis(250), &before);
    sensitive(at("1969-12-31T23:59:59.75Z"), &before);
    sensitive(
        time::OffsetDateTime::from_unix_timestamp_nanos(-250_000_000).unwrap(),
        &before,
    );
    sensitive(Duration::new(1, 2), &[0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2]);
    sensitive(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), &[10, 0, 0, 1]);
    sensitive(
        IpAddr::V6(Ipv6Addr::LOCALHOST),
        &Ipv6Addr::LOCALHOST.octets(),
    );
    sensitive(NonZeroU8::new(9).unwrap(), &[9]);
    sensitive(NaiveDate::from_ymd_opt(1970, 1, 2).unwrap(), &[0, 0, 0, 1]);
    sensitive(NaiveDate::from_ymd_opt(1969, 12, 31).unwrap(), &[0xff; 4]);
    sensitive(
        time::Date::from_calendar_date(1970, time::Month::January, 2).unwrap(),
        &[0, 0, 0, 1],
    );
    let naive: NaiveDateTime = at("1969-12-31T23:59:59.75Z").naive_utc();
    sensitive(naive, &before);
    sensitive(Uuid::from_u128(1), &1u128.to_be_bytes());
    let decimal = Decimal::new(150, 2);
    sensitive(decimal, &decimal.serialize());
    sensitive(
        BTreeMap::from([(2u16, "b".to_owned())]),
        &[0, 0, 0, 1, 0, 0, 0, 2, 0, 2, 0, 0, 0, 1, b'b'],
    );
    let mut json = Encoder::new();
    serde_json::json!({"a": 1}).encode(&mut json).unwrap();
    assert_eq!(json.as_slice(), [0xa1, 0x61, b'a', 0x01], "CBOR");
    sensitive(serde_json::json!({"a": [1.5, "x", null]}), &{
        let mut out = Encoder::new();
        serde_json::json!({"a": [1.5, "x", null]})
            .encode(&mut out)
            .unwrap();
        out.as_slice().to_vec()
    });
    sensitive(HashMap::from([(Uuid::nil(), 1u8)]), &{
        let mut bytes = vec![0, 0, 0, 1, 0, 0, 0, 16];
        bytes.extend_from_slice(&[0; 16]);
        bytes.extend_from_slice(&[0, 0, 0, 1, 1]);
        bytes
    });
}

#[test]
fn malformed_sensitive_bytes_are_refused() {
    assert!(
        char::decode(&0xd800u32.to_be_bytes()).is_err(),
        "a surrogate"
    );
    assert!(<[u8; 4]>::decode(&[1, 2, 3]).is_err());
    assert!(
        <(u8, u8)>::decode(&[0, 0, 0, 1, 1]).is_err(),
        "one element of two"
    );
    assert!(
        <(u8,)>::decode(&[0, 0, 0, 1, 1, 9]).is_err(),
        "trailing bytes"
    );
    let mut bad_nanos = 0i64.to_be_bytes().to_vec();
    bad_nanos.extend_from_slice(&1_000_000_000u32.to_be_bytes());
    assert!(SystemTime::decode(&bad_nanos).is_err());
    assert!(DateTime::<Utc>::decode(&bad_nanos).is_err());
    assert!(Duration::decode(&[0; 11]).is_err());
    assert!(IpAddr::decode(&[0; 5]).is_err());
    assert!(NonZeroU8::decode(&[0]).is_err());
    assert!(Uuid::decode(&[0; 15]).is_err());
    let mut bad_decimal = Decimal::ONE.serialize();
    bad_decimal[2] = 29; // a scale past 28
    assert!(Decimal::decode(&bad_decimal).is_err());
    assert!(serde_json::Value::decode(&[0xff]).is_err());
}

#[test]
fn a_request_body_decodes_straight_into_sensitive_values() {
    #[derive(serde::Deserialize)]
    struct SignUp {
        email: String,
        ssn: Sensitive<String>,
        born: Sensitive<NaiveDate>,
        answers: Option<Sensitive<Vec<String>>>,
    }
    let body =
        r#"{"email":"a@example.com","ssn":"078-05-1120","born":"1990-02-28","answers":["blue"]}"#;
    let request: SignUp = serde_json::from_str(body).unwrap();
    assert_eq!(request.email, "a@example.com");
    assert_eq!(request.ssn.expose_secret(), "078-05-1120");
    assert_eq!(
        *request.born.expose_secret(),
        NaiveDate::from_ymd_opt(1990, 2, 28).unwrap()
    );
    assert_eq!(request.answers.unwrap().expose_secret(), &["blue"]);
    assert_eq!(format!("{:?}", request.ssn), "Sensitive([REDACTED])");
    // serde's own errors quote what they could not read; a sensitive field's do not.
    for (body, secret) in [
        (
            r#"{"email":"a","ssn":78051120,"born":"1990-02-28"}"#,
            "78051120",
        ),
        (
            r#"{"email":"a","ssn":"078-05-1120","born":"PIN1234"}"#,
            "PIN1234",
        ),
    ] {
        let error = serde_json::from_str::<SignUp>(body)
            .err()
            .unwrap()
            .to_string();
        assert!(!error.contains(secret), "{error}");
        assert!(error.contains("sensitive field"), "{error}");
    }
}
