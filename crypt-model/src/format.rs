//! The stored format: the header, the item's one sealed message, and the associated data that
//! authenticates the whole item. `docs/format.md` is the specification of everything here; its
//! known-answer vectors are checked by this module's tests, so the two cannot drift apart.
//!
//! This is the pure engine: sealing and opening take a record's parts and a data key and return
//! bytes. Nothing here fetches a key, reads a store or asks the owner gate. A stored record is
//! parsed once ([`Header`], and the crate's stored-record type), and every version-specific step
//! dispatches on the header's version byte: version 3 lives in `format/v3.rs`, and a later
//! version is added beside it.

use crate::error::DataError;
use zeroize::Zeroizing;

use crate::attribute::{AttributeValue, Item, KeyType};
use crate::data_key::{DataKey, GeneratedDataKey, WrappedDataKey};
use crate::error::{Error, Result};
use crate::plaintexts::Plaintexts;
use crate::schema::Schema;

mod canonical;
pub(crate) mod header;
mod message;
mod record;
mod transition;
mod v3;
#[cfg(feature = "aes-gcm")]
mod v4;

pub(crate) use crate::aead::NONCE_LEN;
pub(crate) use crate::attribute::canonical_number;
pub use crate::encoding::{RESERVED_PREFIX, VERSION};
pub(crate) use canonical::put_attributes;
use header::Parsed;
pub use header::{Header, Suite};
pub(crate) use record::{Envelope, Layout, StoredRecord};

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

/// Whether `item` was stored before encryption: it holds no attribute of crypt-model's (no
/// header, no sealed message, no index attribute). An item with some but not all of them is not
/// one: it is an encrypted record damaged or edited, and fails closed.
pub(crate) fn is_plaintext_record(item: &Item) -> bool {
    !item.has_name_starting_with(RESERVED_PREFIX)
}

/// Checks that `item` holds the record's keys as strings, numbers (in decimal) or binary.
fn check_keys(schema: &Schema, item: &Item) -> Result<()> {
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
                return Err(Error::Data(DataError::Missing {
                    attribute: name.to_owned(),
                }));
            }
        }
    }
    Ok(())
}

/// The owner id stored in `item`: the schema's owner attribute, of the owner's type (a string,
/// or a number whose text is the id), and a valid identity.
pub(crate) fn owner_of<'a>(schema: &Schema, item: &'a Item) -> Result<&'a str> {
    let Some(value) = item.get(schema.owner()) else {
        return Err(Error::Data(DataError::Missing {
            attribute: schema.owner().to_owned(),
        }));
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

/// What sealing a new record needs to know before its data key is fetched.
pub(crate) struct NewRecord<'a> {
    /// The owner, a valid identity.
    pub(crate) owner: &'a str,
    /// The plaintext bytes sealed (the key budget's count).
    pub(crate) bytes: u64,
}

/// Checks the parts of a record to seal — `item`, its plain attributes (keys and owner among
/// them), and the plaintexts of its sensitive fields — before anything else is done: an invalid
/// schema, a missing or malformed key or owner, an owner that is no valid identity, a reserved
/// attribute in `item`, a field the schema does not declare sensitive, or also given in plain,
/// or over 400 KB, is an error.
pub(crate) fn check_new<'a>(
    schema: &Schema,
    item: &'a Item,
    plaintexts: &Plaintexts,
) -> Result<NewRecord<'a>> {
    schema.validated()?;
    if let Some(owner) = item.get(schema.owner()).and_then(|v| schema.owner_text(v)) {
        crate::identity::check_identity(
            owner,
            &format!("the owner attribute `{}`", schema.owner()),
        )?;
    }
    check_keys(schema, item)?;
    let owner = owner_of(schema, item)?;
    if let Some((name, _)) = item
        .iter()
        .find(|(name, _)| name.starts_with(RESERVED_PREFIX))
    {
        return Err(Error::Data(DataError::InvalidValue {
            attribute: name.to_owned(),
            reason: format!("names starting with `{RESERVED_PREFIX}` are reserved for crypt-model"),
        }));
    }
    let mut bytes: u64 = 0;
    for (name, plaintext) in plaintexts.iter() {
        if !schema.is_sensitive(name) {
            return Err(Error::Data(DataError::NotSensitive {
                table: schema.table().to_owned(),
                attribute: name.to_owned(),
            }));
        }
        if item.contains(name) {
            return Err(Error::Data(DataError::InvalidValue {
                attribute: name.to_owned(),
                reason: "a sensitive attribute cannot also be given in plain".to_owned(),
            }));
        }
        if plaintext.len() > MAX_FIELD_LEN {
            return Err(Error::Data(DataError::InvalidValue {
                attribute: name.to_owned(),
                reason: format!(
                    "its {} bytes exceed DynamoDB's 400 KB item limit",
                    plaintext.len()
                ),
            }));
        }
        bytes += plaintext.len() as u64;
    }
    Ok(NewRecord { owner, bytes })
}

/// The attributes only sealing writes: a record's header and message. Every write seals the
/// message again (under a new nonce), so a rewrite that finds them as read finds the record as
/// read.
pub(crate) const SEALING_ATTRIBUTES: [&str; 2] = [HEADER_ATTRIBUTE, SEALED_ATTRIBUTE];

/// What sealing a record adds to its item: the header, the sealed message, and the blind-index
/// attributes the message authenticates. Applied to a new item, or to a stored record's new
/// item, which a rewrite then turns into its one conditional update.
pub(crate) struct Sealing {
    header: Vec<u8>,
    message: Vec<u8>,
    index_values: Vec<(&'static str, AttributeValue)>,
}

impl Sealing {
    /// Adds the sealing's attributes to `item`, replacing those of an earlier one.
    pub(crate) fn apply_to(self, item: &mut Item) {
        item.insert(HEADER_ATTRIBUTE, AttributeValue::B(self.header));
        item.insert(SEALED_ATTRIBUTE, AttributeValue::B(self.message));
        for (attribute, value) in self.index_values {
            item.insert(attribute, value);
        }
    }
}

/// Seals a record checked by [`check_new`], in the version this build writes: the header and the
/// message of `plaintexts` under `key`, with the blind-index attributes `index_values`, which the
/// message authenticates with the attributes of `item`. `salt` and `nonce` are the item's
/// randomness (fixed by the known-answer tests).
pub(crate) fn seal(
    schema: &Schema,
    item: &Item,
    plaintexts: &Plaintexts,
    index_values: Vec<(&'static str, AttributeValue)>,
    key: &GeneratedDataKey,
    salt: [u8; SALT_LEN],
    nonce: [u8; NONCE_LEN],
) -> Result<Sealing> {
    let fields: Vec<(&str, &[u8])> = plaintexts.iter().collect();
    let get = |name: &str| {
        index_values
            .iter()
            .find(|(attribute, _)| *attribute == name)
            .map(|(_, value)| value)
            .or_else(|| item.get(name))
    };
    let (header, message) = match schema.sealing_suite() {
        Suite::XChaCha20Poly1305 => {
            v3::seal(schema, &key.key, &key.wrapped, salt, nonce, get, &fields)?
        }
        // The module draws the nonce (`nonce` is version 3's).
        #[cfg(feature = "aes-gcm")]
        Suite::Aes256Gcm => v4::seal(schema, &key.key, &key.wrapped, salt, None, get, &fields)?,
        #[cfg(not(feature = "aes-gcm"))]
        Suite::Aes256Gcm => return Err(suite_not_built(schema, Suite::Aes256Gcm)),
    };
    Ok(Sealing {
        header,
        message,
        index_values,
    })
}

/// An opened message: the plaintext of a record's sensitive fields, wiped on drop, and the
/// format version whose layout the buffer has.
pub(crate) struct Opened(Zeroizing<Vec<u8>>, u8);

impl Opened {
    /// Calls `field` with `(name, value)` for each field of the message; `None` if the plaintext
    /// is not a well-formed message (which one that passed its tag never is).
    pub(crate) fn for_each_field<'a>(&'a self, field: impl FnMut(&'a str, &'a [u8])) -> Option<()> {
        let plaintext = match self.1 {
            #[cfg(feature = "aes-gcm")]
            v4::VERSION => v4::opened_plaintext(&self.0),
            _ => crate::aead::opened_plaintext(&self.0),
        };
        message::for_each_field(plaintext, field)
    }
}

impl Drop for Opened {
    fn drop(&mut self) {
        crate::wipe::discard(std::mem::take(&mut self.0));
    }
}

/// Checks the key commitment of a stored record, then opens its message in place, under `key`,
/// the data key its header names: nothing is decrypted unless the commitment matches, and nothing
/// is returned unless the whole item — its header and every attribute it authenticates, as
/// `attributes` holds them — is authentic ([`IntegrityError`](crate::error::IntegrityError) otherwise).
pub(crate) fn open(
    schema: &Schema,
    envelope: Envelope,
    attributes: &Item,
    key: &DataKey,
) -> Result<Opened> {
    let Envelope { header, message } = envelope;
    let mut candidates = None;
    let others = || {
        let found = transition::Candidates::of(schema, attributes);
        let sets = found.sets();
        candidates = Some(found);
        sets
    };
    let get = |name: &str| attributes.get(name);
    let (opened, set) = match header.parsed() {
        Parsed::V3(fields) => {
            v3::open_trying(schema, key, &fields, header.bytes(), get, message, others)?
        }
        #[cfg(feature = "aes-gcm")]
        Parsed::V4(fields) => {
            v4::open_trying(schema, key, &fields, header.bytes(), get, message, others)?
        }
    };
    if let (true, Some(candidates)) = (set > 0, &candidates) {
        // Dropped, and so wiped, on an error.
        candidates.opened_with(schema, set)?;
    }
    Ok(Opened(opened, header.version()))
}

/// The sealing of a stored record under `wrapped`, the same data key `key` wrapped under another
/// key-encryption key: the message is opened (checked as [`open`] checks it) and sealed again
/// under the new header with a new `nonce`, its plaintext never copied; its blind-index
/// attributes stay as they are.
pub(crate) fn rewrap(
    schema: &Schema,
    envelope: &Envelope,
    attributes: &Item,
    key: &DataKey,
    wrapped: &WrappedDataKey,
    nonce: [u8; NONCE_LEN],
) -> Result<Sealing> {
    let (header, get) = (&envelope.header, |name: &str| attributes.get(name));
    let message = envelope.message.clone();
    let rewrapped = match header.parsed() {
        Parsed::V3(fields) => v3::rewrap(
            schema,
            key,
            &fields,
            header.bytes(),
            wrapped,
            nonce,
            get,
            message,
        ),
        // The module draws the nonce.
        #[cfg(feature = "aes-gcm")]
        Parsed::V4(fields) => v4::rewrap(
            schema,
            key,
            &fields,
            header.bytes(),
            wrapped,
            None,
            get,
            message,
        ),
    };
    let (header, message) = match rewrapped {
        Err(Error::Integrity(failed)) if failed.attribute == SEALED_ATTRIBUTE => {
            // Written by another version of the model? A rewrap keeps the message as it was
            // authenticated, which this version cannot: a re-encryption seals it anew.
            let transition = Envelope {
                header: envelope.header.clone(),
                message: envelope.message.clone(),
            };
            open(schema, transition, attributes, key)?;
            return Err(Error::Data(DataError::WrittenByAnotherModel {
                table: schema.table().to_owned(),
                reason: "sealed by another version of the model: seal it again with a \
                         re-encryption (`Job::reencrypt`), which a rewrap does not do"
                    .to_owned(),
            }));
        }
        other => other?,
    };
    Ok(Sealing {
        header,
        message,
        index_values: Vec::new(),
    })
}

/// The error of a model whose suite this build leaves out (a feature not turned on).
#[cfg(not(feature = "aes-gcm"))]
fn suite_not_built(schema: &Schema, suite: Suite) -> Error {
    Error::Config(crate::error::ConfigError::InvalidSchema {
        table: schema.table().to_owned(),
        reason: format!("the suite {suite} needs crypt-model's feature `aes-gcm`"),
    })
}

/// The integrity error of a record whose header does not hold (its commitment, or a key it names
/// that cannot be found).
pub(crate) fn header_integrity() -> Error {
    Error::integrity(HEADER_ATTRIBUTE)
}

/// The integrity error of a record whose message does not open.
pub(crate) fn message_integrity() -> Error {
    Error::integrity(SEALED_ATTRIBUTE)
}

#[cfg(test)]
pub(crate) mod spec_vectors;
#[cfg(test)]
mod tests;
#[cfg(all(test, feature = "aes-gcm"))]
mod v4_tests;
