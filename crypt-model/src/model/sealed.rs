//! [`Sealed<T>`]: a record read from storage but not opened.

use std::fmt;

use super::EncryptedItem;
use crate::access::{self, Action, Caller, Permit};
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

    /// Whether `caller` may open this record (the owner, or a service with a grant), without
    /// opening it. Refusals and grant uses are logged as by [`open`](Self::open).
    pub(crate) fn check_access(&self, caller: &Caller, cipher: &Cipher) -> Result<()> {
        access::authorize(
            cipher.grants(),
            caller,
            &T::SCHEMA,
            self.owner(),
            &self.item,
            Action::Open,
        )
    }

    /// The owner gate's decision without logging a refusal (a grant use is still logged): for
    /// filtering query results, where records of other owners are expected.
    pub(crate) fn permitted(&self, caller: &Caller, cipher: &Cipher) -> bool {
        match access::permit(cipher.grants(), caller, T::SCHEMA.table(), self.owner()) {
            Permit::Owner => true,
            Permit::Grant => {
                access::log_grant(caller, &T::SCHEMA, &self.item, Action::Open);
                true
            }
            Permit::Denied => false,
        }
    }

    /// Opens the record without the owner gate: for the table layer, after `permitted`.
    pub(crate) async fn open_permitted(self, cipher: &Cipher) -> Result<T> {
        let mut plaintexts = cipher
            .decrypt_parsed(&T::SCHEMA, &self.item, &self.header)
            .await?;
        T::__assemble(self.plain, &mut plaintexts)
    }

    /// Opens the record for `caller`.
    ///
    /// The owner gate runs first: a caller who is neither the owner nor a service with a
    /// [`Grant`](crate::Grant) for this table gets [`Error::AccessDenied`](crate::Error::AccessDenied) before any key is
    /// unwrapped or any field decrypted. Then the key commitment and every field are checked
    /// and decrypted; a record edited or copied in storage gives [`Error::Integrity`](crate::Error::Integrity).
    pub async fn open(self, caller: &Caller, cipher: &Cipher) -> Result<T> {
        self.check_access(caller, cipher)?;
        self.open_permitted(cipher).await
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
        f.debug_struct("Sealed")
            .field("table", &self.table())
            .field("partition_key", self.partition_key())
            .field("sort_key", &self.sort_key())
            .field("owner", &self.owner())
            .field("sealed_fields", &sealed)
            .finish_non_exhaustive()
    }
}
