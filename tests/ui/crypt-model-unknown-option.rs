use crypt_model::EncryptedItem;

#[derive(EncryptedItem)]
#[crypt_model(table = "profiles", tabel = "profile")]
struct Profile {
    #[partition_key]
    #[owner]
    #[crypt_model(renmae = "id")]
    user_id: String,
}

fn main() {}
