use crypt_model::EncryptedItem;

#[derive(EncryptedItem)]
#[crypt_model(table = "profiles")]
struct Profile {
    #[partition_key]
    #[owner]
    user_id: String,
    name: String,
    #[crypt_model(rename = "name")]
    display_name: String,
}

fn main() {}
