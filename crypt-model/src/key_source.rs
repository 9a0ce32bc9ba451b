//! Where a record's data key comes from: the [`KeySource`] a table chooses once, from its model's
//! schema. Two sources today: *shared keys* (the keyring behind the data-key cache, within its
//! budget: [`KeyCache`]), and *per-owner keys* (the key table,
//! [`OwnerKeys`](crate::OwnerKeys)). A third (a key per tenant, say) is a third implementation,
//! chosen in the same one place ([`Cipher`](crate::Cipher)'s `source_for`), not a branch in the
//! record path.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::access::Admission;
use crate::cache::KeyCache;
use crate::data_key::{DataKey, GeneratedDataKey, WrappedDataKey};
use crate::error::Result;
use crate::keyring::EncryptionContext;

/// The data key that seals or opens a record. Each key has a synchronous way, for a key in
/// memory (the path of nearly every record, which allocates no future), and an asynchronous one
/// that may ask a key provider or a key table.
#[async_trait]
pub(crate) trait KeySource: Send + Sync + fmt::Debug {
    /// The key [`sealing_key`](Self::sealing_key) would give, when it is in memory.
    fn cached_sealing_key(
        &self,
        table: &'static str,
        owner: &str,
        bytes: u64,
    ) -> Option<Arc<GeneratedDataKey>>;

    /// The key [`opening_key`](Self::opening_key) would give, when it is in memory.
    fn cached_opening_key(
        &self,
        admission: &Admission,
        table: &'static str,
        owner: &str,
        key_id: &str,
        wrapped: &[u8],
    ) -> Option<DataKey>;

    /// The data key that seals a new record of `owner` in the logical table `table`, holding
    /// `bytes` bytes of plaintext, and what its header names (a key id and the wrapped key, or
    /// the handle of an owner's key).
    async fn sealing_key(
        &self,
        table: &'static str,
        owner: &str,
        bytes: u64,
    ) -> Result<Arc<GeneratedDataKey>>;

    /// The data key of a stored record of `owner` in `table` whose header names `key_id` and
    /// `wrapped`, for a read the gate admitted (only a permit lends an [`Admission`]).
    async fn opening_key(
        &self,
        admission: &Admission,
        table: &'static str,
        owner: &str,
        key_id: &str,
        wrapped: &[u8],
    ) -> Result<DataKey>;
}

/// Shared keys: a data key from the cache serves many records of a table, within the cache's
/// limits, and the keyring wraps it.
#[async_trait]
impl KeySource for KeyCache {
    fn cached_sealing_key(
        &self,
        table: &'static str,
        _owner: &str,
        bytes: u64,
    ) -> Option<Arc<GeneratedDataKey>> {
        self.cached_encryption_key(&EncryptionContext::for_static_table(table), bytes)
    }

    fn cached_opening_key(
        &self,
        _admission: &Admission,
        table: &'static str,
        _owner: &str,
        key_id: &str,
        wrapped: &[u8],
    ) -> Option<DataKey> {
        self.cached_decryption_key(&EncryptionContext::for_static_table(table), key_id, wrapped)
    }

    async fn sealing_key(
        &self,
        table: &'static str,
        _owner: &str,
        bytes: u64,
    ) -> Result<Arc<GeneratedDataKey>> {
        self.encryption_key(&EncryptionContext::for_static_table(table), bytes)
            .await
    }

    async fn opening_key(
        &self,
        _admission: &Admission,
        table: &'static str,
        _owner: &str,
        key_id: &str,
        wrapped: &[u8],
    ) -> Result<DataKey> {
        self.decryption_key(&EncryptionContext::for_static_table(table), key_id, wrapped)
            .await
    }
}

impl KeyCache {
    /// The data key of a record of the logical table `table` whose header names `key_id` and
    /// `wrapped`, wrapped again under the keyring's primary key, for a rotation the gate admitted
    /// (one call to the keyring: a job keeps what it gets, since many records share a data key).
    pub(crate) async fn rewrap_key(
        &self,
        admission: &Admission,
        table: &'static str,
        key_id: &str,
        wrapped: &[u8],
    ) -> Result<WrappedDataKey> {
        let context = EncryptionContext::for_static_table(table);
        let key = self
            .opening_key(admission, table, "", key_id, wrapped)
            .await?;
        let current = WrappedDataKey {
            key_id: key_id.to_owned(),
            ciphertext: wrapped.to_vec(),
        };
        self.rewrap(&key, &current, &context).await
    }
}
