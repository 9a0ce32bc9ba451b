use crypt_model::EncryptedItem;

#[derive(EncryptedItem)]
#[crypt_model(table = "patients", index(name = "by_ward", partition = "wrad", sort = "ward"))]
struct Patient {
    #[partition_key]
    #[owner]
    patient_id: String,
    ward: String,
}

fn main() {}
