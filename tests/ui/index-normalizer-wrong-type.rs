use crypt_model::{EncryptedItem, Sensitive};

fn shout(text: String) -> usize {
    text.len()
}

#[derive(EncryptedItem)]
#[crypt_model(table = "people")]
struct Person {
    #[partition_key]
    #[owner]
    user_id: String,
    #[sensitive(index = "exact", normalize_with = "shout")]
    email: Sensitive<String>,
}

fn main() {}
