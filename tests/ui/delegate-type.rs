use std::collections::HashMap;

use crypt_model::EncryptedItem;

// A delegation names principals by id: not a float, nor a map.
#[derive(EncryptedItem)]
#[crypt_model(table = "patients")]
struct Patient {
    #[partition_key]
    #[owner]
    patient_id: String,
    #[delegate]
    doctor_score: f64,
    #[delegate(write)]
    care_team: HashMap<String, String>,
}

fn main() {}
