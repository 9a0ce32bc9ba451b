//! The stored format, version 1: the header, field ciphertexts, key derivation and associated
//! data. `docs/format.md` is the specification of everything here; its known-answer vectors are
//! checked by this module's tests, so the two cannot drift apart.

use hkdf::Hkdf;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

pub(crate) use crate::aead::NONCE_LEN;
use crate::aead::{open, seal};
use crate::attribute::{AttributeValue, Item};
use crate::encoding::{put_bytes, put_u32};
use crate::error::{Error, Result};
use crate::keyring::{DataKey, KEY_LEN, WrappedDataKey};
use crate::schema::Schema;

pub use crate::encoding::{RESERVED_PREFIX, VERSION};

/// The attribute that holds an item's header.
pub const HEADER_ATTRIBUTE: &str = "__cm_header";
/// The length of an item's salt.
pub(crate) const SALT_LEN: usize = 32;
/// The length of an item's key commitment.
pub(crate) const COMMITMENT_LEN: usize = 32;
/// The largest plaintext of one field: DynamoDB's whole item is at most 400 KB.
pub const MAX_FIELD_LEN: usize = 400 * 1024;

const COMMIT_LABEL: &[u8] = b"crypt-model commit";
const FIELD_LABEL: &[u8] = b"crypt-model field";

/// The header attribute of an item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) wrapped: WrappedDataKey,
    pub(crate) salt: [u8; SALT_LEN],
    pub(crate) commitment: [u8; COMMITMENT_LEN],
}

impl Header {
    /// `version (1) || key id length (2) || key id || wrapped length (2) || wrapped || salt (32)
    /// || commitment (32)`, lengths big-endian.
    pub(crate) fn encode(&self) -> Result<Vec<u8>> {
        encode_header(&self.wrapped, &self.salt, &self.commitment)
    }

    /// The header of `item`, parsed.
    pub(crate) fn from_item(item: &Item) -> Result<Header> {
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
    pub(crate) fn parse(bytes: &[u8]) -> Result<Header> {
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
        let key_id =
            std::str::from_utf8(key_id).map_err(|_| malformed("the key id is not UTF-8"))?;
        if key_id.is_empty() {
            return Err(malformed("the key id is empty"));
        }
        Ok(Header {
            wrapped: WrappedDataKey {
                key_id: key_id.to_owned(),
                ciphertext: wrapped.to_vec(),
            },
            salt: *salt,
            commitment: *commitment,
        })
    }
}

/// The header's bytes, from its parts (see [`Header::encode`]).
fn encode_header(
    wrapped: &WrappedDataKey,
    salt: &[u8; SALT_LEN],
    commitment: &[u8; COMMITMENT_LEN],
) -> Result<Vec<u8>> {
    let too_long = |what: &str| Error::InvalidValue {
        attribute: HEADER_ATTRIBUTE.to_owned(),
        reason: format!("the {what} is longer than 65,535 bytes"),
    };
    let key_id = wrapped.key_id.as_bytes();
    let key_id_len = u16::try_from(key_id.len()).map_err(|_| too_long("key id"))?;
    let ciphertext = &wrapped.ciphertext;
    let wrapped_len = u16::try_from(ciphertext.len()).map_err(|_| too_long("wrapped data key"))?;
    let mut out =
        Vec::with_capacity(5 + key_id.len() + ciphertext.len() + SALT_LEN + COMMITMENT_LEN);
    out.push(VERSION);
    out.extend_from_slice(&key_id_len.to_be_bytes());
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

/// What binds every ciphertext of an item to its record: the format version, the logical table,
/// the primary key and the owner, encoded without ambiguity.
pub(crate) struct Binding {
    bytes: Vec<u8>,
}

impl Binding {
    /// Reads the key and owner attributes of `item` as `schema` names them.
    pub(crate) fn new(schema: &Schema, item: &Item) -> Result<Binding> {
        let mut bytes = Vec::with_capacity(128);
        bytes.push(VERSION);
        put_bytes(&mut bytes, schema.table().as_bytes());
        put_key_part(&mut bytes, schema.partition_key(), item)?;
        match schema.sort_key() {
            None => bytes.push(0),
            Some(sort_key) => {
                bytes.push(1);
                put_key_part(&mut bytes, sort_key, item)?;
            }
        }
        let owner = owner_of(schema, item)?;
        put_bytes(&mut bytes, schema.owner().as_bytes());
        put_bytes(&mut bytes, owner.as_bytes());
        Ok(Binding { bytes })
    }

    /// The commitment's HKDF info: the binding and the names of the encrypted fields, sorted.
    fn commit_info(&self, fields: &mut Vec<&str>) -> Vec<u8> {
        fields.sort_unstable();
        let names: usize = fields.iter().map(|f| f.len() + 4).sum();
        let mut info = Vec::with_capacity(4 + COMMIT_LABEL.len() + self.bytes.len() + 4 + names);
        put_bytes(&mut info, COMMIT_LABEL);
        info.extend_from_slice(&self.bytes);
        put_u32(&mut info, fields.len());
        for field in fields.iter() {
            put_bytes(&mut info, field.as_bytes());
        }
        info
    }
}

/// The owner id stored in `item`: the schema's owner attribute, a string that is a valid
/// identity.
pub(crate) fn owner_of<'a>(schema: &Schema, item: &'a Item) -> Result<&'a str> {
    match item.get(schema.owner()) {
        Some(AttributeValue::S(owner)) if crate::access::check_identity(owner, "").is_ok() => {
            Ok(owner)
        }
        Some(AttributeValue::S(_)) => Err(Error::malformed(
            schema.owner(),
            "the owner is not a valid identity (empty, white space, or a control character)",
        )),
        Some(_) => Err(Error::malformed(
            schema.owner(),
            "the owner must be a string (S)",
        )),
        None => Err(Error::MissingAttribute {
            attribute: schema.owner().to_owned(),
        }),
    }
}

fn put_key_part(out: &mut Vec<u8>, name: &str, item: &Item) -> Result<()> {
    let (tag, value) = match item.get(name) {
        Some(AttributeValue::S(s)) => (1, s.as_bytes()),
        Some(AttributeValue::N(n)) => (2, n.as_bytes()),
        Some(AttributeValue::B(b)) => (3, b.as_slice()),
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
    };
    put_bytes(out, name.as_bytes());
    out.push(tag);
    put_bytes(out, value);
    Ok(())
}

/// The plaintext bytes of an item's fields, by attribute name.
pub(crate) type FieldPlaintexts = Vec<(&'static str, Zeroizing<Vec<u8>>)>;

/// The keys of one item: HKDF-SHA256 extracted from the data key with the item's salt.
pub(crate) struct ItemKeys {
    hkdf: Hkdf<Sha256>,
}

impl ItemKeys {
    pub(crate) fn new(data_key: &DataKey, salt: &[u8; SALT_LEN]) -> Self {
        ItemKeys {
            hkdf: Hkdf::<Sha256>::new(Some(salt), data_key.bytes()),
        }
    }

    fn expand(&self, info: &[u8]) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0; 32]);
        self.hkdf
            .expand(info, out.as_mut_slice())
            .unwrap_or_else(|_| unreachable!("32 bytes is a valid HKDF-SHA256 output length"));
        out
    }

    fn commitment(&self, binding: &Binding, fields: &mut Vec<&str>) -> [u8; COMMITMENT_LEN] {
        *self.expand(&binding.commit_info(fields))
    }
}

/// Builds each field's HKDF info and associated data in two buffers reused across the fields
/// of an item.
struct FieldInputs<'a> {
    table: &'a str,
    binding: &'a Binding,
    info: Vec<u8>,
    aad: Vec<u8>,
}

impl<'a> FieldInputs<'a> {
    fn new(table: &'a str, binding: &'a Binding) -> Self {
        FieldInputs {
            table,
            binding,
            info: Vec::with_capacity(64 + table.len()),
            aad: Vec::with_capacity(64 + binding.bytes.len()),
        }
    }

    /// The field's key: HKDF-Expand with `lp("crypt-model field") || version || lp(T) || lp(f)`.
    fn key(&mut self, keys: &ItemKeys, field: &str) -> Zeroizing<[u8; KEY_LEN]> {
        self.info.clear();
        put_bytes(&mut self.info, FIELD_LABEL);
        self.info.push(VERSION);
        put_bytes(&mut self.info, self.table.as_bytes());
        put_bytes(&mut self.info, field.as_bytes());
        keys.expand(&self.info)
    }

    /// The field's associated data: the binding, then `lp(f)`.
    fn aad(&mut self, field: &str) -> &[u8] {
        self.aad.clear();
        self.aad.extend_from_slice(&self.binding.bytes);
        put_bytes(&mut self.aad, field.as_bytes());
        &self.aad
    }
}

/// Encrypts the fields of one item with the given randomness: the deterministic core of
/// [`Cipher::encrypt`](crate::Cipher::encrypt), separate so that known-answer tests can fix the
/// salt and nonces. Returns the header and the field ciphertexts, in the order of `fields`.
pub(crate) fn seal_item(
    table: &str,
    binding: &Binding,
    data_key: &DataKey,
    wrapped: &WrappedDataKey,
    salt: [u8; SALT_LEN],
    fields: &[(&str, &[u8], [u8; NONCE_LEN])],
) -> Result<(Vec<u8>, Vec<Vec<u8>>)> {
    let keys = ItemKeys::new(data_key, &salt);
    let mut names: Vec<&str> = fields.iter().map(|(name, _, _)| *name).collect();
    let commitment = keys.commitment(binding, &mut names);
    let header = encode_header(wrapped, &salt, &commitment)?;
    let mut inputs = FieldInputs::new(table, binding);
    let ciphertexts = fields
        .iter()
        .map(|&(name, plaintext, nonce)| {
            let key = inputs.key(&keys, name);
            seal(&key, nonce, inputs.aad(name), plaintext)
        })
        .collect();
    Ok((header, ciphertexts))
}

/// Checks the key commitment of an item, then decrypts its fields: the core of
/// [`Cipher::decrypt`](crate::Cipher::decrypt). Nothing is decrypted unless the commitment
/// matches.
pub(crate) fn open_item(
    table: &str,
    binding: &Binding,
    data_key: &DataKey,
    header: &Header,
    fields: &[(&'static str, &[u8])],
) -> Result<FieldPlaintexts> {
    let keys = ItemKeys::new(data_key, &header.salt);
    let mut names: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
    let expected = keys.commitment(binding, &mut names);
    if !bool::from(expected.ct_eq(&header.commitment)) {
        return Err(Error::integrity(HEADER_ATTRIBUTE));
    }
    let mut inputs = FieldInputs::new(table, binding);
    fields
        .iter()
        .map(|&(name, sealed)| {
            let key = inputs.key(&keys, name);
            open(&key, inputs.aad(name), sealed)
                .map(|plaintext| (name, plaintext))
                .ok_or_else(|| Error::integrity(name))
        })
        .collect()
}

#[cfg(test)]
mod tests;

/// One field's new value, for [`reseal_field`]: `None` removes it.
pub(crate) struct FieldChange<'a> {
    pub(crate) name: &'static str,
    pub(crate) plaintext: Option<&'a [u8]>,
    pub(crate) nonce: [u8; NONCE_LEN],
}

/// What [`reseal_field`] produces: the field's new ciphertext (`None`: remove it) and, when
/// the set of encrypted fields changed, the new header.
pub(crate) struct Resealed {
    pub(crate) ciphertext: Option<Vec<u8>>,
    pub(crate) header: Option<Vec<u8>>,
}

/// Re-encrypts one field of a stored item under the item's existing keys, for an update that
/// leaves the rest of the item as it is. The stored commitment is checked first; a new header
/// (same key and salt, new commitment) is made only when the set of encrypted fields changes.
pub(crate) fn reseal_field(
    table: &str,
    binding: &Binding,
    data_key: &DataKey,
    header: &Header,
    present: &[&'static str],
    change: FieldChange<'_>,
) -> Result<Resealed> {
    let keys = ItemKeys::new(data_key, &header.salt);
    let mut before: Vec<&str> = present.to_vec();
    if !bool::from(
        keys.commitment(binding, &mut before)
            .ct_eq(&header.commitment),
    ) {
        return Err(Error::integrity(HEADER_ATTRIBUTE));
    }
    let field = change.name;
    let mut after: Vec<&str> = present.iter().copied().filter(|f| *f != field).collect();
    if change.plaintext.is_some() {
        after.push(field);
    }
    let new_header = if after.len() == present.len() {
        None
    } else {
        let commitment = keys.commitment(binding, &mut after);
        Some(
            Header {
                wrapped: header.wrapped.clone(),
                salt: header.salt,
                commitment,
            }
            .encode()?,
        )
    };
    let mut inputs = FieldInputs::new(table, binding);
    let ciphertext = change.plaintext.map(|plaintext| {
        let key = inputs.key(&keys, field);
        seal(&key, change.nonce, inputs.aad(field), plaintext)
    });
    Ok(Resealed {
        ciphertext,
        header: new_header,
    })
}
