//! The quickstart against DynamoDB and AWS KMS, on a local server that speaks their protocols
//! (moto; `scripts/test` shows how it is started).
//!
//! Run: `cargo run --example dynamo_quickstart -- http://127.0.0.1:5000`
//!
//! It creates a KMS key and a table named `quickstart-profiles` (idempotent), stores a profile,
//! prints the item as DynamoDB returns it, reads it back as its owner and as another user, and
//! prints the number of KMS calls made. Static test credentials are used: point it only at a
//! local server.

use std::sync::Arc;

use crypt_model::{Caller, EncryptedItem, Keys, Sensitive, Table, TableRef};
use crypt_model_dynamo::{
    DynamoStore, KmsKeyring, ProvisionOptions, aws_sdk_dynamodb, aws_sdk_kms, item_from_sdk,
    provision,
};

/// A user's profile; the SSN is encrypted under a data key that KMS wraps.
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "profiles")]
struct Profile {
    #[partition_key]
    #[owner]
    user_id: String,
    #[sensitive]
    ssn: Sensitive<String>,
    display_name: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(endpoint) = std::env::args().nth(1) else {
        eprintln!(
            "usage: cargo run --example dynamo_quickstart -- <endpoint>, e.g. http://127.0.0.1:5000"
        );
        std::process::exit(2);
    };
    let (dynamo, kms) = clients(&endpoint).await;

    let key = kms
        .create_key()
        .send()
        .await
        .map_err(|e| config(format!("creating a KMS key: {e}")))?;
    let key_id = key
        .key_metadata
        .map(|m| m.key_id)
        .ok_or_else(|| config("KMS returned no key".into()))?;
    // Configure a key id, a key ARN or an alias: it is resolved once to the key's ARN, which
    // every item's header then names.
    let keys = Arc::new(Keys::new(KmsKeyring::connect(kms, &key_id, &[]).await?));

    // The physical table name comes from configuration; the logical one (`profiles`) is bound
    // into the ciphertexts.
    let table = TableRef::for_schema("quickstart-profiles", &Profile::SCHEMA)?;
    provision(&dynamo, &table, ProvisionOptions::default()).await?;
    let profiles =
        Table::<Profile, _>::named(DynamoStore::new(dynamo.clone()), keys.clone(), table.name())?;

    let alice = Caller::user("alice")?;
    let mut profile = Profile {
        user_id: "alice".into(),
        ssn: Sensitive::new("078-05-1120".into()),
        display_name: "Alice".into(),
    };
    profiles.put(&alice, &mut profile).await?;

    let raw = dynamo
        .get_item()
        .table_name(table.name())
        .key(
            "user_id",
            aws_sdk_dynamodb::types::AttributeValue::S("alice".into()),
        )
        .send()
        .await
        .map_err(|e| config(format!("reading the raw item: {e}")))?;
    if let Some(item) = raw.item {
        println!(
            "Stored in DynamoDB:\n{}\n",
            item_from_sdk(item)?.to_dynamodb_json()
        );
    }

    let mine = profiles
        .get(&alice, &Profile::key("alice")?)
        .await?
        .ok_or_else(|| config("alice's profile is missing".into()))?;
    println!("alice reads her SSN: {}", mine.ssn.expose_secret());
    let theirs = profiles
        .get(&Caller::user("mallory")?, &Profile::key("alice")?)
        .await?;
    println!(
        "mallory reads alice's profile: {}",
        if theirs.is_none() {
            "not found"
        } else {
            "FOUND (bug!)"
        }
    );
    println!("KMS calls: {:?}", keys.keyring_calls());
    Ok(())
}

/// The SDK clients for the local server at `endpoint`. Against AWS, build them from
/// `aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await` instead.
async fn clients(endpoint: &str) -> (aws_sdk_dynamodb::Client, aws_sdk_kms::Client) {
    let config = crypt_model_aws_examples::local_config(endpoint).await;
    (
        aws_sdk_dynamodb::Client::new(&config),
        aws_sdk_kms::Client::new(&config),
    )
}

fn config(message: String) -> Box<dyn std::error::Error> {
    message.into()
}
