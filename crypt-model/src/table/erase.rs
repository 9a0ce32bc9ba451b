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
        let keys = self.owner_keys("erase_owner")?;
        let permit = self.records.gate.erase_permit(caller, owner)?;
        keys.erase(permit).await
    }

    /// Begins replacing the key of `owner` (one exposed, or due for rotation): a new key seals
    /// their records from now on, and the key table keeps the old one until the replacement
    /// finishes, so that their records open meanwhile. `false` when the owner has no key. Then,
    /// once the cache age has passed, re-encrypt the table
    /// ([`Job::reencrypt`](crate::lifecycle::Job::reencrypt) moves each record onto its
    /// owner's newest key) and [`finish_owner_key_replacement`](Self::finish_owner_key_replacement),
    /// which erases the old key: an old copy of a record under it (a backup's) then no longer
    /// opens. The same permission as [`erase_owner`](Self::erase_owner): the owner, or a service
    /// granted [`Scope::Delete`](crate::access::Scope::Delete) (logged). See
    /// [`OwnerKeys::replace`](crate::OwnerKeys::replace).
    ///
    /// # Errors
    ///
    /// Those of [`erase_owner`](Self::erase_owner), and [`Error::Integrity`] when the owner's
    /// key row or tombstone was tampered with (restore the key table).
    pub async fn replace_owner_key(&self, caller: &Caller, owner: &str) -> Result<bool> {
        let keys = self.owner_keys("replace_owner_key")?;
        let permit = self.records.gate.erase_permit(caller, owner)?;
        keys.replace(permit).await
    }

    /// Finishes the replacement of the key of `owner` that
    /// [`replace_owner_key`](Self::replace_owner_key) began, once the table is re-encrypted:
    /// erases the old key. `false` when no replacement was under way. See
    /// [`OwnerKeys::finish_replacement`](crate::OwnerKeys::finish_replacement).
    ///
    /// # Errors
    ///
    /// Those of [`replace_owner_key`](Self::replace_owner_key), and
    /// [`ConfigError::Unsupported`](crate::error::ConfigError::Unsupported) before the cache age
    /// has passed since the replacement began.
    pub async fn finish_owner_key_replacement(&self, caller: &Caller, owner: &str) -> Result<bool> {
        let keys = self.owner_keys("finish_owner_key_replacement")?;
        let permit = self.records.gate.erase_permit(caller, owner)?;
        keys.finish_replacement(permit).await
    }

    /// The key table of a model with a key per owner, for `operation`.
    fn owner_keys(&self, operation: &'static str) -> Result<&crate::OwnerKeys> {
        let schema = T::SCHEMA;
        if !schema.keeps_key_per_owner() {
            return Err(Error::Config(ConfigError::Unsupported {
                table: schema.table().to_owned(),
                operation,
                reason: "the model does not keep a key per owner: add \
                         `#[crypt_model(key_per_owner)]`, then re-encrypt its records \
                         (lifecycle::Job::reencrypt) so that each is under its owner's key"
                    .to_owned(),
            }));
        }
        // A table of a model with a key per owner is made only with a key table.
        self.keys().owner_keys().ok_or_else(|| {
            Error::Config(ConfigError::Unsupported {
                table: schema.table().to_owned(),
                operation,
                reason: "these keys have no key table: give it one with `Keys::with_owner_keys`"
                    .to_owned(),
            })
        })
    }
}
