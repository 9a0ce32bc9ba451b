//! [`Header`]: a record's header attribute, parsed once and dispatched on its version byte, and
//! the [`Suite`] it names.

use crate::error::DataError;
use std::fmt;

#[cfg(feature = "aes-gcm")]
use super::v4;
use super::{HEADER_ATTRIBUTE, OWNER_KEY_ID, v3};
use crate::attribute::{AttributeValue, Item};
use crate::error::{Error, Result};

pub use crate::schema::Suite;

/// The newest format version this build reads: 4 with the feature `aes-gcm`, else 3.
pub(crate) const NEWEST_VERSION: u8 = if cfg!(feature = "aes-gcm") { 4 } else { 3 };

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
pub(super) enum Parsed {
    V3(v3::Fields),
    #[cfg(feature = "aes-gcm")]
    V4(v4::Fields),
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
            #[cfg(feature = "aes-gcm")]
            v4::VERSION => Parsed::V4(v4::parse_header(&bytes)?),
            version => {
                return Err(Error::Data(DataError::UnsupportedVersion {
                    version,
                    supported: NEWEST_VERSION,
                }));
            }
        };
        Ok(Header { bytes, parsed })
    }

    /// The format version.
    pub fn version(&self) -> u8 {
        match self.parsed {
            Parsed::V3(_) => v3::VERSION,
            #[cfg(feature = "aes-gcm")]
            Parsed::V4(_) => v4::VERSION,
        }
    }

    /// The algorithms the record is sealed with.
    pub fn suite(&self) -> Suite {
        match self.parsed {
            Parsed::V3(_) => Suite::XChaCha20Poly1305,
            #[cfg(feature = "aes-gcm")]
            Parsed::V4(_) => Suite::Aes256Gcm,
        }
    }

    /// The id of the key-encryption key that wrapped the record's data key (a local key's name,
    /// a KMS key ARN), or [`OWNER_KEY_ID`] for a record sealed under its owner's key.
    pub fn key_id(&self) -> &str {
        let range = match self.parsed {
            Parsed::V3(fields) => fields.key_id(),
            #[cfg(feature = "aes-gcm")]
            Parsed::V4(fields) => fields.key_id(),
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
            #[cfg(feature = "aes-gcm")]
            Parsed::V4(fields) => &self.bytes[fields.wrapped()],
        }
    }

    /// The header's bytes, as stored.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// What the header holds, by version.
    pub(super) fn parsed(&self) -> Parsed {
        self.parsed
    }

    /// The fields of a version 3 header (the tests' shortcut).
    #[cfg(test)]
    pub(super) fn v3(&self) -> v3::Fields {
        match self.parsed {
            Parsed::V3(fields) => fields,
            #[cfg(feature = "aes-gcm")]
            Parsed::V4(_) => panic!("not a version 3 header"),
        }
    }

    /// The fields of a version 4 header, if it is one (the tests' shortcut).
    #[cfg(all(test, feature = "aes-gcm"))]
    pub(super) fn parsed_v4(&self) -> Option<v4::Fields> {
        match self.parsed {
            Parsed::V4(fields) => Some(fields),
            Parsed::V3(_) => None,
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

/// Parses what every header holds from byte `at` on — `u16(len(key id)) || key id ||
/// u16(len(wrapped)) || wrapped || salt (32) || commitment (32)` — and gives where the key id and
/// the wrapped key end. A header cut short, with trailing bytes, a key id that is not printable
/// ASCII or an empty wrapped key is malformed.
pub(super) fn parse_keys(bytes: &[u8], at: usize) -> Result<(u32, u32)> {
    use super::{COMMITMENT_LEN, SALT_LEN, check_key_id};
    use std::ops::Range;
    let malformed = |reason: &str| Error::malformed(HEADER_ATTRIBUTE, reason);
    let truncated = || malformed("the header is truncated");
    let mut at = at;
    let prefixed = |at: &mut usize| -> Result<Range<usize>> {
        let len = bytes
            .get(*at..*at + 2)
            .ok_or_else(truncated)?
            .try_into()
            .map(u16::from_be_bytes)
            .map_err(|_| truncated())?;
        let range = *at + 2..*at + 2 + usize::from(len);
        if range.end > bytes.len() {
            return Err(truncated());
        }
        *at = range.end;
        Ok(range)
    };
    let key_id = prefixed(&mut at)?;
    let wrapped = prefixed(&mut at)?;
    let rest = &bytes[at..];
    if rest.len() < SALT_LEN + COMMITMENT_LEN {
        return Err(truncated());
    }
    if rest.len() > SALT_LEN + COMMITMENT_LEN {
        return Err(malformed("the header has trailing bytes"));
    }
    let id = std::str::from_utf8(&bytes[key_id.clone()])
        .map_err(|_| malformed("the key id is not printable ASCII"))?;
    check_key_id(id).map_err(malformed)?;
    if wrapped.is_empty() {
        return Err(malformed("the wrapped data key is empty"));
    }
    // A header is at most 2 + 2 + 65,535 + 2 + 65,535 + 64 bytes.
    let end = |range: Range<usize>| u32::try_from(range.end).map_err(|_| truncated());
    Ok((end(key_id)?, end(wrapped)?))
}

/// Appends `u16(len(key id)) || key id || u16(len(wrapped)) || wrapped`, checking both: a key
/// id of 1 to 2,048 printable ASCII bytes, a wrapped key of 1 to 65,535 bytes.
pub(super) fn put_keys(out: &mut Vec<u8>, key_id: &str, wrapped: &[u8]) -> Result<()> {
    let invalid = |reason: &str| {
        Error::Data(DataError::InvalidValue {
            attribute: HEADER_ATTRIBUTE.to_owned(),
            reason: reason.to_owned(),
        })
    };
    super::check_key_id(key_id).map_err(invalid)?;
    let key_id = key_id.as_bytes();
    let wrapped_len = u16::try_from(wrapped.len())
        .ok()
        .filter(|&len| len > 0)
        .ok_or_else(|| invalid("a wrapped data key is 1 to 65,535 bytes"))?;
    // `check_key_id` bounds the length to 2,048.
    out.extend_from_slice(&(key_id.len() as u16).to_be_bytes());
    out.extend_from_slice(key_id);
    out.extend_from_slice(&wrapped_len.to_be_bytes());
    out.extend_from_slice(wrapped);
    Ok(())
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
