//! DynamoDB JSON — the format of the AWS CLI, the console, table exports and Lambda stream
//! events — written and read in one place, through `serde_dynamo`'s serde implementation of it.

use std::collections::BTreeMap;

use crate::attribute::{Item, from_serde_dynamo, to_serde_dynamo};
use crate::error::{Error, Result};

/// What a malformed attribute is told: the expected shape, never the text found.
const EXPECTED: &str = "not a DynamoDB JSON attribute value (`{\"S\": …}`, `{\"N\": …}`, \
                        `{\"B\": base64}`, `{\"M\": {…}}`, …)";

impl Item {
    /// The item in DynamoDB's JSON format, as the AWS CLI and console show it (binary values in
    /// base64): one attribute per line, attributes and map entries in name order.
    ///
    /// ```
    /// use crypt_model::{AttributeValue, Item};
    ///
    /// let item = Item::from_iter([("id", AttributeValue::S("a\"b".into())), ("n", AttributeValue::N("7".into()))]);
    /// let json = item.to_dynamodb_json();
    /// assert_eq!(json, "{\n  \"id\": {\"S\":\"a\\\"b\"},\n  \"n\": {\"N\":\"7\"}\n}");
    /// assert_eq!(Item::from_dynamodb_json(&json)?, item);
    /// # Ok::<(), crypt_model::Error>(())
    /// ```
    pub fn to_dynamodb_json(&self) -> String {
        let lines: Vec<String> = self
            .iter()
            .map(|(name, value)| {
                // Through `serde_json::Value`, whose maps are sorted, so that nested maps (hash
                // maps in serde_dynamo) print in a stable order.
                let value = serde_json::to_value(to_serde_dynamo(value.clone()))
                    .unwrap_or_else(|_| unreachable!("DynamoDB JSON has string keys only"));
                format!("  {}: {value}", serde_json::Value::from(name))
            })
            .collect();
        if lines.is_empty() {
            "{}".to_owned()
        } else {
            format!("{{\n{}\n}}", lines.join(",\n"))
        }
    }

    /// Reads an item written in DynamoDB's JSON format (an object of attributes, each
    /// `{"S": "…"}`, `{"N": "…"}`, `{"B": "base64"}`, …), as the AWS CLI, table exports and
    /// Lambda stream events carry it.
    ///
    /// Errors: [`DataError::Malformed`](crate::error::DataError::Malformed) naming the attribute that is not DynamoDB JSON (the
    /// attribute `(item)` when the text is not a JSON object); the message never quotes the text.
    pub fn from_dynamodb_json(json: &str) -> Result<Item> {
        let attributes: BTreeMap<String, serde_json::Value> =
            serde_json::from_str(json).map_err(|_| {
                Error::malformed("(item)", "not a JSON object of DynamoDB JSON attributes")
            })?;
        attributes
            .into_iter()
            .map(|(name, value)| {
                let value = serde::Deserialize::deserialize(value)
                    .map_err(|_| Error::malformed(&name, EXPECTED))?;
                Ok((name, from_serde_dynamo(value)))
            })
            .collect()
    }
}
