use std::collections::HashSet;

use crypt_model::{EncryptedItem, Sensitive};

#[derive(EncryptedItem)]
#[crypt_model(table = "people")]
struct Person {
    #[partition_key]
    #[owner]
    user_id: String,
    // A hash set's order varies from write to write: its index value would too.
    #[sensitive(index = "exact")]
    tags: Sensitive<HashSet<String>>,
    // 0.0 and -0.0 are equal and encode differently.
    #[sensitive(index = "exact")]
    weight: Sensitive<f64>,
}

fn main() {}
