use crypt_model::EncryptedItem;

#[derive(EncryptedItem)]
struct Profile {
    #[partition_key]
    #[owner]
    user_id: String,
}

fn main() {}
