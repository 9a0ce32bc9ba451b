use crypt_model::{EncryptedItem, Sensitive};

#[derive(EncryptedItem)]
#[crypt_model(table = "people")]
struct Person {
    #[partition_key]
    #[owner]
    user_id: String,
    #[sensitive(index = "exact", bits = 128)]
    email: Sensitive<String>,
}

fn main() {}
