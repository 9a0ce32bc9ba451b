use crypt_model::{EncryptedItem, Sensitive};

// A model with secrets is not cloned implicitly: each copy is one more to wipe.
#[derive(EncryptedItem, Clone)]
#[crypt_model(table = "profiles")]
struct Profile {
    #[partition_key]
    #[owner]
    user_id: String,
    #[sensitive]
    ssn: Sensitive<String>,
}

fn main() {}
