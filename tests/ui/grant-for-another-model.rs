use std::sync::Arc;

use crypt_model::{Keys, EncryptedItem, Grant, LocalKeyring, MemoryStore, Sensitive, Table};

#[derive(EncryptedItem)]
#[crypt_model(table = "profiles")]
struct Profile {
    #[partition_key]
    #[owner]
    user_id: String,
    #[sensitive]
    ssn: Sensitive<String>,
}

#[derive(EncryptedItem)]
#[crypt_model(table = "orders")]
struct Order {
    #[partition_key]
    #[owner]
    user_id: String,
    #[sensitive]
    card: Sensitive<String>,
}

fn main() {
    let keys = Arc::new(Keys::new(LocalKeyring::generate().unwrap()));
    let profiles = Table::<Profile, _>::new(MemoryStore::new(), keys).unwrap();
    // A grant names its model by type: one meant for orders cannot be given on profiles.
    let grant = Grant::<Order>::read("support-tool").unwrap();
    let _ = profiles.with_grant(grant);
}
