//! What the cases write: a profile model and the secrets whose plaintext no stored item may hold.

use crypt_model::{EncryptedItem, Sensitive};

/// A US social security number.
pub const SSN: &str = "078-05-1120";
/// A card number.
pub const CARD: &str = "4111-1111-1111-1111";

/// A profile: owned by its partition key, with a sort key and one sensitive field.
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "profiles")]
pub struct Profile {
    /// The owner's id, and the partition key.
    #[partition_key]
    #[owner]
    pub user_id: String,
    /// The kind of profile, the sort key.
    #[sort_key]
    pub kind: String,
    /// Encrypted.
    #[sensitive]
    pub ssn: Sensitive<String>,
}

/// `owner`'s profile of kind `kind`, holding [`SSN`].
pub fn profile(owner: &str, kind: &str) -> Profile {
    Profile {
        user_id: owner.into(),
        kind: kind.into(),
        ssn: Sensitive::new(SSN.into()),
    }
}
