use crypt_model::EncryptedItem;

#[derive(EncryptedItem)]
#[crypt_model(table = "accounts")]
struct Account {
    // An owner is an id: a string, an integer or a UUID, not a float.
    #[partition_key]
    #[owner]
    balance: f64,
}

fn main() {}
