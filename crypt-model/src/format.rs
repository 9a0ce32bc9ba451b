//! The stored format, version 3: the header, the item's one sealed message, its keys, and the
//! associated data that authenticates the whole item. `docs/format.md` is the specification of
//! everything here; its known-answer vectors are checked by this module's tests, so the two
//! cannot drift apart.

use hkdf::Hkdf;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

pub(crate) use crate::aead::NONCE_LEN;
pub(crate) use crate::aead::opened_plaintext;
use crate::aead::{KEY_LEN, open_in_place, seal_with};
use crate::attribute::{AttributeValue, Item, KeyType};
use crate::data_key::{DataKey, WrappedDataKey};
use crate::encoding::{put_bytes, put_u32};
use crate::error::{Error, Result};
use crate::schema::Schema;

mod canonical;

pub(crate) use crate::attribute::canonical_number;
pub use crate::encoding::{RESERVED_PREFIX, VERSION};

/// The attribute that holds an item's header.
pub const HEADER_ATTRIBUTE: &str = "__cm_header";
/// The attribute that holds an item's sensitive fields, sealed in one message.
pub const SEALED_ATTRIBUTE: &str = "__cm_sealed";
/// The key id in the header of a record sealed under its owner's key: the header's "wrapped
/// key" is then the handle of the owner's key in the key table, not a wrapped key, so that no
/// copy of the record can recover the key once its row is deleted.
pub const OWNER_KEY_ID: &str = "crypt-model:owner-key";
/// The largest plaintext of one field: DynamoDB's whole item is at most 400 KB.
pub const MAX_FIELD_LEN: usize = 400 * 1024;
/// The longest key id a header may hold, in bytes (a KMS key ARN is at most 2,048 characters).
pub const MAX_KEY_ID_LEN: usize = 2048;
/// The length of an item's salt.
pub(crate) const SALT_LEN: usize = 32;
/// The length of an item's key commitment.
pub(crate) const COMMITMENT_LEN: usize = 32;

const ITEM_LABEL: &[u8] = b"crypt-model item";
const KEY_LABEL: &[u8] = b"crypt-model key";
const COMMIT_LABEL: &[u8] = b"crypt-model commit";

/// Checks a key id: 1 to [`MAX_KEY_ID_LEN`] bytes of printable ASCII without spaces. Errors
/// quote it escaped.
pub(crate) fn check_key_id(key_id: &str) -> Result<(), &'static str> {
    if key_id.is_empty() || key_id.len() > MAX_KEY_ID_LEN {
        return Err("a key id is 1 to 2,048 bytes");
    }
    if !key_id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("a key id is printable ASCII without spaces");
    }
    Ok(())
}

/// The header attribute of an item, read in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header<'a> {
    pub(crate) key_id: &'a str,
    pub(crate) wrapped: &'a [u8],
    pub(crate) salt: [u8; SALT_LEN],
    pub(crate) commitment: [u8; COMMITMENT_LEN],
}

impl<'a> Header<'a> {
    /// `u8(3) || u16(len(key id)) || key id || u16(len(wrapped)) || wrapped || salt (32) ||
    /// commitment (32)`.
    #[cfg(test)]
    pub(crate) fn encode(&self) -> Result<Vec<u8>> {
        encode_header(self.key_id, self.wrapped, &self.salt, &self.commitment)
    }

    /// The header of `item`, parsed.
    pub(crate) fn from_item(item: &'a Item) -> Result<Header<'a>> {
        match item.get(HEADER_ATTRIBUTE) {
            Some(AttributeValue::B(bytes)) => Header::parse(bytes),
            Some(_) => Err(Error::malformed(
                HEADER_ATTRIBUTE,
                "the header must be binary (B)",
            )),
            None => Err(Error::MissingAttribute {
                attribute: HEADER_ATTRIBUTE.to_owned(),
            }),
        }
    }

    /// Parses a header, checking the version before anything else.
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Header<'a>> {
        let malformed = |reason: &str| Error::malformed(HEADER_ATTRIBUTE, reason);
        let (&version, rest) = bytes
            .split_first()
            .ok_or_else(|| malformed("the header is empty"))?;
        if version != VERSION {
            return Err(Error::UnsupportedVersion {
                version,
                supported: VERSION,
            });
        }
        let truncated = || malformed("the header is truncated");
        let (key_id, rest) = split_u16_prefixed(rest).ok_or_else(truncated)?;
        let (wrapped, rest) = split_u16_prefixed(rest).ok_or_else(truncated)?;
        let (salt, rest) = rest.split_first_chunk::<SALT_LEN>().ok_or_else(truncated)?;
        let (commitment, rest) = rest
            .split_first_chunk::<COMMITMENT_LEN>()
            .ok_or_else(truncated)?;
        if !rest.is_empty() {
            return Err(malformed("the header has trailing bytes"));
        }
        let key_id = std::str::from_utf8(key_id)
            .map_err(|_| malformed("the key id is not printable ASCII"))?;
        check_key_id(key_id).map_err(malformed)?;
        if wrapped.is_empty() {
            return Err(malformed("the wrapped data key is empty"));
        }
        Ok(Header {
            key_id,
            wrapped,
            salt: *salt,
            commitment: *commitment,
        })
    }
}

/// The header's bytes, from its parts (see [`Header::encode`]).
fn encode_header(
    key_id: &str,
    ciphertext: &[u8],
    salt: &[u8; SALT_LEN],
    commitment: &[u8; COMMITMENT_LEN],
) -> Result<Vec<u8>> {
    let invalid = |reason: &str| Error::InvalidValue {
        attribute: HEADER_ATTRIBUTE.to_owned(),
        reason: reason.to_owned(),
    };
    check_key_id(key_id).map_err(invalid)?;
    let key_id = key_id.as_bytes();
    let wrapped_len = u16::try_from(ciphertext.len())
        .ok()
        .filter(|&len| len > 0)
        .ok_or_else(|| invalid("a wrapped data key is 1 to 65,535 bytes"))?;
    let mut out =
        Vec::with_capacity(5 + key_id.len() + ciphertext.len() + SALT_LEN + COMMITMENT_LEN);
    out.push(VERSION);
    // `check_key_id` bounds the length to 2,048.
    out.extend_from_slice(&(key_id.len() as u16).to_be_bytes());
    out.extend_from_slice(key_id);
    out.extend_from_slice(&wrapped_len.to_be_bytes());
    out.extend_from_slice(ciphertext);
    out.extend_from_slice(salt);
    out.extend_from_slice(commitment);
    Ok(out)
}

fn split_u16_prefixed(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = bytes.split_first_chunk::<2>()?;
    let len = usize::from(u16::from_be_bytes(*len));
    (rest.len() >= len).then(|| rest.split_at(len))
}

/// The keys of one item: its message key and its key commitment, derived with HKDF-SHA256 from
/// the data key and the item's salt, for the logical table.
pub(crate) struct ItemKeys {
    key: Zeroizing<[u8; KEY_LEN]>,
    commitment: [u8; COMMITMENT_LEN],
}

impl ItemKeys {
    pub(crate) fn derive(data_key: &DataKey, salt: &[u8; SALT_LEN], table: &str) -> Self {
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

/// The associated data of an item's message, in one buffer: `lp("crypt-model item") || u8(3) ||
/// lp(T) || lp(header)`, then the canonical encoding of the attributes that `schema` authenticates
/// — the keys, the owner, the plain attributes it lists, the version and the blind-index
/// attributes — with their values as `get` finds them.
pub(crate) fn associated_data<'a>(
    schema: &Schema,
    header: &[u8],
    get: impl Fn(&str) -> Option<&'a AttributeValue>,
) -> Result<Vec<u8>> {
    let table = schema.table();
    let mut aad = Vec::with_capacity(256 + table.len() + header.len());
    put_bytes(&mut aad, ITEM_LABEL);
    aad.push(VERSION);
    put_bytes(&mut aad, table.as_bytes());
    put_bytes(&mut aad, header);
    schema.with_authenticated(|names| canonical::put_attributes(&mut aad, names, get))?;
    Ok(aad)
}

/// The canonical encoding of the authenticated attributes alone (the known-answer vectors show
/// it).
#[cfg(test)]
pub(crate) fn authenticated_attributes<'a>(
    schema: &Schema,
    get: impl Fn(&str) -> Option<&'a AttributeValue>,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    schema.with_authenticated(|names| canonical::put_attributes(&mut out, names, get))?;
    Ok(out)
}

/// Checks that `item` holds the record's keys as strings, numbers (in decimal) or binary, and its
/// owner as a valid identity.
pub(crate) fn check_record(schema: &Schema, item: &Item) -> Result<()> {
    for name in std::iter::once(schema.partition_key()).chain(schema.sort_key()) {
        match item.get(name) {
            Some(AttributeValue::S(_) | AttributeValue::B(_)) => {}
            Some(AttributeValue::N(n)) => {
                canonical_number(n).map_err(|reason| Error::malformed(name, reason))?;
            }
            Some(_) => {
                return Err(Error::malformed(
                    name,
                    "a key attribute must be a string (S), a number (N) or binary (B)",
                ));
            }
            None => {
                return Err(Error::MissingAttribute {
                    attribute: name.to_owned(),
                });
            }
        }
    }
    owner_of(schema, item).map(|_| ())
}

/// The message's plaintext: `u32(n)`, then `lp(name) || lp(value)` for each field present, in
/// order of name bytes.
#[cfg(test)]
pub(crate) fn encode_fields(fields: &[(&str, &[u8])]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(fields_len(fields)));
    put_fields(&mut out, fields);
    out
}

/// The length of the message's plaintext.
fn fields_len(fields: &[(&str, &[u8])]) -> usize {
    4 + fields
        .iter()
        .map(|(n, v)| 8 + n.len() + v.len())
        .sum::<usize>()
}

/// Appends the message's plaintext (see [`encode_fields`]).
fn put_fields(out: &mut Vec<u8>, fields: &[(&str, &[u8])]) {
    put_u32(out, fields.len());
    let sorted = fields.is_sorted_by_key(|(name, _)| name.as_bytes());
    if sorted {
        for (name, value) in fields {
            put_bytes(out, name.as_bytes());
            put_bytes(out, value);
        }
    } else {
        let mut order: Vec<&(&str, &[u8])> = fields.iter().collect();
        order.sort_unstable_by_key(|(name, _)| name.as_bytes());
        for (name, value) in order {
            put_bytes(out, name.as_bytes());
            put_bytes(out, value);
        }
    }
}

/// Calls `field` with `(name, value)` for each field of an opened message, in the message's
/// order; `None` if the bytes are not such an encoding (which a message that passed its tag never
/// is).
pub(crate) fn for_each_field<'a>(
    mut bytes: &'a [u8],
    mut field: impl FnMut(&'a str, &'a [u8]),
) -> Option<()> {
    let take = |bytes: &mut &'a [u8]| -> Option<usize> {
        let (len, rest) = bytes.split_first_chunk::<4>()?;
        *bytes = rest;
        usize::try_from(u32::from_be_bytes(*len)).ok()
    };
    let count = take(&mut bytes)?;
    for _ in 0..count {
        let len = take(&mut bytes)?;
        let name = bytes.get(..len)?;
        bytes = &bytes[len..];
        let len = take(&mut bytes)?;
        let value = bytes.get(..len)?;
        bytes = &bytes[len..];
        field(std::str::from_utf8(name).ok()?, value);
    }
    bytes.is_empty().then_some(())
}

/// The fields of an opened message, as `(name, value)` in the message's order.
#[cfg(test)]
pub(crate) fn decode_fields(bytes: &[u8]) -> Option<Vec<(&str, &[u8])>> {
    let mut fields = Vec::new();
    for_each_field(bytes, |name, value| fields.push((name, value)))?;
    Some(fields)
}

/// Seals an item with the given randomness: the deterministic core of
/// [`Cipher::encrypt`](crate::Cipher::encrypt), separate so that known-answer tests can fix the
/// salt and nonce. `get` finds the item's attributes. Returns the header and the sealed message.
#[allow(clippy::too_many_arguments)]
pub(crate) fn seal_item<'a>(
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
    let sealed = seal_with(&keys.key, nonce, &aad, fields_len(fields), |out| {
        put_fields(out, fields)
    });
    Ok((header, sealed))
}

/// Checks the key commitment of an item, then opens its message, in place: the core of
/// [`Cipher::decrypt`](crate::Cipher::decrypt). Nothing is decrypted unless the commitment
/// matches, and no field is returned unless the whole item is authentic. The plaintext is at
/// [`opened_plaintext`] of what comes back.
pub(crate) fn open_item<'a>(
    schema: &Schema,
    data_key: &DataKey,
    header: &Header<'_>,
    header_bytes: &[u8],
    get: impl Fn(&str) -> Option<&'a AttributeValue>,
    sealed: Vec<u8>,
) -> Result<Zeroizing<Vec<u8>>> {
    let keys = ItemKeys::derive(data_key, &header.salt, schema.table());
    open_with(schema, &keys, header, header_bytes, get, sealed)
}

/// [`open_item`] with the item's keys derived.
fn open_with<'a>(
    schema: &Schema,
    keys: &ItemKeys,
    header: &Header<'_>,
    header_bytes: &[u8],
    get: impl Fn(&str) -> Option<&'a AttributeValue>,
    sealed: Vec<u8>,
) -> Result<Zeroizing<Vec<u8>>> {
    if !bool::from(keys.commitment.ct_eq(&header.commitment)) {
        return Err(Error::integrity(HEADER_ATTRIBUTE));
    }
    let aad = associated_data(schema, header_bytes, get)?;
    open_in_place(&keys.key, &aad, sealed).ok_or_else(|| Error::integrity(SEALED_ATTRIBUTE))
}

/// Seals an item's message again under a header that carries `wrapped` — its data key, wrapped
/// under another key-encryption key — with the same salt (so the same keys and commitment) and a
/// new nonce: a rewrap. The header is associated data of the message, so the message is opened
/// (its commitment and authentication checked as [`open_item`] does) and sealed again; its
/// plaintext never leaves the buffer it is opened in. Returns the new header and message.
#[allow(clippy::too_many_arguments)]
pub(crate) fn rewrap_item<'a>(
    schema: &Schema,
    data_key: &DataKey,
    header: &Header<'_>,
    header_bytes: &[u8],
    wrapped: &WrappedDataKey,
    nonce: [u8; NONCE_LEN],
    get: impl Fn(&str) -> Option<&'a AttributeValue>,
    sealed: Vec<u8>,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let keys = ItemKeys::derive(data_key, &header.salt, schema.table());
    let opened = open_with(schema, &keys, header, header_bytes, &get, sealed)?;
    let new_header = encode_header(
        &wrapped.key_id,
        &wrapped.ciphertext,
        &header.salt,
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

/// The owner id stored in `item`: the schema's owner attribute, of the owner's type (a string,
/// or a number whose text is the id), and a valid identity.
pub(crate) fn owner_of<'a>(schema: &Schema, item: &'a Item) -> Result<&'a str> {
    let Some(value) = item.get(schema.owner()) else {
        return Err(Error::MissingAttribute {
            attribute: schema.owner().to_owned(),
        });
    };
    match schema.owner_text(value) {
        Some(owner) if crate::identity::is_identity(owner) => Ok(owner),
        Some(_) => Err(Error::malformed(
            schema.owner(),
            "the owner is not a valid identity (empty, white space, or a control character)",
        )),
        None if schema.owner_type() == KeyType::N => Err(Error::malformed(
            schema.owner(),
            "the owner must be a number (N)",
        )),
        None => Err(Error::malformed(
            schema.owner(),
            "the owner must be a string (S)",
        )),
    }
}

/// The header attribute's bytes as stored; anything but binary is an integrity failure (the
/// header was parsed before, so it is there).
pub(crate) fn header_bytes(item: &Item) -> Result<&[u8]> {
    match item.get(HEADER_ATTRIBUTE) {
        Some(AttributeValue::B(bytes)) => Ok(bytes),
        _ => Err(Error::integrity(HEADER_ATTRIBUTE)),
    }
}

/// A copy of the sealed message of `item`, to open in place.
pub(crate) fn sealed_copy(item: &Item) -> Result<Vec<u8>> {
    match item.get(SEALED_ATTRIBUTE) {
        Some(AttributeValue::B(bytes)) => Ok(bytes.clone()),
        _ => Err(Error::integrity(SEALED_ATTRIBUTE)),
    }
}

/// The sealed message of `item`, taken out of it.
pub(crate) fn take_sealed(item: &mut Item) -> Result<Vec<u8>> {
    match item.remove(SEALED_ATTRIBUTE) {
        Some(AttributeValue::B(bytes)) => Ok(bytes),
        // A header without its message: an attribute deleted or retyped, as far as anyone can
        // tell.
        _ => Err(Error::integrity(SEALED_ATTRIBUTE)),
    }
}

/// Puts a 4-byte length (for the tests of this module).
#[cfg(test)]
fn lp(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u32(out, bytes.len());
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests;
