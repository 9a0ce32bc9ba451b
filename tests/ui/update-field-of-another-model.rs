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

#[derive(EncryptedItem)]
#[crypt_model(table = "visits")]
struct Visit {
    #[partition_key]
    #[owner]
    patient_id: String,
    #[crypt_model(version)]
    version: u64,
    #[sensitive]
    notes: Sensitive<String>,
}

async fn update(table: &Table<Patient, MemoryStore>, caller: &Caller, patient: &mut Patient) {
    let _ = table.update(caller, patient, &[Visit::NOTES]).await;
}

fn main() {}
