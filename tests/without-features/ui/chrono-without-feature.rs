// A model with `chrono` dates, in a crate that forgot crypt-model's `chrono` feature.
use crypt_model::{EncryptedItem, Sensitive};

#[derive(EncryptedItem)]
#[crypt_model(table = "visits")]
struct Visit {
    #[partition_key]
    #[owner]
    patient_id: String,
    #[sort_key]
    at: chrono::DateTime<chrono::Utc>,
    booked_on: chrono::NaiveDate,
    #[sensitive]
    born_on: Sensitive<chrono::NaiveDate>,
}

fn main() {}
