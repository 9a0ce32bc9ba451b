//! `serde_json::Value` (always: crypt-model depends on serde_json).

use serde_json::{Number, Value};

use crate::attribute::SerdeAttribute;
use crate::plaintext::std_types::overwrite;
use crate::plaintext::{ConversionError, Encoder, Plaintext, decode_cbor, encode_cbor};

/// Native DynamoDB values, as `serde_dynamo` lays them out: an object is a map (`M`), an array a
/// list (`L`), a string `S`, a number `N`, a boolean `BOOL`, null `NULL`.
impl SerdeAttribute for Value {}

/// CBOR, as a `SerdePlaintext` type is encoded.
impl Plaintext for Value {
    fn encode(&self, out: &mut Encoder) -> Result<(), ConversionError> {
        encode_cbor(self, out)
    }
    fn decode(bytes: &[u8]) -> Result<Self, ConversionError> {
        decode_cbor(bytes)
    }
    /// Wipes every string (keys included) and overwrites every number and boolean, in place,
    /// depth first. (With serde_json's `arbitrary_precision` feature a number is text that this
    /// does not reach.)
    fn wipe(&mut self) {
        match self {
            Value::String(text) => text.wipe(),
            Value::Array(items) => items.iter_mut().for_each(Plaintext::wipe),
            Value::Object(entries) => {
                entries.values_mut().for_each(Plaintext::wipe);
                for (mut key, _) in std::mem::take(entries) {
                    key.wipe();
                }
            }
            Value::Number(number) => overwrite(number, Number::from(0u8)),
            Value::Bool(flag) => overwrite(flag, false),
            Value::Null => {}
        }
    }
}
