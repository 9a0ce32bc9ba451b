use crypt_model::EncryptedItem;

#[derive(EncryptedItem)]
#[crypt_model(table = "profiles")]
union Profile {
    id: u64,
    bits: f64,
}

fn main() {}
