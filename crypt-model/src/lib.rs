#![doc = include_str!("../../README.md")]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod access;
mod attribute;
mod cache;
mod cipher;
mod error;
mod format;
mod index;
mod keyring;
mod plaintext;
mod random;
mod schema;
mod sealed;
mod sensitive;
mod store;
mod table;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use access::{Caller, Grant};
pub use attribute::{Attribute, AttributeError, AttributeValue, Item, SerdeAttribute, SetMember};
pub use cache::{CacheLimits, CachingKeyring, KeyringCalls};
pub use cipher::{Cipher, Plaintexts};
pub use error::{BoxError, Error, KeyProviderError, Result};
pub use format::{HEADER_ATTRIBUTE, MAX_FIELD_LEN, RESERVED_PREFIX, VERSION as FORMAT_VERSION};
pub use index::{
    DEFAULT_INDEX_BITS, IndexScope, IndexSecret, IndexSpec, MAX_INDEX_BITS, MIN_INDEX_BITS,
    Normalize,
};
pub use keyring::{
    DataKey, EncryptionContext, GeneratedDataKey, KEY_LEN, Keyring, LocalKeyring, WrappedDataKey,
};
pub use plaintext::{Plaintext, PlaintextError, SerdePlaintext};
pub use schema::{Schema, validate_attribute_name, validate_table_name};
pub use sealed::{EncryptedItem, OwnerId, Sealed, SensitiveField, TextField, VersionField};

#[doc = include_str!("../../docs/derive.md")]
pub use crypt_model_derive::EncryptedItem;
pub use sensitive::Sensitive;
pub use store::{
    BatchGet, Condition, Cursor, IndexRef, Key, KeyType, MAX_BATCH_GET, MAX_BATCH_WRITE,
    MAX_ITEM_SIZE, MAX_TRANSACTION, MemoryStore, Page, Query, SortCondition, Store, TableRef,
    TransactItem, Update, compare_keys,
};
pub use table::{IndexLookup, Table, Write};

/// Re-exported for implementors of [`Keyring`].
pub use async_trait::async_trait;
/// Guides and specifications, rendered from the repository's `docs/` folder.
pub mod docs {
    #[doc = include_str!("../../docs/format.md")]
    pub mod format {}
    #[doc = include_str!("../../docs/threat-model.md")]
    pub mod threat_model {}
    #[doc = include_str!("../../docs/searchable.md")]
    pub mod searchable {}
    #[doc = include_str!("../../docs/performance.md")]
    pub mod performance {}
}

/// Re-exported so that `#[derive(Zeroize)]` is at hand for [`SerdePlaintext`] types.
pub use zeroize;
