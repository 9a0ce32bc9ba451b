use std::borrow::Cow;

use crypt_model::attribute::{Attribute, ConversionError};
use crypt_model::{AttributeValue, EncryptedItem, OwnerId};

/// A newtype owner whose `Attribute` impl does not say how it is stored.
struct CustomerNo(u64);

impl Attribute for CustomerNo {
    fn to_attribute(&self) -> Result<AttributeValue, ConversionError> {
        self.0.to_attribute()
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ConversionError> {
        u64::from_attribute(value).map(CustomerNo)
    }
}

impl OwnerId for CustomerNo {
    fn owner_id(&self) -> Cow<'_, str> {
        self.0.owner_id()
    }
}

#[derive(EncryptedItem)]
#[crypt_model(table = "invoices")]
struct Invoice {
    #[partition_key]
    invoice: String,
    #[owner]
    customer: CustomerNo,
}

fn main() {}
