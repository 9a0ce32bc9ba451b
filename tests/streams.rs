//! DynamoDB Streams: records read from moto's stream with the SDK, and the JSON a Lambda
//! receives, decode into sealed records that only the owner opens.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod moto;

use crypt_model::error::{AccessError, DataError, StorageError};
use std::sync::Arc;

use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use crypt_model::access::Gate;
use crypt_model::{
    Caller, EncryptedItem, Error, Grant, Key, Keys, LocalKeyring, Sensitive, Table, TableRef,
};
use crypt_model_dynamo::{ChangeKind, DynamoStore, ProvisionOptions, StreamDecoder, provision};
use crypt_model_tests::SSN;

#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "stream_profiles")]
struct Profile {
    #[partition_key]
    #[owner]
    user_id: String,
    #[sensitive]
    ssn: Sensitive<String>,
    plan: String,
}

#[tokio::test]
async fn insert_modify_and_remove_records_decode_and_open_as_the_owner() {
    let client = moto::dynamo();
    let table = TableRef::for_schema(&moto::unique("streamed"), &Profile::SCHEMA).unwrap();
    provision(&client, &table, ProvisionOptions { stream: true })
        .await
        .unwrap();
    let keys = Arc::new(Keys::new(LocalKeyring::generate().unwrap()));
    let profiles =
        Table::<Profile, _>::named(DynamoStore::new(client.clone()), keys.clone(), table.name())
            .unwrap();
    let alice = Caller::user("alice").unwrap();
    let mut profile = Profile {
        user_id: "alice".into(),
        ssn: Sensitive::new(SSN.into()),
        plan: "free".into(),
    };
    profiles.put(&alice, &mut profile).await.unwrap();
    profile.plan = "pro".into();
    profiles.put(&alice, &mut profile).await.unwrap();
    assert!(profiles.delete(&alice, &Key::new("alice")).await.unwrap());

    let described = client
        .describe_table()
        .table_name(table.name())
        .send()
        .await
        .unwrap();
    let stream_arn = described
        .table
        .unwrap()
        .latest_stream_arn
        .expect("the table has a stream");
    let streams = moto::streams();
    let shards = streams
        .describe_stream()
        .stream_arn(&stream_arn)
        .send()
        .await
        .unwrap();
    let shard = shards.stream_description.unwrap().shards.unwrap().remove(0);
    let iterator = streams
        .get_shard_iterator()
        .stream_arn(&stream_arn)
        .shard_id(shard.shard_id.unwrap())
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap()
        .shard_iterator
        .unwrap();
    let records = streams
        .get_records()
        .shard_iterator(iterator)
        .send()
        .await
        .unwrap()
        .records
        .unwrap();
    assert_eq!(records.len(), 3);

    let decoder = StreamDecoder::<Profile>::new(table.name()).unwrap();
    let mut kinds = Vec::new();
    for record in &records {
        let change = decoder.sdk_record(&stream_arn, record).unwrap();
        kinds.push(change.kind);
        // Every change names its key, a removal too; the old image is the record before.
        assert_eq!(change.key, Key::new("alice"));
        let before = match change.old_image {
            Some(old) => Some(old.open(&alice, &keys).await.unwrap().plan),
            None => None,
        };
        let expected = match change.kind {
            ChangeKind::Insert => None,
            ChangeKind::Modify => Some("free".to_owned()),
            ChangeKind::Remove => Some("pro".to_owned()),
        };
        assert_eq!(before, expected, "the old image of {:?}", change.kind);
        match change.new_image {
            Some(sealed) => {
                let refused = StreamDecoder::<Profile>::new(table.name())
                    .unwrap()
                    .sdk_record(&stream_arn, record)
                    .unwrap();
                let error = refused
                    .new_image
                    .unwrap()
                    .open(&Caller::user("mallory").unwrap(), &keys)
                    .await
                    .unwrap_err();
                assert!(matches!(error, Error::Access(AccessError::Denied { .. })));
                let opened = sealed.open(&alice, &keys).await.unwrap();
                assert_eq!(opened.ssn.expose_secret(), SSN);
            }
            None => assert_eq!(change.kind, ChangeKind::Remove),
        }
    }
    assert_eq!(
        kinds,
        [ChangeKind::Insert, ChangeKind::Modify, ChangeKind::Remove]
    );

    // A record read from another table's stream is refused.
    let other = StreamDecoder::<Profile>::new("some-other-table").unwrap();
    let error = other.sdk_record(&stream_arn, &records[0]).unwrap_err();
    assert!(
        matches!(error, Error::Storage(StorageError::InvalidRequest { .. })),
        "{error:?}"
    );
}

fn lambda_event(table: &str, event_name: &str, image: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "Records": [{
            "eventID": "1",
            "eventName": event_name,
            "eventSource": "aws:dynamodb",
            "eventSourceARN": format!("arn:aws:dynamodb:us-east-1:123456789012:table/{table}/stream/2026-11-27T00:00:00.000"),
            "dynamodb": {
                "Keys": { "user_id": { "S": "alice" } },
                "NewImage": image,
                "StreamViewType": "NEW_AND_OLD_IMAGES"
            }
        }]
    })
}

#[tokio::test]
async fn lambda_events_decode_and_bad_records_are_typed_errors() {
    let keys = Keys::new(LocalKeyring::generate().unwrap());
    let item = Profile {
        user_id: "alice".into(),
        ssn: Sensitive::new(SSN.into()),
        plan: "free".into(),
    }
    .to_item(&keys)
    .await
    .unwrap();
    let image: serde_json::Value = serde_json::from_str(&item.to_dynamodb_json()).unwrap();
    let decoder = StreamDecoder::<Profile>::new("profiles-prod").unwrap();

    let event = lambda_event("profiles-prod", "INSERT", image.clone());
    let mut changes = decoder.lambda_event(&event).unwrap();
    let change = changes.remove(0).unwrap();
    assert_eq!(change.kind, ChangeKind::Insert);
    let opened = change
        .new_image
        .unwrap()
        .open(&Caller::user("alice").unwrap(), &keys)
        .await
        .unwrap();
    assert_eq!(opened.ssn.expose_secret(), SSN);

    // A consumer service opens records with a read grant, and only with one.
    let gate = Gate::<Profile>::new().with_grant(Grant::read("indexer").unwrap());
    let indexer = Caller::service("indexer").unwrap();
    let sealed = || {
        decoder
            .lambda_record(&lambda_event("profiles-prod", "MODIFY", image.clone())["Records"][0])
            .unwrap()
            .new_image
            .unwrap()
    };
    let opened = sealed().open_with(&indexer, &gate, &keys).await.unwrap();
    assert_eq!(opened.ssn.expose_secret(), SSN);
    for refused in [
        sealed().open(&indexer, &keys).await,
        sealed()
            .open_with(&Caller::service("other").unwrap(), &gate, &keys)
            .await,
    ] {
        // Without the gate (no grant) or under a grant to another service: the indexer's and
        // the other service's refusals name the missing grant.
        assert!(matches!(
            refused,
            Err(Error::Access(
                AccessError::Denied { .. } | AccessError::NoGrant { .. }
            ))
        ));
    }

    let removed = decoder
        .lambda_event(&lambda_event(
            "profiles-prod",
            "REMOVE",
            serde_json::json!({}),
        ))
        .unwrap();
    let removed = removed[0].as_ref().unwrap();
    assert!(removed.new_image.is_none());
    assert_eq!(
        removed.key,
        Key::new("alice"),
        "a removal names what was deleted"
    );

    // Keys of one item with the image of another: refused, whatever the image holds.
    let mut swapped = lambda_event("profiles-prod", "MODIFY", image.clone());
    swapped["Records"][0]["dynamodb"]["Keys"] = serde_json::json!({ "user_id": { "S": "bob" } });
    let refused = decoder.lambda_event(&swapped).unwrap();
    assert!(
        matches!(
            &refused[0],
            Err(Error::Storage(StorageError::InvalidRequest { .. }))
        ),
        "{:?}",
        refused[0]
    );

    let elsewhere = decoder
        .lambda_event(&lambda_event("profiles-staging", "MODIFY", image.clone()))
        .unwrap();
    assert!(matches!(
        &elsewhere[0],
        Err(Error::Storage(StorageError::InvalidRequest { .. }))
    ));

    let mut malformed = image;
    malformed["ssn"] = serde_json::json!({ "B": "not base64!" });
    let bad = decoder
        .lambda_event(&lambda_event("profiles-prod", "MODIFY", malformed))
        .unwrap();
    match &bad[0] {
        Err(error @ Error::Data(DataError::Malformed { attribute, .. })) => {
            assert_eq!(attribute, "ssn");
            assert!(!error.to_string().contains("not base64"));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        decoder
            .lambda_event(&serde_json::json!({ "nothing": [] }))
            .is_err()
    );
}

/// The typed event a Lambda function receives (`aws_lambda_events`) writes an image it did not
/// carry as `{}`: decoded, that is no image (not an empty one that fails to open), a removal
/// names its key, and a key of the wrong type is refused.
#[tokio::test]
async fn the_typed_lambda_event_decodes_like_its_json() {
    use crypt_model_dynamo::aws_lambda_events::event::dynamodb::Event;
    let keys = Keys::new(LocalKeyring::generate().unwrap());
    let profile = Profile {
        user_id: "alice".into(),
        ssn: Sensitive::new(SSN.into()),
        plan: "free".into(),
    };
    let item = profile.to_item(&keys).await.unwrap();
    let image: serde_json::Value = serde_json::from_str(&item.to_dynamodb_json()).unwrap();
    let record = |name: &str, keys: serde_json::Value, new: Option<&serde_json::Value>| {
        let mut change = serde_json::json!({
            "Keys": keys, "SequenceNumber": "1", "SizeBytes": 100,
            "StreamViewType": "NEW_AND_OLD_IMAGES", "ApproximateCreationDateTime": 1.7e9,
        });
        if let Some(new) = new {
            change["NewImage"] = new.clone();
        }
        serde_json::json!({
            "eventID": "1", "eventName": name, "eventVersion": "1.1",
            "eventSource": "aws:dynamodb", "awsRegion": "us-east-1", "dynamodb": change,
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/profiles-prod/stream/x",
        })
    };
    let alice = serde_json::json!({ "user_id": { "S": "alice" } });
    let event: Event = serde_json::from_value(serde_json::json!({ "Records": [
        record("INSERT", alice.clone(), Some(&image)),
        record("REMOVE", alice, None),
        record("REMOVE", serde_json::json!({ "user_id": { "N": "7" } }), None),
    ]}))
    .unwrap();
    let decoder = StreamDecoder::<Profile>::new("profiles-prod").unwrap();
    let mut changes = decoder.lambda(&event).unwrap().into_iter();

    let insert = changes.next().unwrap().unwrap();
    assert!(
        insert.old_image.is_none(),
        "an absent old image decoded as an empty one"
    );
    let opened = insert
        .new_image
        .unwrap()
        .open(&Caller::user("alice").unwrap(), &keys)
        .await;
    assert_eq!(opened.unwrap().ssn.expose_secret(), SSN);
    let remove = changes.next().unwrap().unwrap();
    assert_eq!(remove.kind, ChangeKind::Remove);
    assert_eq!(remove.key, Key::new("alice"));
    assert!(remove.new_image.is_none() && remove.old_image.is_none());
    let typed = changes.next().unwrap().unwrap_err();
    assert!(
        matches!(typed, Error::Storage(StorageError::InvalidRequest { .. })),
        "{typed:?}"
    );
}
