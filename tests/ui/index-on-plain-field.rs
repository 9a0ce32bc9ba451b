use crypt_model::EncryptedItem;

#[derive(EncryptedItem)]
#[crypt_model(table = "people")]
struct Person {
    #[partition_key]
    #[owner]
    user_id: String,
    #[crypt_model(index = "exact")]
    city: String,
}

fn main() {}
