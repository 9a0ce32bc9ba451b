use crypt_model::EncryptedItem;

#[derive(EncryptedItem)]
#[crypt_model(table = "patients")]
struct Patient {
    #[partition_key]
    #[owner]
    patient_id: String,
    #[delegate(delete)]
    doctor_id: String,
    #[delegate(read, write)]
    care_team: Vec<String>,
    #[delegate(read, reassign)]
    guardian: Option<String>,
}

fn main() {}
