// A model with `uuid::Uuid` ids, in a crate that forgot crypt-model's `uuid` feature.
use crypt_model::{EncryptedItem, Sensitive};

#[derive(EncryptedItem)]
#[crypt_model(table = "patients")]
struct Patient {
    #[partition_key]
    #[owner]
    patient_id: uuid::Uuid,
    clinic_id: uuid::Uuid,
    #[sensitive]
    insurer_id: Sensitive<uuid::Uuid>,
}

fn main() {}
