use crypt_model::EncryptedItem;

// A typo in the only table option: one error, at the typo, and no "missing table" besides.
#[derive(EncryptedItem)]
#[crypt_model(tabel = "profiles")]
struct Profile {
    #[partition_key]
    #[owner]
    user_id: String,
}

fn main() {}
