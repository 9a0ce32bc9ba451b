//! Keys: the local keyring's refusals and rotation, and the data-key cache's budget.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use crypt_model::error::{ConfigError, KeyError};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use common::*;
use crypt_model::keyring::{CachedKeys, KeyringCalls};
use crypt_model::keyring::{EncryptionContext, Keyring};
use crypt_model::{CacheLimits, Error, Keys, LocalKeyring};

const KEY_ENV: &str = "CRYPT_MODEL_TEST_KEY_B64";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn refused(result: Result<LocalKeyring, Error>) -> String {
    match result {
        Ok(keyring) => panic!("accepted: {keyring:?}"),
        Err(error @ Error::Config(ConfigError::InvalidKey { .. })) => clean(error).to_string(),
        Err(other) => panic!("wrong error: {other:?}"),
    }
}

#[test]
fn keys_that_are_not_32_bytes_or_are_all_zero_are_refused() {
    assert!(refused(LocalKeyring::new("k", &[1; 31])).contains("exactly 32 bytes, not 31"));
    assert!(refused(LocalKeyring::new("k", &[1; 33])).contains("not 33"));
    assert!(refused(LocalKeyring::new("k", &[])).contains("not 0"));
    assert!(refused(LocalKeyring::new("k", &[0; 32])).contains("all-zero"));
    assert!(refused(LocalKeyring::from_base64("k", &b64(&[1; 16]))).contains("not 16"));
    assert!(refused(LocalKeyring::from_base64("k", "not base64!")).contains("base64"));
    let ok = LocalKeyring::new("k", &[1; 32]).unwrap();
    assert!(refused(ok.with_read_key("old", &[0; 32])).contains("all-zero"));
}

#[test]
fn key_ids_are_short_and_printable() {
    for bad in ["", "has space", "new\nline", &"x".repeat(256)] {
        refused(LocalKeyring::new(bad, &[1; 32]));
    }
    for good in [
        "k",
        "2026-11",
        "arn:aws:kms:eu-west-1:111122223333:key/abc",
        "a_b.c+d=e@f",
    ] {
        LocalKeyring::new(good, &[1; 32]).unwrap();
    }
    let keyring = LocalKeyring::new("k", &[1; 32]).unwrap();
    assert!(refused(keyring.with_read_key("k", &[2; 32])).contains("already holds"));
}

#[test]
fn a_key_given_as_the_key_id_is_refused_without_being_echoed() {
    let key = b64(&[0x37; 32]);
    let message = refused(LocalKeyring::from_base64(&key, "2026-11"));
    assert!(
        message.contains("swapped") && !message.contains(&key),
        "{message}"
    );
    let key = hex::encode([0x37; 32]);
    let message = refused(LocalKeyring::new(&key, &[1; 32]));
    assert!(
        message.contains("swapped") && !message.contains(&key),
        "{message}"
    );
}

#[test]
fn key_material_is_never_printed() {
    let key: [u8; 32] = std::array::from_fn(|i| 0xc0 ^ i as u8);
    let keyring = LocalKeyring::new("primary", &key)
        .unwrap()
        .with_read_key("old", &[0x5a; 32])
        .unwrap();
    let debug = format!("{keyring:?} {keyring:#?}");
    assert_eq!(
        format!("{keyring:?}"),
        r#"LocalKeyring { primary: "primary", keys: ["old", "primary"] }"#
    );
    for material in [
        b64(&key),
        hex::encode(key),
        format!("{:?}", key),
        format!("{}", 0xc0),
    ] {
        assert!(!debug.contains(&material), "key material in {debug}");
    }
    let keys = Keys::new(keyring);
    let debug = format!("{keys:?}");
    assert!(!debug.contains(&hex::encode(key)) && !debug.contains(&format!("{:?}", key)));
}

#[tokio::test]
async fn data_keys_are_redacted_and_unwrap_only_under_their_context() {
    let keyring = local("k1", 1);
    let context = EncryptionContext::for_table("profiles");
    let generated = keyring.generate_data_key(&context).await.unwrap();
    assert_eq!(format!("{:?}", generated.key), "DataKey([REDACTED])");
    assert_eq!(generated.wrapped.key_id, "k1");
    assert_eq!(generated.wrapped.ciphertext.len(), 24 + 32 + 16);
    keyring
        .unwrap_data_key(&generated.wrapped, &context)
        .await
        .unwrap();
    let other = EncryptionContext::for_table("orders");
    let error = clean(
        keyring
            .unwrap_data_key(&generated.wrapped, &other)
            .await
            .unwrap_err(),
    );
    assert!(matches!(error, Error::Key(KeyError::UnwrapFailed { .. })));
    let mut edited = generated.wrapped.clone();
    edited.ciphertext[30] ^= 1;
    assert!(matches!(
        keyring.unwrap_data_key(&edited, &context).await,
        Err(Error::Key(KeyError::UnwrapFailed { .. }))
    ));
}

#[test]
fn a_key_comes_from_base64_or_from_the_environment() {
    let key = [0x42u8; 32];
    let from_b64 = LocalKeyring::from_base64("k", &format!("  {}\n", b64(&key))).unwrap();
    assert_eq!(from_b64.primary_key_id(), "k");

    let missing = refused(LocalKeyring::from_env(
        "k",
        "CRYPT_MODEL_SURELY_UNSET_VARIABLE",
    ));
    assert!(
        missing.contains("CRYPT_MODEL_SURELY_UNSET_VARIABLE"),
        "{missing}"
    );

    // Setting a variable in this process is unsafe; a child process of this test gets it instead.
    match std::env::var(KEY_ENV) {
        Ok(_) => {
            let keyring = LocalKeyring::from_env("env-key", KEY_ENV).unwrap();
            assert_eq!(keyring.primary_key_id(), "env-key");
        }
        Err(_) => {
            let child = std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "a_key_comes_from_base64_or_from_the_environment",
                    "--test-threads=1",
                ])
                .env(KEY_ENV, b64(&key))
                .output()
                .unwrap();
            assert!(
                child.status.success(),
                "the child that reads the key from {KEY_ENV} failed:\n{}{}",
                String::from_utf8_lossy(&child.stdout),
                String::from_utf8_lossy(&child.stderr)
            );
        }
    }
}

#[tokio::test]
async fn a_generated_keyring_round_trips_and_another_generated_one_cannot_read() {
    let a = Keys::new(LocalKeyring::generate().unwrap());
    let b = Keys::new(LocalKeyring::generate().unwrap());
    let item = encrypted_profile(&a, "alice", "profile").await;
    assert_profile_opens(&a, &item).await;
    let error = clean(
        crypt_model::hazmat::decrypt(&b, &PROFILES, &item, &owner(&PROFILES, &item))
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(error, Error::Key(KeyError::UnknownKeyId { .. })),
        "{error:?}"
    );
}

fn calls(generate: u64, unwrap: u64) -> KeyringCalls {
    KeyringCalls {
        generate,
        unwrap,
        rewrap: 0,
    }
}

#[tokio::test]
async fn n_plus_one_writes_with_a_limit_of_n_make_exactly_two_generate_calls() {
    let keys = Keys::with_cache_limits(local("k1", 1), CacheLimits::default().max_items(10));
    for i in 0..11 {
        encrypted_profile(&keys, "alice", &format!("p{i}")).await;
    }
    assert_eq!(keys.keyring_calls(), calls(2, 0));
}

#[tokio::test]
async fn reads_of_1000_items_under_one_data_key_make_one_unwrap_call() {
    let keyring = Arc::new(local("k1", 1));
    let writer = Keys::new(keyring.clone());
    let mut items = Vec::new();
    for i in 0..1000 {
        items.push(encrypted_profile(&writer, "alice", &format!("p{i}")).await);
    }
    assert_eq!(writer.keyring_calls(), calls(1, 0));

    // Another process (a fresh cache) reads them all.
    let reader = Keys::new(keyring);
    for item in &items {
        crypt_model::hazmat::decrypt(&reader, &PROFILES, item, &owner(&PROFILES, item))
            .await
            .unwrap();
    }
    assert_eq!(reader.keyring_calls(), calls(0, 1));
    // The writer reads what it wrote without any unwrap.
    crypt_model::hazmat::decrypt(&writer, &PROFILES, &items[0], &owner(&PROFILES, &items[0]))
        .await
        .unwrap();
    assert_eq!(writer.keyring_calls(), calls(1, 0));
}

/// The key-provider budget of the default cache: 10,000 writes, then 10,000 reads of them by
/// another process, cost one call each (the target is at most 10 per 10,000 writes).
#[tokio::test]
async fn the_default_cache_costs_one_call_per_10000_writes_and_per_10000_reads() {
    let keyring = Arc::new(local("k1", 1));
    let writer = Keys::new(keyring.clone());
    let mut items = Vec::with_capacity(10_000);
    for i in 0..10_000 {
        items.push(encrypted_order(&writer, &i.to_string(), "carol").await);
    }
    assert_eq!(writer.keyring_calls(), calls(1, 0));
    encrypted_order(&writer, "10000", "carol").await;
    assert_eq!(
        writer.keyring_calls(),
        calls(2, 0),
        "the 10,001st write starts a new data key"
    );

    let reader = Keys::new(keyring);
    for item in &items {
        crypt_model::hazmat::decrypt(&reader, &ORDERS, item, &owner(&ORDERS, item))
            .await
            .unwrap();
    }
    assert_eq!(reader.keyring_calls(), calls(0, 1));
}

#[tokio::test]
async fn the_byte_and_age_limits_start_a_new_data_key() {
    // Each profile holds 11 + 32 + 29 = 72 bytes of sensitive plaintext.
    let per_item = (SSN.len() + EMAIL.len() + NOTES.len()) as u64;
    let keys = Keys::with_cache_limits(
        local("k1", 1),
        CacheLimits::default().max_bytes(3 * per_item),
    );
    for i in 0..7 {
        encrypted_profile(&keys, "alice", &format!("p{i}")).await;
    }
    assert_eq!(keys.keyring_calls(), calls(3, 0), "3 + 3 + 1 items");

    let keys = Keys::with_cache_limits(
        local("k1", 1),
        CacheLimits::default().max_age(Duration::ZERO),
    );
    for i in 0..3 {
        encrypted_profile(&keys, "alice", &format!("p{i}")).await;
    }
    assert_eq!(keys.keyring_calls(), calls(3, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_keys_are_dropped_without_any_traffic() {
    let keys = Keys::with_cache_limits(
        local("k1", 1),
        CacheLimits::default().max_age(Duration::from_millis(200)),
    );
    let item = encrypted_profile(&keys, "alice", "profile").await;
    assert_eq!(
        keys.cached_keys(),
        CachedKeys {
            data_keys: 1,
            unwrapped_keys: 1,
            owner_keys: 0,
        }
    );
    // No call on the keys from here on: the background sweep alone drops (and wipes) them,
    // within a second of their age limit.
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while keys.cached_keys() != CachedKeys::default() {
        assert!(
            std::time::Instant::now() < deadline,
            "still cached: {:?}",
            keys.cached_keys()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_profile_opens(&keys, &item).await;
    assert_eq!(
        keys.keyring_calls(),
        calls(1, 1),
        "the read unwrapped again"
    );
}

#[tokio::test]
async fn data_keys_are_per_logical_table() {
    let keys = Keys::new(local("k1", 1));
    encrypted_profile(&keys, "alice", "profile").await;
    encrypted_order(&keys, "1", "carol").await;
    encrypted_profile(&keys, "alice", "other").await;
    assert_eq!(keys.keyring_calls(), calls(2, 0));
}

#[tokio::test]
async fn the_read_cache_is_bounded() {
    let keyring = Arc::new(local("k1", 1));
    let writer = Keys::with_cache_limits(keyring.clone(), CacheLimits::disabled());
    let mut items = Vec::new();
    for i in 0..3 {
        items.push(encrypted_profile(&writer, "alice", &format!("p{i}")).await);
    }
    assert_eq!(
        writer.keyring_calls(),
        calls(3, 0),
        "no cache: a data key per item"
    );

    let reader = Keys::with_cache_limits(
        keyring.clone(),
        CacheLimits::default().max_unwrapped_keys(2),
    );
    for _ in 0..2 {
        for item in &items {
            crypt_model::hazmat::decrypt(&reader, &PROFILES, item, &owner(&PROFILES, item))
                .await
                .unwrap();
        }
    }
    // Cycling through 3 keys in a cache of 2 evicts each before it is used again.
    assert_eq!(reader.keyring_calls(), calls(0, 6));

    let roomy = Keys::with_cache_limits(keyring, CacheLimits::default().max_unwrapped_keys(3));
    for _ in 0..2 {
        for item in &items {
            crypt_model::hazmat::decrypt(&roomy, &PROFILES, item, &owner(&PROFILES, item))
                .await
                .unwrap();
        }
    }
    assert_eq!(roomy.keyring_calls(), calls(0, 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cipher_is_shared_across_tasks() {
    let keys = Arc::new(Keys::new(local("k1", 1)));
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let keys = keys.clone();
            tokio::spawn(async move {
                let item = encrypted_profile(&keys, &format!("user{i}"), "profile").await;
                assert_profile_opens(&keys, &item).await;
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert!(keys.keyring_calls().generate >= 1);
}

#[test]
fn a_wrapped_key_has_a_text_form_that_reads_back_and_refuses_anything_else() {
    use crypt_model::keyring::WrappedDataKey;
    let wrapped = WrappedDataKey {
        key_id: "arn:aws:kms:eu-west-1:123456789012:key/1234abcd".into(),
        ciphertext: vec![0, 1, 2, 250, 251, 252],
    };
    let text = wrapped.to_text();
    assert!(text.starts_with("crypt-model-wrapped-key.v1.") && !text.contains(char::is_whitespace));
    assert_eq!(
        WrappedDataKey::from_text(&format!(" {text}\n")).unwrap(),
        wrapped
    );
    let long = format!("crypt-model-wrapped-key.v1.{}", "A".repeat(20_000));
    for bad in [
        "",
        "0123456789abcdef",
        "crypt-model-wrapped-key.v1.",
        "crypt-model-wrapped-key.v1.YQ",
        "crypt-model-wrapped-key.v1.YQ.",
        "crypt-model-wrapped-key.v1..AAEC",
        "crypt-model-wrapped-key.v1.Y*Q.AAEC",
        "crypt-model-wrapped-key.v2.YQ.AAEC",
        long.as_str(),
    ] {
        let error = WrappedDataKey::from_text(bad).unwrap_err();
        assert!(
            matches!(error, Error::Config(ConfigError::InvalidKey { .. })),
            "{bad}: {error:?}"
        );
    }
}

#[derive(crypt_model::EncryptedItem)]
#[crypt_model(table = "indexed")]
struct Indexed {
    #[partition_key]
    #[owner]
    user_id: String,
    #[sensitive(index = "exact")]
    email: crypt_model::Sensitive<String>,
}

/// Rotating the key that wraps the index secret: the rewrapped secret names the new key, opens
/// with it alone, and is the same secret (a record indexed before is found after).
#[tokio::test]
async fn a_wrapped_index_secret_moves_to_a_new_key_and_stays_the_same_secret() {
    use crypt_model::{
        Caller, IndexSecret, MemoryStore, Sensitive, Table, keyring::WrappedDataKey,
    };
    let old = local("k1", 1);
    let (secret, wrapped) = IndexSecret::generate_wrapped(&old).await.unwrap();
    let rotating = local("k2", 2).with_read_key("k1", &key(1)).unwrap();
    let rewrapped = IndexSecret::rewrap(&rotating, &wrapped).await.unwrap();
    assert_eq!(rewrapped.key_id, "k2");
    // Stored as text, read back, unwrapped by the new key alone (the old one retired).
    let rewrapped = WrappedDataKey::from_text(&rewrapped.to_text()).unwrap();
    let unwrapped = IndexSecret::unwrap(&local("k2", 2), &rewrapped)
        .await
        .unwrap();
    assert!(
        IndexSecret::unwrap(&local("k2", 2), &wrapped)
            .await
            .is_err()
    );

    let store = MemoryStore::new();
    let before = Keys::new(local("k1", 1)).with_index_secret(secret);
    let table = Table::<Indexed, _>::new(store.clone(), Arc::new(before)).unwrap();
    let alice = Caller::user("alice").unwrap();
    let mut record = Indexed {
        user_id: "alice".into(),
        email: Sensitive::new(EMAIL.into()),
    };
    table.put(&alice, &mut record).await.unwrap();
    let after = Keys::new(local("k1", 1)).with_index_secret(unwrapped);
    let table = Table::<Indexed, _>::new(store, Arc::new(after)).unwrap();
    let found = table
        .find(&alice, &Indexed::by_email(EMAIL.to_owned()).unwrap())
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "the rewrapped secret is another secret");
}

/// Records whose headers carry junk wrapped keys (planted by someone who can write the table)
/// cost a bounded number of key-provider calls: 100 failed unwraps pass at once, then 10 a
/// second; an unwrap that succeeds waits at most a refill's interval. On tokio's paused clock,
/// so that the waits are counted, not slept.
#[tokio::test(start_paused = true)]
async fn planted_wrapped_keys_cost_a_bounded_number_of_provider_calls() {
    let keys = Keys::new(local("k1", 1));
    let genuine = encrypted_profile(&keys, "alice", "profile").await;
    let Some(crypt_model::AttributeValue::B(header)) = genuine.get("__cm_header") else {
        panic!("a header")
    };
    // The wrapped key's first byte changed: it does not unwrap (and is never cached). The key
    // id's length follows the version (and, in version 4, the suite).
    let at = if header[0] == 4 { 2 } else { 1 };
    let key_id_len = usize::from(u16::from_be_bytes([header[at], header[at + 1]]));
    let mut junk = header.clone();
    junk[at + 2 + key_id_len + 2] ^= 0xff;
    let mut planted = genuine.clone();
    planted.insert("__cm_header", crypt_model::AttributeValue::B(junk));
    let alice = owner(&PROFILES, &genuine);

    let start = tokio::time::Instant::now();
    for _ in 0..100 {
        let error = crypt_model::hazmat::decrypt(&keys, &PROFILES, &planted, &alice)
            .await
            .unwrap_err();
        assert!(
            matches!(error, Error::Key(_) | Error::Integrity(_)),
            "{error:?}"
        );
    }
    assert_eq!(start.elapsed(), Duration::ZERO, "the burst passes at once");
    for _ in 0..50 {
        crypt_model::hazmat::decrypt(&keys, &PROFILES, &planted, &alice)
            .await
            .unwrap_err();
    }
    // 50 more, at 10 a second: 5 s of (paused) time, and one call each.
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_millis(4_900) && elapsed <= Duration::from_millis(5_200),
        "{elapsed:?}"
    );
    assert_eq!(keys.keyring_calls().unwrap, 150);
    // The genuine record still opens, after at most a refill's interval.
    let before = tokio::time::Instant::now();
    crypt_model::hazmat::decrypt(&keys, &PROFILES, &genuine, &alice)
        .await
        .unwrap();
    assert!(before.elapsed() <= Duration::from_millis(100));
}

/// A keyring that records the contexts it is asked under.
#[derive(Debug)]
struct Recording(LocalKeyring, Arc<std::sync::Mutex<Vec<Contexts>>>);

/// A context's entries.
type Contexts = Vec<(String, String)>;

#[async_trait::async_trait]
impl Keyring for Recording {
    async fn generate_data_key(
        &self,
        context: &EncryptionContext,
    ) -> crypt_model::Result<crypt_model::keyring::GeneratedDataKey> {
        self.record(context);
        self.0.generate_data_key(context).await
    }
    async fn unwrap_data_key(
        &self,
        wrapped: &crypt_model::keyring::WrappedDataKey,
        context: &EncryptionContext,
    ) -> crypt_model::Result<crypt_model::keyring::DataKey> {
        self.record(context);
        self.0.unwrap_data_key(wrapped, context).await
    }
}

impl Recording {
    fn record(&self, context: &EncryptionContext) {
        let entries = context
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        self.1.lock().unwrap().push(entries);
    }
}

/// Owner keys and index secrets are long-lived: their contexts have a version of their own,
/// not the item format's, and names a key policy tells apart; an index secret of one namespace
/// does not unwrap under another.
#[tokio::test]
async fn long_lived_keys_have_contexts_of_their_own() {
    use crypt_model::IndexSecret;
    let keyring = Recording(local("k1", 1), Default::default());
    let (secret, wrapped) = IndexSecret::generate_wrapped_in(&keyring, "billing")
        .await
        .unwrap();
    let again = IndexSecret::unwrap_in(&keyring, &wrapped, "billing").await;
    assert_eq!(format!("{:?}", again.unwrap()), format!("{secret:?}"));
    assert!(
        IndexSecret::unwrap_in(&keyring, &wrapped, "payroll")
            .await
            .is_err()
    );
    assert!(IndexSecret::unwrap(&keyring, &wrapped).await.is_err());
    let contexts = keyring.1.lock().unwrap().clone();
    let billing = vec![
        ("crypt-model:index-secret".to_owned(), "1".to_owned()),
        ("crypt-model:table".to_owned(), "billing".to_owned()),
    ];
    assert_eq!(contexts[0], billing);

    // An owner's key, through the key table.
    use crypt_model::keyring::LocalErasureKey;
    use crypt_model::{MemoryStore, OwnerKeys, Tombstones};
    let store = MemoryStore::new();
    let tombstones = Tombstones::new(
        store.clone(),
        "tombstones",
        LocalErasureKey::generate().unwrap(),
    )
    .unwrap();
    let owner_keys = OwnerKeys::new(store.clone(), "owner-keys", tombstones).unwrap();
    let keyring = Recording(local("k1", 1), Default::default());
    let recorded = keyring.1.clone();
    let keys = Keys::new(keyring).with_owner_keys(owner_keys);
    let notes = crypt_model::Table::<Note, _>::new(store, Arc::new(keys)).unwrap();
    let ann = crypt_model::Caller::user("ann").unwrap();
    let mut note = Note {
        user_id: "ann".into(),
        body: crypt_model::Sensitive::new("hello".into()),
    };
    notes.put(&ann, &mut note).await.unwrap();
    let contexts = recorded.lock().unwrap().clone();
    assert_eq!(
        contexts[0],
        vec![
            ("crypt-model:owner-keys".to_owned(), "1".to_owned()),
            (
                "crypt-model:table".to_owned(),
                "notes/owner-keys".to_owned()
            ),
        ]
    );
}

/// A note whose owners each have a key.
#[derive(crypt_model::EncryptedItem)]
#[crypt_model(table = "notes", key_per_owner)]
struct Note {
    #[partition_key]
    #[owner]
    user_id: String,
    #[sensitive]
    body: crypt_model::Sensitive<String>,
}
