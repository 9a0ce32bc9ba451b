//! A key per owner, for erasure by crypto-shredding: [`OwnerKeys`], the key table that holds
//! each owner's data key, wrapped, and nowhere else.

use crate::error::{ConfigError, KeyError, StorageError};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use subtle::ConstantTimeEq;

use crate::access::ErasePermit;
use crate::attribute::{AttributeValue, Item, Key, KeyType};
use crate::cache::{CacheLimits, KeyCache};
use crate::error::{Error, Result};
use crate::format::OWNER_KEY_ID;
use crate::keyring::{DataKey, GeneratedDataKey, WrappedDataKey};
use crate::store::{Checked, Condition, Store, TableRef};

mod cache;
mod replace;
mod row;
mod source;
mod sweeps;
mod tombstones;

use cache::OwnerCache;
use row::{
    Standing, context, new_handle, parse_previous, parse_row, previous_standing, row_key,
    row_standing, standing,
};
use tombstones::State;
pub use tombstones::Tombstones;

/// The length of a key handle.
pub(crate) const HANDLE_LEN: usize = 16;

/// The key table's partition key.
const ROW_KEY: &str = "owner_key";

/// The key table of the models with `#[crypt_model(key_per_owner)]`: one row per logical table
/// and owner, holding that owner's data key wrapped by the [`Keys`](crate::Keys)'s keyring
/// (under the encryption context of `<table>/owner-keys`) and a random handle that the owner's
/// records name in their header instead of a wrapped key.
///
/// Erasing an owner ([`erase`](Self::erase), or [`Table::erase_owner`](crate::Table::erase_owner))
/// leaves an authenticated tombstone in the [`Tombstones`] table, then deletes the row: every
/// copy of the owner's records — the table, its backups and exports, stream records — then fails
/// closed with [`KeyError::OwnerKeyErased`](crate::error::KeyError::OwnerKeyErased). Each fetch
/// of a key from the key table asks the tombstones first, so a row put back after its erasure (a
/// restore of the key table, a raw put) stays erased, and the key table may have point-in-time
/// recovery: a row that one of its writers overwrote or deleted reads as an integrity failure,
/// and a restore brings it back.
///
/// Unwrapped keys are cached per owner within the [`CacheLimits`] age, for at most
/// [`unwrapped_keys`](CacheLimits::unwrapped_keys) owners: the key provider sees one generate
/// per new owner and one unwrap per owner per cache age. After an erasure, another process that
/// holds the owner's key in its cache can use it until the age passes (5 minutes by default);
/// records it writes then are unreadable too.
pub struct OwnerKeys {
    store: Arc<Checked<dyn Store>>,
    table: TableRef,
    tombstones: Tombstones,
    /// The keyring and its counters, from the [`Keys`](crate::Keys) this key table is given
    /// to; `None` until then.
    keys: Option<KeyCache>,
    cache: Arc<OwnerCache>,
    /// The old keys of owners whose key is being replaced, unwrapped for their records not yet
    /// re-encrypted (never used to seal).
    previous: Arc<OwnerCache>,
    /// How many erasures this process made: a key fetched before one is not cached after it.
    erasures: AtomicU64,
    /// Whether a record under a shared data key is refused (the move to owner keys is done).
    shared_refused: bool,
}

impl OwnerKeys {
    /// The key table `name` on `store` (partition key `owner_key`, a string), whose erasures
    /// leave their tombstones in `tombstones`: create both tables with the store's provisioning
    /// (`crypt_model_dynamo::provision(client, keys.table_ref(), …)`).
    ///
    /// ```
    /// use crypt_model::keyring::LocalErasureKey;
    /// use crypt_model::{MemoryStore, OwnerKeys, Tombstones};
    ///
    /// # fn main() -> Result<(), crypt_model::Error> {
    /// let store = MemoryStore::new();
    /// let tombstones = Tombstones::new(store.clone(), "erasures", LocalErasureKey::generate()?)?;
    /// let keys = OwnerKeys::new(store, "owner-keys", tombstones)?;
    /// assert_eq!(keys.table_ref().name(), "owner-keys");
    /// # Ok(()) }
    /// ```
    pub fn new(store: impl Store + 'static, name: &str, tombstones: Tombstones) -> Result<Self> {
        let store: Arc<Checked<dyn Store>> = Arc::new(Checked::new(store));
        let table = TableRef::new(name, ROW_KEY, None)?.with_key_types(KeyType::S, KeyType::S);
        let limits = CacheLimits::default();
        Ok(OwnerKeys {
            store,
            table,
            tombstones,
            keys: None,
            cache: OwnerCache::new(limits),
            previous: OwnerCache::new(limits),
            erasures: AtomicU64::new(0),
            shared_refused: false,
        })
    }

    /// The same, with the cache within `limits` (its age and its number of unwrapped keys).
    pub fn with_cache_limits(mut self, limits: CacheLimits) -> Self {
        self.cache = OwnerCache::new(limits);
        self.previous = OwnerCache::new(limits);
        self
    }

    /// Refuses every record under a shared data key, as an integrity failure: for once an
    /// inventory of each model with a key per owner names no key id but
    /// [`OWNER_KEY_ID`](crate::format::OWNER_KEY_ID) (the re-encryption moved every record onto its
    /// owner's key). Until then, a record written before the model kept a key per owner opens
    /// under the shared key its header names — and so would an old copy of it put back, with
    /// what it held then: this closes that rollback.
    pub fn refusing_shared_keys(mut self) -> Self {
        self.shared_refused = true;
        self
    }

    /// The key table.
    pub fn table_ref(&self) -> &TableRef {
        &self.table
    }

    /// The tombstone table.
    pub fn tombstones(&self) -> &Tombstones {
        &self.tombstones
    }

    /// The same, wrapping and unwrapping owners' keys with the keyring behind `keys`.
    pub(crate) fn bound(mut self, keys: KeyCache) -> Self {
        self.keys = Some(keys);
        self
    }

    /// The keyring behind the key table (it is given one with the keys).
    fn keys(&self) -> Result<&KeyCache> {
        self.keys.as_ref().ok_or_else(|| {
            Error::Config(ConfigError::Unsupported {
                table: self.table.name().to_owned(),
                operation: "wrap or unwrap an owner's key",
                reason: "the key table has no keyring: give it to `Keys` with \
                     `Keys::with_owner_keys`"
                    .to_owned(),
            })
        })
    }

    /// Erases the keys of the owner `permit` names, in its model's logical table: leaves an
    /// authenticated tombstone in the [`Tombstones`] table (a digest of the owner: no owner id)
    /// saying that every key of theirs up to the generation of their current one is erased,
    /// deletes their row, and forgets the key here. `false` when the key table held no key of
    /// theirs (the tombstone is written all the same: a row put back later stays erased). Every
    /// record of the owner sealed under an erased key can no longer be read, anywhere: it fails
    /// with [`KeyError::OwnerKeyErased`](crate::error::KeyError::OwnerKeyErased), which the
    /// tombstone tells from a record whose header or owner was edited (that is
    /// [`IntegrityError`](crate::error::IntegrityError)).
    ///
    /// The tombstone covers generations, not the row the erasure read, so a writer of the key
    /// table who hid or changed the row before the erasure cannot bring the key back with the
    /// row afterwards.
    ///
    /// Only the owner gate issues an [`ErasePermit`] ([`Gate::erase_permit`](crate::access::Gate::erase_permit),
    /// logged): no erasure without its decision. Applications erase through
    /// [`Table::erase_owner`](crate::Table::erase_owner), which asks for one.
    ///
    /// # Errors
    ///
    /// [`Error::Integrity`] when the owner's tombstone was not made by the erasure key (nothing
    /// is erased then: the tombstone table was tampered with); [`Error::Key`] when the erasure
    /// key cannot sign; [`Error::Storage`] when a table's store fails.
    pub async fn erase<T>(&self, permit: ErasePermit<T>) -> Result<bool> {
        let (table, owner) = (permit.table(), permit.owner());
        // First the tombstone, one generation above the last erased one: the owner's one live
        // key was made there (a key is made one above the tombstone it finds). An erasure
        // stopped after it is done again in full by the next.
        let state = self.tombstones.advance(table, owner).await?;
        let row = row_key(table, owner);
        let key = Key::new(AttributeValue::S(row.clone()));
        let mut attempts = 0;
        let erased = loop {
            let Some(stored) = self.store.get(&self.table, &key).await? else {
                break false;
            };
            // The row, only if it still holds what was read, and unless it is a key made since
            // the tombstone (the owner came back meanwhile): that one is not erased. Any other
            // row goes, a planted generation above the live one included.
            let condition = match stored.get("handle") {
                Some(AttributeValue::B(handle)) if standing(handle, state) == Standing::Live => {
                    break false;
                }
                Some(AttributeValue::B(handle)) => {
                    Condition::equals("handle", AttributeValue::B(handle.clone()))
                }
                // Not a row of ours: deleted as it is (the tombstone covers the owner anyway).
                _ => Condition::Exists,
            };
            match self.store.delete(&self.table, &key, &condition).await {
                Ok(()) => break true,
                Err(Error::Storage(StorageError::ConditionFailed { .. })) if attempts < 5 => {
                    attempts += 1
                }
                Err(error) => return Err(error),
            }
        };
        // After the tombstone: a read or write that fetched the key before cannot cache it
        // again (it sees the count change), and the cached copy goes.
        self.forget(&row);
        tracing::info!(
            target: "crypt_model::access",
            table,
            erased_through = state.through,
            row_found = erased,
            "an owner's keys were erased"
        );
        Ok(erased)
    }

    /// Forgets the keys of `row` here, after its owner's tombstone moved: a read or write that
    /// fetched a key before cannot cache it (it sees the count change).
    fn forget(&self, row: &str) {
        self.erasures.fetch_add(1, Ordering::SeqCst);
        self.cache.remove(row);
        self.previous.remove(row);
    }

    /// What the tombstone of `owner` in `table` says of their keys (no tombstone: none erased);
    /// an integrity failure when it was not made by the erasure key.
    async fn state(&self, table: &str, owner: &str) -> Result<State> {
        self.tombstones.find(table, owner).await?.state()
    }

    /// Why a record's key handle has no key: the owner's key of that handle was erased (the
    /// owner's tombstone covers its generation), or the record was edited — its handle or its
    /// owner — or is read with another key table than the one it was written with.
    async fn no_key(&self, table: &'static str, owner: &str, handle: &[u8]) -> Error {
        match self.state(table, owner).await {
            Ok(state) if standing(handle, state) == Standing::Erased => erased(table),
            Ok(_) => {
                tracing::warn!(
                    target: "crypt_model::access",
                    table,
                    "a record names an owner key that the key table neither holds nor erased: \
                     its header or owner was edited in storage, or this is not its key table"
                );
                crate::format::header_integrity()
            }
            Err(error) => error,
        }
    }

    /// The key that seals a new record of `owner` in `table`, and its handle: the cached one,
    /// the stored one, or a new one stored now.
    async fn key_for_write(
        &self,
        table: &'static str,
        owner: &str,
    ) -> Result<(DataKey, [u8; HANDLE_LEN])> {
        let keys = self.keys()?;
        let row = row_key(table, owner);
        if let Some(hit) = self.cached(&row) {
            return Ok(hit);
        }
        let key = Key::new(AttributeValue::S(row.clone()));
        for _ in 0..3 {
            let erasures = self.erasures.load(Ordering::SeqCst);
            // The row first, then the tombstone (as a read does): a replacement that begins
            // in between finds the row still holding the old key, which stays live.
            let stored = self.store.get(&self.table, &key).await?;
            let state = self.state(table, owner).await?;
            let unchanged = match &stored {
                None => Condition::NotExists,
                Some(stored) => {
                    let (_, handle) = parse_row(stored)?;
                    match self.judge(table, row_standing(stored, &handle, state)?)? {
                        Standing::Live => {
                            let (key, _) =
                                self.unwrap_row(keys, table, &row, stored, erasures).await?;
                            return Ok((key, handle));
                        }
                        // An erased key put back (a restore): replaced by a new key, on the
                        // condition that it is still there.
                        _ => Condition::equals("handle", AttributeValue::B(handle.to_vec())),
                    }
                }
            };
            // The owner's newest live generation: one above the tombstone (two while a
            // replacement is under way).
            let generation = state.newest().ok_or_else(|| erased(table))?;
            let handle = new_handle(generation)?;
            let context = context(table);
            let generated = keys.generate_uncached(&context).await?;
            let item = Item::from_iter([
                (ROW_KEY, AttributeValue::S(row.clone())),
                (
                    "key_id",
                    AttributeValue::S(generated.wrapped.key_id.clone()),
                ),
                (
                    "wrapped",
                    AttributeValue::B(generated.wrapped.ciphertext.clone()),
                ),
                ("handle", AttributeValue::B(handle.to_vec())),
            ]);
            match self.store.put(&self.table, item, &unchanged).await {
                Ok(()) => {
                    // An erasure that raced this write may cover the new key: then nothing may be
                    // sealed under it.
                    if self.state(table, owner).await?.through >= generation {
                        return Err(erased(table));
                    }
                    self.remember(row, &generated.key, handle, erasures);
                    return Ok((generated.key.clone(), handle));
                }
                // Another writer stored the owner's key meanwhile: use theirs.
                Err(Error::Storage(StorageError::ConditionFailed { .. })) => continue,
                Err(error) => return Err(error),
            }
        }
        // The row came and went twice while this write looked for it: contention (or a writer
        // of the key table at work), not an erasure.
        Err(Error::Storage(StorageError::Conflict {
            table: self.table.name().to_owned(),
        }))
    }

    /// The key of `owner` in `table` whose handle a record's header names.
    async fn key_for_read(
        &self,
        table: &'static str,
        owner: &str,
        handle: &[u8],
    ) -> Result<DataKey> {
        let keys = self.keys()?;
        let row = row_key(table, owner);
        let cached = self.cached(&row);
        if let Some((key, current)) = &cached
            && bool::from(current.as_slice().ct_eq(handle))
        {
            return Ok(key.clone());
        }
        if let Some((key, previous)) = self.previous.get(&row)
            && bool::from(previous.as_slice().ct_eq(handle))
        {
            return Ok(key);
        }
        let erasures = self.erasures.load(Ordering::SeqCst);
        let key = Key::new(AttributeValue::S(row.clone()));
        let Some(stored) = self.store.get(&self.table, &key).await? else {
            return Err(self.no_key(table, owner, handle).await);
        };
        // The handles are compared before anything is unwrapped: a record under a key of theirs
        // erased since (they came back), or edited or moved from another owner, costs the key
        // provider nothing, however often it is read.
        let (_, current) = parse_row(&stored)?;
        if !bool::from(current.as_slice().ct_eq(handle)) {
            // The owner's old key, while its replacement is under way.
            if let Some((wrapped, previous)) = parse_previous(&stored)?
                && bool::from(previous.as_slice().ct_eq(handle))
            {
                return self
                    .previous_key(keys, (table, owner), &wrapped, previous, erasures)
                    .await;
            }
            return Err(self.no_key(table, owner, handle).await);
        }
        if cached.is_some() {
            // The cache held an older key of the owner's, erased elsewhere since.
            self.cache.remove(&row);
        }
        let state = self.state(table, owner).await?;
        if self.judge(table, row_standing(&stored, &current, state)?)? != Standing::Live {
            return Err(erased(table));
        }
        let (key, _) = self
            .unwrap_row(keys, table, &row, &stored, erasures)
            .await?;
        Ok(key)
    }

    fn cached(&self, row: &str) -> Option<(DataKey, [u8; HANDLE_LEN])> {
        self.cache.get(row)
    }

    /// Caches a key fetched when `erasures` erasures had been made, unless one was made since.
    fn remember(&self, row: String, key: &DataKey, handle: [u8; HANDLE_LEN], erasures: u64) {
        self.cache.put_if(row, key, handle, || {
            self.erasures.load(Ordering::SeqCst) == erasures
        });
    }

    /// How many owners' keys this process keeps unwrapped now.
    pub(crate) fn cached_count(&self) -> usize {
        self.cache.len() + self.previous.len()
    }

    /// Unwraps a stored row's key (its standing judged by the caller).
    async fn unwrap_row(
        &self,
        keys: &KeyCache,
        table: &'static str,
        row: &str,
        stored: &Item,
        erasures: u64,
    ) -> Result<(DataKey, [u8; HANDLE_LEN])> {
        let (wrapped, handle) = parse_row(stored)?;
        let key = keys.unwrap_uncached(&wrapped, &context(table)).await?;
        self.remember(row.to_owned(), &key, handle, erasures);
        Ok((key, handle))
    }

    /// What to do with a key row's key of the standing `standing` (against the owner's
    /// tombstone): a live
    /// key is used; an erased one put back (a restore of the key table, a raw put) is refused as
    /// erased, in every process, and replaced by the next write; any other is an integrity
    /// failure. Asked on every fetch of a key from the key table. Both refusals are logged.
    fn judge(&self, table: &str, standing: Standing) -> Result<Standing> {
        match standing {
            Standing::Live => Ok(Standing::Live),
            Standing::Erased => {
                tracing::warn!(
                    target: "crypt_model::access",
                    table,
                    "the key table holds a key its owner's tombstone erased (put back by a \
                     restore or a raw write): refused; the owner's next write replaces it, the \
                     erasure sweep (OwnerKeys::reapply_erasures) deletes it"
                );
                Ok(Standing::Erased)
            }
            Standing::Tampered => {
                tracing::warn!(
                    target: "crypt_model::access",
                    table,
                    "an owner key row's handle is of no generation its owner's tombstone allows: \
                     it was edited in storage (restore the key table)"
                );
                Err(crate::format::header_integrity())
            }
        }
    }
}

/// The error of a record whose owner key was erased.
fn erased(table: &str) -> Error {
    Error::Key(KeyError::OwnerKeyErased {
        table: table.to_owned(),
    })
}

/// An owner's key as a sealing key: its header names the key's handle.
fn owner_key(key: DataKey, handle: [u8; HANDLE_LEN]) -> Arc<GeneratedDataKey> {
    Arc::new(GeneratedDataKey {
        key,
        wrapped: WrappedDataKey {
            key_id: OWNER_KEY_ID.to_owned(),
            ciphertext: handle.to_vec(),
        },
    })
}

impl fmt::Debug for OwnerKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnerKeys")
            .field("table", &self.table.name())
            .field("cached", &self.cache.len())
            .finish_non_exhaustive()
    }
}
