use crypt_model::access::{Permit, Scope};
use crypt_model::{EncryptedItem, Sensitive};

#[derive(EncryptedItem)]
#[crypt_model(table = "profiles")]
struct Profile {
    #[partition_key]
    #[owner]
    user_id: String,
    #[sensitive]
    ssn: Sensitive<String>,
}

// Only the owner gate (`Gate::admit`) makes a permit, after it has seen the record's stored
// owner, and `Permit::open` is the only way from a read record to the model: a permit cannot be
// built by hand, so no record is opened, and no key unwrapped, before the gate.
fn forge(scope: Scope) -> Permit<Profile> {
    Permit { scope }
}

fn main() {}
