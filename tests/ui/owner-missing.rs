use crypt_model::{EncryptedItem, Sensitive};

#[derive(EncryptedItem)]
#[crypt_model(table = "profiles")]
struct Profile {
    #[partition_key]
    user_id: String,
    #[sensitive]
    ssn: Sensitive<String>,
}

fn main() {}
