//! Encrypts one record with a local key, shows what would be stored, reads it back, and shows
//! that a copied or edited ciphertext is refused. No AWS account, no server.
//!
//! Run: `cargo run --example encrypt_one_record`.

use crypt_model::{AttributeValue, Cipher, Error, Item, LocalKeyring, Plaintexts, Schema};

/// The model: table `profiles`, keyed by `user_id` (who also owns the record) and `kind`; the
/// SSN and the email are sensitive.
const PROFILES: Schema = Schema::new("profiles", "user_id", "user_id")
    .with_sort_key("kind")
    .with_sensitive(&["ssn", "email"]);

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // A fresh key for this run; production uses AWS KMS or a managed key.
    let cipher = Cipher::new(LocalKeyring::generate()?);

    let mut item = Item::new();
    item.insert("user_id", AttributeValue::S("alice".into()));
    item.insert("kind", AttributeValue::S("profile".into()));
    item.insert("display_name", AttributeValue::S("Alice".into()));
    let mut secrets = Plaintexts::new();
    secrets.insert("ssn", &String::from("078-05-1120"))?;
    secrets.insert("email", &String::from("alice@example.com"))?;
    cipher.encrypt(&PROFILES, &mut item, &secrets).await?;

    println!("Stored item (what DynamoDB would hold):");
    for (name, value) in item.iter() {
        println!("  {name:<13} {}", describe(value));
    }

    let mut opened = cipher.decrypt(&PROFILES, &item).await?;
    let ssn = opened
        .take::<String>("ssn")?
        .ok_or(Error::MissingAttribute {
            attribute: "ssn".into(),
        })?;
    // Printing a secret takes an explicit `expose_secret()`; `{:?}` would show `[REDACTED]`.
    println!(
        "\nRead back by the application: ssn = {} ({ssn:?} when debug-printed)",
        ssn.expose_secret()
    );

    let mut stolen = item.clone();
    stolen.insert("user_id", AttributeValue::S("mallory".into()));
    match cipher.decrypt(&PROFILES, &stolen).await {
        Err(error @ Error::Integrity { .. }) => {
            println!("\nThe same item moved to mallory: refused ({error})")
        }
        other => return Err(unexpected(other)),
    }

    let mut tampered = item.clone();
    if let Some(AttributeValue::B(bytes)) = tampered.get_mut("email") {
        bytes[30] ^= 1;
    }
    match cipher.decrypt(&PROFILES, &tampered).await {
        Err(error @ Error::Integrity { .. }) => {
            println!("One bit of the email flipped: refused ({error})")
        }
        other => return Err(unexpected(other)),
    }
    Ok(())
}

/// One attribute as DynamoDB JSON would show its type, binary values abbreviated.
fn describe(value: &AttributeValue) -> String {
    match value {
        AttributeValue::S(s) => format!("S  {s:?}"),
        AttributeValue::B(bytes) => {
            let hex: String = bytes.iter().take(12).map(|b| format!("{b:02x}")).collect();
            format!("B  {hex}… ({} bytes of ciphertext)", bytes.len())
        }
        other => format!("{}  {other:?}", other.type_name()),
    }
}

fn unexpected(outcome: Result<Plaintexts, Error>) -> Error {
    Error::Config(match outcome {
        Ok(_) => "a tampered item decrypted: this must never happen".into(),
        Err(error) => format!("a tampered item gave an unexpected error: {error}"),
    })
}
