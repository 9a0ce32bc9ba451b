//! Stream records as the SDK hands them (`GetRecords` of `aws-sdk-dynamodbstreams`, decoded by
//! `StreamDecoder::sdk_record`, then opened by the owner): the record holding the sealed item,
//! its event name, source ARN and image edited — an attribute replaced by a value of any type
//! (nested deeper than DynamoDB allows, sets of malformed numbers, empty sets, large binaries),
//! removed, or added. Each record fails, or opens to what was sealed.
//!
//! The SDK's values are typed, so an input is their test-only JSON form (`{"S": "…"}`,
//! `{"B": [bytes]}`, `{"B_LONG": n}` for n bytes, `{"NS": […]}`, …) turned into the SDK's types by [`sdk_record`]; a corpus
//! file holds that form. (The SDK's `Unknown` variant cannot be built outside the SDK, so the
//! decoder's answer to an attribute type it does not know is not reached here.)

use std::collections::HashMap;

use aws_sdk_dynamodbstreams::primitives::Blob;
use aws_sdk_dynamodbstreams::types::{
    AttributeValue as Sdk, OperationType, Record as SdkRecord, StreamRecord,
};
use crypt_model::AttributeValue;
use crypt_model_dynamo::StreamDecoder;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::{Record, SECRET, bounded, fixture, fuzz, no_plaintext, opens_as_sealed};

const SOURCE: &str =
    "arn:aws:dynamodb:us-east-1:123456789012:table/fuzz_records/stream/2026-11-28T00:00:00.000";

/// The test-only JSON form of a stored value.
fn to_json(value: &AttributeValue) -> Value {
    let bytes = |b: &[u8]| Value::from(b.to_vec());
    match value {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::B(b) => json!({ "B": bytes(b) }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null => json!({ "NULL": true }),
        AttributeValue::Ss(v) => json!({ "SS": v }),
        AttributeValue::Ns(v) => json!({ "NS": v }),
        AttributeValue::Bs(v) => json!({ "BS": v.iter().map(|b| bytes(b)).collect::<Vec<_>>() }),
        AttributeValue::L(v) => json!({ "L": v.iter().map(to_json).collect::<Vec<_>>() }),
        AttributeValue::M(m) => {
            let map: Map<String, Value> = m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect();
            json!({ "M": map })
        }
    }
}

/// The SDK value of the JSON form; `None` for what has no SDK form.
fn from_json(value: &Value) -> Option<Sdk> {
    let (tag, inner) = value.as_object()?.iter().next()?;
    let bytes = |v: &Value| -> Option<Blob> {
        let bytes: Option<Vec<u8>> = v
            .as_array()?
            .iter()
            .map(|b| b.as_u64().map(|b| b as u8))
            .collect();
        Some(Blob::new(bytes?))
    };
    let strings = |v: &Value| -> Option<Vec<String>> {
        v.as_array()?
            .iter()
            .map(|s| s.as_str().map(str::to_owned))
            .collect()
    };
    Some(match tag.as_str() {
        "S" => Sdk::S(inner.as_str()?.to_owned()),
        "N" => Sdk::N(inner.as_str()?.to_owned()),
        "B" => Sdk::B(bytes(inner)?),
        // A long binary, written short.
        "B_LONG" => Sdk::B(Blob::new(vec![7; usize::try_from(inner.as_u64()?).ok()?])),
        "BOOL" => Sdk::Bool(inner.as_bool()?),
        "NULL" => Sdk::Null(inner.as_bool()?),
        "SS" => Sdk::Ss(strings(inner)?),
        "NS" => Sdk::Ns(strings(inner)?),
        "BS" => Sdk::Bs(inner.as_array()?.iter().map(bytes).collect::<Option<_>>()?),
        "L" => Sdk::L(
            inner
                .as_array()?
                .iter()
                .map(from_json)
                .collect::<Option<_>>()?,
        ),
        "M" => Sdk::M(image(inner)?),
        _ => return None,
    })
}

fn image(value: &Value) -> Option<HashMap<String, Sdk>> {
    value
        .as_object()?
        .iter()
        .map(|(k, v)| Some((k.clone(), from_json(v)?)))
        .collect()
}

/// The SDK record of an input: `{"event": NAME, "arn": ARN, "new": {NAME: VALUE, …}}`.
fn sdk_record(input: &Value) -> Option<(String, SdkRecord)> {
    let arn = input.get("arn")?.as_str()?.to_owned();
    let mut stream = StreamRecord::builder();
    if let Some(new) = input.get("new") {
        stream = stream.set_new_image(Some(image(new)?));
    }
    let record = SdkRecord::builder()
        .set_event_name(
            input
                .get("event")
                .and_then(Value::as_str)
                .map(OperationType::from),
        )
        .dynamodb(stream.build())
        .build();
    Some((arn, record))
}

fn valid() -> Value {
    let new: Map<String, Value> = fixture()
        .sealed
        .iter()
        .map(|(k, v)| (k.to_owned(), to_json(v)))
        .collect();
    json!({ "event": "INSERT", "arn": SOURCE, "new": new })
}

/// A value of any type in the JSON form, up to 40 levels deep (DynamoDB stops at 32).
fn any_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        4 => ".{0,24}".prop_map(|s| json!({ "S": s })),
        4 => "[-+0-9.eE]{0,24}".prop_map(|n| json!({ "N": n })),
        4 => prop::collection::vec(any::<u8>(), 0..64).prop_map(|b| json!({ "B": b })),
        1 => (0u64..300_000).prop_map(|n| json!({ "B_LONG": n })),
        2 => any::<bool>().prop_map(|b| json!({ "BOOL": b })),
        2 => any::<bool>().prop_map(|b| json!({ "NULL": b })),
        2 => prop::collection::vec(".{0,8}", 0..4).prop_map(|v| json!({ "SS": v })),
        2 => prop::collection::vec("[-+0-9.eE]{0,12}", 0..4).prop_map(|v| json!({ "NS": v })),
        2 => prop::collection::vec(prop::collection::vec(any::<u8>(), 0..8), 0..4)
            .prop_map(|v| json!({ "BS": v })),
    ];
    let nested = leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| json!({ "L": v })),
            prop::collection::btree_map(".{0,8}", inner, 0..4).prop_map(|m| json!({ "M": m })),
        ]
    });
    prop_oneof![
        8 => nested,
        1 => (1usize..40).prop_map(|depth| {
            (0..depth).fold(json!({ "S": "deep" }), |v, _| json!({ "L": [v] }))
        }),
    ]
}

/// An edit of the valid record.
#[derive(Clone, Debug)]
enum Edit {
    Replace(usize, Value),
    Remove(usize),
    Add(String, Value),
    Event(String),
    Arn(String),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<usize>(), any_value()).prop_map(|(i, v)| Edit::Replace(i, v)),
        2 => any::<usize>().prop_map(Edit::Remove),
        1 => ("[a-z_]{1,8}|__cm[a-z_]{0,8}", any_value()).prop_map(|(k, v)| Edit::Add(k, v)),
        1 => prop_oneof![
            Just("INSERT".to_owned()),
            Just("MODIFY".to_owned()),
            Just("REMOVE".to_owned()),
            ".{0,8}"
        ]
        .prop_map(Edit::Event),
        1 => prop_oneof![
            Just(SOURCE.replace("fuzz_records", "other_table")),
            Just(SOURCE.replace("fuzz_records", "fuzz_records_2")),
            Just("arn:aws:dynamodb:us-east-1:1:table/".to_owned()),
            ".{0,40}"
        ]
        .prop_map(Edit::Arn),
    ]
}

fn apply(edits: &[Edit]) -> Value {
    let mut record = valid();
    for edit in edits {
        let new = record["new"].as_object_mut().unwrap();
        let names: Vec<String> = new.keys().cloned().collect();
        let nth = |i: &usize| names.get(i % names.len().max(1)).cloned();
        match edit {
            Edit::Replace(i, value) => {
                if let Some(name) = nth(i) {
                    new.insert(name, value.clone());
                }
            }
            Edit::Remove(i) => {
                if let Some(name) = nth(i) {
                    new.remove(&name);
                }
            }
            Edit::Add(name, value) => {
                new.insert(name.clone(), value.clone());
            }
            Edit::Event(name) => record["event"] = json!(name),
            Edit::Arn(arn) => record["arn"] = json!(arn),
        }
    }
    record
}

fn check(input: &[u8]) -> Result<(), String> {
    let bound = 1024 * 1024 + 16 * input.len();
    let Some((arn, record)) = serde_json::from_slice::<Value>(input)
        .ok()
        .and_then(|v| sdk_record(&v))
    else {
        return Ok(());
    };
    let decoder = StreamDecoder::<Record>::new("fuzz_records").unwrap();
    let change = match bounded(bound, || decoder.sdk_record(&arn, &record))? {
        Ok(change) => change,
        Err(error) => return no_plaintext(&error, &error.to_string()),
    };
    let Some(sealed) = change.new_image else {
        return Ok(());
    };
    opens_as_sealed(sealed, bound).map(|_| ())
}

pub(crate) fn run() {
    // The valid record opens to what was sealed: the conversions above are faithful.
    let fixture = fixture();
    let (arn, record) = sdk_record(&valid()).unwrap();
    let decoder = StreamDecoder::<Record>::new("fuzz_records").unwrap();
    let sealed = decoder
        .sdk_record(&arn, &record)
        .unwrap()
        .new_image
        .unwrap();
    let opened = fixture
        .runtime
        .block_on(sealed.open(&fixture.owner, &fixture.keys))
        .unwrap();
    assert_eq!(opened.secret.expose_secret(), SECRET);
    let strategy = prop::collection::vec(edit(), 1..4);
    fuzz(
        "sdk_stream_record",
        strategy,
        |edits| apply(edits).to_string().into_bytes(),
        check,
    );
}
