use crypt_model::EncryptedItem;

#[derive(EncryptedItem)]
#[crypt_model(table = "patients")]
struct Patient {
    #[partition_key]
    #[owner]
    patient_id: String,
    #[delegate]
    #[crypt_model(unauthenticated)]
    doctor_id: String,
}

fn main() {}
