use crypt_model::EncryptedItem;

#[derive(EncryptedItem)]
#[crypt_model(table = "profiles")]
enum Profile {
    User { user_id: String },
}

fn main() {}
