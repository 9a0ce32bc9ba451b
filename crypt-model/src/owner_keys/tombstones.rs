//! [`Tombstones`]: the table where an erasure leaves, for each erased owner, a tombstone that
//! only the erasure path can make, and that every fetch of an owner's key consults.

use std::fmt;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::attribute::{AttributeValue, Item, Key, KeyType};
use crate::encoding::{put_bytes, put_hex};
use crate::error::{Error, Result, StorageError};
use crate::keyring::ErasureKey;
use crate::store::{Checked, Condition, Store, TableRef};

/// The tombstone table's partition key.
const ROW_KEY: &str = "tombstone";
/// The domain of a tombstone's digest of the owner.
const DIGEST_LABEL: &[u8] = b"crypt-model owner tombstone";
/// The domain of the message a tombstone's tag authenticates.
const TAG_LABEL: &[u8] = b"crypt-model tombstone tag";
/// The domain of the message a tombstone's tag authenticates while the owner's key is being
/// replaced.
const REPLACING_LABEL: &[u8] = b"crypt-model tombstone tag, replacing";

/// The tombstones of erased owners, in a table of their own, each authenticated by an
/// [`ErasureKey`].
///
/// An erasure ([`Table::erase_owner`](crate::Table::erase_owner)) writes the owner's tombstone —
/// "every key of this owner up to generation *n* is erased" —, then deletes the owner's row from
/// the key table. An owner's key carries its generation in its handle, which each of its records
/// names in its header, and a new key is made one generation above the owner's tombstone. Every
/// fetch of an owner's key from the key table asks here whether its generation was erased, so
/// that:
///
/// - a tombstone is believed only when its tag verifies under the erasure key: one made or
///   edited by anyone else reads as an integrity failure, never as "erased";
/// - a key row put back after its erasure (a restored backup of the key table, or a raw put)
///   stays erased, in every process, including the one that erased it — also when a writer of
///   the key table hid or changed the row before the erasure, since the tombstone covers every
///   generation up to the erasure, not one row; the sweep
///   ([`OwnerKeys::reapply_erasures`](crate::OwnerKeys::reapply_erasures)) deletes such rows
///   again;
/// - the key table may therefore have point-in-time recovery: a key row overwritten or deleted
///   by one of its writers reads as an integrity failure, and a restore brings it back without
///   bringing back anyone erased.
///
/// A tombstone holds no personal data: its key is the logical table and a SHA-256 digest of the
/// owner, and its attributes the erased generation, the erasure key's id and the tag. Keep the
/// table apart from the key table's restores, writable only by the erasure path; readers need
/// only `GetItem` on it.
pub struct Tombstones {
    store: Arc<Checked<dyn Store>>,
    table: TableRef,
    key: Arc<dyn ErasureKey>,
    /// Erasure keys rotated out: tombstones they made still verify, by the key id each names.
    previous: Vec<Arc<dyn ErasureKey>>,
}

/// What the tombstone table says of one owner.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Found {
    /// No tombstone: no key of the owner was erased.
    Nothing,
    /// A tombstone the erasure key made.
    Verified(State),
    /// A tombstone the erasure key did not make (or one edited since).
    Forged,
}

impl Found {
    /// The owner's state; an integrity failure for a tombstone the erasure keys did not make.
    pub(super) fn state(self) -> Result<State> {
        match self {
            Found::Nothing => Ok(State::default()),
            Found::Verified(state) => Ok(state),
            Found::Forged => Err(crate::format::header_integrity()),
        }
    }
}

/// An owner's keys as their tombstone has them: erased up to a generation, and whether the
/// live key is being replaced by a new one (since when, in seconds since the Unix epoch).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct State {
    /// The keys of this generation and below were erased (0: none).
    pub(super) through: u32,
    /// While a replacement is under way, when it began: the owner then has two live keys, the
    /// old one (`through + 1`) and its replacement (`through + 2`).
    pub(super) replacing_since: Option<u64>,
}

impl State {
    /// The generation of the owner's newest live key: the one new records are sealed under.
    pub(super) fn newest(self) -> Option<u32> {
        let step = if self.replacing_since.is_some() { 2 } else { 1 };
        self.through.checked_add(step)
    }
}

impl Tombstones {
    /// The tombstone table `name` on `store` (partition key `tombstone`, a string), its
    /// tombstones authenticated by `key`: create it with the store's provisioning
    /// (`crypt_model_dynamo::provision(client, tombstones.table_ref(), …)`).
    pub fn new(
        store: impl Store + 'static,
        name: &str,
        key: impl ErasureKey + 'static,
    ) -> Result<Self> {
        Ok(Tombstones {
            store: Arc::new(Checked::new(store)),
            table: TableRef::new(name, ROW_KEY, None)?.with_key_types(KeyType::S, KeyType::S),
            key: Arc::new(key),
            previous: Vec::new(),
        })
    }

    /// The same, also believing the tombstones that `key`, an erasure key rotated out, made
    /// (each tombstone names the key that tagged it). New tombstones are tagged by the current
    /// key; an owner erased again gets a tombstone of the current key.
    pub fn with_previous_key(mut self, key: impl ErasureKey + 'static) -> Self {
        self.previous.push(Arc::new(key));
        self
    }

    /// The erasure key whose id is `id`: the current one or one rotated out.
    fn key_named(&self, id: &str) -> Option<&dyn ErasureKey> {
        std::iter::once(&self.key)
            .chain(&self.previous)
            .find(|key| key.key_id() == id)
            .map(|key| &**key)
    }

    /// The tombstone table.
    pub fn table_ref(&self) -> &TableRef {
        &self.table
    }

    /// Erases one more generation of `owner`'s keys in the logical table `table` — two while
    /// a replacement is under way, the old key and its replacement: the tombstone moves to the
    /// owner's newest live generation, and the state it now holds is returned.
    ///
    /// Errors: an integrity failure when the stored tombstone was not made by the erasure keys
    /// (nothing is written then); the erasure key's and the store's errors.
    pub(super) async fn advance(&self, table: &str, owner: &str) -> Result<State> {
        let state = self
            .transition(table, owner, |state| {
                Some(State {
                    through: state.newest()?,
                    replacing_since: None,
                })
            })
            .await?;
        Ok(state)
    }

    /// Moves `owner`'s tombstone in the logical table `table` from the state it holds (none
    /// without one) to the state `next` makes of it, unless `next` gives `None` (the state is
    /// then left as it is, and returned). A compare-and-swap on the tombstone read, so that
    /// concurrent moves never undo each other.
    ///
    /// Errors: an integrity failure when the stored tombstone was not made by the erasure keys
    /// (nothing is written then); the erasure key's and the store's errors.
    pub(super) async fn transition(
        &self,
        table: &str,
        owner: &str,
        next: impl Fn(State) -> Option<State>,
    ) -> Result<State> {
        let id = tombstone_id(table, owner);
        let key = Key::new(AttributeValue::S(id.clone()));
        for _ in 0..8 {
            let stored = self.store.get(&self.table, &key).await?;
            let (state, unchanged) = match &stored {
                None => (State::default(), Condition::NotExists),
                Some(stored) => match self.verified(table, &id, stored).await? {
                    Found::Verified(state) => {
                        // The tag covers every attribute the state is read from.
                        let tag = stored.get("tag").cloned().unwrap_or(AttributeValue::Null);
                        (state, Condition::equals("tag", tag))
                    }
                    _ => return Err(crate::format::header_integrity()),
                },
            };
            let Some(next) = next(state) else {
                return Ok(state);
            };
            let tag = self.key.sign(&tagged(&id, next)).await?;
            let mut item = Item::from_iter([
                (ROW_KEY, AttributeValue::S(id.clone())),
                (
                    "erased_through",
                    AttributeValue::N(next.through.to_string()),
                ),
                (
                    "erasure_key",
                    AttributeValue::S(self.key.key_id().to_owned()),
                ),
                ("tag", AttributeValue::B(tag)),
            ]);
            if let Some(since) = next.replacing_since {
                item.insert("replacing_since", AttributeValue::N(since.to_string()));
            }
            match self.store.put(&self.table, item, &unchanged).await {
                Ok(()) => return Ok(next),
                // Another erasure or replacement moved it meanwhile: from where it is now.
                Err(Error::Storage(StorageError::ConditionFailed { .. })) => continue,
                Err(error) => return Err(error),
            }
        }
        Err(Error::Storage(StorageError::Conflict {
            table: self.table.name().to_owned(),
        }))
    }

    /// Up to which generation `owner`'s keys in the logical table `table` were erased, and
    /// whether their key is being replaced.
    pub(super) async fn find(&self, table: &str, owner: &str) -> Result<Found> {
        let id = tombstone_id(table, owner);
        let key = Key::new(AttributeValue::S(id.clone()));
        let Some(stored) = self.store.get(&self.table, &key).await? else {
            return Ok(Found::Nothing);
        };
        self.verified(table, &id, &stored).await
    }

    /// What the stored tombstone `id` says, if one of the erasure keys made it.
    async fn verified(&self, table: &str, id: &str, stored: &Item) -> Result<Found> {
        let through = match stored.get("erased_through") {
            Some(AttributeValue::N(n)) => n.parse::<u32>().ok(),
            _ => None,
        };
        // Absent, or a number: anything else is no state of ours.
        let replacing_since = match stored.get("replacing_since") {
            None => Some(None),
            Some(AttributeValue::N(n)) => n.parse::<u64>().ok().map(Some),
            Some(_) => None,
        };
        let state = match (through, replacing_since) {
            (Some(through), Some(replacing_since)) => Some(State {
                through,
                replacing_since,
            }),
            _ => None,
        };
        // Verified by the key the tombstone names, if it is one of ours: an unknown id, like a
        // wrong tag, is a tombstone none of our keys made.
        let named = match stored.get("erasure_key") {
            Some(AttributeValue::S(name)) => self.key_named(name),
            _ => None,
        };
        let verified = match (state, stored.get("tag"), named) {
            (Some(state), Some(AttributeValue::B(tag)), Some(key)) if !tag.is_empty() => {
                key.verify(&tagged(id, state), tag).await?
            }
            _ => false,
        };
        match state {
            Some(state) if verified => Ok(Found::Verified(state)),
            _ => {
                tracing::warn!(
                    target: "crypt_model::access",
                    table,
                    "a tombstone in the tombstone table was not made by the erasure key: it was \
                     forged or edited in storage; the owner's keys are treated as tampered with"
                );
                Ok(Found::Forged)
            }
        }
    }
}

impl fmt::Debug for Tombstones {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tombstones")
            .field("table", &self.table.name())
            .field("erasure_key", &self.key)
            .field("previous", &self.previous)
            .finish()
    }
}

/// The tombstone of `owner` in the logical table `table`:
/// `<table>:<hex SHA-256(lp(label) || lp(table) || lp(owner))>`: a digest, so that the owner's id
/// is not in it.
fn tombstone_id(table: &str, owner: &str) -> String {
    let mut message = Vec::with_capacity(64 + table.len() + owner.len());
    put_bytes(&mut message, DIGEST_LABEL);
    put_bytes(&mut message, table.as_bytes());
    put_bytes(&mut message, owner.as_bytes());
    let digest = Sha256::digest(&message);
    let mut id = String::with_capacity(table.len() + 1 + 64);
    id.push_str(table);
    id.push(':');
    put_hex(&mut id, &digest);
    id
}

/// The message a tombstone's tag authenticates: `lp(label) || lp(tombstone id) ||
/// u32(erased generation)`, and while the owner's key is being replaced
/// `lp(replacing label) || lp(tombstone id) || u32(erased generation) || u64(since)`.
fn tagged(id: &str, state: State) -> Vec<u8> {
    let label = match state.replacing_since {
        None => TAG_LABEL,
        Some(_) => REPLACING_LABEL,
    };
    let mut message = Vec::with_capacity(label.len() + id.len() + 24);
    put_bytes(&mut message, label);
    put_bytes(&mut message, id.as_bytes());
    message.extend_from_slice(&state.through.to_be_bytes());
    if let Some(since) = state.replacing_since {
        message.extend_from_slice(&since.to_be_bytes());
    }
    message
}

#[cfg(test)]
mod tests {
    use super::{State, tagged, tombstone_id};
    use crate::format::spec_vectors::{all, hex, text, vectors};
    use crate::keyring::{ErasureKey, LocalErasureKey};

    #[tokio::test]
    async fn tombstone_vector() {
        let vectors = vectors("tombstone");
        assert_eq!(vectors.len(), 2);
        for v in vectors {
            let id = tombstone_id(text(&v, "table"), text(&v, "owner"));
            assert_eq!(id, text(&v, "tombstone"));
            let through: u32 = text(&v, "erased through").parse().unwrap();
            let key = LocalErasureKey::new("kat", &hex(&v, "erasure key")).unwrap();
            let replacing_since = all(&v, "replacing since")
                .first()
                .map(|since| since.parse().unwrap());
            let state = State {
                through,
                replacing_since,
            };
            let tag = key.sign(&tagged(&id, state)).await.unwrap();
            assert_eq!(::hex::encode(tag), text(&v, "tag"));
        }
    }
}
