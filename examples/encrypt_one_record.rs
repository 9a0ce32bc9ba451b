//! Encrypts one record with a local key, shows what would be stored, opens it as its owner, and
//! shows that another user, and a stored item edited to name another owner, are refused.
//! No AWS account, no server.
//!
//! Run: `cargo run --example encrypt_one_record`.

use crypt_model::error::AccessError;
use crypt_model::format::HEADER_ATTRIBUTE;
use crypt_model::{AttributeValue, Caller, EncryptedItem, Error, Keys, LocalKeyring, Sensitive};

/// A user's profile: the SSN and the email never leave the process in plain.
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "profiles")]
struct Profile {
    #[partition_key]
    #[owner]
    user_id: String,
    #[sort_key]
    kind: String,
    #[sensitive]
    ssn: Sensitive<String>,
    #[sensitive]
    email: Sensitive<String>,
    display_name: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A fresh key for this run; production uses AWS KMS or a managed key.
    let keys = Keys::new(LocalKeyring::generate()?);

    let profile = Profile {
        user_id: "alice".into(),
        kind: "profile".into(),
        ssn: Sensitive::new("078-05-1120".into()),
        email: Sensitive::new("alice@example.com".into()),
        display_name: "Alice".into(),
    };
    let item = profile.to_item(&keys).await?;

    println!("Stored item (what DynamoDB would hold):");
    for (name, value) in item.iter() {
        println!("  {name:<13} {}", describe(name, value));
    }

    let opened = Profile::from_item(item.clone())
        .open(&Caller::user("alice")?, &keys)
        .await?;
    // Reading a secret takes an explicit `expose_secret()`; `{:?}` shows `[REDACTED]`.
    println!("\nOpened by alice: ssn = {}", opened.ssn.expose_secret());
    println!("Debug-printed:   {opened:?}");

    match Profile::from_item(item.clone())
        .open(&Caller::user("mallory")?, &keys)
        .await
    {
        Err(error @ Error::Access(AccessError::Denied { .. })) => {
            println!("\nOpened by mallory: refused ({error})")
        }
        other => return Err(unexpected(other.map(|_| ()))),
    }

    let mut stolen = item;
    stolen.insert("user_id", AttributeValue::S("mallory".into()));
    match Profile::from_item(stolen)
        .open(&Caller::user("mallory")?, &keys)
        .await
    {
        Err(error @ Error::Integrity(_)) => {
            println!("Item rewritten to name mallory as owner: refused ({error})")
        }
        other => return Err(unexpected(other.map(|_| ()))),
    }
    Ok(())
}

/// One attribute with its DynamoDB type, binary values abbreviated.
fn describe(name: &str, value: &AttributeValue) -> String {
    match value {
        AttributeValue::S(s) => format!("S  {s:?}"),
        AttributeValue::B(bytes) => {
            let hex: String = bytes.iter().take(12).map(|b| format!("{b:02x}")).collect();
            let what = if name == HEADER_ATTRIBUTE {
                "header: key id, wrapped data key, salt, commitment"
            } else {
                "ciphertext"
            };
            format!("B  {hex}… ({} bytes, {what})", bytes.len())
        }
        other => format!("{}  {other:?}", other.type_name()),
    }
}

fn unexpected(outcome: Result<(), Error>) -> Box<dyn std::error::Error> {
    match outcome {
        Ok(()) => "a refused record opened: this must never happen".into(),
        Err(error) => format!("an unexpected error: {error}").into(),
    }
}
