// A model that names the AES-256-GCM suite, in a crate that forgot crypt-model's `aes-gcm` feature.
use crypt_model::{EncryptedItem, Sensitive};

#[derive(EncryptedItem)]
#[crypt_model(table = "patients", suite = "aes256gcm")]
struct Patient {
    #[partition_key]
    #[owner]
    patient_id: String,
    #[sensitive]
    diagnosis: Sensitive<String>,
}

fn main() {}
