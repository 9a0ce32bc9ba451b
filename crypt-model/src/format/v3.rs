//! Format version 3: its header, the keys of an item, the associated data that authenticates the
//! whole item, and the item's one message. `docs/format.md` specifies every byte; nothing here
//! is used for another version, so that a later one is added beside this file without touching
//! it.

use std::ops::Range;

use hkdf::Hkdf;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::{COMMITMENT_LEN, HEADER_ATTRIBUTE, SALT_LEN, SEALED_ATTRIBUTE, message};
use crate::aead::{KEY_LEN, NONCE_LEN, open_in_place, opened_plaintext, seal_with};
use crate::attribute::AttributeValue;
use crate::data_key::{DataKey, WrappedDataKey};
use crate::error::{Error, Result};
use crate::schema::Schema;

/// The version byte.
pub(super) const VERSION: u8 = 3;

const KEY_LABEL: &[u8] = b"crypt-model key";
const COMMIT_LABEL: &[u8] = b"crypt-model commit";

/// A version 3 header, parsed: where its key id and its wrapped key end in its bytes (the key id
/// starts after the version and its length, the wrapped key after the key id and its length; the
/// salt and the commitment are the last 64 bytes). Small, so that a parsed record is cheap to
/// move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Fields {
    key_id_end: u32,
    wrapped_end: u32,
}

impl Fields {
    /// Where the key id is in the header's bytes.
    pub(super) fn key_id(self) -> Range<usize> {
        3..self.key_id_end as usize
    }

    /// Where the wrapped data key is.
    pub(super) fn wrapped(self) -> Range<usize> {
        self.key_id_end as usize + 2..self.wrapped_end as usize
    }

    /// The item's salt.
    pub(super) fn salt(self, bytes: &[u8]) -> [u8; SALT_LEN] {
        let at = self.wrapped_end as usize;
        bytes[at..at + SALT_LEN].try_into().unwrap_or([0; SALT_LEN])
    }

    /// The item's key commitment.
    pub(super) fn commitment(self, bytes: &[u8]) -> [u8; COMMITMENT_LEN] {
        let at = self.wrapped_end as usize + SALT_LEN;
        bytes[at..at + COMMITMENT_LEN]
            .try_into()
            .unwrap_or([0; COMMITMENT_LEN])
    }
}

/// Parses `u8(3) || u16(len(key id)) || key id || u16(len(wrapped)) || wrapped || salt (32) ||
/// commitment (32)`; the version byte was read by the caller.
pub(super) fn parse_header(bytes: &[u8]) -> Result<Fields> {
    let (key_id_end, wrapped_end) = super::header::parse_keys(bytes, 1)?;
    Ok(Fields {
        key_id_end,
        wrapped_end,
    })
}

/// A header's bytes, from its parts.
pub(super) fn encode_header(
    key_id: &str,
    wrapped: &[u8],
    salt: &[u8; SALT_LEN],
    commitment: &[u8; COMMITMENT_LEN],
) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(5 + key_id.len() + wrapped.len() + SALT_LEN + COMMITMENT_LEN);
    out.push(VERSION);
    super::header::put_keys(&mut out, key_id, wrapped)?;
    out.extend_from_slice(salt);
    out.extend_from_slice(commitment);
    Ok(out)
}

/// The keys of one item: its message key and its key commitment, derived with HKDF-SHA256 from
/// the data key and the item's salt, for the logical table.
pub(super) struct ItemKeys {
    key: Zeroizing<[u8; KEY_LEN]>,
    commitment: [u8; COMMITMENT_LEN],
}

impl ItemKeys {
    pub(super) fn derive(data_key: &DataKey, salt: &[u8; SALT_LEN], table: &str) -> Self {
        let hkdf = Hkdf::<Sha256>::new(Some(salt), data_key.bytes());
        let table_len = u32::try_from(table.len()).unwrap_or(u32::MAX).to_be_bytes();
        // The info `lp(label) || u8(3) || lp(T)`, given in pieces: nothing to allocate.
        let expand = |label: &[u8], out: &mut [u8]| {
            let label_len = u32::try_from(label.len()).unwrap_or(u32::MAX).to_be_bytes();
            let info: [&[u8]; 5] = [&label_len, label, &[VERSION], &table_len, table.as_bytes()];
            hkdf.expand_multi_info(&info, out)
                .unwrap_or_else(|_| unreachable!("32 bytes is a valid HKDF-SHA256 output length"));
        };
        let mut key = Zeroizing::new([0; KEY_LEN]);
        let mut commitment = [0; COMMITMENT_LEN];
        expand(KEY_LABEL, key.as_mut_slice());
        expand(COMMIT_LABEL, &mut commitment);
        ItemKeys { key, commitment }
    }
}

/// The associated data of an item's message (`message::associated_data`, version 3).
pub(super) fn associated_data<'a>(
    schema: &Schema,
    header: &[u8],
    get: impl Fn(&str) -> Option<&'a AttributeValue>,
) -> Result<Vec<u8>> {
    message::associated_data(VERSION, schema, header, &[], get)
}

/// Seals an item with the given randomness: its header and its message. `get` finds the item's
/// attributes.
#[allow(clippy::too_many_arguments)]
pub(super) fn seal<'a>(
    schema: &Schema,
    data_key: &DataKey,
    wrapped: &WrappedDataKey,
    salt: [u8; SALT_LEN],
    nonce: [u8; NONCE_LEN],
    get: impl Fn(&str) -> Option<&'a AttributeValue>,
    fields: &[(&str, &[u8])],
) -> Result<(Vec<u8>, Vec<u8>)> {
    let keys = ItemKeys::derive(data_key, &salt, schema.table());
    let header = encode_header(
        &wrapped.key_id,
        &wrapped.ciphertext,
        &salt,
        &keys.commitment,
    )?;
    let aad = associated_data(schema, &header, get)?;
    // The fields are written straight into the output and encrypted there: no other copy of the
    // plaintext is made.
    let sealed = seal_with(&keys.key, nonce, &aad, message::fields_len(fields), |out| {
        message::put_fields(out, fields)
    });
    Ok((header, sealed))
}

/// Checks the key commitment of an item, then opens its message in place, with the associated
/// data of the attributes `schema` authenticates; if that fails, with each set of `others()`
/// besides them, in turn (the attributes that other versions of the model authenticated: a
/// schema's transition). Gives the message and which set opened it (0 for the model's own, `i`
/// for `others()[i - 1]`). Nothing is decrypted unless the commitment matches, and nothing is
/// returned unless the whole item is authentic under one of the sets.
pub(super) fn open_trying<'a, 'n>(
    schema: &Schema,
    data_key: &DataKey,
    header: &Fields,
    header_bytes: &[u8],
    get: impl Fn(&str) -> Option<&'a AttributeValue>,
    message: Vec<u8>,
    others: impl FnOnce() -> Vec<Vec<&'n str>>,
) -> Result<(Zeroizing<Vec<u8>>, usize)> {
    let keys = ItemKeys::derive(data_key, &header.salt(header_bytes), schema.table());
    check_commitment(&keys, header, header_bytes)?;
    let aad = associated_data(schema, header_bytes, &get)?;
    let mut message = match open_in_place(&keys.key, &aad, message) {
        Ok(opened) => return Ok((opened, 0)),
        Err(message) => message,
    };
    for (i, extra) in others().iter().enumerate() {
        let aad = message::associated_data(VERSION, schema, header_bytes, extra, &get)?;
        // The ciphertext, as given: taken out of its wiping buffer to be tried again.
        message = match open_in_place(&keys.key, &aad, std::mem::take(&mut *message)) {
            Ok(opened) => return Ok((opened, i + 1)),
            Err(message) => message,
        };
    }
    Err(Error::integrity(SEALED_ATTRIBUTE))
}

/// Checks the key commitment of an item under its derived keys, then opens its message in
/// place. Nothing is decrypted unless the commitment matches, and nothing is returned unless the
/// whole item is authentic.
fn open_with<'a>(
    schema: &Schema,
    keys: &ItemKeys,
    header: &Fields,
    header_bytes: &[u8],
    get: impl Fn(&str) -> Option<&'a AttributeValue>,
    message: Vec<u8>,
) -> Result<Zeroizing<Vec<u8>>> {
    check_commitment(keys, header, header_bytes)?;
    let aad = associated_data(schema, header_bytes, get)?;
    open_in_place(&keys.key, &aad, message).map_err(|_| Error::integrity(SEALED_ATTRIBUTE))
}

/// That the header's key commitment is the one of `keys`, compared in constant time: otherwise the
/// data key is not the item's, and nothing is decrypted.
fn check_commitment(keys: &ItemKeys, header: &Fields, header_bytes: &[u8]) -> Result<()> {
    if bool::from(keys.commitment.ct_eq(&header.commitment(header_bytes))) {
        Ok(())
    } else {
        Err(Error::integrity(HEADER_ATTRIBUTE))
    }
}

/// Seals an item's message again under a header that carries `wrapped` — its data key, wrapped
/// under another key-encryption key — with the same salt (so the same keys and commitment) and a
/// new nonce. The header is associated data of the message, so the message is opened (its
/// commitment and authentication checked as [`open_trying`] does) and sealed again; its plaintext never
/// leaves the buffer it is opened in. Returns the new header and message.
#[allow(clippy::too_many_arguments)]
pub(super) fn rewrap<'a>(
    schema: &Schema,
    data_key: &DataKey,
    header: &Fields,
    header_bytes: &[u8],
    wrapped: &WrappedDataKey,
    nonce: [u8; NONCE_LEN],
    get: impl Fn(&str) -> Option<&'a AttributeValue>,
    message: Vec<u8>,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let salt = header.salt(header_bytes);
    let keys = ItemKeys::derive(data_key, &salt, schema.table());
    let opened = open_with(schema, &keys, header, header_bytes, &get, message)?;
    let new_header = encode_header(
        &wrapped.key_id,
        &wrapped.ciphertext,
        &salt,
        &keys.commitment,
    )?;
    let aad = associated_data(schema, &new_header, get)?;
    let plaintext = opened_plaintext(&opened);
    let sealed = seal_with(&keys.key, nonce, &aad, plaintext.len(), |out| {
        out.extend_from_slice(plaintext)
    });
    crate::wipe::discard(opened);
    Ok((new_header, sealed))
}
