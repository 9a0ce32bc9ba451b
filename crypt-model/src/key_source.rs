//! Where a record's data key comes from: the [`KeySource`] a table chooses once, from its model's
//! schema. Two sources today: *shared keys* (the keyring behind the data-key cache, within its
//! budget: [`KeyCache`]), and *per-owner keys* (the key table,
//! [`OwnerKeys`](crate::OwnerKeys)). A third (a key per tenant, say) is a third implementation,
//! chosen in the same one place ([`Keys`](crate::Keys)'s `source_for`), not a branch in the
//! record path.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::access::Admission;
use crate::cache::KeyCache;
use crate::data_key::{DataKey, GeneratedDataKey, WrappedDataKey};
use crate::error::{DataError, Error, Result};
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
    fn cached_opening_key(&self, admission: &Admission<'_>) -> Option<DataKey>;

    /// The data key that seals a new record of `owner` in the logical table `table`, holding
    /// `bytes` bytes of plaintext, and what its header names (a key id and the wrapped key, or
    /// the handle of an owner's key).
    async fn sealing_key(
        &self,
        table: &'static str,
        owner: &str,
        bytes: u64,
    ) -> Result<Arc<GeneratedDataKey>>;

    /// The data key of the stored record the gate admitted: its table, owner and the key its
    /// header names are the [`Admission`]'s, which only a permit for that record lends.
    async fn opening_key(&self, admission: &Admission<'_>) -> Result<DataKey>;
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

    fn cached_opening_key(&self, admission: &Admission<'_>) -> Option<DataKey> {
        let context = EncryptionContext::for_static_table(admission.table());
        self.cached_decryption_key(&context, admission.key_id(), admission.wrapped())
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

    async fn opening_key(&self, admission: &Admission<'_>) -> Result<DataKey> {
        if admission.key_id() == crate::format::OWNER_KEY_ID {
            // Not a key of the keyring: asking it would be an error about a missing key. What
            // the header says cannot be checked without the owner's key: a header edited in
            // storage reads the same, so it is logged as an integrity event is.
            tracing::warn!(
                target: "crypt_model::integrity",
                table = admission.table(),
                "a record's header names its owner's key, which this model does not keep: \
                 written by a version with `key_per_owner`, or edited in storage"
            );
            return Err(Error::Data(DataError::WrittenByAnotherModel {
                table: admission.table().to_owned(),
                reason: "its header names its owner's key (`key_per_owner`), which this model \
                         does not keep; unverified, since only that key could check it: if no \
                         version of the model keeps a key per owner, the header was edited in \
                         storage"
                    .to_owned(),
            }));
        }
        let context = EncryptionContext::for_static_table(admission.table());
        self.decryption_key(&context, admission.key_id(), admission.wrapped())
            .await
    }
}

impl KeyCache {
    /// The data key of the record the gate admitted, wrapped again under the keyring's primary
    /// key, for a rotation (one call to the keyring: a job keeps what it gets, since many records
    /// share a data key).
    pub(crate) async fn rewrap_key(&self, admission: &Admission<'_>) -> Result<WrappedDataKey> {
        let context = EncryptionContext::for_static_table(admission.table());
        let key = self.opening_key(admission).await?;
        let current = WrappedDataKey {
            key_id: admission.key_id().to_owned(),
            ciphertext: admission.wrapped().to_vec(),
        };
        self.rewrap(&key, &current, &context).await
    }
}
