//! What a job does to one record: decide whether it applies, build the record's new item, and
//! write it on the condition that the stored item is still the one read.

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard, PoisonError};

use lru::LruCache;

use super::JobKind;
use crate::access::{Caller, Gate, Scope, fingerprint, stored_owner};
use crate::attribute::{AttributeValue, Item};
use crate::cipher::Cipher;
use crate::error::{Error, Result};
use crate::format::OWNER_KEY_ID;
use crate::format::{self, HEADER_ATTRIBUTE, Header, SEALED_ATTRIBUTE};
use crate::keyring::WrappedDataKey;
use crate::model::{EncryptedItem, is_plaintext_record};
use crate::plaintexts::Plaintexts;
use crate::store::{Condition, Store, TableRef, Update};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What became of one record.
pub(super) enum Outcome {
    /// Rewritten (or, in a dry run, would be); now under this key id.
    Changed(String),
    /// Left as it is: under this key id, or stored in plaintext (`None`).
    Unchanged(Option<String>),
    /// Not for this job (stored in plaintext, for a re-encryption, a rewrap or a backfill), or
    /// deleted while it ran.
    Skipped,
    /// Under an owner key that was erased: it fails closed for ever.
    Erased,
    /// Could not be processed, for this reason.
    Failed(String),
}

/// What one attempt gave: an outcome, or a write refused because the record changed since it
/// was read (read it again and try again).
pub(super) enum Attempt {
    Done(Outcome),
    Changed,
}

/// The parts of a job one record's work needs.
pub(super) struct Work<'a, T, S> {
    pub(super) kind: JobKind,
    pub(super) store: &'a S,
    pub(super) table: &'a TableRef,
    pub(super) cipher: &'a Cipher,
    pub(super) gate: &'a Gate<T>,
    pub(super) caller: &'a Caller,
    pub(super) dry_run: bool,
    /// The key id a record sealed now is under: the keyring's primary key, or the owner's key
    /// (for a re-encryption or a rewrap, and any dry run that seals).
    pub(super) primary: Option<String>,
    /// The data keys a rewrap has wrapped again, by their old key id and wrapped bytes.
    pub(super) rewrapped: Mutex<LruCache<(String, Vec<u8>), WrappedDataKey>>,
}

/// Errors that belong to one record (it is malformed, forged or not openable): reported with
/// its key while the job goes on. Any other error (the store or the key provider failing) stops
/// the job, which resumes from its checkpoint.
pub(super) fn is_record_error(error: &Error) -> bool {
    matches!(
        error,
        Error::Integrity { .. }
            | Error::MalformedAttribute { .. }
            | Error::MissingAttribute { .. }
            | Error::UnsupportedVersion { .. }
            | Error::InvalidValue { .. }
            | Error::InvalidIdentity { .. }
            | Error::UnknownKeyId { .. }
            | Error::UnwrapFailed { .. }
            | Error::AccessDenied { .. }
            | Error::OwnerKeyErased { .. }
    )
}

impl<T: EncryptedItem + Send + Sync, S: Store> Work<'_, T, S> {
    /// One attempt at `stored`.
    pub(super) async fn attempt(&self, stored: &Item) -> Result<Attempt> {
        let plaintext = is_plaintext_record(stored);
        if !plaintext {
            // Fail closed on what no job should carry over: a value left in plain beside the
            // encrypted message, a header of another version.
            if let Some(name) = T::SCHEMA.sensitive().iter().find(|n| stored.contains(n)) {
                return Ok(Attempt::Done(Outcome::Failed(format!(
                    "the sensitive field `{name}` is stored in plain beside an encrypted message"
                ))));
            }
            if let Err(error) = Header::from_item(stored) {
                return record_failure(error);
            }
        }
        match (self.kind, plaintext) {
            (JobKind::Migrate, false) => Ok(Attempt::Done(Outcome::Unchanged(key_id(stored)))),
            (JobKind::Reencrypt | JobKind::Rewrap | JobKind::Backfill, true) => {
                Ok(Attempt::Done(Outcome::Skipped))
            }
            (JobKind::Backfill, false) => self.backfill(stored).await,
            (JobKind::Reencrypt | JobKind::Rewrap, false) if key_id(stored) == self.primary => {
                Ok(Attempt::Done(Outcome::Unchanged(key_id(stored))))
            }
            // A record under its owner's key names no key-encryption key: its key is in a row of
            // the key table, which `Cipher::rewrap_owner_keys` rewraps.
            (JobKind::Rewrap, false) if key_id(stored).as_deref() == Some(OWNER_KEY_ID) => {
                Ok(Attempt::Done(Outcome::Unchanged(key_id(stored))))
            }
            (JobKind::Rewrap, false) => self.rewrap(stored).await,
            (JobKind::Inventory, true) => Ok(Attempt::Done(Outcome::Unchanged(None))),
            (JobKind::Inventory, false) => match self.open(stored).await {
                Ok(_) => Ok(Attempt::Done(Outcome::Unchanged(key_id(stored)))),
                Err(error) => record_failure(error),
            },
            (JobKind::Migrate | JobKind::Reencrypt, _) => self.rewrite(stored).await,
        }
    }

    /// Opens `stored` as the model (checking the gate, the record's integrity, and that every
    /// field parses), then gives its parts.
    async fn open(&self, stored: &Item) -> Result<(Item, Plaintexts)> {
        let owner = stored_owner(&T::SCHEMA, stored);
        self.gate
            .authorize(self.caller, &T::SCHEMA, owner, stored, Scope::Read)?;
        let record = if is_plaintext_record(stored) {
            // Read as the model in migration mode reads it, but not counted or logged as an
            // application's read: the job's report counts it.
            format::check_record(&T::SCHEMA, stored)?;
            let mut item = stored.clone();
            let mut plaintexts = Plaintexts::new();
            T::__legacy(&mut item, &mut plaintexts)?;
            let plain = T::__parse(&mut item)?;
            T::__assemble(plain, &mut plaintexts)?
        } else {
            T::from_item(stored.clone())
                .open_permitted(self.cipher)
                .await?
        };
        record.__to_parts()
    }

    /// Seals `stored` again, under a current data key, and writes it if it is unchanged.
    async fn rewrite(&self, stored: &Item) -> Result<Attempt> {
        let (mut item, plaintexts) = match self.open(stored).await {
            Ok(parts) => parts,
            Err(error) => return record_failure(error),
        };
        self.authorize_write(stored)?;
        self.seal_and_write(stored, &mut item, &plaintexts).await
    }

    /// Seals `item` under a current data key and writes it over `stored`. A dry run seals
    /// nothing (sealing under an owner's key would create the key) and counts the record as
    /// changed, under the key it would be under.
    async fn seal_and_write(
        &self,
        stored: &Item,
        item: &mut Item,
        plaintexts: &Plaintexts,
    ) -> Result<Attempt> {
        if self.dry_run {
            let key_id = self.primary.clone().unwrap_or_default();
            return Ok(Attempt::Done(Outcome::Changed(key_id)));
        }
        if let Err(error) = self.cipher.encrypt(&T::SCHEMA, item, plaintexts).await {
            return record_failure(error);
        }
        self.write(stored, item).await
    }

    /// Seals `stored` again if a blind-index attribute it holds (or lacks) is not the current
    /// index secret's value for the field.
    async fn backfill(&self, stored: &Item) -> Result<Attempt> {
        let schema = T::SCHEMA;
        let (mut item, plaintexts) = match self.open(stored).await {
            Ok(parts) => parts,
            Err(error) => return record_failure(error),
        };
        let owner = format::owner_of(&schema, stored)?;
        let mut current = true;
        for spec in schema.indexes() {
            let expected = plaintexts
                .get_bytes(spec.field())
                .map(|plaintext| self.cipher.index_attribute(&schema, spec, owner, plaintext))
                .transpose();
            let expected = match expected {
                Ok(expected) => expected,
                Err(error) => return record_failure(error),
            };
            current &= expected.as_ref() == stored.get(spec.attribute());
        }
        if current {
            return Ok(Attempt::Done(Outcome::Unchanged(key_id(stored))));
        }
        self.authorize_write(stored)?;
        self.seal_and_write(stored, &mut item, &plaintexts).await
    }

    /// Wraps the data key of `stored` again under the primary key, seals its message again
    /// under the new header, and writes the two if the record is unchanged.
    async fn rewrap(&self, stored: &Item) -> Result<Attempt> {
        let schema = T::SCHEMA;
        self.gate.authorize(
            self.caller,
            &schema,
            stored_owner(&schema, stored),
            stored,
            Scope::Read,
        )?;
        self.authorize_write(stored)?;
        let header = Header::from_item(stored)?;
        let old = (header.key_id.to_owned(), header.wrapped.to_vec());
        let known = lock(&self.rewrapped).get(&old).cloned();
        let rewrapped = match known {
            Some(rewrapped) => rewrapped,
            None => {
                let rewrapped = match self.cipher.rewrap_key(&schema, &old.0, &old.1).await {
                    Ok(rewrapped) => rewrapped,
                    Err(error) => return record_failure(error),
                };
                lock(&self.rewrapped).put(old, rewrapped.clone());
                rewrapped
            }
        };
        let (header, sealed) = match self.cipher.rewrap_item(&schema, stored, &rewrapped).await {
            Ok(parts) => parts,
            Err(error) => return record_failure(error),
        };
        let mut item = stored.clone();
        item.insert(HEADER_ATTRIBUTE, AttributeValue::B(header));
        item.insert(SEALED_ATTRIBUTE, AttributeValue::B(sealed));
        self.write(stored, &item).await
    }

    /// Checks that the job may write `stored` (logged as a grant use).
    fn authorize_write(&self, stored: &Item) -> Result<()> {
        self.gate
            .authorize(
                self.caller,
                &T::SCHEMA,
                stored_owner(&T::SCHEMA, stored),
                stored,
                Scope::Write,
            )
            .map(|_| ())
    }

    /// Writes `item` over `stored` if the record is unchanged since it was read.
    async fn write(&self, stored: &Item, item: &Item) -> Result<Attempt> {
        let key_id = key_id(item).unwrap_or_default();
        if self.dry_run {
            return Ok(Attempt::Done(Outcome::Changed(key_id)));
        }
        let key = self.table.key_of(stored)?;
        let (update, condition) = self.update_of(stored, item);
        match self
            .store
            .update(self.table, &key, &update, &condition)
            .await
        {
            Ok(()) => {
                if is_plaintext_record(stored) {
                    // A record found in plaintext is worth a line: one planted by someone with
                    // write access to the table is indistinguishable from one never migrated.
                    tracing::info!(
                        target: "crypt_model::migration",
                        table = T::SCHEMA.table(),
                        key = %fingerprint(&T::SCHEMA, stored),
                        "encrypted a record stored in plaintext"
                    );
                }
                Ok(Attempt::Done(Outcome::Changed(key_id)))
            }
            Err(Error::ConditionFailed { .. }) => Ok(Attempt::Changed),
            Err(error) => Err(error),
        }
    }

    /// The update that turns `stored` into `item`, and its condition, that the record is as it
    /// was read. Only what differs is written; attributes the model does not know are left as
    /// they are, and those it knows that `item` lacks are removed.
    ///
    /// An encrypted record is unchanged if its header and message are: every write through the
    /// library seals the message again under a new nonce, and its authentication covers every
    /// other attribute the model authenticates. A record in plaintext has no such witness, so
    /// each attribute the model knows is compared: as read, or still absent. Each attribute
    /// written or removed is compared too.
    fn update_of(&self, stored: &Item, item: &Item) -> (Update, Condition) {
        let schema = T::SCHEMA;
        let is_key = |name: &str| name == schema.partition_key() || Some(name) == schema.sort_key();
        // Every attribute the model knows, but the keys.
        let known: BTreeSet<&str> = std::iter::once(schema.owner())
            .chain(schema.version())
            .chain(schema.sensitive().iter().copied())
            .chain(schema.plain().iter().copied())
            .chain(schema.unauthenticated().iter().copied())
            .chain(schema.indexes().iter().map(|spec| spec.attribute()))
            .chain([HEADER_ATTRIBUTE, SEALED_ATTRIBUTE])
            .filter(|name| !is_key(name))
            .collect();
        let mut update = Update::default();
        for (name, value) in item.iter() {
            if !is_key(name) && stored.get(name) != Some(value) {
                update.set.insert(name, value.clone());
            }
        }
        update.remove = stored
            .iter()
            .map(|(name, _)| name)
            .filter(|name| known.contains(name) && !item.contains(name))
            .map(str::to_owned)
            .collect();
        // The witnesses that the record is as read: for a record in plaintext, every attribute
        // the model knows, present as read or still absent (a field another writer added
        // meanwhile is not sealed over); for an encrypted one, its header and message.
        let mut names: BTreeSet<&str> = if is_plaintext_record(stored) {
            known
        } else {
            BTreeSet::from([HEADER_ATTRIBUTE, SEALED_ATTRIBUTE])
        };
        names.extend(update.set.iter().map(|(name, _)| name));
        names.extend(update.remove.iter().map(String::as_str));
        let mut conditions = vec![Condition::Exists];
        conditions.extend(names.into_iter().map(|name| match stored.get(name) {
            Some(value) => Condition::equals(name, value.clone()),
            None => Condition::absent(name),
        }));
        (update, Condition::And(conditions))
    }
}

/// The key id of an item's header, if it has a valid one.
fn key_id(item: &Item) -> Option<String> {
    Header::from_item(item).ok().map(|h| h.key_id.to_owned())
}

/// A record's own error as its outcome; any other stops the job.
fn record_failure(error: Error) -> Result<Attempt> {
    if matches!(error, Error::OwnerKeyErased { .. }) {
        Ok(Attempt::Done(Outcome::Erased))
    } else if is_record_error(&error) {
        Ok(Attempt::Done(Outcome::Failed(error.to_string())))
    } else {
        Err(error)
    }
}
