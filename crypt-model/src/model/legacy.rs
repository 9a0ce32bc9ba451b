//! Migration mode (`#[crypt_model(migrate_from_plaintext)]`): records stored before encryption,
//! their sensitive fields still plain attributes, are read — counted and logged, never silently —
//! while every write encrypts.

use super::EncryptedItem;
use crate::access::fingerprint;
use crate::attribute::{Attribute, AttributeValue, ConversionError, Item};
use crate::cipher::Cipher;
use crate::encoding::RESERVED_PREFIX;
use crate::error::{Error, Result};
use crate::format;
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

/// Whether `item` was stored before encryption: it holds no attribute of crypt-model's (no
/// header, no sealed message, no index attribute). An item with some but not all of them is not
/// one: it is an encrypted record damaged or edited, and fails closed.
pub(crate) fn is_plaintext_record(item: &Item) -> bool {
    !item
        .iter()
        .any(|(name, _)| name.starts_with(RESERVED_PREFIX))
}

/// The plaintexts of a stored item whose reading the gate allowed: decrypted, or, for a model
/// in migration mode and a record stored in plaintext, taken from its plain attributes (counted
/// and logged). The sensitive attributes and the sealed message are taken out of `item`.
pub(crate) async fn open_stored<T: EncryptedItem>(
    cipher: &Cipher,
    item: &mut Item,
) -> Result<Plaintexts> {
    let schema = T::SCHEMA;
    if schema.migrates_plaintext() && is_plaintext_record(item) {
        schema.validate()?;
        format::check_record(&schema, item)?;
        let mut plaintexts = Plaintexts::new();
        T::__legacy(item, &mut plaintexts)?;
        cipher.count_plaintext_read();
        tracing::warn!(
            target: "crypt_model::migration",
            table = schema.table(),
            key = %fingerprint(&schema, item),
            "read a record stored in plaintext (migration mode): run the migration job"
        );
        return Ok(plaintexts);
    }
    cipher.decrypt_owned(&schema, item).await
}
