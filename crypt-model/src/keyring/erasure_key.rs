//! [`ErasureKey`]: what authenticates the tombstone an erasure leaves, and [`LocalErasureKey`],
//! an HMAC-SHA256 key held in the process.

use std::fmt;

use async_trait::async_trait;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::local::checked_key;
use crate::error::Result;
use crate::key_bytes::KeyBytes;

/// The key that authenticates the tombstones of erased owner keys (see
/// [`Tombstones`](crate::Tombstones)).
///
/// Only the erasure path may [`sign`](Self::sign); every reader [`verify`](Self::verify)s. So
/// that the application's own roles cannot forge an erasure, the signing half must be out of
/// their reach: with AWS KMS, an HMAC key whose `kms:GenerateMac` only the erasure role holds
/// and whose `kms:VerifyMac` the readers hold (`crypt_model_dynamo::KmsErasureKey`). A
/// [`LocalErasureKey`] signs wherever it is held: for development and tests, or for a deployment
/// whose readers hold no copy of it.
#[async_trait]
pub trait ErasureKey: Send + Sync + fmt::Debug {
    /// The key's id, stored beside each tag it makes.
    fn key_id(&self) -> &str;

    /// The tag of `message`.
    ///
    /// Errors: [`KeyError::Provider`](crate::error::KeyError::Provider) when the provider
    /// refuses (a reader's role may not sign) or cannot be reached.
    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>>;

    /// Whether `tag` is the tag this key makes of `message`: `Ok(false)` for any other tag.
    ///
    /// Errors: [`KeyError::Provider`](crate::error::KeyError::Provider) when the provider
    /// cannot be reached: never `Ok(false)` for a tag it could not check.
    async fn verify(&self, message: &[u8], tag: &[u8]) -> Result<bool>;
}

/// An [`ErasureKey`] held in the process: HMAC-SHA256 under a 32-byte key.
///
/// Whoever holds it can sign, so a tombstone it authenticates is as trustworthy as the places
/// that hold it; in production, prefer a key whose signing is a permission (AWS KMS). Its
/// `Debug` shows the id only.
///
/// ```
/// use crypt_model::keyring::{ErasureKey, LocalErasureKey};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), crypt_model::Error> {
/// let key = LocalErasureKey::new("erasure-2026", &[7; 32])?;
/// let tag = key.sign(b"a tombstone").await?;
/// assert!(key.verify(b"a tombstone", &tag).await?);
/// assert!(!key.verify(b"another", &tag).await?);
/// assert_eq!(format!("{key:?}"), r#"LocalErasureKey { key_id: "erasure-2026" }"#);
/// # Ok(()) }
/// ```
pub struct LocalErasureKey {
    key_id: String,
    key: KeyBytes,
}

impl LocalErasureKey {
    /// The key `key` (32 bytes), named `key_id`.
    pub fn new(key_id: &str, key: &[u8]) -> Result<Self> {
        Ok(LocalErasureKey {
            key_id: key_id.to_owned(),
            key: checked_key(key_id, key)?,
        })
    }

    /// A new random key, named `local-erasure-` and 16 hex digits.
    pub fn generate() -> Result<Self> {
        Ok(LocalErasureKey {
            key_id: crate::random::id("local-erasure-")?,
            key: KeyBytes::random()?,
        })
    }

    fn mac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as KeyInit>::new_from_slice(self.key.get())
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"))
    }
}

#[async_trait]
impl ErasureKey for LocalErasureKey {
    fn key_id(&self) -> &str {
        &self.key_id
    }

    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let mut mac = self.mac();
        mac.update(message);
        Ok(mac.finalize().into_bytes().to_vec())
    }

    async fn verify(&self, message: &[u8], tag: &[u8]) -> Result<bool> {
        let mut mac = self.mac();
        mac.update(message);
        // In constant time.
        Ok(mac.verify_slice(tag).is_ok())
    }
}

impl fmt::Debug for LocalErasureKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalErasureKey")
            .field("key_id", &self.key_id)
            .finish()
    }
}
