//! The key table's rows: an owner's row (its wrapped key and the random handle its records name)
//! and the tombstone an erasure leaves, and how their keys are made.

use sha2::{Digest, Sha256};

use super::{HANDLE_LEN, TOMBSTONE};
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

/// The tombstone of `owner`'s erased key whose handle is `handle`, in the logical table
/// `table`: `erased:<table>:<hex SHA-256(u32 len(owner) || owner || handle)>`. Bound to the
/// owner, so that a handle copied from an erased owner's record into another owner's does not
/// make that record read as erased; a digest, so that the owner's id is not in it.
pub(super) fn tombstone_key(table: &str, owner: &str, handle: &[u8]) -> String {
    let mut digest = Sha256::new();
    digest.update((owner.len() as u32).to_be_bytes());
    digest.update(owner.as_bytes());
    digest.update(handle);
    let hex: String = digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{TOMBSTONE}{table}:{hex}")
}

/// The encryption context of a table's owner keys: not the table's own, so that an owner key
/// can never serve as one of the table's data keys.
pub(super) fn context(table: &str) -> EncryptionContext {
    EncryptionContext::for_table(&format!("{table}/owner-keys"))
}
