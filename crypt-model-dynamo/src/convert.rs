//! Conversions between crypt-model's `AttributeValue` and the SDK's.
//!
//! Written here rather than taken from serde_dynamo's `aws-sdk-dynamodb+1` feature: its
//! conversion from the SDK's type panics on a variant it does not know (the SDK's enums are
//! non-exhaustive), and a value from the network must give an error, never a panic.

use crypt_model::error::DataError;
use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue as Sdk;
use crypt_model::{AttributeValue, Error, Item, Result};

/// An attribute value as the SDK sends it.
pub fn to_sdk(value: &AttributeValue) -> Sdk {
    match value {
        AttributeValue::S(s) => Sdk::S(s.clone()),
        AttributeValue::N(n) => Sdk::N(n.clone()),
        AttributeValue::B(b) => Sdk::B(Blob::new(b.clone())),
        AttributeValue::Bool(b) => Sdk::Bool(*b),
        AttributeValue::Null => Sdk::Null(true),
        AttributeValue::L(items) => Sdk::L(items.iter().map(to_sdk).collect()),
        AttributeValue::M(entries) => Sdk::M(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), to_sdk(v)))
                .collect(),
        ),
        AttributeValue::Ss(v) => Sdk::Ss(v.clone()),
        AttributeValue::Ns(v) => Sdk::Ns(v.clone()),
        AttributeValue::Bs(v) => Sdk::Bs(v.iter().map(|b| Blob::new(b.clone())).collect()),
    }
}

/// An attribute value the SDK received. `attribute` names it in the error for a type this
/// version does not know.
pub fn from_sdk(attribute: &str, value: Sdk) -> Result<AttributeValue> {
    Ok(match value {
        Sdk::S(s) => AttributeValue::S(s),
        Sdk::N(n) => AttributeValue::N(n),
        Sdk::B(b) => AttributeValue::B(b.into_inner()),
        Sdk::Bool(b) => AttributeValue::Bool(b),
        Sdk::Null(_) => AttributeValue::Null,
        Sdk::L(items) => AttributeValue::L(
            items
                .into_iter()
                .map(|v| from_sdk(attribute, v))
                .collect::<Result<_>>()?,
        ),
        Sdk::M(entries) => AttributeValue::M(
            entries
                .into_iter()
                .map(|(k, v)| Ok((k, from_sdk(attribute, v)?)))
                .collect::<Result<_>>()?,
        ),
        Sdk::Ss(v) => AttributeValue::Ss(v),
        Sdk::Ns(v) => AttributeValue::Ns(v),
        Sdk::Bs(v) => AttributeValue::Bs(v.into_iter().map(Blob::into_inner).collect()),
        _ => {
            return Err(Error::Data(DataError::Malformed {
                attribute: attribute.to_owned(),
                reason: "DynamoDB returned an attribute type this version does not know".to_owned(),
            }));
        }
    })
}

/// An item as the SDK sends it.
pub fn item_to_sdk(item: &Item) -> HashMap<String, Sdk> {
    item.iter()
        .map(|(name, value)| (name.to_owned(), to_sdk(value)))
        .collect()
}

/// An item the SDK received.
pub fn item_from_sdk(item: HashMap<String, Sdk>) -> Result<Item> {
    item.into_iter()
        .map(|(name, value)| {
            let value = from_sdk(&name, value)?;
            Ok((name, value))
        })
        .collect()
}
