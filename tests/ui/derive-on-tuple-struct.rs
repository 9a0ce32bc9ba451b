use crypt_model::EncryptedItem;

#[derive(EncryptedItem)]
#[crypt_model(table = "profiles")]
struct Profile(#[partition_key] #[owner] String);

fn main() {}
