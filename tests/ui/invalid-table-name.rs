use crypt_model::EncryptedItem;

#[derive(EncryptedItem)]
#[crypt_model(table = "user profiles!")]
struct Profile {
    #[partition_key]
    #[owner]
    user_id: String,
}

fn main() {}
