//! The quickstart: an encrypted profile store in memory, with a local key. No AWS account, no
//! server.
//!
//! Run: `cargo run --example quickstart`.

use std::sync::Arc;

use crypt_model::store::Condition;
use crypt_model::{
    AttributeValue, Caller, EncryptedItem, Error, Keys, LocalKeyring, MemoryStore, Sensitive,
    SerdePlaintext, Store, Table,
};
use zeroize::Zeroize;

/// Card details: a serde type, stored encrypted as one value.
#[derive(serde::Serialize, serde::Deserialize, Zeroize)]
struct Card {
    number: String,
    expiry: String,
}
impl SerdePlaintext for Card {}

/// A user's profile. Only `alice` herself will ever see her SSN or card in plain.
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
    card: Option<Sensitive<Card>>,
    display_name: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. A store and a key. In production: DynamoStore and the AWS KMS keyring.
    let store = MemoryStore::new();
    let keys = Arc::new(Keys::new(LocalKeyring::generate()?));
    let profiles = Table::<Profile, _>::new(store.clone(), keys)?;
    let alice = Caller::user("alice")?;

    // 2. Alice stores her profile.
    let mut profile = Profile {
        user_id: "alice".into(),
        kind: "profile".into(),
        ssn: Sensitive::new("078-05-1120".into()),
        card: Some(Sensitive::new(Card {
            number: "4111 1111 1111 1111".into(),
            expiry: "12/29".into(),
        })),
        display_name: "Alice".into(),
    };
    profiles.put(&alice, &mut profile).await?;

    // 3. What the database holds: no SSN, no card number.
    let stored = store.items("profiles").remove(0);
    println!(
        "Stored item, as DynamoDB JSON:\n{}\n",
        stored.to_dynamodb_json()
    );

    // 4. Alice reads it back.
    let key = Profile::key("alice", "profile")?;
    let mine = profiles
        .get(&alice, &key)
        .await?
        .ok_or_else(|| missing("alice's profile"))?;
    let card = mine.card.as_ref().ok_or_else(|| missing("alice's card"))?;
    println!(
        "alice reads her profile: ssn {}, card ending {}",
        mine.ssn.expose_secret(),
        last4(&card.expose_secret().number)
    );
    println!("debug-printed, it stays redacted: {mine:?}\n");

    // 5. Mallory asks for the same key: the answer is the one for a key that holds nothing.
    let theirs = profiles.get(&Caller::user("mallory")?, &key).await?;
    println!(
        "mallory asks for alice's profile: {}",
        if theirs.is_none() {
            "not found"
        } else {
            "FOUND (bug!)"
        }
    );

    // 6. Someone with database access rewrites the owner to mallory: the item no longer opens.
    let mut tampered = stored;
    tampered.insert("user_id", AttributeValue::S("mallory".into()));
    tampered.insert("kind", AttributeValue::S("stolen".into()));
    store
        .put(profiles.table_ref(), tampered, &Condition::Always)
        .await?;
    let stolen = Profile::key("mallory", "stolen")?;
    match profiles.get(&Caller::user("mallory")?, &stolen).await {
        Err(error @ Error::Integrity(_)) => {
            println!("a copy moved to mallory's key: refused ({error})")
        }
        Ok(_) => {
            return Err("a tampered item opened: this must never happen".into());
        }
        Err(other) => return Err(other.into()),
    }
    Ok(())
}

fn last4(number: &str) -> &str {
    &number[number.len().saturating_sub(4)..]
}

fn missing(what: &str) -> Box<dyn std::error::Error> {
    format!("{what} should be there").into()
}
