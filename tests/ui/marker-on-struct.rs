use crypt_model::EncryptedItem;

#[derive(EncryptedItem)]
#[crypt_model(table = "profiles")]
#[sensitive]
struct Profile {
    #[partition_key]
    #[owner]
    user_id: String,
}

fn main() {}
