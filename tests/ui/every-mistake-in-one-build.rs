use crypt_model::{EncryptedItem, Sensitive};

// Four mistakes (invalid table, sensitive key, repeated sort key, no owner): four errors, one build.
#[derive(EncryptedItem)]
#[crypt_model(table = "x")]
struct Profile {
    #[partition_key]
    #[sensitive]
    user_id: Sensitive<String>,
    #[sort_key]
    #[sort_key]
    kind: String,
}

fn main() {}
