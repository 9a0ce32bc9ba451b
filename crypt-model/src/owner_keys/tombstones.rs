//! [`Tombstones`]: the table where an erasure leaves, for each erased owner, a tombstone that
//! only the erasure path can make, and that every fetch of an owner's key consults.

use std::fmt;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::attribute::{AttributeValue, Item, Key, KeyType};
use crate::encoding::put_bytes;
use crate::error::Result;
use crate::keyring::ErasureKey;
use crate::store::{Checked, Condition, Store, TableRef};

/// The tombstone table's partition key.
const ROW_KEY: &str = "tombstone";
/// The domain of a tombstone's digest of the owner.
const DIGEST_LABEL: &[u8] = b"crypt-model owner tombstone";
/// The domain of the message a tombstone's tag authenticates.
const TAG_LABEL: &[u8] = b"crypt-model tombstone tag";

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
}

/// What the tombstone table says of one owner.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Found {
    /// No tombstone: no key of the owner was erased.
    Nothing,
    /// A tombstone the erasure key made: the owner's keys up to this generation were erased.
    Through(u32),
    /// A tombstone the erasure key did not make (or one edited since).
    Forged,
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
        })
    }

    /// The tombstone table.
    pub fn table_ref(&self) -> &TableRef {
        &self.table
    }

    /// Leaves the tombstone of `owner` in the logical table `table`: their keys up to generation
    /// `through` are erased.
    pub(super) async fn put(&self, table: &str, owner: &str, through: u32) -> Result<()> {
        let id = tombstone_id(table, owner);
        let tag = self.key.sign(&tagged(&id, through)).await?;
        let item = Item::from_iter([
            (ROW_KEY, AttributeValue::S(id)),
            ("erased_through", AttributeValue::N(through.to_string())),
            (
                "erasure_key",
                AttributeValue::S(self.key.key_id().to_owned()),
            ),
            ("tag", AttributeValue::B(tag)),
        ]);
        self.store.put(&self.table, item, &Condition::Always).await
    }

    /// Up to which generation `owner`'s keys in the logical table `table` were erased.
    pub(super) async fn find(&self, table: &str, owner: &str) -> Result<Found> {
        let id = tombstone_id(table, owner);
        let key = Key::new(AttributeValue::S(id.clone()));
        let Some(stored) = self.store.get(&self.table, &key).await? else {
            return Ok(Found::Nothing);
        };
        let through = match stored.get("erased_through") {
            Some(AttributeValue::N(n)) => n.parse::<u32>().ok(),
            _ => None,
        };
        let verified = match (through, stored.get("tag")) {
            (Some(through), Some(AttributeValue::B(tag))) if !tag.is_empty() => {
                self.key.verify(&tagged(&id, through), tag).await?
            }
            _ => false,
        };
        match through {
            Some(through) if verified => Ok(Found::Through(through)),
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
    for byte in digest {
        id.push_str(&format!("{byte:02x}"));
    }
    id
}

/// The message a tombstone's tag authenticates: `lp(label) || lp(tombstone id) ||
/// u32(erased generation)`.
fn tagged(id: &str, through: u32) -> Vec<u8> {
    let mut message = Vec::with_capacity(TAG_LABEL.len() + id.len() + 12);
    put_bytes(&mut message, TAG_LABEL);
    put_bytes(&mut message, id.as_bytes());
    message.extend_from_slice(&through.to_be_bytes());
    message
}
