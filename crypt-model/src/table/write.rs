//! Writes: `put`, `delete`, `update_sensitive` and `transact`, each conditional on the stored
//! owner, so that no write takes over or removes a record another owner holds.

use super::{Table, Write};
use crate::access::{Caller, Scope, denied, log_denied};
use crate::attribute::{AttributeValue, Item, Key};
use crate::error::{Error, Result};
use crate::format::HEADER_ATTRIBUTE;
use crate::model::EncryptedItem;
use crate::store::{Condition, MAX_TRANSACTION, Store, TransactItem, Update};

impl<T: EncryptedItem + Send + Sync, S: Store> Table<T, S> {
    /// Checks that `caller` may write `record` (its owner, or a service granted
    /// [`Scope::Write`]) before anything is encrypted; grant uses and refusals are logged.
    pub(super) fn authorize_write(&self, caller: &Caller, record: &T) -> Result<()> {
        if caller.user_id() == Some(record.owner()) {
            return Ok(());
        }
        let (plain, _) = record.__to_parts()?;
        self.gate
            .authorize(
                caller,
                &T::SCHEMA,
                Some(record.owner()),
                &plain,
                Scope::Write,
            )
            .map(|_| ())
    }

    /// The condition of a delete by `caller`, or `None` when it is refused whatever the store
    /// holds: the stored owner is the caller, or, for a service granted [`Scope::Delete`]
    /// (logged), the record exists.
    fn delete_condition(&self, caller: &Caller, key: &Key) -> Result<Option<Condition>> {
        if self.refused_by_key(caller, key, Scope::Delete)? {
            return Ok(None);
        }
        if self.gate.acts_for_others(caller, Scope::Delete) {
            let key_item = self.table.key_item(key)?;
            self.gate
                .authorize(caller, &T::SCHEMA, None, &key_item, Scope::Delete)?;
            return Ok(Some(Condition::Exists));
        }
        // `refused_by_key` refuses services without the grant, so the caller is a user.
        Ok(caller
            .user_id()
            .map(|id| Condition::equals(T::SCHEMA.owner(), id)))
    }

    /// The condition of a put: the key is free or already the same owner's, and, for a
    /// versioned model, the stored version is the one the record was read at.
    fn put_condition(&self, record: &T) -> Condition {
        let owned = Condition::Or(vec![
            Condition::NotExists,
            Condition::equals(T::SCHEMA.owner(), record.owner()),
        ]);
        match (T::SCHEMA.version(), record.version()) {
            (Some(_), Some(0)) => Condition::NotExists,
            (Some(attribute), Some(version)) => {
                Condition::And(vec![owned, Condition::equals(attribute, version)])
            }
            _ => owned,
        }
    }

    /// Encrypts `record` into the item a write stores, with its next version.
    pub(super) async fn item_to_write(&self, record: &T) -> Result<Item> {
        let mut item = record.to_item(&self.cipher).await?;
        if let (Some(attribute), Some(version)) = (T::SCHEMA.version(), record.version()) {
            item.insert(attribute, AttributeValue::from(version + 1));
        }
        Ok(item)
    }

    /// Why a conditional write of `record` by `caller` failed: someone else's record (access
    /// denied), a stale version (conflict), or the condition otherwise.
    async fn explain_refusal(&self, caller: &Caller, record: &T, key: &Key) -> Error {
        let stored = match self.store.get(&self.table, key).await {
            Ok(stored) => stored,
            Err(error) => return error,
        };
        let owner = stored.as_ref().and_then(|item| item.get(T::SCHEMA.owner()));
        match owner {
            Some(AttributeValue::S(owner)) if owner != record.owner() => {
                // A takeover attempt: logged as any refusal is.
                if let Ok(key_item) = self.table.key_item(key) {
                    log_denied(caller, &T::SCHEMA, &key_item, Scope::Write);
                }
                denied(caller, &T::SCHEMA)
            }
            _ if T::SCHEMA.version().is_some() => Error::Conflict {
                table: self.table.name().to_owned(),
            },
            _ => Error::ConditionFailed {
                table: self.table.name().to_owned(),
            },
        }
    }

    /// Stores `record`, encrypted.
    ///
    /// Only its owner, or a service granted [`Scope::Write`], may write it; the write is
    /// conditional on the stored owner, so no one can take over a record another owner holds by
    /// choosing its key ([`Error::AccessDenied`], nothing written). For a model with a
    /// `#[crypt_model(version)]` field, the write also requires the stored version to be the
    /// record's (0: a new record) and increments it, in the store and in `record`; a stale
    /// record fails with [`Error::Conflict`].
    pub async fn put(&self, caller: &Caller, record: &mut T) -> Result<()> {
        self.authorize_write(caller, record)?;
        let item = self.item_to_write(record).await?;
        let key = self.table.key_of(&item)?;
        match self
            .store
            .put(&self.table, item, &self.put_condition(record))
            .await
        {
            Ok(()) => {
                if let Some(version) = record.version() {
                    record.set_version(version + 1);
                }
                Ok(())
            }
            Err(Error::ConditionFailed { .. }) => {
                Err(self.explain_refusal(caller, record, &key).await)
            }
            Err(error) => Err(error),
        }
    }

    /// Deletes the record under `key` if `caller` owns it (or is a service granted
    /// [`Scope::Delete`]); `false` when there is none **or when it is not the caller's**, and
    /// then nothing changes. The owner check is part of the delete itself, so it cannot race with
    /// a write.
    pub async fn delete(&self, caller: &Caller, key: &Key) -> Result<bool> {
        let Some(condition) = self.delete_condition(caller, key)? else {
            return Ok(false);
        };
        match self.store.delete(&self.table, key, &condition).await {
            Ok(()) => Ok(true),
            Err(Error::ConditionFailed { .. }) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Writes one sensitive field of `record` without rewriting the rest of the stored record
    /// (the other ciphertexts, the header's key and salt stay as they are).
    ///
    /// `record` is one read from this table, with `field` changed in memory. The model must have
    /// a `#[crypt_model(version)]` field: the write is conditional on the stored version being
    /// the record's, so it fails with [`Error::Conflict`] if anything changed since the read,
    /// and it increments the version. Only the owner (or a service granted [`Scope::Write`]) may
    /// do it.
    pub async fn update_sensitive(
        &self,
        caller: &Caller,
        record: &mut T,
        field: &'static str,
    ) -> Result<()> {
        let (Some(version_attribute), Some(version)) = (T::SCHEMA.version(), record.version())
        else {
            return Err(Error::Config(format!(
                "update_sensitive on `{}` needs a `#[crypt_model(version)]` field, so that the \
                 update can require the record unchanged since it was read",
                T::SCHEMA.table()
            )));
        };
        self.authorize_write(caller, record)?;
        let (plain, plaintexts) = record.__to_parts()?;
        let key = self.table.key_of(&plain)?;
        let conflict = || Error::Conflict {
            table: self.table.name().to_owned(),
        };
        let stored = self
            .store
            .get(&self.table, &key)
            .await?
            .ok_or_else(conflict)?;
        let stored_owner = stored.get(T::SCHEMA.owner());
        if stored_owner != Some(&AttributeValue::S(record.owner().to_owned())) {
            return Err(denied(caller, &T::SCHEMA));
        }
        if stored.get(version_attribute) != Some(&AttributeValue::from(version)) {
            return Err(conflict());
        }
        let resealed = self
            .cipher
            .reseal_field(&T::SCHEMA, &stored, field, plaintexts.get_bytes(field))
            .await?;
        let mut update = Update::default();
        match resealed.ciphertext {
            Some(ciphertext) => {
                update.set.insert(field, AttributeValue::B(ciphertext));
            }
            None => update.remove.push(field.to_owned()),
        }
        if let Some(header) = resealed.header {
            update
                .set
                .insert(HEADER_ATTRIBUTE, AttributeValue::B(header));
        }
        // The field's blind index follows its value.
        if let Some(spec) = T::SCHEMA.index_of(field) {
            match plaintexts.get_bytes(field) {
                Some(plaintext) => {
                    let value =
                        self.cipher
                            .index_attribute(&T::SCHEMA, spec, record.owner(), plaintext)?;
                    update.set.insert(spec.attribute(), value);
                }
                None => update.remove.push(spec.attribute().to_owned()),
            }
        }
        update
            .set
            .insert(version_attribute, AttributeValue::from(version + 1));
        let condition = Condition::And(vec![
            Condition::equals(T::SCHEMA.owner(), record.owner()),
            Condition::equals(version_attribute, version),
        ]);
        match self
            .store
            .update(&self.table, &key, &update, &condition)
            .await
        {
            Ok(()) => {
                record.set_version(version + 1);
                Ok(())
            }
            Err(Error::ConditionFailed { .. }) => Err(conflict()),
            Err(error) => Err(error),
        }
    }

    /// Writes and deletes records all or nothing, with the same owner (and version) conditions
    /// as [`put`](Self::put) and [`delete`](Self::delete); versions of written records are
    /// incremented on success. A failed condition cancels everything:
    /// [`Error::TransactionCancelled`] says which write caused it. A delete the caller may never
    /// make (a service without [`Scope::Delete`]) is [`Error::AccessDenied`] before anything is
    /// sent.
    pub async fn transact(&self, caller: &Caller, writes: Vec<Write<'_, T>>) -> Result<()> {
        if writes.is_empty() || writes.len() > MAX_TRANSACTION {
            return Err(self
                .table
                .invalid(format!("a transaction holds 1 to {MAX_TRANSACTION} writes")));
        }
        let mut items = Vec::with_capacity(writes.len());
        for write in &writes {
            items.push(match write {
                Write::Put(record) => {
                    self.authorize_write(caller, record)?;
                    let item = self.item_to_write(record).await?;
                    let condition = self.put_condition(record);
                    TransactItem::Put {
                        table: self.table.clone(),
                        item,
                        condition,
                    }
                }
                Write::Delete(key) => {
                    // A key that names another owner cannot hold the caller's record: a
                    // condition that no item meets cancels the transaction as a missing one does.
                    let condition = match self.delete_condition(caller, key)? {
                        Some(condition) => condition,
                        None if caller.user_id().is_some() => {
                            Condition::And(vec![Condition::Exists, Condition::NotExists])
                        }
                        None => return Err(denied(caller, &T::SCHEMA)),
                    };
                    TransactItem::Delete {
                        table: self.table.clone(),
                        key: key.clone(),
                        condition,
                    }
                }
            });
        }
        self.store.transact_write(items).await?;
        for write in writes {
            if let Write::Put(record) = write {
                if let Some(version) = record.version() {
                    record.set_version(version + 1);
                }
            }
        }
        Ok(())
    }
}
