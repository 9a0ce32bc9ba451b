use crypt_model::{EncryptedItem, Sensitive};

#[derive(EncryptedItem)]
#[crypt_model(table = "patients")]
struct Patient {
    #[partition_key]
    #[owner]
    patient_id: String,
    #[sensitive]
    #[delegate]
    doctor_id: Sensitive<String>,
}

fn main() {}
