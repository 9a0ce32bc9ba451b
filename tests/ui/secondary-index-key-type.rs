use crypt_model::EncryptedItem;

#[derive(EncryptedItem)]
#[crypt_model(table = "patients", index(name = "by_weight", partition = "weight"))]
struct Patient {
    #[partition_key]
    #[owner]
    patient_id: String,
    // A float declares no key type (keys are exact: strings, integers, binary), so it cannot key
    // an index.
    weight: f64,
}

fn main() {}
