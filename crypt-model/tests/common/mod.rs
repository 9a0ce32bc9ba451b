//! Shared fixtures of the crypt-model tests: models, secrets, and keyrings that fail or count.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

pub mod capture;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crypt_model::keyring::{
    DataKey, EncryptionContext, GeneratedDataKey, Keyring, WrappedDataKey, async_trait,
};
use crypt_model::{AttributeValue, Cipher, Error, Item, LocalKeyring, Plaintexts, Result, Schema};

/// A model whose owner is its partition key, with a sort key.
pub const PROFILES: Schema = Schema::new("profiles", "user_id", "user_id")
    .with_sort_key("kind")
    .with_sensitive(&["ssn", "email", "notes"]);

/// A model whose owner is a separate attribute.
pub const ORDERS: Schema = Schema::new("orders", "order_no", "customer").with_sensitive(&["card"]);

pub const SSN: &str = "078-05-1120";
pub const EMAIL: &str = "alice.secret.mailbox@example.com";
pub const NOTES: &str = "diagnosis-confidential-7f3a9c";
pub const CARD: &str = "4111-1111-1111-1111";

/// Every secret a test in this suite writes; no string a test sees may contain one.
pub const SECRETS: &[&str] = &[
    SSN,
    EMAIL,
    NOTES,
    CARD,
    "078-05",
    "4111-1111",
    "confidential-7f3a",
];

/// Panics if `text` contains any secret.
pub fn assert_clean(text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "a secret leaked into: {text}");
    }
}

/// Panics if the `Display` or the `Debug` of `error` contains a secret; returns the error.
pub fn clean(error: Error) -> Error {
    assert_clean(&error.to_string());
    assert_clean(&format!("{error:?}"));
    let mut source = std::error::Error::source(&error);
    while let Some(s) = source {
        assert_clean(&s.to_string());
        source = s.source();
    }
    error
}

/// Panics unless the item, as stored, holds no secret: not in its `Debug`, not in any binary
/// attribute's bytes.
pub fn assert_item_clean(item: &Item) {
    assert_clean(&format!("{item:?}"));
    for (_, value) in item.iter() {
        if let AttributeValue::B(bytes) = value {
            for secret in SECRETS {
                assert!(
                    !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                    "a secret is in a stored binary attribute"
                );
            }
        }
    }
}

pub fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

/// The plain part of a profile record.
pub fn profile(owner: &str, kind: &str) -> Item {
    Item::from_iter([
        ("user_id", s(owner)),
        ("kind", s(kind)),
        ("display_name", s("Alice")),
    ])
}

pub fn profile_secrets() -> Plaintexts {
    let mut p = Plaintexts::new();
    p.insert("ssn", &SSN.to_owned()).unwrap();
    p.insert("email", &EMAIL.to_owned()).unwrap();
    p.insert("notes", &NOTES.to_owned()).unwrap();
    p
}

/// A profile of `owner`, encrypted.
pub async fn encrypted_profile(cipher: &Cipher, owner: &str, kind: &str) -> Item {
    let mut item = profile(owner, kind);
    cipher
        .encrypt(&PROFILES, &mut item, &profile_secrets())
        .await
        .unwrap();
    item
}

/// An order of `customer`, encrypted.
pub async fn encrypted_order(cipher: &Cipher, order_no: &str, customer: &str) -> Item {
    let mut item = Item::from_iter([
        ("order_no", AttributeValue::N(order_no.to_owned())),
        ("customer", s(customer)),
    ]);
    let mut p = Plaintexts::new();
    p.insert("card", &CARD.to_owned()).unwrap();
    cipher.encrypt(&ORDERS, &mut item, &p).await.unwrap();
    item
}

/// Decrypts a profile and checks every field.
pub async fn assert_profile_opens(cipher: &Cipher, item: &Item) {
    let mut p = cipher
        .decrypt(&PROFILES, item)
        .await
        .map_err(clean)
        .unwrap();
    assert_eq!(
        p.take::<String>("ssn").unwrap().unwrap().expose_secret(),
        SSN
    );
    assert_eq!(
        p.take::<String>("email").unwrap().unwrap().expose_secret(),
        EMAIL
    );
    assert_eq!(
        p.take::<String>("notes").unwrap().unwrap().expose_secret(),
        NOTES
    );
}

pub fn key(byte: u8) -> [u8; 32] {
    [byte; 32]
}

pub fn local(id: &str, byte: u8) -> LocalKeyring {
    LocalKeyring::new(id, &key(byte)).unwrap()
}

/// A keyring whose provider can be switched off, as when KMS is unreachable.
#[derive(Debug)]
pub struct Switchable {
    pub inner: LocalKeyring,
    pub down: Arc<AtomicBool>,
}

impl Switchable {
    pub fn new(inner: LocalKeyring) -> (Self, Arc<AtomicBool>) {
        let down = Arc::new(AtomicBool::new(false));
        (
            Switchable {
                inner,
                down: down.clone(),
            },
            down,
        )
    }

    fn check(&self) -> Result<()> {
        if self.down.load(Ordering::SeqCst) {
            return Err(Error::KeyProvider {
                kind: crypt_model::KeyProviderError::Unavailable,
                key_id: Some("test-provider".into()),
                message: "the key provider is unreachable".into(),
                source: None,
            });
        }
        Ok(())
    }
}

#[async_trait]
impl Keyring for Switchable {
    async fn generate_data_key(&self, context: &EncryptionContext) -> Result<GeneratedDataKey> {
        self.check()?;
        self.inner.generate_data_key(context).await
    }
    async fn unwrap_data_key(
        &self,
        wrapped: &WrappedDataKey,
        context: &EncryptionContext,
    ) -> Result<DataKey> {
        self.check()?;
        self.inner.unwrap_data_key(wrapped, context).await
    }
}

/// A keyring that ignores the encryption context, so that tests can show the engine binds the
/// table by itself, whatever the provider does.
#[derive(Debug)]
pub struct ContextBlind(pub LocalKeyring);

#[async_trait]
impl Keyring for ContextBlind {
    async fn generate_data_key(&self, _: &EncryptionContext) -> Result<GeneratedDataKey> {
        self.0
            .generate_data_key(&EncryptionContext::for_table("any"))
            .await
    }
    async fn unwrap_data_key(
        &self,
        wrapped: &WrappedDataKey,
        _: &EncryptionContext,
    ) -> Result<DataKey> {
        self.0
            .unwrap_data_key(wrapped, &EncryptionContext::for_table("any"))
            .await
    }
}

/// Shares one keyring between several ciphers (a writer and a fresh reader).
pub fn shared(keyring: LocalKeyring) -> Arc<LocalKeyring> {
    Arc::new(keyring)
}
