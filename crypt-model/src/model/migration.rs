//! Migration mode (`#[crypt_model(migrate_from_plaintext)]`): what a model's fields need to be
//! read from a record stored before encryption, their sensitive fields still plain attributes.
//! The read itself — counted and logged, never silent — is the record pipeline's
//! (`crate::record`), as every read is.

use crate::attribute::{Attribute, AttributeValue, ConversionError, Item};
use crate::error::{Error, Result};
use crate::plaintext::Plaintext;
use crate::plaintexts::Plaintexts;
use crate::sensitive::Sensitive;

/// A sensitive field's type that can also be read from the plain attribute a table written
/// before encryption holds: a [`Plaintext`] that is also an [`Attribute`].
#[diagnostic::on_unimplemented(
    message = "`#[crypt_model(migrate_from_plaintext)]` reads each sensitive field as it was stored in plain, and `{Self}` has no plain form",
    label = "not an `Attribute`",
    note = "a sensitive field of a model in migration mode needs a type that is both `Plaintext` \
            and `Attribute` (`String`, integers, `Vec<u8>`, the types of docs/types.md), or a \
            serde type with both `#[derive(SerdePlaintext, SerdeAttribute)]`"
)]
pub trait LegacyPlaintext: Plaintext {
    /// The value of a plain attribute.
    #[doc(hidden)]
    fn __from_plain(value: AttributeValue) -> Result<Self, ConversionError>;
}

impl<T: Plaintext + Attribute> LegacyPlaintext for T {
    fn __from_plain(value: AttributeValue) -> Result<Self, ConversionError> {
        T::from_attribute(value)
    }
}

/// Takes the sensitive field `name`, stored in plain as a `T`, out of `item` into `plaintexts`.
/// Absent and `NULL` are both "no value".
pub(crate) fn take_plaintext<T: LegacyPlaintext>(
    item: &mut Item,
    plaintexts: &mut Plaintexts,
    name: &'static str,
) -> Result<()> {
    match item.remove(name) {
        None | Some(AttributeValue::Null) => Ok(()),
        Some(value) => {
            // Held as `Sensitive` so that it is wiped when dropped.
            let value = Sensitive::new(
                T::__from_plain(value).map_err(|error| Error::malformed(name, error))?,
            );
            plaintexts.insert(name, value.expose_secret())
        }
    }
}
