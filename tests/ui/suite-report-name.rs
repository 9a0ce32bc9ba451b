use crypt_model::{EncryptedItem, Sensitive};

// A report's name of a suite (`crypt-model audit` prints `aes256gcm-hkdf-sha256`) is not the
// attribute's: the error says which to write.
#[derive(EncryptedItem)]
#[crypt_model(table = "patients", suite = "aes256gcm-hkdf-sha256")]
struct Patient {
    #[partition_key]
    #[owner]
    patient_id: String,
    #[sensitive]
    diagnosis: Sensitive<String>,
}

fn main() {}
