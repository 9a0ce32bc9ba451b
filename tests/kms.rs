//! The AWS KMS keyring against moto: round trips, the encryption context, key pinning and
//! rotation, typed errors, and the key-provider budget behind the cache.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod moto;

use crypt_model::error::{ConfigError, KeyError};
use std::sync::Arc;

use crypt_model::keyring::{EncryptionContext, Keyring};
use crypt_model::{
    AttributeValue, CacheLimits, Caller, EncryptedItem, Error, Key, KeyProviderError, Keys,
    Sensitive, Table, TableRef,
};
use crypt_model_dynamo::{DynamoStore, KmsKeyring, ProvisionOptions, provision};
use crypt_model_tests::{Profile, SSN, profile};

/// The same shape under another logical table.
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "kms_other")]
struct Other {
    #[partition_key]
    #[owner]
    user_id: String,
    #[sort_key]
    kind: String,
    #[sensitive]
    ssn: Sensitive<String>,
}

async fn new_keyring() -> (KmsKeyring, String) {
    let kms = moto::kms();
    let key = moto::kms_key(&kms).await;
    (KmsKeyring::new(kms, &key).unwrap(), key)
}

#[tokio::test]
async fn a_record_round_trips_through_kms() {
    let (keyring, key) = new_keyring().await;
    let keys = Keys::new(keyring);
    let item = profile("alice", "main").to_item(&keys).await.unwrap();
    let opened = Profile::from_item(item)
        .open(&Caller::user("alice").unwrap(), &keys)
        .await
        .unwrap();
    assert_eq!(opened.ssn.expose_secret(), SSN);
    assert_eq!(keys.keyring_calls().generate, 1);

    // Another process, with only KMS access, reads it: one Decrypt.
    let (_, fresh_key) = new_keyring().await;
    assert_ne!(fresh_key, key);
    let reader = Keys::new(KmsKeyring::new(moto::kms(), &key).unwrap());
    let item = profile("alice", "main").to_item(&keys).await.unwrap();
    Profile::from_item(item)
        .open(&Caller::user("alice").unwrap(), &reader)
        .await
        .unwrap();
    assert_eq!(reader.keyring_calls().unwrap, 1);
}

#[tokio::test]
async fn a_data_key_of_one_table_cannot_open_items_of_another() {
    let (keyring, key) = new_keyring().await;
    let writer = Keys::new(keyring);
    let item = profile("alice", "main").to_item(&writer).await.unwrap();

    // The item of table `profiles` read as table `kms_other`: KMS refuses the context.
    let reader = Keys::new(KmsKeyring::new(moto::kms(), &key).unwrap());
    let error = Other::from_item(item)
        .open(&Caller::user("alice").unwrap(), &reader)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Key(KeyError::UnwrapFailed { key_id }) if *key_id == key),
        "{error:?}"
    );
    assert!(!error.to_string().contains(SSN) && !format!("{error:?}").contains(SSN));
}

#[tokio::test]
async fn decrypting_under_another_encryption_context_is_refused() {
    let (keyring, _) = new_keyring().await;
    let generated = keyring
        .generate_data_key(&EncryptionContext::for_table("a-table"))
        .await
        .unwrap();
    keyring
        .unwrap_data_key(&generated.wrapped, &EncryptionContext::for_table("a-table"))
        .await
        .unwrap();
    let error = keyring
        .unwrap_data_key(&generated.wrapped, &EncryptionContext::for_table("b-table"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Key(KeyError::UnwrapFailed { .. })),
        "{error:?}"
    );
}

#[tokio::test]
async fn the_key_id_is_pinned_and_rotation_keeps_old_keys_readable() {
    let kms = moto::kms();
    let old = moto::kms_key(&kms).await;
    let new = moto::kms_key(&kms).await;
    let before = Keys::new(KmsKeyring::new(kms.clone(), &old).unwrap());
    let old_item = profile("alice", "old").to_item(&before).await.unwrap();

    // A keyring that does not hold the old key refuses without calling KMS.
    let only_new = Keys::new(KmsKeyring::new(kms.clone(), &new).unwrap());
    let error = Profile::from_item(old_item.clone())
        .open(&Caller::user("alice").unwrap(), &only_new)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Key(KeyError::UnknownKeyId { key_id }) if *key_id == old),
        "{error:?}"
    );
    assert_eq!(
        only_new.keyring_calls().unwrap,
        1,
        "counted at the cache, refused before KMS"
    );

    let rotated = Keys::new(
        KmsKeyring::new(kms, &new)
            .unwrap()
            .with_read_key(&old)
            .unwrap(),
    );
    let opened = Profile::from_item(old_item)
        .open(&Caller::user("alice").unwrap(), &rotated)
        .await
        .unwrap();
    assert_eq!(opened.ssn.expose_secret(), SSN);
    let new_item = profile("alice", "new").to_item(&rotated).await.unwrap();
    match new_item.get("__cm_header") {
        Some(AttributeValue::B(header)) => {
            assert!(
                header.windows(new.len()).any(|w| w == new.as_bytes()),
                "new writes name the new key"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_missing_key_is_a_typed_error_naming_it() {
    let missing = "11111111-2222-3333-4444-555555555555";
    let error = KmsKeyring::connect(moto::kms(), missing, &[])
        .await
        .unwrap_err();
    match &error {
        Error::Key(KeyError::Provider { kind, key_id, .. }) => {
            assert_eq!(*kind, KeyProviderError::KeyNotFound, "{error:?}");
            assert_eq!(key_id.as_deref(), Some(missing));
        }
        other => panic!("{other:?}"),
    }
    assert!(error.to_string().contains("key not found"), "{error}");
    // A bare key id or an alias is not taken as it is: it must be resolved to an ARN.
    for reference in [missing, "alias/profiles"] {
        assert!(matches!(
            KmsKeyring::new(moto::kms(), reference),
            Err(Error::Config(ConfigError::InvalidKey { .. }))
        ));
    }
}

#[tokio::test]
async fn an_alias_is_resolved_once_and_items_stay_pinned_to_the_key_arn() {
    let kms = moto::kms();
    let (first, second) = (moto::kms_key(&kms).await, moto::kms_key(&kms).await);
    let alias = format!("alias/{}", moto::unique("profiles"));
    kms.create_alias()
        .alias_name(&alias)
        .target_key_id(&first)
        .send()
        .await
        .unwrap();
    let writer = Keys::new(KmsKeyring::connect(kms.clone(), &alias, &[]).await.unwrap());
    let item = profile("alice", "main").to_item(&writer).await.unwrap();
    let header = match item.get("__cm_header") {
        Some(AttributeValue::B(header)) => header.clone(),
        other => panic!("{other:?}"),
    };
    assert!(
        header.windows(first.len()).any(|w| w == first.as_bytes()),
        "the header names the key's ARN"
    );
    assert!(!header.windows(alias.len()).any(|w| w == alias.as_bytes()));

    // Whoever moves the alias does not decide which key old items trust.
    kms.update_alias()
        .alias_name(&alias)
        .target_key_id(&second)
        .send()
        .await
        .unwrap();
    let alice = Caller::user("alice").unwrap();
    let follows_alias = Keys::new(KmsKeyring::connect(kms.clone(), &alias, &[]).await.unwrap());
    let error = Profile::from_item(item.clone())
        .open(&alice, &follows_alias)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Key(KeyError::UnknownKeyId { key_id }) if *key_id == first),
        "{error:?}"
    );
    // Configured to read the old key too, it reads the item, and writes under the new one.
    let rotated = Keys::new(
        KmsKeyring::connect(kms.clone(), &alias, &[&first])
            .await
            .unwrap(),
    );
    let opened = Profile::from_item(item.clone())
        .open(&alice, &rotated)
        .await
        .unwrap();
    assert_eq!(opened.ssn.expose_secret(), SSN);
    // The first writer, resolved before the move, still reads and writes under the first key.
    Profile::from_item(item)
        .open(&alice, &writer)
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unreachable_kms_is_a_typed_error() {
    use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = aws_sdk_kms::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .build();
    let client = aws_sdk_kms::Client::from_conf(config);
    let unavailable = |error: &Error| {
        matches!(
            error,
            Error::Key(KeyError::Provider {
                kind: KeyProviderError::Unavailable,
                ..
            })
        )
    };
    let error = KmsKeyring::connect(client.clone(), "alias/any", &[])
        .await
        .unwrap_err();
    assert!(unavailable(&error), "{error:?}");
    let arn = "arn:aws:kms:us-east-1:111122223333:key/any";
    let keys = Keys::new(KmsKeyring::new(client, arn).unwrap());
    let error = profile("alice", "main").to_item(&keys).await.unwrap_err();
    assert!(unavailable(&error), "{error:?}");
}

#[tokio::test]
async fn a_thousand_puts_make_one_kms_call_and_store_no_plaintext() {
    let (keyring, _) = new_keyring().await;
    let keys = Arc::new(Keys::with_cache_limits(keyring, CacheLimits::default()));
    let client = moto::dynamo();
    let table = TableRef::for_schema(&moto::unique("kms-budget"), &Profile::SCHEMA).unwrap();
    provision(&client, &table, ProvisionOptions::default())
        .await
        .unwrap();
    let profiles =
        Table::<Profile, _>::named(DynamoStore::new(client.clone()), keys.clone(), table.name())
            .unwrap();
    let alice = Caller::user("alice").unwrap();
    let records: Vec<Profile> = (0..1000)
        .map(|i| profile("alice", &format!("k{i:04}")))
        .collect();
    profiles.batch_put(&alice, &records).await.unwrap();
    let calls = keys.keyring_calls();
    assert!(calls.total() <= 2, "1,000 puts made {calls:?} KMS calls");

    // Read back raw through the SDK: no plaintext anywhere in the item.
    let raw = client
        .get_item()
        .table_name(table.name())
        .key(
            "user_id",
            aws_sdk_dynamodb::types::AttributeValue::S("alice".into()),
        )
        .key(
            "kind",
            aws_sdk_dynamodb::types::AttributeValue::S("k0007".into()),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let text = format!("{raw:?}");
    assert!(!text.contains(SSN) && !text.contains("078-05"), "{text}");
    for value in raw.values() {
        if let aws_sdk_dynamodb::types::AttributeValue::B(blob) = value {
            assert!(
                !blob
                    .as_ref()
                    .windows(SSN.len())
                    .any(|w| w == SSN.as_bytes())
            );
        }
    }

    // A query over pages reads them all with the one cached key.
    let all = profiles
        .query_all(&alice, crypt_model::Query::partition("alice").limit(300))
        .await
        .unwrap();
    assert_eq!(all.len(), 1000);
    assert_eq!(
        keys.keyring_calls(),
        calls,
        "reads of this writer's items need no KMS call"
    );
    assert_eq!(
        profiles
            .get(&alice, &Key::new("alice").with_sort("k0999"))
            .await
            .unwrap()
            .unwrap()
            .ssn
            .expose_secret(),
        SSN
    );
}

#[tokio::test]
async fn a_rewrap_job_moves_records_to_the_new_kms_key_through_re_encrypt() {
    use crypt_model::lifecycle::Job;
    use crypt_model::{Grant, MemoryStore, Scan};

    let kms = moto::kms();
    let old = moto::kms_key(&kms).await;
    let new = moto::kms_key(&kms).await;
    let store = MemoryStore::new();
    let before = Arc::new(Keys::new(KmsKeyring::new(kms.clone(), &old).unwrap()));
    let profiles = Table::<Profile, _>::new(store.clone(), before).unwrap();
    for i in 0..20 {
        let owner = format!("user{i}");
        let mut record = profile(&owner, "main");
        profiles
            .put(&Caller::user(&owner).unwrap(), &mut record)
            .await
            .unwrap();
    }

    let rotated = Arc::new(Keys::new(
        KmsKeyring::new(kms.clone(), &new)
            .unwrap()
            .with_read_key(&old)
            .unwrap(),
    ));
    let rotor = Caller::service("rotor").unwrap();
    let profiles = Table::<Profile, _>::new(store.clone(), rotated.clone())
        .unwrap()
        .with_grant(Grant::read("rotor").unwrap())
        .with_grant(Grant::write("rotor").unwrap());
    let report = Job::rewrap(&profiles, &rotor).run().await.unwrap();
    assert_eq!((report.counts.changed, report.counts.failed), (20, 0));
    assert_eq!(report.key_ids.keys().collect::<Vec<_>>(), [&new]);
    // One data key, so one ReEncrypt; one Decrypt to open the records, no new data key.
    let calls = rotated.keyring_calls();
    assert_eq!((calls.rewrap, calls.unwrap), (1, 1), "{calls:?}");

    // The old key retired: a keyring with only the new key reads every record.
    let retired = Arc::new(Keys::new(KmsKeyring::new(kms, &new).unwrap()));
    let profiles = Table::<Profile, _>::new(store, retired)
        .unwrap()
        .with_grant(Grant::read("rotor").unwrap());
    let page = profiles.scan(&rotor, &Scan::all()).await.unwrap();
    assert_eq!(page.items.len(), 20);
    assert!(page.items.iter().all(|p| p.ssn.expose_secret() == SSN));
}

#[tokio::test]
async fn the_kms_erasure_key_verifies_its_own_tags_only_and_fails_loudly_on_a_wrong_key() {
    use crypt_model::keyring::ErasureKey;
    use crypt_model_dynamo::KmsErasureKey;

    let kms = moto::kms();
    let key = KmsErasureKey::new(kms.clone(), &moto::kms_hmac_key(&kms).await).unwrap();
    let other = KmsErasureKey::new(kms.clone(), &moto::kms_hmac_key(&kms).await).unwrap();
    let tag = key.sign(b"a tombstone").await.unwrap();
    assert!(key.verify(b"a tombstone", &tag).await.unwrap());
    assert!(!key.verify(b"another tombstone", &tag).await.unwrap());
    assert!(!other.verify(b"a tombstone", &tag).await.unwrap());
    let mut edited = tag.clone();
    edited[0] ^= 1;
    assert!(!key.verify(b"a tombstone", &edited).await.unwrap());

    // A key that is not an HMAC key, or one KMS does not know, is an error, never "not signed".
    let (_, encryption_key) = new_keyring().await;
    let wrong = KmsErasureKey::new(kms.clone(), &encryption_key).unwrap();
    let error = wrong.verify(b"a tombstone", &tag).await.unwrap_err();
    assert!(
        matches!(error, Error::Key(KeyError::Provider { .. })),
        "{error:?}"
    );
    let missing = KmsErasureKey::new(
        kms,
        "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000",
    )
    .unwrap();
    let error = missing.sign(b"a tombstone").await.unwrap_err();
    assert!(
        matches!(error, Error::Key(KeyError::Provider { .. })),
        "{error:?}"
    );
}
