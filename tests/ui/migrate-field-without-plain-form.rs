// A model in migration mode reads each sensitive field from the plain attribute a table written
// before encryption holds: a type with no plain form (`Attribute`) cannot be read that way.
use crypt_model::{EncryptedItem, SerdePlaintext, Sensitive};

#[derive(SerdePlaintext, serde::Serialize, serde::Deserialize, zeroize::Zeroize)]
struct Card {
    number: String,
}

#[derive(EncryptedItem)]
#[crypt_model(table = "cards", migrate_from_plaintext)]
struct Wallet {
    #[partition_key]
    #[owner]
    user_id: String,
    #[sensitive]
    card: Sensitive<Card>,
}

fn main() {}
