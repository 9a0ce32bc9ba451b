//! The traits that the types of a model's fields meet: the owner's, the version's, a sensitive
//! field's, and an indexed string's. Their diagnostics are what a user reads when a field has the
//! wrong type.

use crate::attribute::Attribute;
use crate::cipher::Plaintexts;
use crate::error::{Error, Result};
use crate::plaintext::Plaintext;
use crate::sensitive::Sensitive;

/// A type that can be a record's `#[owner]`: a string id, compared with a [`Caller`](crate::Caller)'s id.
///
/// Implemented for `String`; implement it for a newtype id whose [`Attribute`] is a string.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a record's owner",
    label = "an owner is compared with the caller's id, a string",
    note = "use `String`, or implement `crypt_model::OwnerId` for an id type stored as a string"
)]
pub trait OwnerId: Attribute {
    /// The id, as the caller presents it.
    fn owner_id(&self) -> &str;
}

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

impl OwnerId for String {
    fn owner_id(&self) -> &str {
        self
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
        plaintexts
            .take(name)?
            .ok_or_else(|| Error::MissingAttribute {
                attribute: name.to_owned(),
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
