//! The models of the operator binary that the command line's end-to-end tests build
//! (`bin/operator.rs`, as a team builds its own `crypt-model`), shared with the tests that read
//! the records back through the library.

use crypt_model::{EncryptedItem, Sensitive};

/// A customer: migrated from a plaintext table, each owner's records under a key of their own
/// (so that `erase-owner` can erase them).
#[derive(EncryptedItem)]
#[crypt_model(table = "customers", migrate_from_plaintext, key_per_owner)]
pub struct Customer {
    /// The owner, and the partition key.
    #[partition_key]
    #[owner]
    pub customer_id: String,
    /// A card number.
    #[sensitive]
    pub card: Sensitive<String>,
    /// A US SSN.
    #[sensitive]
    pub ssn: Sensitive<String>,
    /// Plain.
    pub plan: String,
}

/// An account: migrated from a plaintext table, under shared data keys, its email searchable.
#[derive(EncryptedItem)]
#[crypt_model(table = "accounts", migrate_from_plaintext)]
pub struct Account {
    /// The owner, and the partition key.
    #[partition_key]
    #[owner]
    pub account_id: String,
    /// Searchable by a blind index.
    #[sensitive(index = "exact", normalize = "trim_lowercase")]
    pub email: Sensitive<String>,
}

/// [`Account`] moved to suite 2 (AES-256-GCM): the same logical table and fields. The operator
/// binary registers it instead of [`Account`] when the environment variable
/// `CRYPT_MODEL_TEST_ACCOUNTS_AES` is set, as a team's next release would (`tests/cli.rs`, the
/// move's test).
#[derive(EncryptedItem)]
#[crypt_model(table = "accounts", migrate_from_plaintext, suite = "aes256gcm")]
pub struct AccountAes {
    /// The owner, and the partition key.
    #[partition_key]
    #[owner]
    pub account_id: String,
    /// Searchable by a blind index.
    #[sensitive(index = "exact", normalize = "trim_lowercase")]
    pub email: Sensitive<String>,
}
