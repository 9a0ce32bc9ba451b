use crypt_model::EncryptedItem;

#[derive(EncryptedItem)]
#[crypt_model(table = "patients", index(name = "by_ward", partition = "ward"))]
struct Patient {
    #[partition_key]
    #[owner]
    patient_id: String,
    ward: String,
    clinic: String,
}

fn main() {
    // Only declared indexes have a query: `by_clinic` is not one.
    let _ = Patient::by_ward("w1");
    let _ = Patient::by_clinic("north");
}
