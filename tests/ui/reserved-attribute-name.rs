use crypt_model::EncryptedItem;

#[derive(EncryptedItem)]
#[crypt_model(table = "profiles")]
struct Profile {
    #[partition_key]
    #[owner]
    user_id: String,
    #[crypt_model(rename = "__cm_header")]
    header: Vec<u8>,
    __cm_flags: u8,
}

fn main() {}
