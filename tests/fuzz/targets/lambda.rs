//! The JSON a Lambda receives from a DynamoDB stream: a valid event holding the sealed record,
//! edited — a field replaced by any JSON, bytes of the text flipped, cut or spliced — decoded and
//! opened by the owner. Each record fails, or opens to what was sealed.

use crypt_model::EncryptedItem;
use crypt_model_dynamo::StreamDecoder;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::{Record, apply, bounded, byte_edits, fixture, fuzz, no_plaintext, opens_as_sealed};

const SOURCE: &str =
    "arn:aws:dynamodb:us-east-1:123456789012:table/fuzz_records/stream/2026-11-28T00:00:00.000";

fn event() -> Value {
    let image: Value = serde_json::from_str(&fixture().sealed.to_dynamodb_json()).unwrap();
    json!({"Records": [
        {"eventName": "INSERT", "eventSourceARN": SOURCE,
         "dynamodb": {"Keys": {"user_id": {"S": "alice"}, "n": {"N": "7"}}, "NewImage": image}},
        {"eventName": "REMOVE", "eventSourceARN": SOURCE,
         "dynamodb": {"Keys": {"user_id": {"S": "alice"}, "n": {"N": "7"}}}},
    ]})
}

/// A JSON pointer into the event, and what to put there.
fn replacement() -> impl Strategy<Value = (usize, Value)> {
    let value = prop_oneof![
        Just(Value::Null),
        ".{0,12}".prop_map(Value::String),
        any::<i64>().prop_map(|n| json!(n)),
        Just(json!({})),
        Just(json!([])),
        Just(json!({"S": "x"})),
        Just(json!({"B": "AAAA"})),
    ];
    (any::<usize>(), value)
}

/// Every path to a value in `value`.
fn paths(value: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                paths(
                    v,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                paths(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn check(input: &[u8]) -> Result<(), String> {
    let bound = 1024 * 1024 + 16 * input.len();
    let Ok(event) = serde_json::from_slice::<Value>(input) else {
        return Ok(());
    };
    let decoder = StreamDecoder::<Record>::new("fuzz_records").unwrap();
    let records = match bounded(bound, || decoder.lambda_event(&event))? {
        Ok(records) => records,
        Err(error) => return no_plaintext(&error, &error.to_string()),
    };
    for record in records {
        let change = match record {
            Ok(change) => change,
            Err(error) => {
                no_plaintext(&error, &error.to_string())?;
                continue;
            }
        };
        let Some(sealed) = change.new_image else {
            continue;
        };
        opens_as_sealed(sealed, bound)?;
    }
    Ok(())
}

pub(crate) fn run() {
    let event = event();
    let text = event.to_string().into_bytes();
    let mut all = Vec::new();
    paths(&event, String::new(), &mut all);
    let strategy = prop_oneof![
        prop::collection::vec(replacement(), 1..3).prop_map(move |edits| {
            let mut edited = event.clone();
            for (i, value) in edits {
                if let Some(slot) = edited.pointer_mut(&all[i % all.len()]) {
                    *slot = value;
                }
            }
            edited.to_string().into_bytes()
        }),
        byte_edits().prop_map(move |edits| apply(&text, &edits)),
    ];
    let _ = Record::SCHEMA;
    fuzz("lambda_event", strategy, Clone::clone, check);
}
