//! `uuid::Uuid` (feature `uuid`).

use std::borrow::Cow;

use uuid::Uuid;

use crate::attribute::convert::string_of;
use crate::attribute::{Attribute, AttributeValue, ConversionError, KeyType, SetMember};
use crate::model::OwnerId;
use crate::plaintext::std_types::{exact, overwrite};
use crate::plaintext::{Encoder, Indexable, Plaintext};

/// Hyphenated, lowercase (`S`): `67e55044-10b1-426f-9247-bb680e5fe0c8`. Reading also accepts the
/// simple, braced and URN forms.
impl Attribute for Uuid {
    const KEY_TYPE: Option<KeyType> = Some(KeyType::S);
    fn to_attribute(&self) -> Result<AttributeValue, ConversionError> {
        Ok(AttributeValue::S(self.hyphenated().to_string()))
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ConversionError> {
        Uuid::parse_str(&string_of(value)?).map_err(|_| ConversionError::expected("a UUID (S)"))
    }
}

/// A member of a string set (`SS`): `HashSet<Uuid>` and `BTreeSet<Uuid>` are plain attributes.
impl SetMember for Uuid {
    fn to_set<'a>(items: impl Iterator<Item = &'a Self>) -> AttributeValue {
        AttributeValue::Ss(items.map(|id| id.hyphenated().to_string()).collect())
    }
    fn from_set(value: AttributeValue) -> Result<Vec<Self>, ConversionError> {
        match value {
            AttributeValue::Ss(items) => items
                .iter()
                .map(|id| Uuid::parse_str(id).map_err(|_| ConversionError::expected("UUIDs")))
                .collect(),
            _ => Err(ConversionError::expected("a string set (SS) of UUIDs")),
        }
    }
}

/// An owner stored as `S`, whose id is the hyphenated lowercase text.
impl OwnerId for Uuid {
    fn owner_id(&self) -> Cow<'_, str> {
        Cow::Owned(self.hyphenated().to_string())
    }
}

/// Its 16 bytes.
impl Plaintext for Uuid {
    fn encode(&self, out: &mut Encoder) -> Result<(), ConversionError> {
        out.extend_from_slice(self.as_bytes());
        Ok(())
    }
    fn decode(bytes: &[u8]) -> Result<Self, ConversionError> {
        exact::<16>(bytes, "a UUID of 16 bytes").map(Uuid::from_bytes)
    }
    fn wipe(&mut self) {
        overwrite(self, Uuid::nil());
    }
}

/// One encoding per value: a blind index may be on it.
impl Indexable for Uuid {}
