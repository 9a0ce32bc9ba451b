use crypt_model::{EncryptedItem, Sensitive};

#[derive(EncryptedItem)]
#[crypt_model(table = "profiles")]
struct Profile {
    #[partition_key]
    #[owner]
    user_id: String,
    #[sort_key]
    kind: String,
    #[sensitive]
    ssn: Sensitive<String>,
}

fn main() {
    // The typed key takes the key fields' own types: a number for a string key does not build,
    // nor does a key without its sort key.
    let _ = Profile::key(42, "profile");
    let _ = Profile::key("alice");
}
