use crypt_model::{Caller, EncryptedItem, MemoryStore, Sensitive, Table};

/// An order: the owner is not part of the key, so an unconditional batch write could overwrite
/// another customer's order.
#[derive(EncryptedItem)]
#[crypt_model(table = "orders")]
struct Order {
    #[partition_key]
    order_no: u64,
    #[owner]
    customer: String,
    #[sensitive]
    card: Sensitive<String>,
}

async fn write(table: &Table<Order, MemoryStore>, caller: &Caller, orders: &[Order]) {
    let _ = table.batch_put(caller, orders).await;
}

fn main() {}
