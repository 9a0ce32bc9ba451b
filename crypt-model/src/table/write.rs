//! Writes: `put`, `delete`, `update` and `transact`, each on the conditions of the gate's plan,
//! so that no write takes over or removes a record another owner holds.

use crate::error::{AccessError, ConfigError, DataError, StorageError};
use std::future::Future;
use std::pin::Pin;

use super::records::version_overflow;
use super::{Table, Write};
use crate::access::{Caller, Logged, Scope, denied, log_denied};
use crate::attribute::{AttributeValue, Item, Key};
use crate::encoding::RESERVED_PREFIX;
use crate::error::{Error, Result};
use crate::model::{EncryptedItem, Field, Versioned};
use crate::store::{Condition, MAX_TRANSACTION, Store, TransactItem};

impl<T: EncryptedItem + Send + Sync, S: Store> Table<T, S> {
    /// The item a put of `record` by `caller` stores, sealed, with its next version, and the
    /// conditions of the gate's plan: the plan first, so that nothing is encrypted (and no key
    /// fetched) for a write the gate refuses.
    pub(super) async fn prepare_put(
        &self,
        caller: &Caller,
        record: &T,
    ) -> Result<(Item, Condition)> {
        let records = &self.records;
        let (mut item, plaintexts) = records.parts_to_write(record)?;
        let plan =
            records
                .gate
                .plan_put(caller, &T::SCHEMA, &record.owner(), record.version(), &item)?;
        records.seal(&mut item, &plaintexts).await?;
        Ok((item, plan.condition))
    }

    /// Why a conditional write of `record` by `caller` failed: someone else's record (access
    /// denied), a stale version (conflict), or the condition otherwise.
    async fn explain_refusal(&self, caller: &Caller, record: &T, key: &Key) -> Error {
        let records = &self.records;
        let stored = match records.fetch(key).await {
            Ok(stored) => stored,
            Err(error) => return error,
        };
        let owner = stored.as_ref().map(|stored| stored.owner());
        match owner {
            Some(owner) if owner != Some(&*record.owner()) => {
                // A takeover attempt: logged as any refusal is.
                if let Ok(key_item) = records.table.key_item(key) {
                    log_denied(caller, &T::SCHEMA, &key_item, Scope::Write);
                }
                // A versioned write of a record that is not there fails as a conflict: so does
                // one of a record someone else holds, so that the two read alike.
                if T::SCHEMA.version().is_some() && record.version() != Some(0) {
                    self.conflict()
                } else {
                    denied(caller, &T::SCHEMA)
                }
            }
            _ if T::SCHEMA.version().is_some() => self.conflict(),
            _ => Error::Storage(StorageError::ConditionFailed {
                table: records.table.name().to_owned(),
            }),
        }
    }

    /// The error of a record changed since it was read.
    fn conflict(&self) -> Error {
        Error::Storage(StorageError::Conflict {
            table: self.records.table.name().to_owned(),
        })
    }

    /// Stores `record`, encrypted.
    ///
    /// Only its owner, or a service granted [`Scope::Write`], may write it; the write is
    /// conditional on the stored owner, so no one can take over a record another owner holds by
    /// choosing its key ([`AccessError::Denied`](crate::error::AccessError::Denied), nothing written). For a model with a
    /// `#[crypt_model(version)]` field, the write also requires the stored version to be the
    /// record's (0: a new record) and increments it, in the store and in `record`; a stale
    /// record fails with [`StorageError::Conflict`](crate::error::StorageError::Conflict).
    ///
    /// # Errors
    ///
    /// [`AccessError::Denied`](crate::error::AccessError::Denied) when the caller may not write the
    /// record or its key holds another owner's;
    /// [`StorageError::Conflict`](crate::error::StorageError::Conflict) for a stale version;
    /// [`Error::Data`](crate::Error::Data) for a value that cannot be stored;
    /// [`Error::Key`](crate::Error::Key) when the key provider fails;
    /// [`Error::Storage`](crate::Error::Storage) when the store fails. Nothing is written on error.
    pub async fn put(&self, caller: &Caller, record: &mut T) -> Result<()> {
        let (item, condition) = self.prepare_put(caller, record).await?;
        let records = &self.records;
        let key = records.table.key_of(&item)?;
        match records.store.put(&records.table, item, &condition).await {
            Ok(()) => {
                if let Some(version) = record.version() {
                    record.set_version(version.saturating_add(1));
                }
                Ok(())
            }
            Err(Error::Storage(StorageError::ConditionFailed { .. })) => {
                Err(self.explain_refusal(caller, record, &key).await)
            }
            Err(error) => Err(error),
        }
    }

    /// Deletes the record under `key` if `caller` owns it (or is a service granted
    /// [`Scope::Delete`]); `false` when there is none **or when it is not the caller's**, and
    /// then nothing changes. The owner check is part of the delete itself, so it cannot race with
    /// a write.
    ///
    /// # Errors
    ///
    /// Someone else's record is `Ok(false)`, never an error;
    /// [`AccessError::Denied`](crate::error::AccessError::Denied) only for a service granted
    /// deletes whose refusal the gate logged; [`Error::Storage`](crate::Error::Storage) when the
    /// store fails.
    pub async fn delete(&self, caller: &Caller, key: &Key) -> Result<bool> {
        let records = &self.records;
        let key_item = records.table.key_item(key)?;
        let Some(condition) = records
            .gate
            .plan_delete(caller, &T::SCHEMA, key, &key_item)?
        else {
            return Ok(false);
        };
        match records.store.delete(&records.table, key, &condition).await {
            Ok(()) => Ok(true),
            Err(Error::Storage(StorageError::ConditionFailed { .. })) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Writes the fields `fields` of `record` — sensitive or plain, named by the model's
    /// selectors (`vaults.update(&caller, &mut vault, &[Vault::PIN])`) — and keeps the stored
    /// values of the others.
    ///
    /// `record` is one read from this table, with those fields changed in memory. The model must
    /// have a `#[crypt_model(version)]` field: the write is conditional on the stored version
    /// being the record's, so it fails with [`StorageError::Conflict`](crate::error::StorageError::Conflict) if anything changed since the
    /// read (or if there is no such record of the caller's), and it increments the version. The
    /// stored item is checked and opened in memory (its values never reach the caller), the
    /// changes applied, and the whole item sealed again under a current data key, so that its
    /// authentication covers the new values and a rotated key is not used again. Only the owner
    /// (or a service granted [`Scope::Write`]) may do it.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Unsupported`](crate::error::ConfigError::Unsupported) for a field update
    /// cannot write; [`StorageError::Conflict`](crate::error::StorageError::Conflict) when the
    /// record changed since it was read, is missing or is another owner's;
    /// [`AccessError::Denied`](crate::error::AccessError::Denied) when the caller may not write it;
    /// and, opening the stored record, [`Error::Key`](crate::Error::Key) when the key provider
    /// fails or no longer holds the record's key (or the owner's key was erased);
    /// [`Error::Integrity`](crate::Error::Integrity) when the record was edited or copied in
    /// storage; [`Error::Data`](crate::Error::Data) when it is malformed or of a format version
    /// this build does not read; [`Error::Storage`](crate::Error::Storage) when the store fails.
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
        let records = &self.records;
        let (Some(version_attribute), Some(version)) = (schema.version(), record.version()) else {
            return Err(Error::Config(ConfigError::Unsupported {
                table: schema.table().to_owned(),
                operation: "update",
                reason: "the model needs a `#[crypt_model(version)]` field, so that the update \
                         can require the record unchanged since it was read"
                    .to_owned(),
            }));
        };
        // Selectors exist only for such fields; a hand-written `EncryptedItem` is checked still.
        for field in fields.iter().map(Field::name) {
            if !schema.is_sensitive(field) && !schema.is_plain_field(field) {
                return Err(Error::Config(ConfigError::Unsupported {
                    table: schema.table().to_owned(),
                    operation: "update",
                    reason: format!(
                        "`{field}` is not a field that update can write (keys, the owner and \
                         the version cannot be updated)"
                    ),
                }));
            }
        }
        let next = version
            .checked_add(1)
            .ok_or_else(|| version_overflow(&schema))?;
        // A service with no grant is told so before anything is read.
        records.gate.check_service(caller, &schema)?;
        let (plain, changed) = record.__to_parts()?;
        let key = records.table.key_of(&plain)?;
        // A delegate who reassigns a delegation may no longer be named by the new record: the
        // decision is made on the stored one, read first.
        let reassigns = fields.iter().any(|field| {
            schema
                .delegations()
                .iter()
                .any(|d| d.attribute() == field.name() && d.is_reassignable())
        });
        let fetched = if reassigns {
            Some(records.fetch(&key).await?.ok_or_else(|| self.conflict())?)
        } else {
            None
        };
        let stored_attributes = fetched.as_ref().map(|stored| stored.attributes());
        let names: Vec<&str> = fields.iter().map(Field::name).collect();
        let planned = records
            .gate
            .plan_update(
                caller,
                &schema,
                &record.owner(),
                (version_attribute, version),
                &plain,
                stored_attributes.unwrap_or(&plain),
            )
            .and_then(|plan| {
                records
                    .gate
                    .check_fields(caller, &schema, &plan, &names, stored_attributes)
                    .map(|()| plan)
            });
        let plan = match planned {
            // After a read, a refusal answers as a missing record does (the read told the
            // caller nothing then): logged by the gate.
            Err(Error::Access(AccessError::Denied { .. })) if fetched.is_some() => {
                return Err(self.conflict());
            }
            planned => planned?,
        };
        let stored = match fetched {
            Some(stored) => stored,
            None => records.fetch(&key).await?.ok_or_else(|| self.conflict())?,
        };
        if stored.owner() != Some(&*record.owner()) {
            // Someone else's record answers as a missing one does; the attempt is logged.
            log_denied(caller, &schema, stored.attributes(), Scope::Write);
            return Err(self.conflict());
        }
        if stored.attributes().get(version_attribute) != Some(&AttributeValue::from(version)) {
            return Err(self.conflict());
        }
        let (snapshot, plaintext) = (stored.snapshot(), stored.is_plaintext());
        // Opened in memory, to be sealed again: the plan above decided (and logged) the write,
        // on the record as the caller holds it; the stored one must name the caller as well (a
        // delegate of the record the caller has, not of the stored one, reads it as missing).
        let Some(permit) =
            records
                .gate
                .issue(caller, &schema, stored, Scope::Write, Logged::Nothing)
        else {
            log_denied(caller, &schema, &snapshot, Scope::Write);
            return Err(self.conflict());
        };
        let (opened, mut plaintexts) = match records.open_fields(permit).await {
            // Read in plaintext, refused by the plans: sealed by the migration since the read
            // (and its admission revoked), the record changed under the caller, who reads it
            // again; still in plaintext, the refusal stands.
            Err(refused @ Error::Data(DataError::PlaintextRefused { .. })) if plaintext => {
                let now = records.fetch(&key).await?;
                return Err(match now {
                    Some(record) if record.is_plaintext() => refused,
                    _ => self.conflict(),
                });
            }
            opened => opened?,
        };

        // The new item: the stored plain attributes, the changed ones from the record.
        let mut item = Item::new();
        for (name, value) in opened.iter() {
            if !name.starts_with(RESERVED_PREFIX) {
                item.insert(name, value.clone());
            }
        }
        for field in fields.iter().map(Field::name) {
            if schema.is_sensitive(field) {
                plaintexts.remove(field);
                if let Some(bytes) = changed.get_bytes(field) {
                    plaintexts.insert_bytes(field, zeroize::Zeroizing::new(bytes.to_vec()));
                }
            } else if let Some(value) = plain.get(field) {
                item.insert(field, value.clone());
            } else {
                item.remove(field);
            }
        }
        item.insert(version_attribute, AttributeValue::from(next));
        records.seal(&mut item, &plaintexts).await?;
        if records
            .rewrite(&snapshot, plaintext, &item, vec![plan.condition])
            .await?
        {
            if plaintext {
                // Sealed from what the migration plan admitted: from now on it authenticates.
                tracing::warn!(
                    target: "crypt_model::migration",
                    table = schema.table(),
                    key = %crate::access::fingerprint(&schema, &snapshot),
                    "an update encrypted a record stored in plaintext"
                );
            }
            record.set_version(next);
            Ok(())
        } else {
            Err(self.conflict())
        }
    }

    /// Writes and deletes records all or nothing, with the same owner (and version) conditions
    /// as [`put`](Self::put) and [`delete`](Self::delete); versions of written records are
    /// incremented on success. A failed condition cancels everything:
    /// [`StorageError::TransactionCancelled`](crate::error::StorageError::TransactionCancelled) says which write caused it. A delete the caller may never
    /// make (a service without [`Scope::Delete`]) is [`AccessError::Denied`](crate::error::AccessError::Denied) before anything is
    /// sent.
    ///
    /// # Errors
    ///
    /// [`StorageError::TransactionCancelled`](crate::error::StorageError::TransactionCancelled)
    /// when a condition fails (nothing is written); otherwise as [`put`](Self::put) and
    /// [`delete`](Self::delete).
    pub async fn transact(&self, caller: &Caller, writes: Vec<Write<'_, T>>) -> Result<()> {
        let records = &self.records;
        if writes.is_empty() || writes.len() > MAX_TRANSACTION {
            return Err(records
                .table
                .invalid(format!("a transaction holds 1 to {MAX_TRANSACTION} writes")));
        }
        let mut items = Vec::with_capacity(writes.len());
        for write in &writes {
            items.push(match write {
                Write::Put(record) => {
                    let (item, condition) = self.prepare_put(caller, record).await?;
                    TransactItem::Put {
                        table: records.table.clone(),
                        item,
                        condition,
                    }
                }
                Write::Delete(key) => {
                    let key_item = records.table.key_item(key)?;
                    // A key that names another owner cannot hold the caller's record: a
                    // condition that no item meets cancels the transaction as a missing one does.
                    let condition =
                        match records
                            .gate
                            .plan_delete(caller, &T::SCHEMA, key, &key_item)?
                        {
                            Some(condition) => condition,
                            None if caller.user_id().is_some() => {
                                Condition::And(vec![Condition::Exists, Condition::NotExists])
                            }
                            None => return Err(denied(caller, &T::SCHEMA)),
                        };
                    TransactItem::Delete {
                        table: records.table.clone(),
                        key: key.clone(),
                        condition,
                    }
                }
            });
        }
        records.store.transact_write(items).await?;
        for write in writes {
            if let Write::Put(record) = write
                && let Some(version) = record.version()
            {
                record.set_version(version.saturating_add(1));
            }
        }
        Ok(())
    }
}
