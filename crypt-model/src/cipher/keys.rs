//! Which data key seals and opens an item: one from the cache, or, for a model with a key per
//! owner, the owner's own from the key table.

use std::sync::Arc;

use super::Cipher;
use crate::attribute::Item;
use crate::error::{Error, Result};
use crate::format::OWNER_KEY_ID;
use crate::format::{self, Header};
use crate::keyring::{DataKey, EncryptionContext, GeneratedDataKey, WrappedDataKey};
use crate::owner_keys::OwnerKeys;
use crate::schema::Schema;

impl Cipher {
    /// The data key that seals a new item of `owner`: the owner's own under `key_per_owner`
    /// (its header then names the key's handle), else one from the cache.
    pub(super) async fn sealing_key(
        &self,
        schema: &Schema,
        owner: &str,
        bytes: u64,
    ) -> Result<Arc<GeneratedDataKey>> {
        if schema.keeps_key_per_owner() {
            let keys = self.owner_keys_for(schema)?;
            let (key, handle) = keys
                .key_for_write(&self.keys, schema.table(), owner)
                .await?;
            return Ok(Arc::new(GeneratedDataKey {
                key,
                wrapped: WrappedDataKey {
                    key_id: OWNER_KEY_ID.to_owned(),
                    ciphertext: handle.to_vec(),
                },
            }));
        }
        let context = EncryptionContext::for_static_table(schema.table());
        self.keys.encryption_key(&context, bytes).await
    }

    /// The data key of a stored item: its owner's, when its header names an owner key's handle
    /// (and the model keeps one), else the wrapped key of its header, unwrapped.
    pub(crate) async fn opening_key(
        &self,
        schema: &Schema,
        item: &Item,
        header: &Header<'_>,
    ) -> Result<DataKey> {
        if header.key_id == OWNER_KEY_ID && schema.keeps_key_per_owner() {
            let owner = format::owner_of(schema, item)?;
            return self
                .owner_keys_for(schema)?
                .key_for_read(&self.keys, schema.table(), owner, header.wrapped)
                .await;
        }
        let context = EncryptionContext::for_static_table(schema.table());
        self.keys
            .decryption_key(&context, header.key_id, header.wrapped)
            .await
    }

    /// Wraps the owner keys of the key table ([`with_owner_keys`](Self::with_owner_keys)) that
    /// are not under the keyring's primary key-encryption key again, under it: the rotation of
    /// the key-encryption key for models with `#[crypt_model(key_per_owner)]`, whose records
    /// name no key-encryption key. Afterwards the old key can be retired (after an inventory
    /// with a keyring that holds only the new one). Each row is rewritten only if unchanged, so
    /// an erasure meanwhile is not undone. Returns how many rows were rewrapped.
    pub async fn rewrap_owner_keys(&self) -> Result<u64> {
        let keys = self.owner_keys.as_ref().ok_or_else(|| Error::Unsupported {
            table: "(owner keys)".to_owned(),
            operation: "rewrap_owner_keys",
            reason: "the cipher has no key table: give it one with `Cipher::with_owner_keys`"
                .to_owned(),
        })?;
        keys.rewrap_all(&self.keys).await
    }

    /// The key table, which a model with a key per owner needs.
    pub(crate) fn owner_keys_for(&self, schema: &Schema) -> Result<&OwnerKeys> {
        self.owner_keys
            .as_ref()
            .ok_or_else(|| no_owner_keys(schema))
    }
}

/// The error of a model with a key per owner used without a key table.
fn no_owner_keys(schema: &Schema) -> Error {
    Error::Unsupported {
        table: schema.table().to_owned(),
        operation: "seal or open a record under its owner's key",
        reason: "the model has `#[crypt_model(key_per_owner)]`: give the Cipher its key table \
                 with `Cipher::with_owner_keys(OwnerKeys::new(store, \"key-table\")?)`"
            .to_owned(),
    }
}
