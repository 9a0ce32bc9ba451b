//! The key table as a whole: the sweep that re-applies erasures after a restore, and the
//! rewrap of every row onto the keyring's primary key.

use super::row::{Standing, standing};
use super::row::{context, parse_row};
use super::tombstones::Found;
use super::{OwnerKeys, ROW_KEY};
use crate::attribute::{AttributeValue, Key};
use crate::error::{Error, KeyError, Result, StorageError};
use crate::store::{Condition, Scan, Store, rewrite};

impl OwnerKeys {
    /// The standing of the row of `owner` in `table` holding `handle`; `None` when the owner's
    /// tombstone was not made by the erasure keys (logged): such a row is left as it is.
    async fn state_of(&self, table: &str, owner: &str, handle: &[u8]) -> Result<Option<Standing>> {
        Ok(match self.tombstones.find(table, owner).await? {
            Found::Nothing => Some(standing(handle, 0)),
            Found::Through(through) => Some(standing(handle, through)),
            Found::Forged => None,
        })
    }

    /// Deletes again every key row whose key was erased — put back by a restore of the key
    /// table, or by a raw write —, each only if it still holds the erased key; the number of rows
    /// deleted. Run it after every restore of the key table, with the erasure path's permissions
    /// (`DeleteItem` on the key table). Readers refuse such rows meanwhile.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when a table's store fails; [`Error::Key`] when the erasure key cannot
    /// be asked.
    pub async fn reapply_erasures(&self) -> Result<u64> {
        let mut scan = Scan::all().limit(100);
        let mut deleted = 0;
        loop {
            let page = self.store.scan(&self.table, &scan).await?;
            for row in page.items {
                let (Some(AttributeValue::S(id)), Some(AttributeValue::B(handle))) =
                    (row.get(ROW_KEY), row.get("handle"))
                else {
                    continue;
                };
                let Some((table, owner)) = id.split_once('/') else {
                    continue;
                };
                if self.state_of(table, owner, handle).await? != Some(Standing::Erased) {
                    continue;
                }
                let key = Key::new(AttributeValue::S(id.clone()));
                let condition = Condition::equals("handle", AttributeValue::B(handle.clone()));
                match self.store.delete(&self.table, &key, &condition).await {
                    Ok(()) => {
                        deleted += 1;
                        self.cache.remove(id);
                        tracing::info!(
                            target: "crypt_model::access",
                            table,
                            "the key of an erased owner, put back, was deleted again"
                        );
                    }
                    // Deleted or replaced meanwhile.
                    Err(Error::Storage(StorageError::ConditionFailed { .. })) => {}
                    Err(error) => return Err(error),
                }
            }
            match page.cursor {
                Some(cursor) => scan = scan.after(Some(cursor)),
                None => return Ok(deleted),
            }
        }
    }

    /// Wraps every row's key not under the keyring's primary key-encryption key again, under
    /// it (each write conditional on the row being unchanged, so that an erasure meanwhile
    /// wins); the number of rows rewrapped. See [`Keys::rewrap_owner_keys`](crate::Keys::rewrap_owner_keys).
    pub(crate) async fn rewrap_all(&self) -> Result<u64> {
        let keys = self.keys()?;
        let primary = keys.keyring().primary_key_id().map(str::to_owned);
        let mut scan = Scan::all().limit(100);
        let mut rewrapped = 0;
        loop {
            let page = self.store.scan(&self.table, &scan).await?;
            for row in page.items {
                let (table, owner) = match row.get(ROW_KEY) {
                    Some(AttributeValue::S(key)) => key.split_once('/').unwrap_or_default(),
                    _ => continue,
                };
                // One row that is not a live key of ours (malformed, edited, or an erased owner's
                // put back) is passed over, logged: never unwrapped, never carried to a new key,
                // and the rotation goes on.
                let Ok((wrapped, handle)) = parse_row(&row) else {
                    tracing::warn!(target: "crypt_model::access", table, "a malformed key row was passed over by the rewrap");
                    continue;
                };
                if self.state_of(table, owner, &handle).await? != Some(Standing::Live) {
                    continue;
                }
                if primary.as_deref() == Some(wrapped.key_id.as_str()) {
                    continue;
                }
                let context = context(table);
                let key = match keys.unwrap_uncached(&wrapped, &context).await {
                    Ok(key) => key,
                    // A wrapped key edited in storage: passed over, logged; a provider that
                    // fails stops the rotation (it is resumed by running it again).
                    Err(Error::Key(KeyError::UnwrapFailed { .. })) => {
                        tracing::warn!(
                            target: "crypt_model::access",
                            table,
                            "a key row whose key does not unwrap was passed over by the rewrap"
                        );
                        continue;
                    }
                    Err(error) => return Err(error),
                };
                let new = keys.rewrap(&key, &wrapped, &context).await?;
                if new.key_id == wrapped.key_id && primary.is_none() {
                    continue;
                }
                let mut updated = row.clone();
                updated.insert("key_id", AttributeValue::S(new.key_id));
                updated.insert("wrapped", AttributeValue::B(new.ciphertext));
                // Only the wrapped key changes, and only if the row still holds the one read.
                let wrapping = |name: &str| name == "key_id" || name == "wrapped";
                let (update, unchanged) = rewrite(
                    &self.table,
                    &row,
                    &updated,
                    wrapping,
                    ["key_id", "wrapped"],
                    Vec::new(),
                );
                let key = self.table.key_of(&row)?;
                match self
                    .store
                    .update(&self.table, &key, &update, &unchanged)
                    .await
                {
                    Ok(()) => rewrapped += 1,
                    // Erased, or rewrapped by another run, meanwhile.
                    Err(Error::Storage(StorageError::ConditionFailed { .. })) => {}
                    Err(error) => return Err(error),
                }
            }
            match page.cursor {
                Some(cursor) => scan = scan.after(Some(cursor)),
                None => return Ok(rewrapped),
            }
        }
    }
}
