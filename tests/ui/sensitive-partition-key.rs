use crypt_model::{EncryptedItem, Sensitive};

#[derive(EncryptedItem)]
#[crypt_model(table = "people")]
struct Person {
    #[partition_key]
    #[sensitive]
    ssn: Sensitive<String>,
    #[owner]
    user_id: String,
}

fn main() {}
