//! [`Sealed<T>`]: a record read from storage but not opened.

use std::fmt;

use super::EncryptedItem;
use std::marker::PhantomData;

use crate::access::{Caller, Gate, Scope, fingerprint, stored_owner};
use crate::attribute::{AttributeValue, Item};
use crate::cipher::Cipher;
use crate::error::Result;

/// A record read from storage but not opened: its key and owner are readable, its sensitive
/// fields are still ciphertext, and [`open`](Sealed::open) is the only way to the model.
///
/// `Sealed` has no `Deref`, no `Into`, no public fields and no accessor for a sensitive field,
/// so code that forgets the owner check does not compile. Nothing of the item but its key and
/// owner is read before the owner gate has decided: a malformed item of someone else's is refused
/// as any of their records is, and only a caller who may open it learns what is wrong with it.
pub struct Sealed<T: EncryptedItem> {
    item: Item,
    model: PhantomData<fn() -> T>,
}

impl<T: EncryptedItem> Sealed<T> {
    pub(crate) fn new(item: Item) -> Self {
        Sealed {
            item,
            model: PhantomData,
        }
    }

    /// The record's logical table.
    pub fn table(&self) -> &'static str {
        T::SCHEMA.table()
    }

    /// The partition key, as stored (`None` if the item lacks it).
    pub fn partition_key(&self) -> Option<&AttributeValue> {
        self.item.get(T::SCHEMA.partition_key())
    }

    /// The sort key, as stored, if the model has one.
    pub fn sort_key(&self) -> Option<&AttributeValue> {
        T::SCHEMA.sort_key().and_then(|name| self.item.get(name))
    }

    /// The id of the record's owner; `None` when the stored owner is not a valid identity (such
    /// a record belongs to no user).
    pub fn owner(&self) -> Option<&str> {
        stored_owner(&T::SCHEMA, &self.item)
    }

    /// Opens the record for `caller`, if it is the record's owner.
    ///
    /// The owner gate runs first: anyone else gets [`Error::AccessDenied`] (logged) before any
    /// key is unwrapped or any field decrypted. Then the key commitment and every field are
    /// checked and decrypted; a record edited or copied in storage gives [`Error::Integrity`]. A
    /// service with a read [`Grant`](crate::Grant) opens records with
    /// [`open_with`](Self::open_with).
    ///
    /// [`Error::AccessDenied`]: crate::Error::AccessDenied
    /// [`Error::Integrity`]: crate::Error::Integrity
    pub async fn open(self, caller: &Caller, cipher: &Cipher) -> Result<T> {
        self.open_with(caller, &Gate::new(), cipher).await
    }

    /// Opens the record for `caller` under `gate`: its owner, or a service `gate` grants
    /// [`Scope::Read`] (each such use logged with the scope). As [`open`](Self::open) otherwise;
    /// this is the one door to a model's plaintext, which every path of [`Table`](crate::Table)
    /// goes through too.
    pub async fn open_with(self, caller: &Caller, gate: &Gate<T>, cipher: &Cipher) -> Result<T> {
        gate.authorize(caller, &T::SCHEMA, self.owner(), &self.item, Scope::Read)?;
        self.open_permitted(cipher).await
    }

    /// Opens the record after the gate allowed it: the header, the whole item's authentication
    /// and the sensitive fields, then the plain fields.
    pub(crate) async fn open_permitted(self, cipher: &Cipher) -> Result<T> {
        let mut item = self.item;
        let mut plaintexts = super::open_stored::<T>(cipher, &mut item).await?;
        let plain = T::__parse(&mut item)?;
        T::__assemble(plain, &mut plaintexts)
    }
}

impl<T: EncryptedItem> fmt::Debug for Sealed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key and the owner may be personal data: a keyed fingerprint of the key instead.
        f.debug_struct("Sealed")
            .field("table", &self.table())
            .field("key", &fingerprint(&T::SCHEMA, &self.item))
            .finish_non_exhaustive()
    }
}
