use crypt_model::{EncryptedItem, Sensitive};

#[derive(EncryptedItem)]
#[crypt_model(table = "profiles")]
struct Profile {
    #[partition_key]
    #[owner]
    #[crypt_model(unauthenticated)]
    user_id: String,
    #[sensitive]
    #[crypt_model(unauthenticated)]
    ssn: Sensitive<String>,
    #[crypt_model(unauthenticated)]
    visits: u64,
}

fn main() {}
