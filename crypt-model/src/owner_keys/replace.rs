//! Replacing an owner's key (one exposed, or due for rotation): a new key beside the old one,
//! the owner's records re-encrypted onto it, then the old one erased as an erasure would.

use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use super::row::{PREVIOUS, generation};
use super::{
    HANDLE_LEN, OwnerKeys, ROW_KEY, Standing, State, context, erased, new_handle, parse_previous,
    parse_row, previous_standing, row_key, row_standing,
};
use crate::access::ErasePermit;
use crate::attribute::{AttributeValue, Item, Key};
use crate::cache::KeyCache;
use crate::error::{ConfigError, Error, Result, StorageError};
use crate::keyring::{DataKey, WrappedDataKey};
use crate::store::{Condition, Store, rewrite};

/// The start of a replacement whose new key is not stored yet: no wait has begun.
const PENDING: u64 = u64::MAX;

/// What the wait before the finish adds to the cache age: the tombstone's time is in whole
/// seconds, a cached key's age counts from after its unwrap, and clocks differ between hosts.
const MARGIN_SECONDS: u64 = 2;

/// Seconds since the Unix epoch.
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

impl OwnerKeys {
    /// Begins replacing the key of the owner `permit` names, in its model's logical table: a new
    /// key, one generation up, becomes the one their records are sealed under, and the key
    /// table keeps the old one beside it, so that their records still under it open until they
    /// are re-encrypted. The owner's tombstone records that the replacement is under way
    /// (tagged by the erasure key: no writer of the key table can make a second live key).
    /// `false` when the owner has no key. Run again, it resumes.
    ///
    /// Then, once the [cache age](crate::CacheLimits::age) has passed (until then another
    /// process may still seal a record under the old key), re-encrypt the table
    /// ([`Job::reencrypt`](crate::lifecycle::Job::reencrypt) moves every record not under its
    /// owner's newest key) and [`finish_replacement`](Self::finish_replacement), which erases
    /// the old key. An erasure meanwhile erases both keys.
    ///
    /// Applications replace keys through
    /// [`Table::replace_owner_key`](crate::Table::replace_owner_key), which asks the gate for
    /// the permit (the owner, or a service granted
    /// [`Scope::Delete`](crate::access::Scope::Delete)).
    ///
    /// # Errors
    ///
    /// [`Error::Integrity`] when the owner's tombstone was not made by the erasure key or their
    /// row is not a key of a live generation (restore the key table); [`Error::Key`] when the
    /// erasure key cannot sign or the key provider cannot make a key; [`Error::Storage`] when a
    /// table's store fails.
    pub async fn replace<T>(&self, permit: ErasePermit<T>) -> Result<bool> {
        let (table, owner) = (permit.table(), permit.owner());
        let keys = self.keys()?;
        let row = row_key(table, owner);
        let key = Key::new(AttributeValue::S(row.clone()));
        if self.store.get(&self.table, &key).await?.is_none() {
            return Ok(false);
        }
        // "Pending" until the row holds the new key: no wait counts before then.
        let state = self
            .tombstones
            .transition(table, owner, |state| {
                state.replacing_since.is_none().then_some(State {
                    through: state.through,
                    replacing_since: Some(PENDING),
                })
            })
            .await?;
        let newest = state.newest().ok_or_else(|| erased(table))?;
        for _ in 0..3 {
            let Some(stored) = self.store.get(&self.table, &key).await? else {
                // An erasure moves the tombstone before it deletes the row: this was a writer.
                return Err(missing_row(table));
            };
            let (old, handle) = parse_row(&stored)?;
            if generation(&handle) == Some(newest) {
                // Replaced already: a replacement run again.
                self.restamp(table, owner).await?;
                self.forget(&row);
                return Ok(true);
            }
            if self.judge(table, row_standing(&stored, &handle, state)?)? != Standing::Live {
                return Err(erased(table));
            }
            let generated = keys.generate_uncached(&context(table)).await?;
            let item = replaced_row(&row, &generated.wrapped, new_handle(newest)?, old, handle);
            // The row as read, its wrapped key included (a rewrap meanwhile is not undone).
            let unchanged = Condition::And(
                ["handle", "key_id", "wrapped"]
                    .map(|name| match stored.get(name) {
                        Some(value) => Condition::equals(name, value.clone()),
                        None => Condition::absent(name),
                    })
                    .to_vec(),
            );
            match self.store.put(&self.table, item, &unchanged).await {
                Ok(()) => {
                    // The wait before the finish counts from now: until this write, every
                    // process sealed under the old key.
                    self.restamp(table, owner).await?;
                    self.forget(&row);
                    tracing::info!(
                        target: "crypt_model::access",
                        table,
                        generation = newest,
                        "an owner's key replacement began: re-encrypt the table, then finish it"
                    );
                    return Ok(true);
                }
                Err(Error::Storage(StorageError::ConditionFailed { .. })) => continue,
                Err(error) => return Err(error),
            }
        }
        Err(Error::Storage(StorageError::Conflict {
            table: self.table.name().to_owned(),
        }))
    }

    /// Finishes the replacement of the key of the owner `permit` names: the owner's tombstone
    /// erases the old key (as [`erase`](Self::erase) would: every record still under it then
    /// fails with [`KeyError::OwnerKeyErased`](crate::error::KeyError::OwnerKeyErased), and so
    /// does every copy of them), and the key table stops keeping it. `false` when no
    /// replacement was under way. Run it after the re-encryption's report shows no failure.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Unsupported`] before the cache age has passed since the replacement began,
    /// or when its first step did not complete (run [`replace`](Self::replace) again);
    /// [`Error::Integrity`] when the owner's tombstone or row was tampered with;
    /// [`Error::Key`] when the erasure key cannot sign; [`Error::Storage`] when a table's store
    /// fails.
    pub async fn finish_replacement<T>(&self, permit: ErasePermit<T>) -> Result<bool> {
        let (table, owner) = (permit.table(), permit.owner());
        let state = self.state(table, owner).await?;
        let Some(since) = state.replacing_since else {
            return Ok(false);
        };
        let age = self.cache.limits().age();
        let elapsed = now().saturating_sub(since);
        let waited = self.waited(since, now());
        let unsupported = |reason: String| {
            Error::Config(ConfigError::Unsupported {
                table: table.to_owned(),
                operation: "finish an owner key's replacement",
                reason,
            })
        };
        if !waited {
            return Err(unsupported(format!(
                "the owner's new key was stored {elapsed} s ago, and until the cache age ({} s, \
                 plus {MARGIN_SECONDS} s) has passed another process may still seal records \
                 under the old key: wait, re-encrypt the table with a new run, then finish",
                age.as_secs()
            )));
        }
        let key = Key::new(AttributeValue::S(row_key(table, owner)));
        let Some(stored) = self.store.get(&self.table, &key).await? else {
            return Err(missing_row(table));
        };
        let (_, handle) = parse_row(&stored)?;
        if generation(&handle) != state.newest() {
            return Err(unsupported(
                "the key table does not hold the new key yet: run the replacement's first step \
                 again (Table::replace_owner_key), re-encrypt, then finish"
                    .to_owned(),
            ));
        }
        let state = self
            .tombstones
            .transition(table, owner, |state| {
                // Only the replacement whose wait this finish measured.
                (state.replacing_since == Some(since)).then_some(())?;
                Some(State {
                    through: state.through.checked_add(1)?,
                    replacing_since: None,
                })
            })
            .await?;
        if state.replacing_since.is_some() {
            return Err(unsupported(
                "the replacement's first step ran again meanwhile: wait again, then finish"
                    .to_owned(),
            ));
        }
        // The row stops keeping the old key, if it is unchanged (readers refuse it anyway, and
        // the erasure sweep removes it).
        if parse_previous(&stored)?.is_some() {
            match self.drop_previous(&stored).await {
                Ok(()) | Err(Error::Storage(StorageError::ConditionFailed { .. })) => {}
                Err(error) => return Err(error),
            }
        }
        self.forget(&row_key(table, owner));
        tracing::info!(
            target: "crypt_model::access",
            table,
            erased_through = state.through,
            "an owner's key replacement finished: the old key is erased"
        );
        Ok(true)
    }

    /// Removes the old key the row `stored` keeps, on the condition that the row still holds
    /// what was read (an update: a rewrap of the current key meanwhile is not undone).
    pub(super) async fn drop_previous(&self, stored: &Item) -> Result<()> {
        let mut current = stored.clone();
        for name in PREVIOUS {
            current.remove(name);
        }
        let (update, unchanged) = rewrite(
            &self.table,
            stored,
            &current,
            |name| PREVIOUS.contains(&name),
            ["handle", "key_id", "wrapped"],
            Vec::new(),
        );
        let key = self.table.key_of(stored)?;
        self.store
            .update(&self.table, &key, &update, &unchanged)
            .await
    }

    /// Whether this process's cache age (and a margin) had passed at `at` since `since`
    /// (seconds since the epoch): a key cached before `since`, anywhere the age is the same, had
    /// expired by then. Never for a replacement still pending.
    pub(crate) fn waited(&self, since: u64, at: u64) -> bool {
        let elapsed = u128::from(at.saturating_sub(since).saturating_sub(MARGIN_SECONDS));
        since != PENDING && elapsed * 1000 >= self.cache.limits().age().as_millis()
    }

    /// Moves the start of the owner's replacement to now (the wait before the finish counts
    /// from the row's new key).
    async fn restamp(&self, table: &str, owner: &str) -> Result<()> {
        let since = now();
        self.tombstones
            .transition(table, owner, |state| {
                state.replacing_since?;
                Some(State {
                    through: state.through,
                    replacing_since: Some(since),
                })
            })
            .await?;
        Ok(())
    }

    /// The handle of the newest live key of `owner` in `table`, as the key table holds it now
    /// (not cached), and when their key's replacement began, if one is under way (see
    /// [`waited`](Self::waited)); `None` when it holds no live key of theirs.
    pub(crate) async fn current_handle(
        &self,
        table: &str,
        owner: &str,
    ) -> Result<Option<([u8; HANDLE_LEN], Option<u64>)>> {
        let key = Key::new(AttributeValue::S(row_key(table, owner)));
        let Some(stored) = self.store.get(&self.table, &key).await? else {
            return Ok(None);
        };
        let Ok((_, handle)) = parse_row(&stored) else {
            return Ok(None);
        };
        let state = self.state(table, owner).await?;
        let newest = generation(&handle) == state.newest();
        // A malformed old key is the reader's integrity failure, not the job's end.
        let live = matches!(row_standing(&stored, &handle, state), Ok(Standing::Live));
        Ok((live && newest).then_some((handle, state.replacing_since)))
    }

    /// The old key of an owner whose key is being replaced, for a record not yet re-encrypted;
    /// kept apart from the key that seals.
    pub(super) async fn previous_key(
        &self,
        keys: &KeyCache,
        (table, owner): (&'static str, &str),
        wrapped: &WrappedDataKey,
        handle: [u8; HANDLE_LEN],
        erasures: u64,
    ) -> Result<DataKey> {
        let state = self.state(table, owner).await?;
        if self.judge(table, previous_standing(&handle, state))? != Standing::Live {
            return Err(erased(table));
        }
        let key = keys.unwrap_uncached(wrapped, &context(table)).await?;
        self.previous
            .put_if(row_key(table, owner), &key, handle, || {
                self.erasures.load(Ordering::SeqCst) == erasures
            });
        Ok(key)
    }
}

/// An owner's row with its new key, keeping the old one beside it.
fn replaced_row(
    row: &str,
    new: &WrappedDataKey,
    handle: [u8; HANDLE_LEN],
    old: WrappedDataKey,
    old_handle: [u8; HANDLE_LEN],
) -> Item {
    Item::from_iter([
        (ROW_KEY, AttributeValue::S(row.to_owned())),
        ("key_id", AttributeValue::S(new.key_id.clone())),
        ("wrapped", AttributeValue::B(new.ciphertext.clone())),
        ("handle", AttributeValue::B(handle.to_vec())),
        (PREVIOUS[0], AttributeValue::S(old.key_id)),
        (PREVIOUS[1], AttributeValue::B(old.ciphertext)),
        (PREVIOUS[2], AttributeValue::B(old_handle.to_vec())),
    ])
}

/// The error of an owner's row gone while their key is replaced: a writer of the key table
/// deleted it (an erasure moves the tombstone first).
fn missing_row(table: &str) -> Error {
    tracing::warn!(
        target: "crypt_model::access",
        table,
        "an owner's key row went while their key was being replaced: deleted by a writer of \
         the key table (restore it)"
    );
    crate::format::header_integrity()
}
