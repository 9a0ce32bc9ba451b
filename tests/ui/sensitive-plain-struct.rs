use crypt_model::{EncryptedItem, Sensitive};

// A struct of one's own inside `Sensitive<…>` needs `#[derive(SerdePlaintext)]`.
#[derive(serde::Serialize, serde::Deserialize)]
struct Address {
    street: String,
    city: String,
}

#[derive(EncryptedItem)]
#[crypt_model(table = "people")]
struct Person {
    #[partition_key]
    #[owner]
    user_id: String,
    #[sensitive]
    address: Sensitive<Address>,
}

fn main() {}
