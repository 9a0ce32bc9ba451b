use crypt_model::EncryptedItem;

#[derive(EncryptedItem)]
#[crypt_model(table = "profiles")]
struct Profile {
    #[owner]
    user_id: String,
}

fn main() {}
