#![doc = include_str!("../README.md")]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The derive names `::crypt_model`; the crate's own unit tests derive models too.
#[cfg(test)]
extern crate self as crypt_model;

// The modules, by room from the bottom (docs/architecture.md, which says what each room may
// never import; `scripts/check-layers` fails on such an import, and on a cycle).

// Values.
pub mod attribute;
pub mod blind_index;
mod data_key;
mod encoding;
pub mod error;
mod fingerprint;
mod fips;
mod identity;
mod json;
mod key_bytes;
pub mod plaintext;
mod plaintexts;
mod random;
pub mod schema;
mod sensitive;
mod suite;
mod wipe;

// The format: the pure engine.
mod aead;
pub mod format;

// Storage.
pub mod store;

// Policy.
pub mod access;

// Keys.
mod cache;
mod key_source;
pub mod keyring;
mod keys;
mod owner_keys;

// Records.
mod migration_plans;
mod model;
mod record;
mod table;
mod types;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod web;

// Jobs.
pub mod lifecycle;

#[cfg(feature = "hazmat")]
#[cfg_attr(docsrs, doc(cfg(feature = "hazmat")))]
pub mod hazmat;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

// What applications use. Implementors of stores, keyrings and conversions find the rest in the
// modules above.
pub use access::{Caller, Grant};
pub use attribute::{AttributeValue, Item, Key, SerdeAttribute};
pub use blind_index::IndexSecret;
pub use cache::CacheLimits;
pub use error::{Error, KeyProviderError, Result};
pub use keyring::LocalKeyring;
pub use keys::Keys;
pub use migration_plans::{MigrationPlans, MigrationStatus};
pub use model::{BatchWritable, EncryptedItem, Field, OwnerId, Principals, Sealed, Versioned};
pub use owner_keys::{OwnerKeys, Tombstones};
pub use plaintext::SerdePlaintext;
pub use schema::Schema;
pub use sensitive::Sensitive;
pub use store::{MemoryStore, Page, Query, Scan, SortCondition, Store, TableRef};
pub use suite::Suite;
pub use table::{IndexLookup, Table, Write};

#[doc = include_str!("../docs/derive.md")]
pub use crypt_model_derive::EncryptedItem;

/// Derives [`SerdePlaintext`](trait@SerdePlaintext): `#[derive(Serialize, Deserialize, Zeroize,
/// SerdePlaintext)]` makes a serde type a sensitive value, encoded as CBOR.
pub use crypt_model_derive::SerdePlaintext;

/// Derives [`SerdeAttribute`](trait@SerdeAttribute): `#[derive(Serialize, Deserialize,
/// SerdeAttribute)]` makes a serde type a plain attribute, laid out as `serde_dynamo` does.
pub use crypt_model_derive::SerdeAttribute;

/// Specifications and measurements, rendered from the repository's `docs/` folder. The guide is
/// [`guide`].
pub mod docs {
    #[doc = include_str!("../docs/format.md")]
    pub mod format {}
    #[doc = include_str!("../docs/threat-model.md")]
    pub mod threat_model {}
    #[doc = include_str!("../docs/types.md")]
    pub mod types {}
    #[doc = include_str!("../docs/performance.md")]
    pub mod performance {}
    #[doc = include_str!("../docs/reliability.md")]
    pub mod reliability {}
    #[doc = include_str!("../docs/fips.md")]
    pub mod fips {}
    #[doc = include_str!("../docs/scale.md")]
    pub mod scale {}
}

/// Link definitions of the guide's chapters that live in crypt-model-dynamo, relative to the doc
/// root reached by `$up` from the page: they resolve wherever both crates are documented side by
/// side (`cargo doc` of the workspace, or of an application using both); `scripts/test` checks
/// that they do.
macro_rules! dynamo_chapters {
    ($up:literal) => {
        concat!(
            "[aws-setup-chapter]: ",
            $up,
            "crypt_model_dynamo/guide/aws_setup/index.html\n",
            "[streams-chapter]: ",
            $up,
            "crypt_model_dynamo/guide/streams/index.html\n",
            "[moto-chapter]: ",
            $up,
            "crypt_model_dynamo/guide/testing_with_moto/index.html\n",
            "[`KmsKeyring`]: ",
            $up,
            "crypt_model_dynamo/struct.KmsKeyring.html\n",
        )
    };
}
pub(crate) use dynamo_chapters;

pub mod guide;

/// Re-exported for the `Zeroize` trait. Its derive names the `zeroize` crate itself, so a crate that
/// derives it for a [`SerdePlaintext`] type also depends on
/// `zeroize = { version = "1", features = ["derive"] }`.
pub use zeroize;
