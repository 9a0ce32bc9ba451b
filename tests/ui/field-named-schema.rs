use crypt_model::EncryptedItem;

#[derive(EncryptedItem)]
#[crypt_model(table = "forms")]
struct Form {
    #[partition_key]
    #[owner]
    user_id: String,
    schema: String,
}

fn main() {}
