//! A consumer of a table's DynamoDB stream, written as a Lambda function's handler: it takes the
//! typed event (`aws_lambda_events`' DynamoDB `Event`, as `lambda_runtime` hands it over), opens
//! each record's images with a read grant, and acts on inserts, modifications (old and new image
//! compared) and removals (the old image, else the deleted key). A record that fails — edited in
//! the table, from another record — is reported by its sequence number (a partial batch failure)
//! and the others are still processed.
//!
//! Run: `cargo run --example stream_consumer`. With no AWS, it seals a few records with a local
//! key, builds the event DynamoDB would deliver for them (one record edited on the way), and
//! hands it to the handler. In a Lambda function, with `lambda_runtime`:
//!
//! ```text
//! lambda_runtime::run(service_fn(|event: LambdaEvent<Event>| async {
//!     handle(&consumer, &event.payload).await
//! })).await
//! ```

use std::sync::Arc;

use crypt_model::access::Gate;
use crypt_model::{Caller, EncryptedItem, Error, Grant, Keys, LocalKeyring, Sensitive};
use crypt_model_dynamo::aws_lambda_events::event::dynamodb::Event;
use crypt_model_dynamo::{ChangeKind, StreamDecoder};
use serde_json::{Value, json};

/// The model the table holds.
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "profiles")]
struct Profile {
    #[partition_key]
    #[owner]
    user_id: String,
    #[sensitive]
    email: Sensitive<String>,
    plan: String,
}

/// What the function holds between invocations: the decoder of its table's stream, its grant,
/// and the keys (whose key cache then serves many records per KMS call).
struct Consumer {
    decoder: StreamDecoder<Profile>,
    gate: Gate<Profile>,
    service: Caller,
    keys: Arc<Keys>,
}

/// Handles one event: a line per action taken, and the sequence numbers of the records that
/// failed (a Lambda function returns them as `batchItemFailures`, each an `itemIdentifier`, and
/// the stream delivers them again; configure a retry limit and a destination for records that
/// always fail, such as one edited in the table).
async fn handle(consumer: &Consumer, event: &Event) -> Result<(Vec<String>, Vec<String>), Error> {
    let (mut actions, mut failed) = (Vec::new(), Vec::new());
    // One result per record, in the event's order.
    let changes = consumer.decoder.lambda(event)?;
    for (record, change) in event.records.iter().zip(changes) {
        match act(consumer, change).await {
            Ok(action) => actions.push(action),
            Err(error) => {
                // The error names the attribute and the table; never a value.
                let sequence = record.change.sequence_number.clone().unwrap_or_default();
                eprintln!("record {sequence} failed: {error}");
                failed.push(sequence);
            }
        }
    }
    Ok((actions, failed))
}

async fn act(
    consumer: &Consumer,
    change: Result<crypt_model_dynamo::StreamChange<Profile>, Error>,
) -> Result<String, Error> {
    let change = change?;
    let open = |sealed: crypt_model::Sealed<Profile>| {
        sealed.open_with(&consumer.service, &consumer.gate, &consumer.keys)
    };
    // Who the record belongs to comes from an opened image (verified); a removal without an old
    // image has only its key, as DynamoDB reported it.
    Ok(match (change.kind, change.new_image, change.old_image) {
        (ChangeKind::Insert, Some(new), _) => {
            let profile = open(new).await?;
            let domain = profile
                .email
                .expose_secret()
                .rsplit('@')
                .next()
                .unwrap_or("");
            let user = &profile.user_id;
            format!(
                "{user}: new profile on plan {}, mail domain {domain}",
                profile.plan
            )
        }
        (ChangeKind::Modify, Some(new), Some(old)) => {
            let (new, old) = (open(new).await?, open(old).await?);
            let email = if new.email.expose_secret() == old.email.expose_secret() {
                "unchanged"
            } else {
                "changed: confirm the new address"
            };
            let user = &new.user_id;
            format!("{user}: plan {} -> {}, email {email}", old.plan, new.plan)
        }
        (ChangeKind::Remove, _, Some(old)) => {
            let user = open(old).await?.user_id;
            format!("{user}: profile deleted, erase downstream copies")
        }
        (kind, _, _) => format!(
            "{:?}: {kind:?} without the images this consumer needs",
            change.key
        ),
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let keys = Arc::new(Keys::new(LocalKeyring::generate()?));
    let consumer = Consumer {
        decoder: StreamDecoder::new("prod-profiles")?,
        gate: Gate::new().with_grant(Grant::read("welcome-mailer")?),
        service: Caller::service("welcome-mailer")?,
        keys: keys.clone(),
    };
    let event = demo_event(&keys).await?;
    let (actions, failed) = handle(&consumer, &event).await?;
    for action in actions {
        println!("{action}");
    }
    println!("failed records: {failed:?}");
    Ok(())
}

/// The event DynamoDB would deliver for: alice's and bob's profiles inserted, alice's modified,
/// bob's removed, and a record whose image was edited in the table (carol's plan).
async fn demo_event(keys: &Keys) -> Result<Event, Box<dyn std::error::Error>> {
    let image = |user: &str, email: &str, plan: &str| {
        let profile = Profile {
            user_id: user.into(),
            email: Sensitive::new(email.into()),
            plan: plan.into(),
        };
        async move {
            let item = profile.to_item(keys).await?;
            Ok::<Value, Box<dyn std::error::Error>>(serde_json::from_str(&item.to_dynamodb_json())?)
        }
    };
    let alice = image("alice", "alice@example.com", "free").await?;
    let alice2 = image("alice", "alice@example.org", "pro").await?;
    let bob = image("bob", "bob@example.net", "free").await?;
    let mut carol = image("carol", "carol@example.com", "free").await?;
    carol["plan"] = json!({"S": "enterprise"});
    let record = |sequence: &str,
                  name: &str,
                  user: &str,
                  new: Option<&Value>,
                  old: Option<&Value>| {
        let mut change = json!({
            "Keys": {"user_id": {"S": user}}, "SequenceNumber": sequence, "SizeBytes": 512,
            "StreamViewType": "NEW_AND_OLD_IMAGES", "ApproximateCreationDateTime": 1_767_225_600.0,
        });
        if let Some(new) = new {
            change["NewImage"] = new.clone();
        }
        if let Some(old) = old {
            change["OldImage"] = old.clone();
        }
        json!({
            "eventID": "1", "eventName": name, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": "eu-west-1", "dynamodb": change,
            "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/prod-profiles/stream/2026-01-01T00:00:00.000",
        })
    };
    let event = json!({"Records": [
        record("100", "INSERT", "alice", Some(&alice), None),
        record("101", "INSERT", "bob", Some(&bob), None),
        record("102", "MODIFY", "alice", Some(&alice2), Some(&alice)),
        record("103", "REMOVE", "bob", None, Some(&bob)),
        record("104", "INSERT", "carol", Some(&carol), None),
    ]});
    Ok(serde_json::from_value(event)?)
}
