use crypt_model::EncryptedItem;

#[derive(EncryptedItem)]
#[crypt_model(table = "accounts")]
struct Account {
    #[partition_key]
    account_no: String,
    // An owner is an id: a string, an integer or a UUID, not a float.
    #[owner]
    balance: f64,
}

fn main() {}
