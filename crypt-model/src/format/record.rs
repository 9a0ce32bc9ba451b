//! [`StoredRecord`]: a stored item as the format reads it, parsed and validated once — its keys,
//! its owner, its header and message, its other attributes — before anyone decides what to do
//! with it.

use super::header::{self, Header};
use super::{HEADER_ATTRIBUTE, SEALED_ATTRIBUTE, check_keys, is_plaintext_record, owner_of};
use crate::attribute::{AttributeValue, Item};
use crate::error::{Error, Result};
use crate::schema::Schema;

/// A stored record, parsed once. What is wrong with it (a missing key, a malformed header, a
/// message that is not binary) is kept, not returned: only the owner and the key are read before
/// the owner gate decides, so that only a caller who may open the record learns what is wrong
/// with it.
pub(crate) struct StoredRecord {
    /// The logical table of the model it was parsed as.
    table: &'static str,
    /// The attribute that names its owner, in that model.
    owner_attribute: &'static str,
    /// Every attribute but the header and the message: the keys, the owner, the plain fields, the
    /// blind-index attributes (and, in a record stored in plaintext, its sensitive fields).
    attributes: Item,
    /// Whether the owner attribute holds a valid identity of the owner's type.
    owner_valid: bool,
    /// Whether the item holds no attribute of crypt-model's: stored before encryption.
    plaintext: bool,
    /// Boxed when it is an error (rare), so that a parsed record stays small to move.
    layout: Result<Layout, Box<Error>>,
}

/// How a record's sensitive fields are stored.
pub(crate) enum Layout {
    /// In one sealed message, under a header.
    Encrypted(Envelope),
    /// As plain attributes, written before encryption (read by a model in migration mode).
    Plaintext,
}

/// A record's header, parsed, and its sealed message.
pub(crate) struct Envelope {
    pub(crate) header: Header,
    pub(crate) message: Vec<u8>,
}

impl StoredRecord {
    /// Parses `item` as a record of `schema`.
    pub(crate) fn parse(schema: &Schema, mut item: Item) -> StoredRecord {
        let plaintext = is_plaintext_record(&item);
        let owner_error = owner_of(schema, &item).err();
        let owner_valid = owner_error.is_none();
        let layout = layout(schema, &mut item, plaintext, owner_error).map_err(Box::new);
        StoredRecord {
            table: schema.table(),
            owner_attribute: schema.owner(),
            attributes: item,
            owner_valid,
            plaintext,
            layout,
        }
    }

    /// The id of the record's owner; `None` when the stored owner is missing, not of the owner's
    /// type or not a valid identity (such a record belongs to no user).
    pub(crate) fn owner(&self) -> Option<&str> {
        if !self.owner_valid {
            return None;
        }
        match self.attributes.get(self.owner_attribute)? {
            // Of the model's owner type, checked when parsed.
            AttributeValue::S(id) | AttributeValue::N(id) => Some(id),
            _ => None,
        }
    }

    /// The logical table of the model the record was parsed as.
    pub(crate) fn table(&self) -> &'static str {
        self.table
    }

    /// The attributes but the header and the message.
    pub(crate) fn attributes(&self) -> &Item {
        &self.attributes
    }

    /// Whether the record was stored before encryption (it holds no attribute of crypt-model's).
    pub(crate) fn is_plaintext(&self) -> bool {
        self.plaintext
    }

    /// The record's header, when it is a well-formed encrypted record.
    pub(crate) fn header(&self) -> Option<&Header> {
        match &self.layout {
            Ok(Layout::Encrypted(envelope)) => Some(&envelope.header),
            _ => None,
        }
    }

    /// What the record is made of, or what is wrong with it.
    pub(crate) fn layout(&self) -> Result<&Layout, &Error> {
        self.layout.as_ref().map_err(|error| &**error)
    }

    /// The item as it was read, the header and the message included: what a rewrite requires
    /// unchanged.
    pub(crate) fn snapshot(&self) -> Item {
        let mut item = self.attributes.clone();
        if let Ok(Layout::Encrypted(envelope)) = &self.layout {
            item.insert(
                HEADER_ATTRIBUTE,
                AttributeValue::B(envelope.header.bytes().to_vec()),
            );
            item.insert(
                SEALED_ATTRIBUTE,
                AttributeValue::B(envelope.message.clone()),
            );
        }
        item
    }

    /// The attributes and the layout, taken apart.
    pub(crate) fn into_parts(self) -> (Item, Result<Layout>) {
        (self.attributes, self.layout.map_err(|error| *error))
    }
}

/// The layout of a record of `schema`, checked in the order a reader meets the problems: the
/// schema, the keys, the owner, a sensitive field left in plain, the header, the message.
fn layout(
    schema: &Schema,
    item: &mut Item,
    plaintext: bool,
    owner_error: Option<Error>,
) -> Result<Layout> {
    schema.validated()?;
    check_keys(schema, item)?;
    if let Some(error) = owner_error {
        return Err(error);
    }
    if plaintext && schema.migrates_plaintext() {
        return Ok(Layout::Plaintext);
    }
    // A sensitive field also stored as a plain attribute (plaintext left behind, or planted)
    // fails closed.
    if let Some(name) = schema.sensitive().iter().find(|name| item.contains(name)) {
        return Err(Error::malformed(
            name,
            "a sensitive field is stored as a plain attribute; its value belongs in the sealed \
             message",
        ));
    }
    let header = match item.remove(HEADER_ATTRIBUTE) {
        Some(AttributeValue::B(bytes)) => Header::from_vec(bytes)?,
        Some(_) => return Err(header::not_binary()),
        None => return Err(header::missing()),
    };
    let message = match item.remove(SEALED_ATTRIBUTE) {
        Some(AttributeValue::B(bytes)) => bytes,
        // A header without its message: an attribute deleted or retyped, as far as anyone can
        // tell.
        _ => return Err(Error::integrity(SEALED_ATTRIBUTE)),
    };
    Ok(Layout::Encrypted(Envelope { header, message }))
}
