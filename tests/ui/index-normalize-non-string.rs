use crypt_model::{EncryptedItem, Sensitive};

#[derive(EncryptedItem)]
#[crypt_model(table = "people")]
struct Person {
    #[partition_key]
    #[owner]
    user_id: String,
    #[sensitive(index = "exact", normalize = "lowercase")]
    birth_year: Sensitive<u16>,
}

fn main() {}
