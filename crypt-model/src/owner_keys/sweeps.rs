//! The key table as a whole: the sweep that re-applies erasures after a restore, and the
//! rewrap of every row onto the keyring's primary key.

use super::row::{PREVIOUS, Standing, standing};
use super::row::{context, parse_previous, parse_row};
use super::tombstones::Found;
use super::{OwnerKeys, ROW_KEY};
use crate::attribute::{AttributeValue, Key};
use crate::cache::KeyCache;
use crate::error::{Error, KeyError, Result, StorageError};
use crate::keyring::WrappedDataKey;
use crate::store::{Condition, Scan, Store, rewrite};

impl OwnerKeys {
    /// The standing of the row of `owner` in `table` holding `handle`; `None` when the owner's
    /// tombstone was not made by the erasure keys (logged): such a row is left as it is.
    async fn state_of(&self, table: &str, owner: &str, handle: &[u8]) -> Result<Option<Standing>> {
        Ok(match self.tombstones.find(table, owner).await? {
            Found::Forged => None,
            found => Some(standing(handle, found.state()?)),
        })
    }

    /// Deletes again every key row whose key was erased — put back by a restore of the key
    /// table, or by a raw write —, each only if it still holds the erased key, and removes from
    /// a live row an old key that a finished replacement erased; the number of rows so
    /// repaired. Run it after every restore of the key table, with the erasure path's permissions
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
                let key = Key::new(AttributeValue::S(id.clone()));
                let condition = Condition::equals("handle", AttributeValue::B(handle.clone()));
                let outcome = match self.state_of(table, owner, handle).await? {
                    Some(Standing::Erased) => {
                        self.store.delete(&self.table, &key, &condition).await
                    }
                    // A live key that keeps an old one its replacement erased since (a restore
                    // from during the replacement): the old one goes.
                    Some(Standing::Live) => match parse_previous(&row) {
                        Ok(Some((_, previous)))
                            if self.state_of(table, owner, &previous).await?
                                == Some(Standing::Erased) =>
                        {
                            self.drop_previous(&row).await
                        }
                        _ => continue,
                    },
                    _ => continue,
                };
                match outcome {
                    Ok(()) => {
                        deleted += 1;
                        self.cache.remove(id);
                        tracing::info!(
                            target: "crypt_model::access",
                            table,
                            "an erased key, put back, was removed again"
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
                let (Ok((wrapped, handle)), Ok(previous)) = (parse_row(&row), parse_previous(&row))
                else {
                    tracing::warn!(target: "crypt_model::access", table, "a malformed key row was passed over by the rewrap");
                    continue;
                };
                if self.state_of(table, owner, &handle).await? != Some(Standing::Live) {
                    continue;
                }
                // The old key a replacement keeps, while it is live, is rewrapped with the new.
                let previous = match previous {
                    Some((wrapped, handle))
                        if self.state_of(table, owner, &handle).await? == Some(Standing::Live) =>
                    {
                        Some(wrapped)
                    }
                    _ => None,
                };
                let mut updated = row.clone();
                let slots = [
                    (Some(wrapped), ["key_id", "wrapped"]),
                    (previous, [PREVIOUS[0], PREVIOUS[1]]),
                ];
                for (wrapped, [id_name, wrapped_name]) in slots {
                    let Some(wrapped) = wrapped else { continue };
                    if primary.as_deref() == Some(wrapped.key_id.as_str()) {
                        continue;
                    }
                    if let Some(new) = rewrap_one(keys, table, &wrapped, primary.is_none()).await? {
                        updated.insert(id_name, AttributeValue::S(new.key_id));
                        updated.insert(wrapped_name, AttributeValue::B(new.ciphertext));
                    }
                }
                if updated == row {
                    continue;
                }
                // Only the wrapped keys change, and only if the row still holds the ones read.
                let names = ["key_id", "wrapped", PREVIOUS[0], PREVIOUS[1]];
                let (update, unchanged) = rewrite(
                    &self.table,
                    &row,
                    &updated,
                    |name: &str| names.contains(&name),
                    names,
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

/// `wrapped`, an owner key of `table`, wrapped again under the keyring's primary key; `None`
/// when it does not unwrap (edited in storage: passed over, logged), or when the keyring wraps
/// it under the same key again and has no primary (`no_primary`). A provider that fails stops
/// the rotation (it is resumed by running it again).
async fn rewrap_one(
    keys: &KeyCache,
    table: &str,
    wrapped: &WrappedDataKey,
    no_primary: bool,
) -> Result<Option<WrappedDataKey>> {
    let context = context(table);
    let key = match keys.unwrap_uncached(wrapped, &context).await {
        Ok(key) => key,
        Err(Error::Key(KeyError::UnwrapFailed { .. })) => {
            tracing::warn!(
                target: "crypt_model::access",
                table,
                "a key row whose key does not unwrap was passed over by the rewrap"
            );
            return Ok(None);
        }
        Err(error) => return Err(error),
    };
    let new = keys.rewrap(&key, wrapped, &context).await?;
    Ok((!(new.key_id == wrapped.key_id && no_primary)).then_some(new))
}
