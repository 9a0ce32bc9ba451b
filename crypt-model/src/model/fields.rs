//! The traits that the types of a model's fields meet: the owner's, the version's, a sensitive
//! field's, and an indexed string's. Their diagnostics are what a user reads when a field has the
//! wrong type.

use crate::error::DataError;
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use crate::access::Caller;
use crate::attribute::Attribute;
use crate::error::{Error, Result};
use crate::plaintext::Plaintext;
use crate::plaintexts::Plaintexts;
use crate::sensitive::Sensitive;

/// A type that can be a record's `#[owner]`: an id stored as a string (`S`) or a number (`N`),
/// compared with a [`Caller`](crate::Caller)'s id as text.
///
/// Implemented for `String`, `u32`, `u64` and, with the `uuid` feature, `uuid::Uuid` (its
/// hyphenated lowercase text; [`Caller::owner`](crate::Caller::owner) builds the caller from the
/// typed id). For a newtype around one of them, implement [`Attribute`] and `OwnerId` by
/// delegating to the inner value:
///
/// ```
/// use std::borrow::Cow;
/// use crypt_model::attribute::{Attribute, ConversionError, KeyType};
/// use crypt_model::{AttributeValue, OwnerId};
///
/// struct AccountId(u64);
///
/// impl Attribute for AccountId {
///     fn to_attribute(&self) -> Result<AttributeValue, ConversionError> {
///         self.0.to_attribute()
///     }
///     fn from_attribute(value: AttributeValue) -> Result<Self, ConversionError> {
///         u64::from_attribute(value).map(AccountId)
///     }
///     // Stored, and declared as a key or owner, as the inner type is: a number.
///     const KEY_TYPE: Option<KeyType> = u64::KEY_TYPE;
/// }
///
/// impl OwnerId for AccountId {
///     fn owner_id(&self) -> Cow<'_, str> {
///         self.0.owner_id()
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a record's owner",
    label = "an owner is an id stored as a string or a number",
    note = "use `String`, `u64`, `u32` or `uuid::Uuid` (feature `uuid`), or implement \
            `crypt_model::OwnerId` for a newtype around one of them"
)]
pub trait OwnerId: Attribute {
    /// The id, as the caller presents it: the string itself, a number's decimal text.
    fn owner_id(&self) -> Cow<'_, str>;
}

/// The types a `#[delegate]` field may have: ids that could be an owner's ([`OwnerId`]: a
/// `String`, `u64`, `u32`, `uuid::Uuid`, or a newtype of yours), one optional, or a `Vec`,
/// `BTreeSet` or `HashSet` of them (a care team).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot name a delegate",
    label = "a delegation names principals by their ids",
    note = "use an id type that could be an owner (`String`, `u64`, `u32`, `uuid::Uuid` or an \
            `OwnerId` newtype), an `Option` of one, or a `Vec`, `BTreeSet` or `HashSet` of them"
)]
pub trait Principals {}

impl<T: OwnerId> Principals for T {}
impl<T: OwnerId> Principals for Option<T> {}
impl<T: OwnerId> Principals for Vec<T> {}
impl<T: OwnerId> Principals for std::collections::BTreeSet<T> {}
impl<T: OwnerId, H> Principals for std::collections::HashSet<T, H> {}

/// The types a blind index may be on: `Sensitive<T>` and `Option<Sensitive<T>>` of an
/// [`Indexable`](crate::plaintext::Indexable) `T`.
pub trait IndexedField: SensitiveField {}

impl<T: crate::plaintext::Indexable> IndexedField for Sensitive<T> {}
impl<T: crate::plaintext::Indexable> IndexedField for Option<Sensitive<T>> {}

/// The types a normalised (`normalize = "…"`) index may be on: string fields.
#[diagnostic::on_unimplemented(
    message = "a normalised index needs a string field, not `{Self}`",
    label = "normalisation (lowercase, trim) applies to text",
    note = "drop `normalize`, or index a `Sensitive<String>` field"
)]
pub trait TextField: SensitiveField {}

impl TextField for Sensitive<String> {}
impl TextField for Option<Sensitive<String>> {}

/// The type of a `#[crypt_model(version)]` field.
#[diagnostic::on_unimplemented(
    message = "a `#[crypt_model(version)]` field must be a `u64`, not `{Self}`",
    label = "the version counts writes"
)]
pub trait VersionField: Attribute + Copy {
    /// The version as a number.
    fn get(self) -> u64;
    /// The version from a number.
    fn from_u64(version: u64) -> Self;
}

impl VersionField for u64 {
    fn get(self) -> u64 {
        self
    }
    fn from_u64(version: u64) -> Self {
        version
    }
}

/// A field of model `T` that [`Table::update`](crate::Table::update) can write: a sensitive
/// field, or a plain one other than the keys, the owner and the version. The derive generates
/// one per such field, named after it in capitals (`Vault::PIN` for `pin`); there is no other
/// way to make one, so a misspelt field, a key, or a field of another model does not compile.
pub struct Field<T> {
    name: &'static str,
    model: PhantomData<fn() -> T>,
}

impl<T> Field<T> {
    /// The selector of the attribute `name` (generated code only).
    #[doc(hidden)]
    pub const fn __new(name: &'static str) -> Self {
        Field {
            name,
            model: PhantomData,
        }
    }

    /// The attribute the field is stored under.
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

impl<T> Clone for Field<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Field<T> {}

impl<T> fmt::Debug for Field<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Field({})", self.name)
    }
}

/// A model with a `#[crypt_model(version)]` field, which [`Table::update`](crate::Table::update)
/// requires: an update writes only over the version it read. The derive implements it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no `#[crypt_model(version)]` field, which `update` needs",
    label = "an update writes only if the record is unchanged since it was read",
    note = "add a `#[crypt_model(version)] version: u64` field to `{Self}`, or write the whole \
            record with `Table::put`"
)]
pub trait Versioned: crate::model::EncryptedItem {}

/// A model whose records [`Table::batch_put`](crate::Table::batch_put) may write: batch writes
/// are unconditional, so the owner must be part of the key (a batch cannot then overwrite
/// another owner's record) and there is no version (whose check a batch would skip). The derive
/// implements it for such models.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be written in a batch",
    label = "batch writes are unconditional",
    note = "a batch write of `{Self}` could overwrite another owner's record (the owner is not \
            part of the key) or skip its version check: write with `Table::put`, or several at \
            once with `Table::transact`"
)]
pub trait BatchWritable: crate::model::EncryptedItem {}

impl Caller {
    /// The user whose id is `id`, of the type of a model's `#[owner]` field: the caller that
    /// owns the records whose owner is `id` (`Caller::owner(&account_uuid)`), with no
    /// formatting of the id to get wrong.
    pub fn owner<O: OwnerId>(id: &O) -> Result<Caller> {
        Caller::user(id.owner_id())
    }
}

impl OwnerId for String {
    fn owner_id(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
}

impl OwnerId for u64 {
    fn owner_id(&self) -> Cow<'_, str> {
        Cow::Owned(self.to_string())
    }
}

impl OwnerId for u32 {
    fn owner_id(&self) -> Cow<'_, str> {
        Cow::Owned(self.to_string())
    }
}

/// The types a `#[sensitive]` field may have: `Sensitive<T>`, and `Option<Sensitive<T>>`, which
/// stores nothing when `None`.
#[diagnostic::on_unimplemented(
    message = "a `#[sensitive]` field must be `Sensitive<T>` or `Option<Sensitive<T>>`, not `{Self}`",
    label = "not `Sensitive<T>`",
    note = "`Sensitive<T>` keeps the plaintext out of `Debug`, `Display`, serialization and logs, \
            and wipes it on drop: declare the field as `Sensitive<{Self}>`"
)]
pub trait SensitiveField: Sized {
    /// The plaintext type (`T` of `Sensitive<T>`).
    #[doc(hidden)]
    type __Value: Plaintext;

    /// Whether the attribute must be present in a stored item.
    #[doc(hidden)]
    const __REQUIRED: bool;

    /// The plaintext, if any.
    #[doc(hidden)]
    fn __value(&self) -> Option<&Self::__Value>;

    /// Adds the plaintext, if any.
    #[doc(hidden)]
    fn __put(&self, name: &'static str, plaintexts: &mut Plaintexts) -> Result<()>;

    /// Takes the decrypted value back.
    #[doc(hidden)]
    fn __take(name: &'static str, plaintexts: &mut Plaintexts) -> Result<Self>;
}

impl<T: Plaintext> SensitiveField for Sensitive<T> {
    type __Value = T;
    const __REQUIRED: bool = true;

    fn __value(&self) -> Option<&T> {
        Some(self.expose_secret())
    }

    fn __put(&self, name: &'static str, plaintexts: &mut Plaintexts) -> Result<()> {
        plaintexts.insert(name, self.expose_secret())
    }

    fn __take(name: &'static str, plaintexts: &mut Plaintexts) -> Result<Self> {
        plaintexts.take(name)?.ok_or_else(|| {
            Error::Data(DataError::Missing {
                attribute: name.to_owned(),
            })
        })
    }
}

impl<T: Plaintext> SensitiveField for Option<Sensitive<T>> {
    type __Value = T;
    const __REQUIRED: bool = false;

    fn __value(&self) -> Option<&T> {
        self.as_ref().map(Sensitive::expose_secret)
    }

    fn __put(&self, name: &'static str, plaintexts: &mut Plaintexts) -> Result<()> {
        match self {
            Some(value) => plaintexts.insert(name, value.expose_secret()),
            None => Ok(()),
        }
    }

    fn __take(name: &'static str, plaintexts: &mut Plaintexts) -> Result<Self> {
        plaintexts.take(name)
    }
}
