//! Erasure by crypto-shredding: `erase_owner`, for models with a key per owner.

use super::Table;
use crate::access::Caller;
use crate::error::ConfigError;
use crate::error::{Error, Result};
use crate::model::EncryptedItem;
use crate::store::Store;

impl<T: EncryptedItem + Send + Sync, S: Store> Table<T, S> {
    /// Erases the records of `owner` by destroying their key (GDPR Art. 17): for a model with
    /// `#[crypt_model(key_per_owner)]`, deletes the owner's row of the key table
    /// ([`OwnerKeys`](crate::OwnerKeys)). Every copy of their records — this table, its backups
    /// and exports, stream records — then fails closed with [`KeyError::OwnerKeyErased`](crate::error::KeyError::OwnerKeyErased); delete the
    /// records themselves too, to free the space. `false` when the owner had no key.
    ///
    /// Only the owner, or a service granted [`Scope::Delete`](crate::access::Scope::Delete)
    /// (logged), may do it — the gate's [`ErasePermit`](crate::access::ErasePermit), which the
    /// key table requires; anyone else gets [`AccessError::Denied`](crate::error::AccessError::Denied) (logged) and nothing is
    /// erased. A model without a key per
    /// owner is [`ConfigError::Unsupported`](crate::error::ConfigError::Unsupported): its records share data keys, and only deleting them
    /// (and waiting out the backups) erases them.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Unsupported`](crate::error::ConfigError::Unsupported) for a model without a
    /// key per owner; [`AccessError::Denied`](crate::error::AccessError::Denied) when the caller
    /// may not erase; [`Error::Storage`](crate::Error::Storage) when the key table's store fails.
    pub async fn erase_owner(&self, caller: &Caller, owner: &str) -> Result<bool> {
        let schema = T::SCHEMA;
        if !schema.keeps_key_per_owner() {
            return Err(Error::Config(ConfigError::Unsupported {
                table: schema.table().to_owned(),
                operation: "erase_owner",
                reason: "the model does not keep a key per owner: add \
                         `#[crypt_model(key_per_owner)]`, then re-encrypt its records \
                         (lifecycle::Job::reencrypt) so that each is under its owner's key"
                    .to_owned(),
            }));
        }
        let permit = self.records.gate.erase_permit(caller, owner)?;
        // A table of a model with a key per owner is made only with a key table.
        let keys = self.keys().owner_keys().ok_or_else(|| {
            Error::Config(ConfigError::Unsupported {
                table: schema.table().to_owned(),
                operation: "erase_owner",
                reason: "these keys have no key table: give it one with `Keys::with_owner_keys`"
                    .to_owned(),
            })
        })?;
        keys.erase(permit).await
    }
}
