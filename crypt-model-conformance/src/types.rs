//! The field types of docs/types.md through a table on the store: each plain type is stored as
//! the DynamoDB type the table says, and every type, plain and sensitive, reads back equal.
// A case is named as the sentence it checks; its models and helpers serve the cases.
#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use crypt_model::attribute::Attribute;
use crypt_model::{AttributeValue, Caller, EncryptedItem, Key, Sensitive, SortCondition};
use rust_decimal::Decimal;
use uuid::Uuid;

use crypt_model::Store as _;

use super::{Harness, table};

/// One record of each type; the sort key is a timestamp.
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "conf_typed")]
pub struct Typed {
    #[partition_key]
    pub account: Uuid,
    #[sort_key]
    pub at: DateTime<Utc>,
    #[owner]
    pub owner: String,
    pub day: NaiveDate,
    pub local: NaiveDateTime,
    pub seen: time::OffsetDateTime,
    pub due: time::Date,
    pub wall: time::PrimitiveDateTime,
    pub amount: Decimal,
    pub meta: serde_json::Value,
    pub when: SystemTime,
    pub ttl: Duration,
    pub ip: IpAddr,
    pub grade: char,
    pub label: Box<str>,
    pub count: NonZeroU32,
    pub digest: [u8; 4],
    pub pair: (String, u8),
    pub maybe_id: Option<Uuid>,
    #[sensitive]
    pub born: Sensitive<NaiveDate>,
    #[sensitive]
    pub token: Sensitive<Uuid>,
    #[sensitive]
    pub balance: Sensitive<Decimal>,
    #[sensitive]
    pub profile: Sensitive<serde_json::Value>,
    #[sensitive]
    pub last_ip: Sensitive<IpAddr>,
    #[sensitive]
    pub secret: Sensitive<[u8; 16]>,
    #[sensitive]
    pub initial: Sensitive<char>,
    #[sensitive]
    pub point: Sensitive<(i32, String)>,
    #[sensitive]
    pub scores: Sensitive<BTreeMap<u32, String>>,
    #[sensitive]
    pub signed_in: Sensitive<time::OffsetDateTime>,
    #[sensitive]
    pub since: Sensitive<SystemTime>,
    #[sensitive]
    pub visit: Sensitive<Option<DateTime<Utc>>>,
}

fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn typed(account: Uuid, at: DateTime<Utc>) -> Typed {
    let day = NaiveDate::from_ymd_opt(1990, 2, 28).unwrap();
    Typed {
        account,
        at,
        owner: "alice".into(),
        day,
        local: day.and_hms_nano_opt(23, 59, 58, 7).unwrap(),
        seen: time::OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap(),
        due: time::Date::from_calendar_date(2030, time::Month::January, 31).unwrap(),
        wall: time::PrimitiveDateTime::new(
            time::Date::from_calendar_date(2001, time::Month::March, 4).unwrap(),
            time::Time::from_hms(5, 6, 7).unwrap(),
        ),
        amount: Decimal::new(-12_345, 2),
        meta: serde_json::json!({"tags": ["a", "b"], "n": 1.5, "ok": true, "none": null}),
        when: UNIX_EPOCH + Duration::new(1_700_000_000, 5),
        ttl: Duration::from_millis(1_500),
        ip: IpAddr::V6(Ipv6Addr::LOCALHOST),
        grade: 'é',
        label: "plain label".into(),
        count: NonZeroU32::new(3).unwrap(),
        digest: [1, 2, 3, 4],
        pair: ("left".into(), 9),
        maybe_id: None,
        born: Sensitive::new(day),
        token: Sensitive::new(Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef)),
        balance: Sensitive::new(Decimal::new(100_050, 3)),
        profile: Sensitive::new(serde_json::json!({"diagnosis": "kept secret", "codes": [1, 2]})),
        last_ip: Sensitive::new("192.0.2.7".parse().unwrap()),
        secret: Sensitive::new([0xa5; 16]),
        initial: Sensitive::new('Ω'),
        point: Sensitive::new((-4, "north".into())),
        scores: Sensitive::new(BTreeMap::from([(7, "seven".into()), (1, "one".into())])),
        signed_in: Sensitive::new(
            time::OffsetDateTime::from_unix_timestamp_nanos(-1_000_000_001).unwrap(),
        ),
        since: Sensitive::new(UNIX_EPOCH - Duration::from_millis(250)),
        visit: Sensitive::new(Some(instant("2024-05-01T12:00:00.5Z"))),
    }
}

fn assert_same(a: &Typed, b: &Typed) {
    assert_eq!(
        (
            a.account, a.at, &a.owner, a.day, a.local, a.seen, a.due, a.wall
        ),
        (
            b.account, b.at, &b.owner, b.day, b.local, b.seen, b.due, b.wall
        )
    );
    assert_eq!(
        (a.amount, &a.meta, a.when, a.ttl, a.ip, a.grade, &a.label),
        (b.amount, &b.meta, b.when, b.ttl, b.ip, b.grade, &b.label)
    );
    assert_eq!(
        (a.count, a.digest, &a.pair, a.maybe_id),
        (b.count, b.digest, &b.pair, b.maybe_id)
    );
    macro_rules! same {
        ($($field:ident),*) => {$(
            assert_eq!(a.$field.expose_secret(), b.$field.expose_secret(), stringify!($field));
        )*};
    }
    same!(
        born, token, balance, profile, last_ip, secret, initial, point, scores, signed_in, since,
        visit
    );
}

pub async fn every_field_type_round_trips_as_its_documented_type(backend: &impl Harness) {
    let records = table::<Typed, _>(backend).await;
    let alice = Caller::user("alice").unwrap();
    let account = Uuid::from_u128(42);
    let mut record = typed(account, instant("2024-05-01T12:00:00Z"));
    records.put(&alice, &mut record).await.unwrap();

    let key = Typed::key(account, record.at).unwrap();
    assert_eq!(
        key,
        Key::new(account.to_attribute().unwrap()).with_sort(record.at.to_attribute().unwrap()),
        "the typed key is the key as stored"
    );
    let stored = backend
        .store()
        .get(records.table_ref(), &key)
        .await
        .unwrap()
        .unwrap();
    let expected = [
        ("account", "S"),
        ("at", "S"),
        ("day", "S"),
        ("local", "S"),
        ("seen", "S"),
        ("due", "S"),
        ("wall", "S"),
        ("amount", "N"),
        ("meta", "M"),
        ("when", "N"),
        ("ttl", "N"),
        ("ip", "S"),
        ("grade", "S"),
        ("label", "S"),
        ("count", "N"),
        ("digest", "B"),
        ("pair", "L"),
    ];
    for (name, kind) in expected {
        let value = stored.get(name).unwrap_or_else(|| panic!("{name} stored"));
        assert_eq!(value.type_name(), kind, "{name}: {value:?}");
    }
    assert_eq!(stored.get("maybe_id"), None, "None stores nothing");
    assert_eq!(
        stored.get("at"),
        Some(&AttributeValue::S("2024-05-01T12:00:00.000000000Z".into()))
    );
    assert_eq!(
        stored.get("amount"),
        Some(&AttributeValue::N("-123.45".into()))
    );
    assert_eq!(stored.get("ttl"), Some(&AttributeValue::N("1.5".into())));
    let text = format!("{stored:?}");
    assert!(
        !text.contains("kept secret") && !text.contains("north"),
        "{text}"
    );

    let back = records.get(&alice, &key).await.unwrap().unwrap();
    assert_same(&back, &record);
}

pub async fn timestamp_sort_keys_sort_by_time(backend: &impl Harness) {
    let records = table::<Typed, _>(backend).await;
    let alice = Caller::user("alice").unwrap();
    let account = Uuid::from_u128(7);
    // Written out of order; a half second after a whole one is the case that variable-width
    // fractions get wrong (".5Z" sorts before "Z").
    let times = [
        "2024-05-01T12:00:01Z",
        "2024-05-01T12:00:00.5Z",
        "2024-05-01T12:00:00Z",
        "2023-12-31T23:59:59.999999999Z",
    ];
    for time in times {
        records
            .put(&alice, &mut typed(account, instant(time)))
            .await
            .unwrap();
    }
    let read = records
        .query_all(&alice, Typed::partition(account).unwrap())
        .await
        .unwrap();
    let order: Vec<DateTime<Utc>> = read.iter().map(|r| r.at).collect();
    let mut sorted: Vec<DateTime<Utc>> = times.iter().map(|t| instant(t)).collect();
    sorted.sort();
    assert_eq!(order, sorted);
    // A range from typed values includes its bounds as stored (a bound written by hand as
    // `to_rfc3339()`, `…+00:00`, would sort before the stored `…Z` and drop the last one).
    let range = SortCondition::between(
        &instant("2024-05-01T12:00:00Z"),
        &instant("2024-05-01T12:00:01Z"),
    )
    .unwrap();
    let within = records
        .query_all(&alice, Typed::partition(account).unwrap().sort(range))
        .await
        .unwrap();
    assert_eq!(within.len(), 3);
    let since = SortCondition::of(SortCondition::Ge, &instant("2024-05-01T12:00:00.5Z")).unwrap();
    let later = records
        .query_all(&alice, Typed::partition(account).unwrap().sort(since))
        .await
        .unwrap();
    assert_eq!(later.len(), 2);
}
