//! Blind indexes: finding a record by the value of a sensitive field without decrypting the
//! table and without deterministic encryption of the value. See `docs/searchable.md` for what
//! an index leaks and how to choose its width.

use crate::error::{ConfigError, DataError};
use std::fmt;
use std::sync::Arc;

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::attribute::AttributeValue;
use crate::encoding::{self, put_bytes};
use crate::error::{Error, Result};
use crate::key_bytes::KeyBytes;
use crate::plaintext::{Encoder, Plaintext};
use crate::plaintexts::Plaintexts;

/// Whose records share an index's value space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexScope {
    /// One value space per table: equal values of any two records have equal index values.
    Table,
    /// One value space per owner: equal values of two owners do not link. Only the owner can
    /// search it.
    Owner,
}

impl IndexScope {
    /// The scope's name in the index key's derivation.
    fn label(self) -> &'static [u8] {
        match self {
            IndexScope::Table => b"table",
            IndexScope::Owner => b"owner",
        }
    }
}

/// How a value is normalised before it is indexed and compared.
#[derive(Clone, Copy, Debug)]
pub enum Normalize {
    /// As it is.
    None,
    /// Lower-cased (Unicode).
    Lowercase,
    /// Leading and trailing white space removed.
    Trim,
    /// Trimmed, then lower-cased.
    TrimLowercase,
    /// The application's own function (`normalize_with = "path"` in the derive). It must be
    /// deterministic: the same input always gives the same output.
    Custom(fn(&str) -> String),
}

impl PartialEq for Normalize {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Normalize::Custom(a), Normalize::Custom(b)) => std::ptr::fn_addr_eq(*a, *b),
            (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
        }
    }
}

impl Eq for Normalize {}

impl Normalize {
    /// Applies the normalisation to a text.
    pub fn apply(self, text: &str) -> String {
        match self {
            Normalize::None => text.to_owned(),
            Normalize::Lowercase => text.to_lowercase(),
            Normalize::Trim => text.trim().to_owned(),
            Normalize::TrimLowercase => text.trim().to_lowercase(),
            Normalize::Custom(function) => function(text),
        }
    }
}

/// One blind index of a model: on which sensitive field, stored in which attribute, queried
/// through which secondary index, how wide, how scoped, how normalised. The derive builds these
/// from `#[sensitive(index = "exact", …)]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlindIndex {
    field: &'static str,
    attribute: &'static str,
    secondary_index: &'static str,
    bits: u16,
    scope: IndexScope,
    normalize: Normalize,
    version: u8,
}

/// The default width of an index, in bits; see `docs/searchable.md`.
pub const DEFAULT_INDEX_BITS: u16 = 16;
/// The narrowest index allowed.
pub const MIN_INDEX_BITS: u16 = 8;
/// The widest index allowed: wider indexes only leak more (they become near-unique tags).
pub const MAX_INDEX_BITS: u16 = 64;
/// The attribute of a field's blind index: this prefix and the field's attribute name.
pub const INDEX_ATTRIBUTE_PREFIX: &str = "__cm_ix_";
/// The secondary index of a field's blind index: this prefix and the field's attribute name.
pub(crate) const INDEX_NAME_PREFIX: &str = "cm_ix_";

impl BlindIndex {
    /// An index of `field`, stored in `attribute` and queried through the secondary index
    /// `secondary_index`, with the defaults: 16 bits, table scope, no normalisation, version 1.
    pub const fn new(
        field: &'static str,
        attribute: &'static str,
        secondary_index: &'static str,
    ) -> Self {
        BlindIndex {
            field,
            attribute,
            secondary_index,
            bits: DEFAULT_INDEX_BITS,
            scope: IndexScope::Table,
            normalize: Normalize::None,
            version: 1,
        }
    }

    /// Sets the width in bits.
    pub const fn with_bits(mut self, bits: u16) -> Self {
        self.bits = bits;
        self
    }

    /// Sets the scope.
    pub const fn with_scope(mut self, scope: IndexScope) -> Self {
        self.scope = scope;
        self
    }

    /// Sets the normalisation.
    pub const fn with_normalize(mut self, normalize: Normalize) -> Self {
        self.normalize = normalize;
        self
    }

    /// The indexed field.
    pub const fn field(&self) -> &'static str {
        self.field
    }

    /// The attribute holding the index value.
    pub const fn attribute(&self) -> &'static str {
        self.attribute
    }

    /// The secondary index queried.
    pub(crate) const fn secondary_index(&self) -> &'static str {
        self.secondary_index
    }

    /// The width in bits.
    pub const fn bits(&self) -> u16 {
        self.bits
    }

    /// The scope.
    pub const fn scope(&self) -> IndexScope {
        self.scope
    }

    /// The normalisation.
    pub const fn normalize(&self) -> Normalize {
        self.normalize
    }

    /// Checks the width, for an index of the logical table `table`.
    pub fn validate(&self, table: &str) -> Result<()> {
        if !(MIN_INDEX_BITS..=MAX_INDEX_BITS).contains(&self.bits) {
            return Err(Error::Config(ConfigError::InvalidSchema {
                table: table.to_owned(),
                reason: format!(
                    "the index on `{}`: {} bits is outside {MIN_INDEX_BITS}..={MAX_INDEX_BITS}",
                    self.field, self.bits
                ),
            }));
        }
        Ok(())
    }
}

/// The secret that index keys are derived from: separate from data keys, so that a leaked
/// data key reveals nothing of the indexes and an index secret reveals no plaintext.
///
/// Keep it like a key-encryption key: [`generate_wrapped`](Self::generate_wrapped) makes one
/// wrapped by a keyring (AWS KMS in production) to store in configuration (as
/// [`WrappedDataKey::to_text`](crate::keyring::WrappedDataKey::to_text)),
/// [`unwrap`](Self::unwrap) recovers it at start-up, and [`rewrap`](Self::rewrap) moves it to a
/// new key-encryption key. `Debug` is redacted.
#[derive(Clone)]
pub struct IndexSecret(KeyBytes);

impl IndexSecret {
    /// An index secret from its 32 bytes (refused if another length or all zero).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let refuse = |reason: &str| {
            Error::Config(ConfigError::InvalidKey {
                key_id: "index secret".to_owned(),
                reason: reason.to_owned(),
            })
        };
        let secret = KeyBytes::from_slice(bytes)
            .ok_or_else(|| refuse("an index secret is exactly 32 bytes"))?;
        if secret.get().iter().all(|&b| b == 0) {
            return Err(refuse("an all-zero index secret is refused"));
        }
        Ok(IndexSecret(secret))
    }

    /// A fresh random secret, for tests and the quickstart.
    pub fn generate() -> Result<Self> {
        KeyBytes::random().map(IndexSecret)
    }

    /// The index value of `normalized` (the normalised plaintext bytes) for `spec` in the
    /// logical table `table`, for the owner `owner` when the index is owner-scoped.
    pub(crate) fn index_value(
        &self,
        table: &str,
        spec: &BlindIndex,
        owner: &str,
        normalized: &[u8],
    ) -> Vec<u8> {
        let mut info = Vec::with_capacity(64 + table.len() + spec.field.len());
        put_bytes(&mut info, b"crypt-model index");
        info.push(encoding::VERSION);
        put_bytes(&mut info, table.as_bytes());
        put_bytes(&mut info, spec.field.as_bytes());
        info.push(spec.version);
        // The scope too: a field moved from one scope to the other under the same version gets
        // a key of its own, not values related to the old ones.
        put_bytes(&mut info, spec.scope.label());
        let mut prefix = Vec::with_capacity(4 + owner.len());
        if spec.scope == IndexScope::Owner {
            put_bytes(&mut prefix, owner.as_bytes());
        }
        let tag = index_tag(self.0.get(), &info, &[&prefix, normalized]);
        let bytes = usize::from(spec.bits.div_ceil(8));
        let mut value = tag[..bytes].to_vec();
        let spare = bytes * 8 - usize::from(spec.bits);
        if let Some(last) = value.last_mut() {
            *last &= 0xff << spare;
        }
        value
    }
}

/// HMAC-SHA256 over `parts` under the key HKDF-SHA256 expands from `secret` and `info` (with
/// no salt: a hash length of zeros): a blind index's tag, from RustCrypto, or from AWS-LC's FIPS
/// module in a `fips` build (the same bytes: a test compares them).
fn index_tag(secret: &[u8], info: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    #[cfg(feature = "fips")]
    return crate::fips::index_tag(secret, info, parts);
    #[cfg(not(feature = "fips"))]
    rust_crypto_index_tag(secret, info, parts)
}

/// [`index_tag`] through RustCrypto.
#[cfg_attr(feature = "fips", allow(dead_code))]
fn rust_crypto_index_tag(secret: &[u8], info: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut key = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(None, secret)
        .expand(info, key.as_mut_slice())
        .unwrap_or_else(|_| unreachable!("32 bytes is a valid HKDF-SHA256 output length"));
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_slice())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

impl fmt::Debug for IndexSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IndexSecret([REDACTED])")
    }
}

/// The index secrets of an application: the current one, which writes and searches use, and,
/// while a new one is rolled out, the one it replaces, which searches also look under. One value,
/// cheap to clone, that a table holds.
#[derive(Clone, Default)]
pub(crate) struct IndexSecrets {
    current: Option<Arc<IndexSecret>>,
    previous: Option<Arc<IndexSecret>>,
}

impl IndexSecrets {
    /// The same, with `secret` as the current secret.
    pub(crate) fn with_current(mut self, secret: IndexSecret) -> Self {
        self.current = Some(Arc::new(secret));
        self
    }

    /// The same, with `secret` as the previous secret.
    pub(crate) fn with_previous(mut self, secret: IndexSecret) -> Self {
        self.previous = Some(Arc::new(secret));
        self
    }

    /// Whether a current secret is set.
    pub(crate) fn has_current(&self) -> bool {
        self.current.is_some()
    }

    /// The index value of `normalized` for the index `spec` of the logical table `table`,
    /// scoped to `owner` when the index is owner-scoped, under the current secret.
    pub(crate) fn value(
        &self,
        table: &str,
        spec: &BlindIndex,
        owner: &str,
        normalized: &[u8],
    ) -> Result<Vec<u8>> {
        let secret = self.current.as_ref().ok_or_else(|| {
            Error::Config(ConfigError::NoIndexSecret {
                table: table.to_owned(),
                field: spec.field().to_owned(),
            })
        })?;
        Ok(secret.index_value(table, spec, owner, normalized))
    }

    /// The same under the previous secret, while one is set.
    pub(crate) fn previous_value(
        &self,
        table: &str,
        spec: &BlindIndex,
        owner: &str,
        normalized: &[u8],
    ) -> Option<Vec<u8>> {
        self.previous
            .as_ref()
            .map(|secret| secret.index_value(table, spec, owner, normalized))
    }

    /// The blind-index attribute of `spec` for a field whose plaintext bytes are `plaintext`, in
    /// a record owned by `owner`, under the current secret.
    pub(crate) fn attribute(
        &self,
        table: &str,
        spec: &BlindIndex,
        owner: &str,
        plaintext: &[u8],
    ) -> Result<AttributeValue> {
        let normalized = normalized_bytes(plaintext, spec.normalize(), spec.field())?;
        self.value(table, spec, owner, &normalized)
            .map(AttributeValue::B)
    }

    /// The blind-index attributes, for the indexes `specs` of the logical table `table`, of a
    /// record owned by `owner` whose sensitive fields are `plaintexts`: one per index on a field
    /// present.
    pub(crate) fn attributes(
        &self,
        table: &str,
        specs: &'static [BlindIndex],
        owner: &str,
        plaintexts: &Plaintexts,
    ) -> Result<Vec<(&'static str, AttributeValue)>> {
        let mut values = Vec::with_capacity(specs.len());
        for spec in specs {
            if let Some(plaintext) = plaintexts.get_bytes(spec.field()) {
                values.push((
                    spec.attribute(),
                    self.attribute(table, spec, owner, plaintext)?,
                ));
            }
        }
        Ok(values)
    }
}

impl fmt::Debug for IndexSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IndexSecrets")
            .field("current", &self.current.is_some())
            .field("previous", &self.previous.is_some())
            .finish()
    }
}

/// The normalised bytes of a value for an index: its plaintext encoding, normalised as text
/// when the index normalises (only string fields may; the derive checks it).
pub(crate) fn normalized_bytes(
    encoded: &[u8],
    normalize: Normalize,
    field: &str,
) -> Result<Zeroizing<Vec<u8>>> {
    if matches!(normalize, Normalize::None) {
        return Ok(Zeroizing::new(encoded.to_vec()));
    }
    let text = std::str::from_utf8(encoded).map_err(|_| {
        Error::Data(DataError::InvalidValue {
            attribute: field.to_owned(),
            reason: "its index normalises text, and the value is not a string".to_owned(),
        })
    })?;
    Ok(Zeroizing::new(normalize.apply(text).into_bytes()))
}

/// The normalised plaintext bytes of a value for an index: what a record stores an index value
/// of, and what a lookup searches for.
pub(crate) fn index_bytes<V: Plaintext>(
    value: &V,
    name: &str,
    normalize: Normalize,
) -> Result<Zeroizing<Vec<u8>>> {
    let mut encoded = Encoder::new();
    value.encode(&mut encoded).map_err(|e| {
        Error::Data(DataError::InvalidValue {
            attribute: name.to_owned(),
            reason: e.to_string(),
        })
    })?;
    normalized_bytes(encoded.as_slice(), normalize, name)
}

#[cfg(test)]
mod tests {
    use super::{BlindIndex, IndexScope, IndexSecret};
    use crate::encoding::put_u32;

    /// A `fips` build computes blind indexes through AWS-LC: the same bytes as RustCrypto's, or
    /// every index of a table written by the other build would stop finding its records.
    #[cfg(feature = "aes-gcm")]
    #[test]
    fn aws_lc_computes_the_same_index_tags_as_rust_crypto() {
        use proptest::prelude::*;
        proptest!(|(secret in proptest::array::uniform32(any::<u8>()),
                    info in proptest::collection::vec(any::<u8>(), 0..80),
                    a in proptest::collection::vec(any::<u8>(), 0..40),
                    b in proptest::collection::vec(any::<u8>(), 0..200))| {
            prop_assert_eq!(
                super::rust_crypto_index_tag(&secret, &info, &[&a, &b]),
                crate::fips::index_tag(&secret, &info, &[&a, &b])
            );
        });
    }

    /// The index key names its scope: a field moved from table scope to owner scope under the same
    /// index version gets unrelated values — not the table-scoped value of `lp(owner) || p`.
    #[test]
    fn an_index_keys_derivation_names_its_scope() {
        let secret = IndexSecret::from_bytes(&[0x60; 32]).unwrap();
        let spec = |scope| {
            BlindIndex::new("ssn", "__cm_ix", "cm_ix")
                .with_bits(64)
                .with_scope(scope)
        };
        let plaintext = b"078-05-1120";
        let mut prefixed = Vec::new();
        put_u32(&mut prefixed, 5);
        prefixed.extend_from_slice(b"alice");
        prefixed.extend_from_slice(plaintext);
        let owner = secret.index_value("patients", &spec(IndexScope::Owner), "alice", plaintext);
        let table = secret.index_value("patients", &spec(IndexScope::Table), "", &prefixed);
        assert_ne!(owner, table);
    }
}
