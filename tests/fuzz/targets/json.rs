//! DynamoDB JSON, as an export, a stream record or a test fixture holds items: arbitrary text,
//! random JSON, and a valid item's text with bytes flipped, cut or spliced. What parses writes
//! back to the same item.

use crypt_model::Item;
use proptest::prelude::*;
use serde_json::Value;

use super::{apply, bounded, byte_edits, fixture, fuzz, no_plaintext};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        ".{0,16}".prop_map(Value::String),
        prop_oneof![
            Just("S"),
            Just("N"),
            Just("B"),
            Just("M"),
            Just("L"),
            Just("SS"),
            Just("NULL")
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("S".to_owned()),
                    Just("N".to_owned()),
                    Just("B".to_owned()),
                    Just("M".to_owned()),
                    Just("L".to_owned()),
                    ".{0,6}".prop_map(|s| s)
                ],
                inner,
                0..4,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn check(input: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(input);
    let bound = 1024 * 1024 + 16 * input.len();
    match bounded(bound, || Item::from_dynamodb_json(&text))? {
        Err(error) => no_plaintext(&error, &error.to_string()),
        Ok(item) => {
            let again = Item::from_dynamodb_json(&item.to_dynamodb_json())
                .map_err(|e| format!("an item's own JSON does not parse: {e}"))?;
            if again == item {
                Ok(())
            } else {
                Err("an item's own JSON parses to another item".to_owned())
            }
        }
    }
}

pub(crate) fn run() {
    let valid = fixture().sealed.to_dynamodb_json().into_bytes();
    let strategy = prop_oneof![
        ".{0,64}".prop_map(String::into_bytes),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        byte_edits().prop_map(move |edits| apply(&valid, &edits)),
    ];
    fuzz("dynamodb_json", strategy, Clone::clone, check);
}
