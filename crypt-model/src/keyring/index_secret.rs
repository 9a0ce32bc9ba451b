//! The index secret kept like a key-encryption key: made, unwrapped and rewrapped by a keyring.
//! (The secret and the index values it keys are `crate::blind_index`'s; only what calls a keyring is
//! here.)

use super::{EncryptionContext, Keyring, WrappedDataKey};
use crate::blind_index::IndexSecret;
use crate::error::Result;

/// The context an index secret is wrapped under.
fn secret_context() -> EncryptionContext {
    EncryptionContext::for_table("crypt-model:index-secret")
}

impl IndexSecret {
    /// A fresh secret and its wrapped form, wrapped by `keyring`: store the wrapped form.
    pub async fn generate_wrapped(keyring: &dyn Keyring) -> Result<(Self, WrappedDataKey)> {
        let generated = keyring.generate_data_key(&secret_context()).await?;
        Ok((Self::from_bytes(generated.key.bytes())?, generated.wrapped))
    }

    /// The secret that `generate_wrapped` wrapped, unwrapped by `keyring`.
    pub async fn unwrap(keyring: &dyn Keyring, wrapped: &WrappedDataKey) -> Result<Self> {
        let key = keyring.unwrap_data_key(wrapped, &secret_context()).await?;
        Self::from_bytes(key.bytes())
    }

    /// The wrapped secret `wrapped`, wrapped again under `keyring`'s primary key (with AWS KMS a
    /// `ReEncrypt`: the secret does not leave KMS). Rotating the key-encryption key that wraps
    /// the index secret: `keyring` reads the old key (a read key) and wraps under the new one;
    /// store the result, then retire the old key. The secret itself, and so every index value,
    /// stays the same.
    pub async fn rewrap(keyring: &dyn Keyring, wrapped: &WrappedDataKey) -> Result<WrappedDataKey> {
        let context = secret_context();
        let key = keyring.unwrap_data_key(wrapped, &context).await?;
        keyring.rewrap_data_key(&key, wrapped, &context).await
    }
}
