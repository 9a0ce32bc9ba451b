use crypt_model::{EncryptedItem, Sensitive};

#[derive(EncryptedItem)]
#[crypt_model(table = "orders")]
struct Order {
    #[partition_key]
    order_no: String,
    #[owner]
    #[sensitive]
    customer: Sensitive<String>,
}

fn main() {}
