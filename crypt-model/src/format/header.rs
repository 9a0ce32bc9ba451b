//! [`Header`]: a record's header attribute, parsed once and dispatched on its version byte, and
//! [`Suite`], the algorithms it names.

use crate::error::DataError;
use std::fmt;

use super::{HEADER_ATTRIBUTE, OWNER_KEY_ID, v3};
use crate::attribute::{AttributeValue, Item};
use crate::error::{Error, Result};

/// The algorithms a record is sealed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Suite {
    /// XChaCha20-Poly1305 under a key derived per item with HKDF-SHA256, blind indexes by
    /// HMAC-SHA-256: every record of format version 3.
    XChaCha20Poly1305,
}

impl Suite {
    /// The suite's name in reports: `xchacha20poly1305-hkdf-sha256`.
    pub fn name(self) -> &'static str {
        match self {
            Suite::XChaCha20Poly1305 => "xchacha20poly1305-hkdf-sha256",
        }
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The header of a stored record (its `__cm_header` attribute), parsed: the format version, the
/// [`Suite`], the id of the key-encryption key that wrapped its data key. Nothing in it is secret;
/// it is what tools (an audit, an inventory) read of a record without any key.
///
/// The one parser of the header: a record read by a table is parsed once, into this, and every
/// later step reads the parsed fields.
///
/// ```
/// use crypt_model::format::{Header, Suite};
///
/// // A version 3 header: key id `local-key`, a 4-byte wrapped key, a salt, a commitment.
/// let bytes = hex_literal(concat!(
///     "03", "0009", "6c6f63616c2d6b6579", "0004", "01020304",
///     "0000000000000000000000000000000000000000000000000000000000000000",
///     "1111111111111111111111111111111111111111111111111111111111111111",
/// ));
/// let header = Header::parse(&bytes)?;
/// assert_eq!((header.version(), header.suite(), header.key_id()), (3, Suite::XChaCha20Poly1305, "local-key"));
/// assert!(Header::parse(&bytes[..20]).is_err());
/// # fn hex_literal(s: &str) -> Vec<u8> {
/// #     (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
/// # }
/// # Ok::<(), crypt_model::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Header {
    bytes: Vec<u8>,
    parsed: Parsed,
}

/// What a header of each version holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Parsed {
    V3(v3::Fields),
}

impl Header {
    /// Parses a header's bytes, checking the version before anything else: a version this build
    /// does not read is [`DataError::UnsupportedVersion`](crate::error::DataError::UnsupportedVersion), a header cut short or with trailing bytes
    /// [`DataError::Malformed`](crate::error::DataError::Malformed).
    pub fn parse(bytes: &[u8]) -> Result<Header> {
        Header::from_vec(bytes.to_vec())
    }

    /// The header attribute of `item`, parsed: a missing one is [`DataError::Missing`](crate::error::DataError::Missing), one
    /// that is not binary [`DataError::Malformed`](crate::error::DataError::Malformed).
    pub fn of_item(item: &Item) -> Result<Header> {
        match item.get(HEADER_ATTRIBUTE) {
            Some(AttributeValue::B(bytes)) => Header::parse(bytes),
            Some(_) => Err(not_binary()),
            None => Err(missing()),
        }
    }

    /// Parses the header held in `bytes`, without a copy.
    pub(crate) fn from_vec(bytes: Vec<u8>) -> Result<Header> {
        #[cfg(test)]
        PARSES.with(|parses| parses.set(parses.get() + 1));
        let version = *bytes
            .first()
            .ok_or_else(|| Error::malformed(HEADER_ATTRIBUTE, "the header is empty"))?;
        let parsed = match version {
            v3::VERSION => Parsed::V3(v3::parse_header(&bytes)?),
            version => {
                return Err(Error::Data(DataError::UnsupportedVersion {
                    version,
                    supported: crate::encoding::VERSION,
                }));
            }
        };
        Ok(Header { bytes, parsed })
    }

    /// The format version.
    pub fn version(&self) -> u8 {
        match self.parsed {
            Parsed::V3(_) => v3::VERSION,
        }
    }

    /// The algorithms the record is sealed with.
    pub fn suite(&self) -> Suite {
        match self.parsed {
            Parsed::V3(_) => Suite::XChaCha20Poly1305,
        }
    }

    /// The id of the key-encryption key that wrapped the record's data key (a local key's name,
    /// a KMS key ARN), or [`OWNER_KEY_ID`] for a record sealed under its owner's key.
    pub fn key_id(&self) -> &str {
        let range = match self.parsed {
            Parsed::V3(fields) => fields.key_id(),
        };
        // Checked to be printable ASCII when parsed.
        std::str::from_utf8(&self.bytes[range]).unwrap_or_default()
    }

    /// Whether the record is sealed under its owner's key (`#[crypt_model(key_per_owner)]`):
    /// its header then holds the handle of that key in the key table, not a wrapped key.
    pub fn is_owner_key(&self) -> bool {
        self.key_id() == OWNER_KEY_ID
    }

    /// The wrapped data key (or, under an owner's key, the key's handle).
    pub(crate) fn wrapped(&self) -> &[u8] {
        match self.parsed {
            Parsed::V3(fields) => &self.bytes[fields.wrapped()],
        }
    }

    /// The header's bytes, as stored.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The fields of a version 3 header.
    pub(super) fn v3(&self) -> &v3::Fields {
        match &self.parsed {
            Parsed::V3(fields) => fields,
        }
    }
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Header")
            .field("version", &self.version())
            .field("suite", &self.suite())
            .field("key_id", &self.key_id())
            .finish_non_exhaustive()
    }
}

/// The error of a header attribute that is not binary.
pub(super) fn not_binary() -> Error {
    Error::malformed(HEADER_ATTRIBUTE, "the header must be binary (B)")
}

/// The error of an item without a header attribute.
pub(super) fn missing() -> Error {
    Error::Data(DataError::Missing {
        attribute: HEADER_ATTRIBUTE.to_owned(),
    })
}

#[cfg(test)]
thread_local! {
    /// How many headers this thread parsed: a read parses its record's header once.
    pub(crate) static PARSES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}
