//! Key providers: the [`Keyring`] trait, its data keys, and [`LocalKeyring`].
//!
//! crypt-model uses envelope encryption: each item's keys are derived from a 256-bit *data key*;
//! a keyring generates data keys and wraps them under a key-encryption key it holds (a local key,
//! or an AWS KMS key in `crypt-model-dynamo`), and later unwraps them. Only the wrapped form is
//! stored, in the item's header. The [`Keys`](crate::Keys) puts a cache in front of the
//! keyring so that one data key serves many items.

use crate::error::KeyError;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use crate::encoding::{self, put_bytes, put_u32};
#[cfg(doc)]
use crate::error::Error;
use crate::error::Result;

mod erasure_key;
mod index_secret;
pub(crate) mod local;

pub use crate::data_key::{DataKey, GeneratedDataKey, WrappedDataKey};
pub use crate::error::BoxError;
pub use async_trait::async_trait;
pub use erasure_key::{ErasureKey, LocalErasureKey};
pub use local::LocalKeyring;

/// The length of a data key and of a key-encryption key, in bytes.
pub const KEY_LEN: usize = crate::key_bytes::KEY_LEN;

/// The non-secret context a data key is wrapped under; unwrapping succeeds only under the same
/// context.
///
/// crypt-model puts in it what the wrapped key is for, with the version of that context, and
/// the logical table, and nothing that varies per item, because one data key serves many items
/// of a table (see the cache). Per-item binding (keys, owner, field) is done by the item's key
/// derivation and associated data instead. AWS KMS logs the context with every call, so it never
/// holds a value of a record.
///
/// | what is wrapped | entries |
/// |---|---|
/// | an item's data key | `crypt-model:format` = `3` (the item format), `crypt-model:table` = *T* |
/// | an owner's key (`key_per_owner`) | `crypt-model:owner-keys` = `1`, `crypt-model:table` = *T*`/owner-keys` |
/// | a blind-index secret | `crypt-model:index-secret` = `1`, `crypt-model:table` = its namespace |
///
/// The owner keys and the index secret are long-lived: their contexts carry a version of their
/// own, frozen, so that a later item format does not stop them unwrapping, and a key policy
/// tells them apart by the entry's name (`kms:EncryptionContextKeys`).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct EncryptionContext {
    /// The first entry: what the key is for, and the version of its context.
    purpose: (&'static str, &'static str),
    // The table is the only entry that varies; a model's logical table is `'static`, so the
    // context of a read or write allocates nothing.
    table: Cow<'static, str>,
}

const TABLE_KEY: &str = "crypt-model:table";
const FORMAT_KEY: &str = "crypt-model:format";
const FORMAT_VALUE: &str = "3";
const _: () = assert!(
    encoding::VERSION == 3,
    "FORMAT_VALUE must follow the format version"
);
/// An owner's key: its context's version, frozen.
const OWNER_KEYS: (&str, &str) = ("crypt-model:owner-keys", "1");
/// An index secret: its context's version, frozen.
const INDEX_SECRET: (&str, &str) = ("crypt-model:index-secret", "1");

impl EncryptionContext {
    /// The context for data keys of the logical table `table`.
    pub fn for_table(table: &str) -> Self {
        EncryptionContext {
            purpose: (FORMAT_KEY, FORMAT_VALUE),
            table: Cow::Owned(table.to_owned()),
        }
    }

    /// The same, for a table name known at compile time (no allocation).
    pub(crate) fn for_static_table(table: &'static str) -> Self {
        EncryptionContext {
            purpose: (FORMAT_KEY, FORMAT_VALUE),
            table: Cow::Borrowed(table),
        }
    }

    /// The context of the owners' keys of the logical table `table` (`key_per_owner`).
    pub(crate) fn for_owner_keys(table: &str) -> Self {
        EncryptionContext {
            purpose: OWNER_KEYS,
            table: Cow::Owned(format!("{table}/owner-keys")),
        }
    }

    /// The context of a blind-index secret of `namespace`.
    pub(crate) fn for_index_secret(namespace: &str) -> Self {
        EncryptionContext {
            purpose: INDEX_SECRET,
            table: Cow::Owned(namespace.to_owned()),
        }
    }

    /// The span around one call to the key provider under this context: the operation
    /// (`generate`, `unwrap`, `rewrap`), the logical table, and the key id of the wrapped key
    /// (quoted and escaped). Never key material.
    pub(crate) fn provider_span(
        &self,
        operation: &'static str,
        key_id: Option<&str>,
    ) -> tracing::Span {
        let span = tracing::info_span!(
            target: "crypt_model::keyring",
            "key_provider",
            operation,
            table = &*self.table,
            key_id = tracing::field::Empty
        );
        if let Some(key_id) = key_id {
            // Quoted and escaped: a key id read from the key table or a header is not trusted
            // to be free of spaces, `=` or line breaks a log parser would take for fields.
            span.record("key_id", tracing::field::debug(key_id));
        }
        span
    }

    /// The entries, in key order (for AWS KMS's `EncryptionContext`).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        // Every purpose's name sorts before `crypt-model:table`.
        [self.purpose, (TABLE_KEY, &*self.table)].into_iter()
    }

    /// An unambiguous byte encoding (a count, then each key and value length-prefixed, in key
    /// order), for keyrings that bind the context as associated data.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.table.len());
        put_u32(&mut out, 2);
        for (key, value) in self.iter() {
            put_bytes(&mut out, key.as_bytes());
            put_bytes(&mut out, value.as_bytes());
        }
        out
    }
}

/// A key provider: generates data keys and unwraps them.
///
/// Object-safe and async, so that a remote provider (AWS KMS) fits it. Implementations must fail
/// closed: an unwrap under a context other than the one a key was wrapped under fails, and no
/// error carries key material.
#[async_trait]
pub trait Keyring: Send + Sync + fmt::Debug {
    /// Generates a new data key and wraps it under the current (primary) key-encryption key.
    async fn generate_data_key(&self, context: &EncryptionContext) -> Result<GeneratedDataKey>;

    /// Unwraps a data key that this keyring (or one with the same keys) wrapped under `context`.
    ///
    /// Errors: [`KeyError::UnknownKeyId`] when the key id is not held,
    /// [`KeyError::UnwrapFailed`] when the key is held but does not
    /// unwrap this ciphertext under this context, [`KeyError::Provider`]
    /// when the provider cannot be reached.
    async fn unwrap_data_key(
        &self,
        wrapped: &WrappedDataKey,
        context: &EncryptionContext,
    ) -> Result<DataKey>;

    /// The id of the primary key-encryption key, as the headers of new items name it, if the
    /// keyring knows it without asking its provider. `None` (the default) makes a rotation job
    /// learn it by generating one data key.
    fn primary_key_id(&self) -> Option<&str> {
        None
    }

    /// Wraps a data key again, under the current (primary) key-encryption key and the same
    /// `context`: a rotation that keeps the data key (`key` is its plaintext, `wrapped` its
    /// current wrapped form; a provider may use either — AWS KMS re-encrypts `wrapped` without
    /// the plaintext leaving it).
    ///
    /// The default refuses, with [`KeyError::Provider`]: a keyring
    /// that cannot rewrap can still rotate by re-encryption, which only generates.
    async fn rewrap_data_key(
        &self,
        key: &DataKey,
        wrapped: &WrappedDataKey,
        context: &EncryptionContext,
    ) -> Result<WrappedDataKey> {
        let _ = (key, context);
        Err(crate::Error::Key(KeyError::Provider {
            kind: crate::KeyProviderError::Other,
            key_id: Some(wrapped.key_id.clone()),
            message: "this keyring cannot rewrap data keys (Keyring::rewrap_data_key): rotate \
                      by re-encryption"
                .to_owned(),
            source: None,
        }))
    }
}

#[async_trait]
impl<K: Keyring + ?Sized> Keyring for Arc<K> {
    async fn generate_data_key(&self, context: &EncryptionContext) -> Result<GeneratedDataKey> {
        (**self).generate_data_key(context).await
    }

    async fn unwrap_data_key(
        &self,
        wrapped: &WrappedDataKey,
        context: &EncryptionContext,
    ) -> Result<DataKey> {
        (**self).unwrap_data_key(wrapped, context).await
    }

    fn primary_key_id(&self) -> Option<&str> {
        (**self).primary_key_id()
    }

    async fn rewrap_data_key(
        &self,
        key: &DataKey,
        wrapped: &WrappedDataKey,
        context: &EncryptionContext,
    ) -> Result<WrappedDataKey> {
        (**self).rewrap_data_key(key, wrapped, context).await
    }
}

/// Calls made to the keyring behind a cache: the key-provider budget of a workload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyringCalls {
    /// Calls to [`Keyring::generate_data_key`].
    pub generate: u64,
    /// Calls to [`Keyring::unwrap_data_key`].
    pub unwrap: u64,
    /// Calls to [`Keyring::rewrap_data_key`] (a rotation job's).
    pub rewrap: u64,
}

impl KeyringCalls {
    /// All calls.
    pub fn total(&self) -> u64 {
        self.generate + self.unwrap + self.rewrap
    }
}

/// What a cache holds right now: how many data keys it keeps for writing and how many unwrapped
/// keys for reading. Expired keys are dropped within a second of their age limit, with or
/// without traffic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CachedKeys {
    /// Data keys kept to encrypt more items (one per logical table at most).
    pub data_keys: usize,
    /// Plaintext data keys kept to decrypt items.
    pub unwrapped_keys: usize,
    /// Owners' keys kept unwrapped (models with a key per owner), swept like the others.
    pub owner_keys: usize,
}
