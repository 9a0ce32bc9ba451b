use crypt_model::EncryptedItem;

#[derive(EncryptedItem)]
#[crypt_model(table = "profiles")]
struct Profile {
    #[partition_key]
    #[owner]
    user_id: String,
    #[partition_key]
    kind: String,
}

fn main() {}
