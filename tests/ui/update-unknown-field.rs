use crypt_model::{Caller, EncryptedItem, MemoryStore, Sensitive, Table};

#[derive(EncryptedItem)]
#[crypt_model(table = "patients")]
struct Patient {
    #[partition_key]
    #[owner]
    patient_id: String,
    #[crypt_model(version)]
    version: u64,
    #[sensitive]
    allergies: Sensitive<Vec<String>>,
}

async fn update(table: &Table<Patient, MemoryStore>, caller: &Caller, patient: &mut Patient) {
    // A misspelt field, and the owner (keys, the owner and the version have no selector).
    let _ = table.update(caller, patient, &[Patient::ALERGIES]).await;
    let _ = table.update(caller, patient, &[Patient::PATIENT_ID]).await;
}

fn main() {}
