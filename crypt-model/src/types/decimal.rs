//! `rust_decimal::Decimal` (feature `rust_decimal`).

use rust_decimal::Decimal;

use crate::attribute::convert::number_of;
use crate::attribute::{Attribute, AttributeValue, ConversionError, KeyType};
use crate::plaintext::std_types::{exact, overwrite};
use crate::plaintext::{Encoder, Plaintext};

/// A number (`N`), without trailing zeros (`1.50` is stored as `1.5`, as DynamoDB would return
/// it); the scale of the value written is not kept.
impl Attribute for Decimal {
    const KEY_TYPE: Option<KeyType> = Some(KeyType::N);
    fn to_attribute(&self) -> Result<AttributeValue, ConversionError> {
        Ok(AttributeValue::N(self.normalize().to_string()))
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ConversionError> {
        let text = number_of(value)?;
        // Exactly, or not at all: `from_str` would round digits past the 28th.
        Decimal::from_str_exact(&text)
            .or_else(|_| Decimal::from_scientific(&text))
            .map_err(|_| ConversionError::expected("a number that fits in a Decimal (N)"))
    }
}

/// Its 16-byte `serialize()` form (flags, then the 96-bit mantissa), scale kept.
impl Plaintext for Decimal {
    fn encode(&self, out: &mut Encoder) -> Result<(), ConversionError> {
        out.extend_from_slice(&self.serialize());
        Ok(())
    }
    fn decode(bytes: &[u8]) -> Result<Self, ConversionError> {
        let bytes = exact::<16>(bytes, "a decimal of 16 bytes")?;
        let value = Decimal::deserialize(bytes);
        // `deserialize` masks what it does not understand: only its own output is accepted.
        if value.serialize() != bytes {
            return Err(ConversionError::expected(
                "a decimal in its serialized form",
            ));
        }
        Ok(value)
    }
    fn wipe(&mut self) {
        overwrite(self, Decimal::ZERO);
    }
}
