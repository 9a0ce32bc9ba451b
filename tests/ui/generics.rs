use crypt_model::EncryptedItem;

#[derive(EncryptedItem)]
#[crypt_model(table = "profiles")]
struct Profile<T> {
    #[partition_key]
    #[owner]
    user_id: String,
    extra: T,
}

fn main() {}
