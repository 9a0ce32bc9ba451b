//! The model: [`EncryptedItem`], the trait the derive implements; the traits its fields' types
//! meet; and [`Sealed<T>`], a record read but not opened.

use crate::error::ConfigError;
use std::borrow::Cow;
use std::future::Future;

use crate::attribute::Item;
use crate::error::Result;
use crate::keys::Keys;
use crate::plaintexts::Plaintexts;
use crate::schema::Schema;

mod fields;
mod migration;
mod sealed;

pub use fields::{
    BatchWritable, Field, IndexedField, OwnerId, Principals, SensitiveField, TextField,
    VersionField, Versioned,
};
pub use migration::LegacyPlaintext;
pub(crate) use migration::take_plaintext;
pub use sealed::Sealed;
pub(crate) use sealed::open_permitted;

/// A model whose sensitive fields are encrypted before they are stored. Implemented by
/// [`#[derive(EncryptedItem)]`](derive@crate::EncryptedItem); see there for the attributes.
///
/// Writing: [`to_item`](Self::to_item) gives the item to store. Reading:
/// [`from_item`](Self::from_item) gives a [`Sealed<Self>`], and only
/// [`Sealed::open`] turns that into `Self`, for the record's owner or a granted service.
///
/// The `__`-prefixed items are the derive's glue, hidden and not part of the stable API:
/// implement the trait with the derive, which checks the model's roles at compile time. (A
/// record's authentication binds its attributes' names and values, not which one is the owner:
/// a hand-written model that named another attribute as its owner would open records for the
/// user that attribute names.)
pub trait EncryptedItem: Sized {
    /// The model's logical table, key, owner and sensitive attributes.
    const SCHEMA: Schema;

    /// The plain fields, parsed, waiting for the sensitive ones.
    #[doc(hidden)]
    type __Plain: Send;

    /// The plain attributes and the plaintexts of the sensitive fields.
    #[doc(hidden)]
    fn __to_parts(&self) -> Result<(Item, Plaintexts)>;

    /// Parses the plain fields, taking them out of `item`, after its authentication was checked.
    #[doc(hidden)]
    fn __parse(item: &mut Item) -> Result<Self::__Plain>;

    /// Builds the model from its plain fields and decrypted plaintexts.
    #[doc(hidden)]
    fn __assemble(plain: Self::__Plain, plaintexts: &mut Plaintexts) -> Result<Self>;

    /// Takes the sensitive fields of a record stored in plaintext out of `item`, into
    /// `plaintexts` (a model with `#[crypt_model(migrate_from_plaintext)]`; no other is asked).
    #[doc(hidden)]
    fn __legacy(item: &mut Item, plaintexts: &mut Plaintexts) -> Result<()> {
        let _ = (item, plaintexts);
        Err(crate::error::Error::Config(ConfigError::Unsupported {
            table: Self::SCHEMA.table().to_owned(),
            operation: "read a record stored in plaintext",
            reason: "the model is not in migration mode: add \
                     `#[crypt_model(migrate_from_plaintext)]`"
                .to_owned(),
        }))
    }

    /// The id of the record's owner (the `#[owner]` field), as a caller presents it: the string,
    /// a UUID's hyphenated lowercase text, a number's decimal text.
    fn owner(&self) -> Cow<'_, str>;

    /// The record's version (the `#[crypt_model(version)]` field): the number of writes it has
    /// seen, 0 for a record never written. `None` for a model without one.
    fn version(&self) -> Option<u64> {
        None
    }

    /// Sets the version; the table does it after each successful write.
    fn set_version(&mut self, version: u64) {
        let _ = version;
    }

    /// The item to store: plain fields as attributes, sensitive fields encrypted, the header
    /// added. Fails, storing nothing, when a value cannot be stored or the key provider fails.
    fn to_item(&self, keys: &Keys) -> impl Future<Output = Result<Item>> + Send
    where
        Self: Sync,
    {
        async move {
            let source = keys.source_ref(&Self::SCHEMA)?;
            let (mut item, plaintexts) = self.__to_parts()?;
            crate::record::seal(
                &Self::SCHEMA,
                &mut item,
                &plaintexts,
                source,
                keys.index_secrets(),
            )
            .await?;
            Ok(item)
        }
    }

    /// A stored item, sealed: nothing of it is read or decrypted until [`Sealed::open`] has
    /// checked the caller. A missing or malformed attribute is then an error that names it (never
    /// its value), for a caller who may open the record.
    fn from_item(item: Item) -> Sealed<Self> {
        Sealed::new(item)
    }
}
