use crypt_model::EncryptedItem;

#[derive(EncryptedItem)]
#[crypt_model(table = "readings")]
struct Reading {
    #[partition_key]
    #[owner]
    user_id: String,
    // A float cannot be a sort key: keys are exact (strings, integers, UUIDs, times, binary).
    #[sort_key]
    value: f64,
}

fn main() {}
