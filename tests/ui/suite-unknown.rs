use crypt_model::{EncryptedItem, Sensitive};

// The suites are `aes256gcm` and `xchacha20poly1305` (the default but in a `fips` build).
#[derive(EncryptedItem)]
#[crypt_model(table = "patients", suite = "aes128gcm")]
struct Patient {
    #[partition_key]
    #[owner]
    patient_id: String,
    #[sensitive]
    diagnosis: Sensitive<String>,
}

fn main() {}
