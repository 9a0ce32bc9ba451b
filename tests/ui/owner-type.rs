use crypt_model::EncryptedItem;

#[derive(EncryptedItem)]
#[crypt_model(table = "accounts")]
struct Account {
    #[partition_key]
    #[owner]
    account_no: u64,
}

fn main() {}
