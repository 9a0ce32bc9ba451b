use crypt_model::OwnerKeys;

async fn erase_alice(keys: &OwnerKeys) {
    // Erasure destroys an owner's key for good: the key table takes the gate's `ErasePermit`
    // (`Gate::erase_permit`, logged), never a table and an owner id.
    keys.erase("profiles", "alice").await.unwrap();
}

fn main() {}
