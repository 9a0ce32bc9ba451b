//! Format version 4: a header that names its algorithm suite, and suite 2 — AES-256-GCM under a
//! key derived per item with HKDF-SHA256, the header committed by an HMAC-SHA256 under a derived
//! commit key — its key derivation, commitment, cipher and nonce from aws-lc-rs (the salt too in
//! a `fips` build: docs/fips.md says what else a `fips` build takes from AWS-LC).
//! `docs/format.md` specifies every byte; the parts every version shares (the fields' encoding,
//! the associated data's layout, the header's key fields) are in `message.rs` and `header.rs`.

use std::ops::Range;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, RandomizedNonceKey, Tag, UnboundKey};
use aws_lc_rs::{constant_time, hkdf, hmac};
use zeroize::Zeroizing;

use super::{COMMITMENT_LEN, HEADER_ATTRIBUTE, SALT_LEN, SEALED_ATTRIBUTE, message};
use crate::attribute::AttributeValue;
use crate::data_key::{DataKey, WrappedDataKey};
use crate::error::{Error, Result};
use crate::key_bytes::KEY_LEN;
use crate::schema::Schema;

/// The version byte.
pub(super) const VERSION: u8 = 4;
/// Suite 2: AES-256-GCM, HKDF-SHA256, the commitment an HMAC-SHA256.
pub(super) const AES_256_GCM_SUITE: u8 = 2;
/// The length of an AES-GCM nonce.
pub(super) const NONCE_LEN: usize = 12;
/// The length of an AES-GCM tag.
const TAG_LEN: usize = 16;

const KEY_LABEL: &[u8] = b"crypt-model key";
const COMMIT_LABEL: &[u8] = b"crypt-model commit";

/// A version 4 header, parsed: its suite, and where its key id and wrapped key end in its bytes
/// (the salt and the commitment are the last 64 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Fields {
    suite: u8,
    key_id_end: u32,
    wrapped_end: u32,
}

impl Fields {
    /// The suite byte.
    pub(super) fn suite(self) -> u8 {
        self.suite
    }

    /// Where the key id is in the header's bytes (after the version, the suite and its length).
    pub(super) fn key_id(self) -> Range<usize> {
        4..self.key_id_end as usize
    }

    /// Where the wrapped data key is.
    pub(super) fn wrapped(self) -> Range<usize> {
        self.key_id_end as usize + 2..self.wrapped_end as usize
    }

    /// The item's salt.
    fn salt(self, bytes: &[u8]) -> [u8; SALT_LEN] {
        let at = self.wrapped_end as usize;
        bytes[at..at + SALT_LEN].try_into().unwrap_or([0; SALT_LEN])
    }

    /// The bytes the commitment covers: everything before it.
    fn committed(self, bytes: &[u8]) -> &[u8] {
        &bytes[..self.wrapped_end as usize + SALT_LEN]
    }

    /// The item's commitment.
    fn commitment(self, bytes: &[u8]) -> &[u8] {
        &bytes[self.wrapped_end as usize + SALT_LEN..]
    }
}

/// Parses `u8(4) || u8(suite) || u16(len(key id)) || key id || u16(len(wrapped)) || wrapped ||
/// salt (32) || commitment (32)`; the version byte was read by the caller. A suite this build
/// does not know is malformed.
pub(super) fn parse_header(bytes: &[u8]) -> Result<Fields> {
    match bytes.get(1) {
        Some(&AES_256_GCM_SUITE) => {}
        Some(suite) => {
            return Err(Error::malformed(
                HEADER_ATTRIBUTE,
                format!("suite {suite} is not one of format version 4's (2: AES-256-GCM)"),
            ));
        }
        None => {
            return Err(Error::malformed(
                HEADER_ATTRIBUTE,
                "the header is truncated",
            ));
        }
    }
    let (key_id_end, wrapped_end) = super::header::parse_keys(bytes, 2)?;
    Ok(Fields {
        suite: AES_256_GCM_SUITE,
        key_id_end,
        wrapped_end,
    })
}

/// The keys of one item: its message key and its commit key, derived with HKDF-SHA256 from the
/// data key and the item's salt, for the logical table and the suite.
struct ItemKeys {
    key: Zeroizing<[u8; KEY_LEN]>,
    commit: Zeroizing<[u8; KEY_LEN]>,
}

/// An output length for aws-lc-rs's HKDF.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

impl ItemKeys {
    fn derive(data_key: &DataKey, salt: &[u8; SALT_LEN], suite: u8, table: &str) -> Result<Self> {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(data_key.bytes());
        let table_len = u32::try_from(table.len()).unwrap_or(u32::MAX).to_be_bytes();
        // The info `lp(label) || u8(4) || u8(suite) || lp(T)`, given in pieces.
        let expand = |label: &[u8], out: &mut [u8]| -> Result<()> {
            let label_len = u32::try_from(label.len()).unwrap_or(u32::MAX).to_be_bytes();
            let info: [&[u8]; 6] = [
                &label_len,
                label,
                &[VERSION],
                &[suite],
                &table_len,
                table.as_bytes(),
            ];
            prk.expand(&info, Len(out.len()))
                .and_then(|okm| okm.fill(out))
                .map_err(|_| unavailable("HKDF-SHA256"))
        };
        let mut key = Zeroizing::new([0; KEY_LEN]);
        let mut commit = Zeroizing::new([0; KEY_LEN]);
        expand(KEY_LABEL, key.as_mut_slice())?;
        expand(COMMIT_LABEL, commit.as_mut_slice())?;
        Ok(ItemKeys { key, commit })
    }

    /// The commitment of the header bytes `committed`: HMAC-SHA256 under the commit key.
    fn commitment(&self, committed: &[u8]) -> [u8; COMMITMENT_LEN] {
        let key = hmac::Key::new(hmac::HMAC_SHA256, self.commit.as_slice());
        let tag = hmac::sign(&key, committed);
        tag.as_ref().try_into().unwrap_or([0; COMMITMENT_LEN])
    }

    /// That `commitment` is the one of `committed`, compared in constant time: otherwise the
    /// data key is not the item's (or the header was edited), and nothing is decrypted.
    fn check(&self, committed: &[u8], commitment: &[u8]) -> Result<()> {
        constant_time::verify_slices_are_equal(&self.commitment(committed), commitment)
            .map_err(|_| Error::integrity(HEADER_ATTRIBUTE))
    }
}

/// The error of a primitive of the cryptographic module that failed where it cannot (a length
/// the format fixes, or the module's self-test failed).
fn unavailable(what: &str) -> Error {
    Error::Data(crate::error::DataError::InvalidValue {
        attribute: SEALED_ATTRIBUTE.to_owned(),
        reason: format!("the cryptographic module refused {what}"),
    })
}

/// A header's bytes, from its parts: the commitment is computed over the rest.
fn encode_header(
    keys: &ItemKeys,
    suite: u8,
    wrapped: &WrappedDataKey,
    salt: &[u8; SALT_LEN],
) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(
        6 + wrapped.key_id.len() + wrapped.ciphertext.len() + SALT_LEN + COMMITMENT_LEN,
    );
    out.push(VERSION);
    out.push(suite);
    super::header::put_keys(&mut out, &wrapped.key_id, &wrapped.ciphertext)?;
    out.extend_from_slice(salt);
    let commitment = keys.commitment(&out);
    out.extend_from_slice(&commitment);
    Ok(out)
}

/// Encrypts the `len` bytes of plaintext that `write` appends, in place in the output buffer:
/// `nonce (12) || ciphertext || tag (16)`. The nonce is the module's (`RandomizedNonceKey`: the
/// approved way to draw one) unless `nonce` fixes it (the known-answer tests).
fn seal_with(
    key: &[u8; KEY_LEN],
    nonce: Option<[u8; NONCE_LEN]>,
    aad: &[u8],
    len: usize,
    write: impl FnOnce(&mut Vec<u8>),
) -> Result<Vec<u8>> {
    // Wiped on drop until it holds the ciphertext: an error below leaves no plaintext behind.
    let mut out = Zeroizing::new(Vec::with_capacity(NONCE_LEN + len + TAG_LEN));
    out.extend_from_slice(&[0; NONCE_LEN]);
    write(&mut out);
    let refused = |_| unavailable("AES-256-GCM");
    let (nonce, tag): ([u8; NONCE_LEN], Tag) = match nonce {
        Some(nonce) => {
            let sealing = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).map_err(refused)?);
            let tag = sealing
                .seal_in_place_separate_tag(
                    Nonce::assume_unique_for_key(nonce),
                    Aad::from(aad),
                    &mut out[NONCE_LEN..],
                )
                .map_err(refused)?;
            (nonce, tag)
        }
        None => {
            let sealing = RandomizedNonceKey::new(&AES_256_GCM, key).map_err(refused)?;
            let (nonce, tag) = sealing
                .seal_in_place_separate_tag(Aad::from(aad), &mut out[NONCE_LEN..])
                .map_err(refused)?;
            (*nonce.as_ref(), tag)
        }
    };
    out[..NONCE_LEN].copy_from_slice(&nonce);
    out.extend_from_slice(tag.as_ref());
    // The ciphertext: nothing left to wipe.
    Ok(std::mem::take(&mut *out))
}

/// Opens `sealed` under `key` and `aad`, decrypting a copy of it in a buffer wiped on drop: the
/// plaintext at `NONCE_LEN..len - TAG_LEN`. `sealed` itself is left as it was, to be tried again
/// with other associated data.
fn open_copy(key: &[u8; KEY_LEN], aad: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let (nonce, rest) = sealed.split_first_chunk::<NONCE_LEN>()?;
    if rest.len() < TAG_LEN {
        return None;
    }
    let opening = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).ok()?);
    let mut buffer = Zeroizing::new(sealed.to_vec());
    let opened = opening
        .open_in_place(
            Nonce::assume_unique_for_key(*nonce),
            Aad::from(aad),
            &mut buffer[NONCE_LEN..],
        )
        .ok()?
        .len();
    debug_assert_eq!(opened, rest.len() - TAG_LEN);
    Some(buffer)
}

/// The plaintext within a buffer that an open returned.
pub(super) fn opened_plaintext(opened: &[u8]) -> &[u8] {
    &opened[NONCE_LEN..opened.len() - TAG_LEN]
}

/// Seals an item under suite `suite` with the salt given (and the nonce, for the known-answer
/// tests): its header and its message. `get` finds the item's attributes.
#[allow(clippy::too_many_arguments)]
pub(super) fn seal<'a>(
    schema: &Schema,
    data_key: &DataKey,
    wrapped: &WrappedDataKey,
    salt: [u8; SALT_LEN],
    nonce: Option<[u8; NONCE_LEN]>,
    get: impl Fn(&str) -> Option<&'a AttributeValue>,
    fields: &[(&str, &[u8])],
) -> Result<(Vec<u8>, Vec<u8>)> {
    let suite = AES_256_GCM_SUITE;
    let keys = ItemKeys::derive(data_key, &salt, suite, schema.table())?;
    let header = encode_header(&keys, suite, wrapped, &salt)?;
    let aad = message::associated_data(VERSION, schema, &header, &[], get)?;
    let sealed = seal_with(&keys.key, nonce, &aad, message::fields_len(fields), |out| {
        message::put_fields(out, fields)
    })?;
    Ok((header, sealed))
}

/// Checks the commitment of an item, then opens its message with the associated data of the
/// attributes `schema` authenticates; if that fails, with each set of `others()` besides them,
/// in turn (a schema's transition). Gives the message and which set opened it (0 for the
/// model's own). Nothing is decrypted unless the commitment matches, and nothing is returned
/// unless the whole item is authentic under one of the sets.
pub(super) fn open_trying<'a, 'n>(
    schema: &Schema,
    data_key: &DataKey,
    header: &Fields,
    header_bytes: &[u8],
    get: impl Fn(&str) -> Option<&'a AttributeValue>,
    message: Vec<u8>,
    others: impl FnOnce() -> Vec<Vec<&'n str>>,
) -> Result<(Zeroizing<Vec<u8>>, usize)> {
    let salt = header.salt(header_bytes);
    let keys = ItemKeys::derive(data_key, &salt, header.suite(), schema.table())?;
    keys.check(
        header.committed(header_bytes),
        header.commitment(header_bytes),
    )?;
    let aad = message::associated_data(VERSION, schema, header_bytes, &[], &get)?;
    if let Some(opened) = open_copy(&keys.key, &aad, &message) {
        return Ok((opened, 0));
    }
    for (i, extra) in others().iter().enumerate() {
        let aad = message::associated_data(VERSION, schema, header_bytes, extra, &get)?;
        if let Some(opened) = open_copy(&keys.key, &aad, &message) {
            return Ok((opened, i + 1));
        }
    }
    Err(Error::integrity(SEALED_ATTRIBUTE))
}

/// Seals an item's message again under a header that carries `wrapped` — its data key, wrapped
/// under another key-encryption key — with the same salt and a new nonce; the message is opened
/// (checked as [`open_trying`] does) and sealed again, its plaintext never leaving the buffer it
/// is opened in. Returns the new header and message.
#[allow(clippy::too_many_arguments)]
pub(super) fn rewrap<'a>(
    schema: &Schema,
    data_key: &DataKey,
    header: &Fields,
    header_bytes: &[u8],
    wrapped: &WrappedDataKey,
    nonce: Option<[u8; NONCE_LEN]>,
    get: impl Fn(&str) -> Option<&'a AttributeValue>,
    message: Vec<u8>,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let salt = header.salt(header_bytes);
    let keys = ItemKeys::derive(data_key, &salt, header.suite(), schema.table())?;
    keys.check(
        header.committed(header_bytes),
        header.commitment(header_bytes),
    )?;
    let aad = message::associated_data(VERSION, schema, header_bytes, &[], &get)?;
    let opened =
        open_copy(&keys.key, &aad, &message).ok_or_else(|| Error::integrity(SEALED_ATTRIBUTE))?;
    let new_header = encode_header(&keys, header.suite(), wrapped, &salt)?;
    let aad = message::associated_data(VERSION, schema, &new_header, &[], get)?;
    let plaintext = opened_plaintext(&opened);
    let sealed = seal_with(&keys.key, nonce, &aad, plaintext.len(), |out| {
        out.extend_from_slice(plaintext)
    })?;
    crate::wipe::discard(opened);
    Ok((new_header, sealed))
}
