//! Shared fixtures of the crypt-model tests: schemas and records for the raw API, and (in files
//! of their own, which the workspace tests share) secrets, log capture and keyrings that fail.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

pub mod capture;
pub mod draw;
pub mod keyrings;
pub mod secrets;
pub mod soak;

#[allow(unused_imports)]
pub use keyrings::{ContextBlind, Switchable};
pub use secrets::*;

use std::sync::Arc;

use crypt_model::hazmat::Plaintexts;
use crypt_model::{AttributeValue, Caller, Item, Keys, LocalKeyring, Schema};

/// A model whose owner is its partition key, with a sort key.
pub const PROFILES: Schema = Schema::new("profiles", "user_id", "user_id")
    .with_sort_key("kind")
    .with_sensitive(&["ssn", "email", "notes"])
    .with_plain(&["display_name"]);

/// A model whose owner is a separate attribute.
pub const ORDERS: Schema = Schema::new("orders", "order_no", "customer").with_sensitive(&["card"]);

/// The user named by the owner attribute of `item` (as stored, edited or not): the caller the
/// raw API's owner gate lets through.
pub fn owner(schema: &Schema, item: &Item) -> Caller {
    match item.get(schema.owner()) {
        Some(AttributeValue::S(owner)) => Caller::user(owner.as_str()).unwrap(),
        _ => Caller::user("no-owner").unwrap(),
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
pub async fn encrypted_profile(keys: &Keys, owner: &str, kind: &str) -> Item {
    let mut item = profile(owner, kind);
    crypt_model::hazmat::encrypt(keys, &PROFILES, &mut item, &profile_secrets())
        .await
        .unwrap();
    item
}

/// An order of `customer`, encrypted.
pub async fn encrypted_order(keys: &Keys, order_no: &str, customer: &str) -> Item {
    let mut item = Item::from_iter([
        ("order_no", AttributeValue::N(order_no.to_owned())),
        ("customer", s(customer)),
    ]);
    let mut p = Plaintexts::new();
    p.insert("card", &CARD.to_owned()).unwrap();
    crypt_model::hazmat::encrypt(keys, &ORDERS, &mut item, &p)
        .await
        .unwrap();
    item
}

/// Decrypts a profile and checks every field.
pub async fn assert_profile_opens(keys: &Keys, item: &Item) {
    let mut p = crypt_model::hazmat::decrypt(keys, &PROFILES, item, &owner(&PROFILES, item))
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

/// Shares one keyring between several ciphers (a writer and a fresh reader).
pub fn shared(keyring: LocalKeyring) -> Arc<LocalKeyring> {
    Arc::new(keyring)
}
