use crypt_model::{Caller, EncryptedItem, MemoryStore, Sensitive, Table};

#[derive(EncryptedItem)]
#[crypt_model(table = "patients")]
struct Patient {
    #[partition_key]
    #[owner]
    patient_id: String,
    #[sensitive]
    allergies: Sensitive<Vec<String>>,
}

async fn update(table: &Table<Patient, MemoryStore>, caller: &Caller, patient: &mut Patient) {
    // Without a version an update could not require the record unchanged since it was read.
    let _ = table.update(caller, patient, &[Patient::ALLERGIES]).await;
}

fn main() {}
