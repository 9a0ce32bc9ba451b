//! [`Sealed<T>`]: a record read from storage but not opened.

use std::fmt;

use super::EncryptedItem;
use crate::access::{Caller, Gate, Scope, fingerprint};
use crate::attribute::{AttributeValue, Item};
use crate::cipher::Cipher;
use crate::error::Result;
use crate::format::{self, Header};

/// A record read from storage but not opened: its key and owner are readable, its sensitive
/// fields are still ciphertext, and [`open`](Sealed::open) is the only way to the model.
///
/// `Sealed` has no `Deref`, no `Into`, no public fields and no accessor for a sensitive field,
/// so code that forgets the owner check does not compile.
pub struct Sealed<T: EncryptedItem> {
    item: Item,
    header: Header,
    plain: T::__Plain,
}

impl<T: EncryptedItem> Sealed<T> {
    pub(crate) fn parse(mut item: Item) -> Result<Self> {
        let schema = T::SCHEMA;
        let header = Header::from_item(&item)?;
        format::owner_of(&schema, &item)?;
        let plain = T::__parse(&mut item)?;
        Ok(Sealed {
            item,
            header,
            plain,
        })
    }

    /// The record's logical table.
    pub fn table(&self) -> &'static str {
        T::SCHEMA.table()
    }

    /// The partition key, as stored.
    pub fn partition_key(&self) -> &AttributeValue {
        // Parsing succeeded, so the key attribute is there; `Null` cannot be reached.
        self.item
            .get(T::SCHEMA.partition_key())
            .unwrap_or(&AttributeValue::Null)
    }

    /// The sort key, as stored, if the model has one.
    pub fn sort_key(&self) -> Option<&AttributeValue> {
        T::SCHEMA.sort_key().and_then(|name| self.item.get(name))
    }

    /// The id of the record's owner.
    pub fn owner(&self) -> &str {
        // Parsing checked that the owner attribute is a string, and nothing changes the item.
        format::owner_of(&T::SCHEMA, &self.item).unwrap_or_default()
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
        gate.authorize(
            caller,
            &T::SCHEMA,
            Some(self.owner()),
            &self.item,
            Scope::Read,
        )?;
        self.open_permitted(cipher).await
    }

    /// Opens the record after the table's gate allowed it.
    pub(crate) async fn open_permitted(self, cipher: &Cipher) -> Result<T> {
        let mut plaintexts = cipher
            .decrypt_parsed(&T::SCHEMA, &self.item, &self.header)
            .await?;
        T::__assemble(self.plain, &mut plaintexts)
    }
}

impl<T: EncryptedItem> fmt::Debug for Sealed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sealed: Vec<&str> = T::SCHEMA
            .sensitive()
            .iter()
            .copied()
            .filter(|name| self.item.contains(name))
            .collect();
        // The key and the owner may be personal data: a keyed fingerprint of the key instead.
        f.debug_struct("Sealed")
            .field("table", &self.table())
            .field("key", &fingerprint(&T::SCHEMA, &self.item))
            .field("sealed_fields", &sealed)
            .finish_non_exhaustive()
    }
}
