//! Erasure by crypto-shredding: `erase_owner`, for models with a key per owner.

use super::Table;
use crate::access::{Caller, Scope};
use crate::attribute::Item;
use crate::error::{Error, Result};
use crate::model::EncryptedItem;
use crate::store::Store;

impl<T: EncryptedItem + Send + Sync, S: Store> Table<T, S> {
    /// Erases the records of `owner` by destroying their key (GDPR Art. 17): for a model with
    /// `#[crypt_model(key_per_owner)]`, deletes the owner's row of the key table
    /// ([`OwnerKeys`](crate::OwnerKeys)). Every copy of their records — this table, its backups
    /// and exports, stream records — then fails closed with [`Error::OwnerKeyErased`]; delete the
    /// records themselves too, to free the space. `false` when the owner had no key.
    ///
    /// Only the owner, or a service granted [`Scope::Delete`] (logged), may do it; anyone else
    /// gets [`Error::AccessDenied`] (logged) and nothing is erased. A model without a key per
    /// owner is [`Error::Unsupported`]: its records share data keys, and only deleting them
    /// (and waiting out the backups) erases them.
    pub async fn erase_owner(&self, caller: &Caller, owner: &str) -> Result<bool> {
        let schema = T::SCHEMA;
        if !schema.keeps_key_per_owner() {
            return Err(Error::Unsupported {
                table: schema.table().to_owned(),
                operation: "erase_owner",
                reason: "the model does not keep a key per owner: add \
                         `#[crypt_model(key_per_owner)]`, then re-encrypt its records \
                         (lifecycle::Job::reencrypt) so that each is under its owner's key"
                    .to_owned(),
            });
        }
        let owner_item = schema
            .owner_value(owner)
            .map(|value| Item::from_iter([(schema.owner(), value)]))
            .unwrap_or_default();
        self.gate
            .authorize(caller, &schema, Some(owner), &owner_item, Scope::Delete)?;
        self.cipher
            .owner_keys_for(&schema)?
            .erase(schema.table(), owner)
            .await
    }
}
