use crypt_model::{EncryptedItem, Sensitive};

#[derive(EncryptedItem)]
#[crypt_model(table = "patients", index(name = "by_diagnosis", partition = "diagnosis"))]
struct Patient {
    #[partition_key]
    #[owner]
    patient_id: String,
    #[sensitive]
    diagnosis: Sensitive<String>,
}

fn main() {}
