//! The key table's rows: an owner's row (its wrapped key and the random handle its records name)
//! and how its key is made.

use super::HANDLE_LEN;
use crate::attribute::{AttributeValue, Item};
use crate::error::{Error, Result};
use crate::keyring::{EncryptionContext, WrappedDataKey};

/// A row's wrapped key and handle.
pub(super) fn parse_row(stored: &Item) -> Result<(WrappedDataKey, [u8; HANDLE_LEN])> {
    let malformed = |attribute: &str| {
        Error::malformed(attribute, "not an owner key row of crypt-model's key table")
    };
    let key_id = match stored.get("key_id") {
        Some(AttributeValue::S(id)) => id.clone(),
        _ => return Err(malformed("key_id")),
    };
    let ciphertext = match stored.get("wrapped") {
        Some(AttributeValue::B(bytes)) => bytes.clone(),
        _ => return Err(malformed("wrapped")),
    };
    let handle: [u8; HANDLE_LEN] = match stored.get("handle") {
        Some(AttributeValue::B(bytes)) => bytes
            .as_slice()
            .try_into()
            .map_err(|_| malformed("handle"))?,
        _ => return Err(malformed("handle")),
    };
    Ok((WrappedDataKey { key_id, ciphertext }, handle))
}

/// The row of `owner` in the logical table `table` (a table name holds no `/`).
pub(super) fn row_key(table: &str, owner: &str) -> String {
    format!("{table}/{owner}")
}

/// The encryption context of a table's owner keys: not the table's own, so that an owner key
/// can never serve as one of the table's data keys.
pub(super) fn context(table: &str) -> EncryptionContext {
    EncryptionContext::for_table(&format!("{table}/owner-keys"))
}
