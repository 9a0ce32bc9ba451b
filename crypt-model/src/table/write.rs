//! Writes: `put`, `delete`, `update` and `transact`, each conditional on the stored
//! owner, so that no write takes over or removes a record another owner holds.

use std::future::Future;
use std::pin::Pin;

use super::{Table, Write};
use crate::access::{Caller, Scope, denied, log_denied, stored_owner};
use crate::attribute::{AttributeValue, Item, Key};
use crate::encoding::RESERVED_PREFIX;
use crate::error::{Error, Result};
use crate::format::{HEADER_ATTRIBUTE, SEALED_ATTRIBUTE};
use crate::model::{EncryptedItem, Field, Versioned, open_stored};
use crate::schema::Schema;
use crate::store::{Condition, MAX_TRANSACTION, Store, TransactItem, Update};

impl<T: EncryptedItem + Send + Sync, S: Store> Table<T, S> {
    /// Checks that `caller` may write `record` (its owner, or a service granted
    /// [`Scope::Write`]) before anything is encrypted; grant uses and refusals are logged.
    pub(super) fn authorize_write(&self, caller: &Caller, record: &T) -> Result<()> {
        let owner = record.owner();
        if caller.user_id() == Some(&*owner) {
            return Ok(());
        }
        let (plain, _) = record.__to_parts()?;
        self.gate
            .authorize(caller, &T::SCHEMA, Some(&*owner), &plain, Scope::Write)
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
        // `refused_by_key` refuses services without the grant, so the caller is a user; one whose
        // id no owner of this model can have owns nothing.
        Ok(caller
            .user_id()
            .and_then(|id| T::SCHEMA.owner_value(id))
            .map(|owner| Condition::equals(T::SCHEMA.owner(), owner)))
    }

    /// The condition that the stored owner is `record`'s (whose owner the write checks: an id no
    /// owner can have is refused here, before anything is sent).
    fn owned_by(&self, record: &T) -> Result<Condition> {
        T::SCHEMA
            .owner_value(&record.owner())
            .map(|owner| Condition::equals(T::SCHEMA.owner(), owner))
            .ok_or_else(|| Error::InvalidIdentity {
                subject: format!("the owner attribute `{}`", T::SCHEMA.owner()),
                reason: "a number owner's id is an integer in plain decimal digits".to_owned(),
            })
    }

    /// The condition of a put: the key is free or already the same owner's, and, for a
    /// versioned model, the stored version is the one the record was read at.
    fn put_condition(&self, record: &T) -> Result<Condition> {
        let owned = Condition::Or(vec![Condition::NotExists, self.owned_by(record)?]);
        Ok(match (T::SCHEMA.version(), record.version()) {
            (Some(_), Some(0)) => Condition::NotExists,
            (Some(attribute), Some(version)) => {
                Condition::And(vec![owned, Condition::equals(attribute, version)])
            }
            _ => owned,
        })
    }

    /// Encrypts `record` into the item a write stores, with its next version (authenticated with
    /// the rest).
    pub(super) async fn item_to_write(&self, record: &T) -> Result<Item> {
        let (mut item, plaintexts) = record.__to_parts()?;
        if let (Some(attribute), Some(version)) = (T::SCHEMA.version(), record.version()) {
            let next = version
                .checked_add(1)
                .ok_or_else(|| version_overflow(&T::SCHEMA))?;
            item.insert(attribute, AttributeValue::from(next));
        }
        self.cipher
            .encrypt(&T::SCHEMA, &mut item, &plaintexts)
            .await?;
        Ok(item)
    }

    /// Why a conditional write of `record` by `caller` failed: someone else's record (access
    /// denied), a stale version (conflict), or the condition otherwise.
    async fn explain_refusal(&self, caller: &Caller, record: &T, key: &Key) -> Error {
        let stored = match self.store.get(&self.table, key).await {
            Ok(stored) => stored,
            Err(error) => return error,
        };
        let owner = stored.as_ref().map(|item| stored_owner(&T::SCHEMA, item));
        match owner {
            Some(owner) if owner != Some(&*record.owner()) => {
                // A takeover attempt: logged as any refusal is.
                if let Ok(key_item) = self.table.key_item(key) {
                    log_denied(caller, &T::SCHEMA, &key_item, Scope::Write);
                }
                // A versioned write of a record that is not there fails as a conflict: so does
                // one of a record someone else holds, so that the two read alike.
                if T::SCHEMA.version().is_some() && record.version() != Some(0) {
                    Error::Conflict {
                        table: self.table.name().to_owned(),
                    }
                } else {
                    denied(caller, &T::SCHEMA)
                }
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
            .put(&self.table, item, &self.put_condition(record)?)
            .await
        {
            Ok(()) => {
                if let Some(version) = record.version() {
                    record.set_version(version.saturating_add(1));
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

    /// Writes the fields `fields` of `record` — sensitive or plain, named by the model's
    /// selectors (`vaults.update(&caller, &mut vault, &[Vault::PIN])`) — and keeps the stored
    /// values of the others.
    ///
    /// `record` is one read from this table, with those fields changed in memory. The model must
    /// have a `#[crypt_model(version)]` field: the write is conditional on the stored version
    /// being the record's, so it fails with [`Error::Conflict`] if anything changed since the
    /// read (or if there is no such record of the caller's), and it increments the version. The
    /// stored item is checked and opened in memory (its values never reach the caller), the
    /// changes applied, and the whole item sealed again under a current data key, so that its
    /// authentication covers the new values and a rotated key is not used again. Only the owner
    /// (or a service granted [`Scope::Write`]) may do it.
    pub fn update<'a>(
        &'a self,
        caller: &'a Caller,
        record: &'a mut T,
        fields: &'a [Field<T>],
    ) -> Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>
    where
        T: Versioned,
    {
        // A boxed future, so that a model without a version is one compile error, at the call,
        // not one more at each `.await` (the cost, one allocation, is nothing next to a write).
        Box::pin(self.update_versioned(caller, record, fields))
    }

    async fn update_versioned(
        &self,
        caller: &Caller,
        record: &mut T,
        fields: &[Field<T>],
    ) -> Result<()> {
        let schema = T::SCHEMA;
        let (Some(version_attribute), Some(version)) = (schema.version(), record.version()) else {
            return Err(Error::Unsupported {
                table: schema.table().to_owned(),
                operation: "update",
                reason: "the model needs a `#[crypt_model(version)]` field, so that the update \
                         can require the record unchanged since it was read"
                    .to_owned(),
            });
        };
        // Selectors exist only for such fields; a hand-written `EncryptedItem` is checked still.
        for field in fields.iter().map(Field::name) {
            if !schema.is_sensitive(field) && !schema.is_plain_field(field) {
                return Err(Error::Unsupported {
                    table: schema.table().to_owned(),
                    operation: "update",
                    reason: format!(
                        "`{field}` is not a field that update can write (keys, the owner and \
                         the version cannot be updated)"
                    ),
                });
            }
        }
        let next = version
            .checked_add(1)
            .ok_or_else(|| version_overflow(&schema))?;
        self.authorize_write(caller, record)?;
        let (plain, changed) = record.__to_parts()?;
        let key = self.table.key_of(&plain)?;
        let conflict = || Error::Conflict {
            table: self.table.name().to_owned(),
        };
        let Some(stored) = self.store.get(&self.table, &key).await? else {
            return Err(conflict());
        };
        if stored_owner(&schema, &stored) != Some(&*record.owner()) {
            // Someone else's record answers as a missing one does; the attempt is logged.
            log_denied(caller, &schema, &stored, Scope::Write);
            return Err(conflict());
        }
        if stored.get(version_attribute) != Some(&AttributeValue::from(version)) {
            return Err(conflict());
        }
        // Opened in a copy: the sensitive attributes and the message are taken out of it (a
        // record still stored in plaintext, in migration mode, is read from its attributes).
        let mut opened = stored.clone();
        let mut plaintexts = open_stored::<T>(&self.cipher, &mut opened).await?;

        // The new item: the stored plain attributes, the changed ones from the record.
        let mut item = Item::new();
        for (name, value) in opened.iter() {
            if !name.starts_with(RESERVED_PREFIX) {
                item.insert(name, value.clone());
            }
        }
        let mut update = Update::default();
        // A record stored in plaintext keeps no sensitive attribute in plain.
        update.remove.extend(
            schema
                .sensitive()
                .iter()
                .filter(|name| stored.contains(name))
                .map(|name| (*name).to_owned()),
        );
        for field in fields.iter().map(Field::name) {
            if schema.is_sensitive(field) {
                plaintexts.remove(field);
                if let Some(bytes) = changed.get_bytes(field) {
                    plaintexts.insert_bytes(field, zeroize::Zeroizing::new(bytes.to_vec()));
                }
            } else if let Some(value) = plain.get(field) {
                item.insert(field, value.clone());
                update.set.insert(field, value.clone());
            } else {
                item.remove(field);
                update.remove.push(field.to_owned());
            }
        }
        item.insert(version_attribute, AttributeValue::from(next));
        self.cipher.encrypt(&schema, &mut item, &plaintexts).await?;

        for name in [HEADER_ATTRIBUTE, SEALED_ATTRIBUTE, version_attribute] {
            if let Some(value) = item.get(name) {
                update.set.insert(name, value.clone());
            }
        }
        for spec in schema.indexes() {
            match item.get(spec.attribute()) {
                Some(value) => {
                    update.set.insert(spec.attribute(), value.clone());
                }
                None if stored.contains(spec.attribute()) => {
                    update.remove.push(spec.attribute().to_owned());
                }
                None => {}
            }
        }
        let condition = Condition::And(vec![
            self.owned_by(record)?,
            Condition::equals(version_attribute, version),
        ]);
        match self
            .store
            .update(&self.table, &key, &update, &condition)
            .await
        {
            Ok(()) => {
                record.set_version(next);
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
                    let condition = self.put_condition(record)?;
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
                    record.set_version(version.saturating_add(1));
                }
            }
        }
        Ok(())
    }
}

/// The error of a version that cannot count one more write.
fn version_overflow(schema: &Schema) -> Error {
    Error::InvalidValue {
        attribute: schema.version().unwrap_or_default().to_owned(),
        reason: "the version cannot count another write (it is at u64::MAX)".to_owned(),
    }
}
