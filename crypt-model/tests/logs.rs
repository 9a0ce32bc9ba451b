//! Log lines carry names, never values: every event crypt-model emits at any level, through a
//! whole life cycle of writes, reads, rotations and refusals, is searched for the secrets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::capture::capture;
use common::*;
use crypt_model::{AttributeValue, CacheLimits, Cipher, Error};

#[tokio::test]
async fn no_log_line_at_any_level_contains_a_secret() {
    let (captured, _guard) = capture();

    let cipher = Cipher::with_cache_limits(local("k1", 1), CacheLimits::default().max_items(1));
    let item = encrypted_profile(&cipher, "alice", "profile").await;
    encrypted_order(&cipher, "1", "carol").await;
    assert_profile_opens(&Cipher::new(local("k1", 1)), &item).await;

    let mut tampered = item.clone();
    tampered.insert("display_name", AttributeValue::S("Mallory".into()));
    let error = clean(
        cipher
            .decrypt(&PROFILES, &tampered, &owner(&PROFILES, &tampered))
            .await
            .unwrap_err(),
    );
    assert!(matches!(error, Error::Integrity { .. }));
    let mut moved = item.clone();
    moved.insert("user_id", AttributeValue::S(SSN.into()));
    clean(
        cipher
            .decrypt(&PROFILES, &moved, &owner(&PROFILES, &moved))
            .await
            .unwrap_err(),
    );

    let logs = captured.text();
    assert!(logs.contains("generated a new data key"), "{logs}");
    assert!(logs.contains("unwrapped a data key"), "{logs}");
    assert!(
        logs.contains("integrity check failed") && logs.contains("attribute=\"__cm_sealed\""),
        "{logs}"
    );
    // The moved record's key was an SSN: it must not be logged either.
    assert_clean(&logs);
}

#[test]
fn debug_output_shows_fingerprints_never_key_or_plain_values() {
    use crypt_model::store::{Condition, SortCondition};
    use crypt_model::{Item, Key, Query};

    let key = Key::new(EMAIL).with_sort(SSN);
    let same = Key::new(EMAIL).with_sort(SSN);
    let item = Item::from_iter([("email", s(EMAIL)), ("n", AttributeValue::N("4111".into()))]);
    let query = Query::partition(EMAIL).sort(SortCondition::BeginsWith(s(SSN)));
    let unprocessed = Error::Unprocessed {
        table: "contacts".into(),
        keys: vec![key.clone()],
        attempts: 3,
    };
    let condition = Condition::equals("owner", EMAIL);
    for text in [
        format!("{key:?}"),
        format!("{item:?}"),
        format!("{query:?}"),
        format!("{unprocessed:?}"),
        format!("{condition:?}"),
    ] {
        assert_clean(&text);
        assert!(!text.contains("4111"), "{text}");
    }
    assert!(format!("{key:?}").starts_with("Key(kf:"), "{key:?}");
    assert_eq!(
        format!("{key:?}"),
        format!("{same:?}"),
        "stable within the process"
    );
    assert_ne!(format!("{key:?}"), format!("{:?}", Key::new(EMAIL)));
    assert_eq!(
        format!("{:?}", Key::new(AttributeValue::N("1.50".into()))),
        format!("{:?}", Key::new(AttributeValue::N("1.5".into()))),
        "numbers by value"
    );
    assert_eq!(format!("{item:?}"), r#"{"email": S(32 bytes), "n": N}"#);
}
