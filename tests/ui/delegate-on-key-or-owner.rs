use crypt_model::EncryptedItem;

// The owner already acts on the record, and a key never changes: neither can be a delegation.
#[derive(EncryptedItem)]
#[crypt_model(table = "visits")]
struct Visit {
    #[partition_key]
    #[delegate]
    clinic_id: String,
    #[sort_key]
    visit_id: String,
    #[owner]
    #[delegate(write)]
    patient_id: String,
}

fn main() {}
