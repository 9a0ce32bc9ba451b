//! The tamper matrix: every way a stored item can be edited, copied or opened with the wrong
//! keys, each asserting the exact error and that no plaintext came back. Every error is searched
//! for the secrets the test wrote.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use crypt_model::error::{AccessError, DataError, IntegrityError, KeyError};
use crypt_model::format::{HEADER_ATTRIBUTE, SEALED_ATTRIBUTE};
use crypt_model::hazmat::Plaintexts;
use crypt_model::{AttributeValue, CacheLimits, Caller, Error, Item, Keys, LocalKeyring};

/// Decrypts a profile that must fail, and returns the (clean) error.
async fn refused(keys: &Keys, item: &Item) -> Error {
    match crypt_model::hazmat::decrypt(keys, &PROFILES, item, &owner(&PROFILES, item)).await {
        Ok(plaintexts) => panic!("a tampered item decrypted: {plaintexts:?}"),
        Err(error) => clean(error),
    }
}

fn bytes_of<'a>(item: &'a mut Item, attribute: &str) -> &'a mut Vec<u8> {
    match item.get_mut(attribute) {
        Some(AttributeValue::B(bytes)) => bytes,
        other => panic!("`{attribute}` is not binary: {other:?}"),
    }
}

fn integrity(attribute: &str) -> impl Fn(&Error) -> bool + '_ {
    move |e| matches!(e, Error::Integrity(IntegrityError { attribute: a, .. }) if a == attribute)
}

#[tokio::test]
async fn an_untouched_item_opens_and_holds_no_plaintext() {
    let keys = Keys::new(local("k1", 1));
    let item = encrypted_profile(&keys, "alice", "profile").await;
    assert_item_clean(&item);
    assert_profile_opens(&keys, &item).await;
}

/// The format version of `item`'s header: 3, or 4 when the run seals with suite 2
/// (`CRYPT_MODEL_TEST_SUITE=aes256gcm`, as `scripts/test` runs this matrix a second time).
fn version_of(item: &Item) -> u8 {
    crypt_model::format::Header::of_item(item)
        .unwrap()
        .version()
}

/// The nonce's length in the sealed message: 24 bytes for XChaCha20, 12 for AES-GCM.
fn nonce_len(item: &Item) -> usize {
    if version_of(item) == 4 { 12 } else { 24 }
}

/// The newest format version this build reads.
const NEWEST: u8 = if cfg!(feature = "aes-gcm") { 4 } else { 3 };

fn sealed_len(item: &Item) -> usize {
    match item.get(SEALED_ATTRIBUTE) {
        Some(AttributeValue::B(b)) => b.len(),
        other => panic!("no sealed message: {other:?}"),
    }
}

#[tokio::test]
async fn a_flipped_bit_anywhere_in_the_sealed_message_is_an_integrity_failure() {
    let keys = Keys::new(local("k1", 1));
    let item = encrypted_profile(&keys, "alice", "profile").await;
    let len = sealed_len(&item);
    let fields = [("ssn", SSN), ("email", EMAIL), ("notes", NOTES)];
    let plaintext = 4 + fields
        .iter()
        .map(|(n, v)| 8 + n.len() + v.len())
        .sum::<usize>();
    let nonce = nonce_len(&item);
    assert_eq!(len, nonce + plaintext + 16, "nonce, ciphertext, tag");
    for offset in 0..len {
        let region = match offset {
            o if o < nonce => "nonce",
            o if o < len - 16 => "ciphertext",
            _ => "tag",
        };
        for bit in 0..8 {
            let mut tampered = item.clone();
            bytes_of(&mut tampered, SEALED_ATTRIBUTE)[offset] ^= 1 << bit;
            let error = refused(&keys, &tampered).await;
            assert!(
                integrity(SEALED_ATTRIBUTE)(&error),
                "{region} byte {offset} bit {bit}: {error:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_truncated_extended_deleted_or_retyped_message_is_an_integrity_failure() {
    let keys = Keys::new(local("k1", 1));
    let item = encrypted_profile(&keys, "alice", "profile").await;
    for len in 0..sealed_len(&item) {
        let mut tampered = item.clone();
        bytes_of(&mut tampered, SEALED_ATTRIBUTE).truncate(len);
        let error = refused(&keys, &tampered).await;
        assert!(
            integrity(SEALED_ATTRIBUTE)(&error),
            "cut to {len}: {error:?}"
        );
    }
    let mut extended = item.clone();
    bytes_of(&mut extended, SEALED_ATTRIBUTE).push(0);
    let mut deleted = item.clone();
    deleted.remove(SEALED_ATTRIBUTE);
    let mut retyped = item.clone();
    retyped.insert(SEALED_ATTRIBUTE, s("not binary"));
    for tampered in [extended, deleted, retyped] {
        let error = refused(&keys, &tampered).await;
        assert!(integrity(SEALED_ATTRIBUTE)(&error), "{error:?}");
    }
}

/// The header of an item written under key id `k1`: version (1), in version 4 the suite (1), key
/// id length (2), key id (2), wrapped length (2), wrapped key (72), salt (32), commitment (32).
/// On tokio's paused clock: the hundreds of wrapped keys that do not unwrap wait for the key
/// provider's budget of failed unwraps (10 a second), counted, not slept.
#[tokio::test(start_paused = true)]
async fn a_flipped_bit_in_each_header_field_gives_that_fields_error() {
    let keys = Keys::new(local("k1", 1));
    let item = encrypted_profile(&keys, "alice", "profile").await;
    let header = match item.get(HEADER_ATTRIBUTE) {
        Some(AttributeValue::B(b)) => b.clone(),
        _ => unreachable!(),
    };
    let version = version_of(&item);
    // The fields after the version start one byte later in version 4.
    let suite = usize::from(version == 4);
    assert_eq!(header.len(), 1 + suite + 2 + 2 + 2 + 72 + 32 + 32);
    for offset in 0..header.len() {
        let mut tampered = item.clone();
        bytes_of(&mut tampered, HEADER_ATTRIBUTE)[offset] ^= 0x01;
        let error = refused(&keys, &tampered).await;
        let (field, expected): (&str, bool) = match offset {
            0 => (
                "version",
                matches!(
                    error,
                    Error::Data(DataError::UnsupportedVersion { version: v, supported })
                        if v == version ^ 1 && supported == NEWEST
                ),
            ),
            1 if suite == 1 => (
                "suite",
                matches!(error, Error::Data(DataError::Malformed { .. })),
            ),
            o => match o - suite {
                1..3 => (
                    "key id length",
                    matches!(error, Error::Data(DataError::Malformed { .. })),
                ),
                3 => (
                    "key id",
                    matches!(&error, Error::Key(KeyError::UnknownKeyId { key_id }) if key_id == "j1"),
                ),
                4 => (
                    "key id",
                    matches!(&error, Error::Key(KeyError::UnknownKeyId { key_id }) if key_id == "k0"),
                ),
                5..7 => (
                    "wrapped length",
                    matches!(error, Error::Data(DataError::Malformed { .. })),
                ),
                7..79 => (
                    "wrapped key",
                    matches!(&error, Error::Key(KeyError::UnwrapFailed { key_id }) if key_id == "k1"),
                ),
                79..111 => ("salt", integrity(HEADER_ATTRIBUTE)(&error)),
                _ => ("commitment", integrity(HEADER_ATTRIBUTE)(&error)),
            },
        };
        assert!(expected, "header {field}, byte {offset}: {error:?}");
    }
    // Every other bit too: always an error, never plaintext.
    for offset in 0..header.len() {
        for bit in 1..8 {
            let mut tampered = item.clone();
            bytes_of(&mut tampered, HEADER_ATTRIBUTE)[offset] ^= 1 << bit;
            refused(&keys, &tampered).await;
        }
    }
}

#[tokio::test]
async fn a_truncated_or_extended_header_is_malformed() {
    let keys = Keys::new(local("k1", 1));
    let item = encrypted_profile(&keys, "alice", "profile").await;
    let len = match item.get(HEADER_ATTRIBUTE) {
        Some(AttributeValue::B(b)) => b.len(),
        _ => unreachable!(),
    };
    for cut in 0..len {
        let mut tampered = item.clone();
        bytes_of(&mut tampered, HEADER_ATTRIBUTE).truncate(cut);
        let error = refused(&keys, &tampered).await;
        assert!(
            matches!(&error, Error::Data(DataError::Malformed { attribute, .. }) if attribute == HEADER_ATTRIBUTE),
            "cut to {cut}: {error:?}"
        );
    }
    let mut tampered = item.clone();
    bytes_of(&mut tampered, HEADER_ATTRIBUTE).push(0);
    assert!(matches!(
        refused(&keys, &tampered).await,
        Error::Data(DataError::Malformed { .. })
    ));
}

/// The same record written twice, as an update does: `(old, new)`.
async fn two_versions(keys: &Keys) -> (Item, Item) {
    let old = encrypted_profile(keys, "alice", "profile").await;
    let mut new = profile("alice", "profile");
    let mut secrets = profile_secrets();
    secrets.insert("ssn", &"219-09-9999".to_owned()).unwrap();
    crypt_model::hazmat::encrypt(keys, &PROFILES, &mut new, &secrets)
        .await
        .unwrap();
    (old, new)
}

#[tokio::test]
async fn rolling_the_message_back_alone_is_an_integrity_failure() {
    let keys = Keys::new(local("k1", 1));
    let (old, new) = two_versions(&keys).await;
    // An older message under the newer header (and the reverse): the fields cannot be rolled back
    // apart from the header that authenticates them.
    for (target, source) in [(&new, &old), (&old, &new)] {
        let mut rolled_back = target.clone();
        rolled_back.insert(
            SEALED_ATTRIBUTE,
            source.get(SEALED_ATTRIBUTE).unwrap().clone(),
        );
        let error = refused(&keys, &rolled_back).await;
        assert!(integrity(SEALED_ATTRIBUTE)(&error), "{error:?}");
    }
    // The whole encrypted part rolled back together (header and message) is a whole-item
    // rollback to a version that really was written: not detected at this layer
    // (docs/threat-model.md), and so it opens as that version.
    let mut whole = new.clone();
    for attribute in [HEADER_ATTRIBUTE, SEALED_ATTRIBUTE] {
        whole.insert(attribute, old.get(attribute).unwrap().clone());
    }
    assert_profile_opens(&keys, &whole).await;
}

#[tokio::test]
async fn the_encrypted_part_of_another_record_or_owner_is_an_integrity_failure() {
    let keys = Keys::new(local("k1", 1));
    let target = encrypted_profile(&keys, "alice", "profile").await;
    for source in [
        encrypted_profile(&keys, "alice", "backup").await,
        encrypted_profile(&keys, "bob", "profile").await,
    ] {
        let mut copied = target.clone();
        copied.insert(
            SEALED_ATTRIBUTE,
            source.get(SEALED_ATTRIBUTE).unwrap().clone(),
        );
        assert!(integrity(SEALED_ATTRIBUTE)(&refused(&keys, &copied).await));
        copied.insert(
            HEADER_ATTRIBUTE,
            source.get(HEADER_ATTRIBUTE).unwrap().clone(),
        );
        assert!(integrity(SEALED_ATTRIBUTE)(&refused(&keys, &copied).await));
    }
    // Alice's whole record moved under bob's name: bob passes the gate, the check fails.
    let mut moved = target.clone();
    moved.insert("user_id", s("bob"));
    assert!(integrity(SEALED_ATTRIBUTE)(&refused(&keys, &moved).await));
}

#[tokio::test]
async fn editing_a_key_the_owner_or_an_authenticated_plain_attribute_is_an_integrity_failure() {
    let keys = Keys::new(local("k1", 1));
    let item = encrypted_profile(&keys, "alice", "profile").await;
    for (attribute, value) in [
        ("user_id", Some(s("alicf"))),
        ("kind", Some(s("profilf"))),
        ("display_name", Some(s("Mallory"))),
        ("display_name", Some(AttributeValue::Null)),
        ("display_name", None),
    ] {
        let mut edited = item.clone();
        match &value {
            Some(value) => edited.insert(attribute, value.clone()),
            None => edited.remove(attribute),
        };
        let error = refused(&keys, &edited).await;
        assert!(
            integrity(SEALED_ATTRIBUTE)(&error),
            "{attribute} = {value:?}: {error:?}"
        );
    }
    // An owner that is not the partition key, and a number key, in an item with no sensitive
    // field present: the message is still there, and still authenticates them.
    let mut order = Item::from_iter([
        ("order_no", AttributeValue::N("42".into())),
        ("customer", s("carol")),
    ]);
    crypt_model::hazmat::encrypt(&keys, &ORDERS, &mut order, &Plaintexts::new())
        .await
        .unwrap();
    let decrypt = |item: Item| {
        let keys = &keys;
        async move { crypt_model::hazmat::decrypt(keys, &ORDERS, &item, &owner(&ORDERS, &item)).await }
    };
    assert!(decrypt(order.clone()).await.unwrap().is_empty());
    for (attribute, value) in [
        ("customer", s("mallory")),
        ("order_no", AttributeValue::N("43".into())),
    ] {
        let mut edited = order.clone();
        edited.insert(attribute, value);
        let error = clean(decrypt(edited).await.unwrap_err());
        assert!(
            integrity(SEALED_ATTRIBUTE)(&error),
            "{attribute}: {error:?}"
        );
    }
    // DynamoDB hands numbers back in its own form: an equal value opens.
    let mut normalised = order.clone();
    normalised.insert("order_no", AttributeValue::N("4.20e1".into()));
    assert!(decrypt(normalised).await.is_ok());
}

#[tokio::test]
async fn plain_attributes_the_model_does_not_authenticate_may_change() {
    const LOOSE: crypt_model::Schema = crypt_model::Schema::new("profiles", "user_id", "user_id")
        .with_sort_key("kind")
        .with_sensitive(&["ssn", "email", "notes"])
        .with_unauthenticated(&["display_name"]);
    let keys = Keys::new(local("k1", 1));
    let mut item = profile("alice", "profile");
    crypt_model::hazmat::encrypt(&keys, &LOOSE, &mut item, &profile_secrets())
        .await
        .unwrap();
    let alice = owner(&LOOSE, &item);
    for edit in [Some(s("Mallory")), None] {
        let mut edited = item.clone();
        match edit {
            Some(value) => edited.insert("display_name", value),
            None => edited.remove("display_name"),
        };
        // And an attribute the model does not know at all.
        edited.insert("ttl", AttributeValue::N("1900000000".into()));
        assert!(
            crypt_model::hazmat::decrypt(&keys, &LOOSE, &edited, &alice)
                .await
                .is_ok()
        );
    }
}

#[tokio::test]
async fn a_sensitive_field_stored_in_plain_is_refused() {
    let keys = Keys::new(local("k1", 1));
    let item = encrypted_profile(&keys, "alice", "profile").await;
    for (name, value) in [("ssn", s(SSN)), ("notes", AttributeValue::B(vec![1, 2]))] {
        let mut planted = item.clone();
        planted.insert(name, value);
        let error = refused(&keys, &planted).await;
        assert!(
            matches!(&error, Error::Data(DataError::Malformed { attribute, .. }) if attribute == name),
            "{error:?}"
        );
    }
}

#[tokio::test]
async fn editing_deleting_or_adding_an_index_or_the_version_is_an_integrity_failure() {
    const SPECS: &[crypt_model::blind_index::BlindIndex] =
        &[crypt_model::blind_index::BlindIndex::new(
            "email",
            "__cm_ix_email",
            "cm_ix_email",
        )];
    const INDEXED: crypt_model::Schema = crypt_model::Schema::new("people", "user_id", "user_id")
        .with_sensitive(&["email"])
        .with_version("version")
        .with_blind_indexes(SPECS);
    let keys = Keys::new(local("k1", 1))
        .with_index_secret(crypt_model::IndexSecret::from_bytes(&[9; 32]).unwrap());
    let encrypt = |email: Option<&str>| {
        let keys = &keys;
        let email = email.map(str::to_owned);
        async move {
            let mut item = Item::from_iter([
                ("user_id", s("alice")),
                ("version", AttributeValue::N("3".into())),
            ]);
            let mut p = Plaintexts::new();
            if let Some(email) = email {
                p.insert("email", &email).unwrap();
            }
            crypt_model::hazmat::encrypt(keys, &INDEXED, &mut item, &p)
                .await
                .unwrap();
            item
        }
    };
    let with_email = encrypt(Some(EMAIL)).await;
    let without = encrypt(None).await;
    let index = with_email.get("__cm_ix_email").unwrap().clone();
    let mut cases = vec![
        (
            "index edited",
            with_email.clone(),
            "__cm_ix_email",
            Some(AttributeValue::B(vec![0, 0])),
        ),
        ("index deleted", with_email.clone(), "__cm_ix_email", None),
        ("index added", without.clone(), "__cm_ix_email", Some(index)),
        (
            "version rolled back",
            with_email.clone(),
            "version",
            Some(AttributeValue::N("2".into())),
        ),
    ];
    for (case, mut item, attribute, value) in cases.drain(..) {
        match value {
            Some(value) => item.insert(attribute, value),
            None => item.remove(attribute),
        };
        let error = clean(
            crypt_model::hazmat::decrypt(&keys, &INDEXED, &item, &owner(&INDEXED, &item))
                .await
                .unwrap_err(),
        );
        assert!(integrity(SEALED_ATTRIBUTE)(&error), "{case}: {error:?}");
    }
}

#[tokio::test]
async fn another_logical_table_is_refused_by_the_keyring_and_by_the_engine() {
    const OTHER_TABLE: crypt_model::Schema =
        crypt_model::Schema::new("profiles-v2", "user_id", "user_id")
            .with_sort_key("kind")
            .with_sensitive(&["ssn", "email", "notes"]);

    // The data key is wrapped under the table: the local keyring refuses to unwrap it.
    let keys = Keys::new(local("k1", 1));
    let item = encrypted_profile(&keys, "alice", "profile").await;
    let error = clean(
        crypt_model::hazmat::decrypt(&keys, &OTHER_TABLE, &item, &owner(&OTHER_TABLE, &item))
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(&error, Error::Key(KeyError::UnwrapFailed { key_id }) if key_id == "k1"),
        "{error:?}"
    );

    // Even a provider that ignores the context cannot make it decrypt: the engine binds the
    // table into the item's keys and commitment.
    let blind = Keys::new(ContextBlind(local("k1", 1)));
    let item = encrypted_profile(&blind, "alice", "profile").await;
    let error = clean(
        crypt_model::hazmat::decrypt(&blind, &OTHER_TABLE, &item, &owner(&OTHER_TABLE, &item))
            .await
            .unwrap_err(),
    );
    assert!(integrity(HEADER_ATTRIBUTE)(&error), "{error:?}");
    assert_profile_opens(&blind, &item).await;
}

#[tokio::test]
async fn an_unknown_format_version_is_refused_before_anything_else() {
    let keys = Keys::new(local("k1", 1));
    let item = encrypted_profile(&keys, "alice", "profile").await;
    for version in (0..=255u8).filter(|v| !(3..=NEWEST).contains(v)) {
        let mut future = item.clone();
        bytes_of(&mut future, HEADER_ATTRIBUTE)[0] = version;
        let error = refused(&keys, &future).await;
        assert!(
            matches!(error, Error::Data(DataError::UnsupportedVersion { version: v, supported }) if v == version && supported == NEWEST),
            "{error:?}"
        );
    }
    // A later version's header need not follow this one's layout: the version is read first.
    let mut future = item.clone();
    future.insert(HEADER_ATTRIBUTE, AttributeValue::B(vec![NEWEST + 1]));
    assert!(matches!(
        refused(&keys, &future).await,
        Error::Data(DataError::UnsupportedVersion { version, .. }) if version == NEWEST + 1
    ));
}

#[tokio::test]
async fn a_wrong_key_encryption_key_with_the_same_id_fails_to_unwrap() {
    let writer = Keys::new(local("k1", 1));
    let item = encrypted_profile(&writer, "alice", "profile").await;
    let reader = Keys::new(local("k1", 2));
    let error = refused(&reader, &item).await;
    assert!(
        matches!(&error, Error::Key(KeyError::UnwrapFailed { key_id }) if key_id == "k1"),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_unknown_key_id_is_named_in_the_error() {
    let writer = Keys::new(local("2026-01", 1));
    let item = encrypted_profile(&writer, "alice", "profile").await;
    let reader = Keys::new(local("2026-11", 1));
    let error = refused(&reader, &item).await;
    assert!(
        matches!(&error, Error::Key(KeyError::UnknownKeyId { key_id }) if key_id == "2026-01"),
        "{error:?}"
    );
    assert!(error.to_string().contains("2026-01"));
}

#[tokio::test]
async fn a_key_rotated_out_but_kept_for_reads_still_decrypts() {
    let old = Keys::new(local("2026-01", 1));
    let before = encrypted_profile(&old, "alice", "profile").await;

    let rotated = LocalKeyring::new("2026-11", &key(2))
        .unwrap()
        .with_read_key("2026-01", &key(1))
        .unwrap();
    let keys = Keys::new(rotated);
    assert_profile_opens(&keys, &before).await;

    let after = encrypted_profile(&keys, "alice", "profile").await;
    assert_profile_opens(&keys, &after).await;
    // New writes use the new primary key: the old keyring alone cannot read them.
    let error = refused(&old, &after).await;
    assert!(
        matches!(&error, Error::Key(KeyError::UnknownKeyId { key_id }) if key_id == "2026-11"),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_key_provider_that_is_down_fails_closed() {
    let (keyring, down) = Switchable::new(local("k1", 1));
    let keys = Keys::with_cache_limits(keyring, CacheLimits::disabled());
    let item = encrypted_profile(&keys, "alice", "profile").await;

    down.store(true, std::sync::atomic::Ordering::SeqCst);
    let error = refused(&keys, &item).await;
    assert!(
        matches!(error, Error::Key(KeyError::Provider { .. })),
        "{error:?}"
    );

    // A write fails and leaves the item as it was: no partial encryption.
    let mut unwritten = profile("bob", "profile");
    let before = unwritten.clone();
    let error = clean(
        crypt_model::hazmat::encrypt(&keys, &PROFILES, &mut unwritten, &profile_secrets())
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(error, Error::Key(KeyError::Provider { .. })),
        "{error:?}"
    );
    assert_eq!(unwritten, before);

    down.store(false, std::sync::atomic::Ordering::SeqCst);
    assert_profile_opens(&keys, &item).await;
}

#[tokio::test]
async fn missing_or_mistyped_attributes_are_named() {
    let keys = Keys::new(local("k1", 1));
    let item = encrypted_profile(&keys, "alice", "profile").await;

    let mut no_header = item.clone();
    no_header.remove(HEADER_ATTRIBUTE);
    let error = refused(&keys, &no_header).await;
    assert!(
        matches!(&error, Error::Data(DataError::Missing { attribute }) if attribute == HEADER_ATTRIBUTE)
    );

    let mut text_header = item.clone();
    text_header.insert(HEADER_ATTRIBUTE, s("AQID"));
    let error = refused(&keys, &text_header).await;
    assert!(
        matches!(&error, Error::Data(DataError::Malformed { attribute, .. }) if attribute == HEADER_ATTRIBUTE)
    );

    // A sensitive attribute replaced by the plaintext itself: refused, and the plaintext
    // is not echoed in the error.
    let mut plain_ssn = item.clone();
    plain_ssn.insert("ssn", s(SSN));
    let error = refused(&keys, &plain_ssn).await;
    assert!(
        matches!(&error, Error::Data(DataError::Malformed { attribute, .. }) if attribute == "ssn")
    );

    let mut no_sort_key = item.clone();
    no_sort_key.remove("kind");
    let error = refused(&keys, &no_sort_key).await;
    assert!(matches!(&error, Error::Data(DataError::Missing { attribute }) if attribute == "kind"));

    // An owner that is not a string belongs to no one: the owner gate refuses everybody, before
    // anything else of the item is read.
    let mut numeric_owner = item.clone();
    numeric_owner.insert("user_id", AttributeValue::N("1".into()));
    let error = refused(&keys, &numeric_owner).await;
    assert!(
        matches!(&error, Error::Access(AccessError::Denied { .. })),
        "{error:?}"
    );
}

#[tokio::test]
async fn writes_refuse_reserved_undeclared_and_doubled_attributes_and_leave_the_item_alone() {
    let keys = Keys::new(local("k1", 1));

    let mut reserved = profile("alice", "profile");
    reserved.insert("__cm_extra", s("x"));
    let before = reserved.clone();
    let error = clean(
        crypt_model::hazmat::encrypt(&keys, &PROFILES, &mut reserved, &profile_secrets())
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(&error, Error::Data(DataError::InvalidValue { attribute, .. }) if attribute == "__cm_extra")
    );
    assert_eq!(reserved, before);

    let mut undeclared = profile("alice", "profile");
    let mut secrets = profile_secrets();
    secrets.insert("display_name", &"Alice".to_owned()).unwrap();
    let error = clean(
        crypt_model::hazmat::encrypt(&keys, &PROFILES, &mut undeclared, &secrets)
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(&error, Error::Data(DataError::NotSensitive { attribute, .. }) if attribute == "display_name"),
        "{error:?}"
    );

    let mut doubled = profile("alice", "profile");
    doubled.insert("ssn", s("placeholder"));
    let error = clean(
        crypt_model::hazmat::encrypt(&keys, &PROFILES, &mut doubled, &profile_secrets())
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(&error, Error::Data(DataError::InvalidValue { attribute, .. }) if attribute == "ssn")
    );
}

#[tokio::test]
async fn two_encryptions_of_the_same_record_differ() {
    let keys = Keys::new(local("k1", 1));
    let a = encrypted_profile(&keys, "alice", "profile").await;
    let b = encrypted_profile(&keys, "alice", "profile").await;
    for attribute in [SEALED_ATTRIBUTE, HEADER_ATTRIBUTE] {
        assert_ne!(
            a.get(attribute),
            b.get(attribute),
            "{attribute} is deterministic"
        );
    }
}

#[tokio::test]
async fn the_raw_decrypt_opens_only_for_the_owner_and_decides_before_any_unwrap() {
    let writer = Keys::new(local("k1", 1));
    let item = encrypted_profile(&writer, "alice", "profile").await;
    let (keyring, down) = Switchable::new(local("k1", 1));
    let reader = Keys::with_cache_limits(keyring, CacheLimits::disabled());
    for caller in [
        Caller::user("mallory").unwrap(),
        Caller::user("Alice").unwrap(),
        Caller::service("alice").unwrap(),
    ] {
        let error = clean(
            crypt_model::hazmat::decrypt(&reader, &PROFILES, &item, &caller)
                .await
                .unwrap_err(),
        );
        // A service with no grant is told so; a user that the record is not theirs.
        assert!(
            matches!(
                error,
                Error::Access(AccessError::Denied { .. } | AccessError::NoGrant { .. })
            ),
            "{caller:?}: {error:?}"
        );
    }
    assert_eq!(
        reader.keyring_calls().unwrap,
        0,
        "refused before any unwrap"
    );
    // Whatever the key provider does: the owner reaches it, no one else does.
    down.store(true, std::sync::atomic::Ordering::SeqCst);
    let mallory = Caller::user("mallory").unwrap();
    assert!(matches!(
        crypt_model::hazmat::decrypt(&reader, &PROFILES, &item, &mallory).await,
        Err(Error::Access(AccessError::Denied { .. }))
    ));
    let alice = Caller::user("alice").unwrap();
    assert!(matches!(
        crypt_model::hazmat::decrypt(&reader, &PROFILES, &item, &alice).await,
        Err(Error::Key(KeyError::Provider { .. }))
    ));
}
