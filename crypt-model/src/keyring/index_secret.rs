//! The index secret kept like a key-encryption key: made, unwrapped and rewrapped by a keyring.
//! (The secret and the index values it keys are `crate::blind_index`'s; only what calls a keyring is
//! here.)

use super::{EncryptionContext, Keyring, WrappedDataKey};
use crate::blind_index::IndexSecret;
use crate::error::Result;

/// The namespace of an index secret made without one.
const DEFAULT_NAMESPACE: &str = "crypt-model:index-secret";

impl IndexSecret {
    /// A fresh secret and its wrapped form, wrapped by `keyring` under the default namespace:
    /// store the wrapped form. See [`generate_wrapped_in`](Self::generate_wrapped_in).
    pub async fn generate_wrapped(keyring: &dyn Keyring) -> Result<(Self, WrappedDataKey)> {
        Self::generate_wrapped_in(keyring, DEFAULT_NAMESPACE).await
    }

    /// A fresh secret and its wrapped form, wrapped by `keyring` under the encryption context
    /// of `namespace` (an application's name, say): a key policy can then let each application
    /// unwrap its own index secret only, where every secret made without a namespace shares one
    /// context. Unwrap it with [`unwrap_in`](Self::unwrap_in) and the same namespace.
    pub async fn generate_wrapped_in(
        keyring: &dyn Keyring,
        namespace: &str,
    ) -> Result<(Self, WrappedDataKey)> {
        let context = EncryptionContext::for_index_secret(namespace);
        let generated = keyring.generate_data_key(&context).await?;
        Ok((Self::from_bytes(generated.key.bytes())?, generated.wrapped))
    }

    /// The secret that [`generate_wrapped`](Self::generate_wrapped) wrapped, unwrapped by
    /// `keyring`.
    pub async fn unwrap(keyring: &dyn Keyring, wrapped: &WrappedDataKey) -> Result<Self> {
        Self::unwrap_in(keyring, wrapped, DEFAULT_NAMESPACE).await
    }

    /// The secret that [`generate_wrapped_in`](Self::generate_wrapped_in) wrapped under
    /// `namespace`, unwrapped by `keyring`: under another namespace it does not unwrap.
    pub async fn unwrap_in(
        keyring: &dyn Keyring,
        wrapped: &WrappedDataKey,
        namespace: &str,
    ) -> Result<Self> {
        let context = EncryptionContext::for_index_secret(namespace);
        let key = keyring.unwrap_data_key(wrapped, &context).await?;
        Self::from_bytes(key.bytes())
    }

    /// The wrapped secret `wrapped`, wrapped again under `keyring`'s primary key (with AWS KMS a
    /// `ReEncrypt`: the secret does not leave KMS). Rotating the key-encryption key that wraps
    /// the index secret: `keyring` reads the old key (a read key) and wraps under the new one;
    /// store the result, then retire the old key. The secret itself, and so every index value,
    /// stays the same. For a secret of a namespace, [`rewrap_in`](Self::rewrap_in).
    pub async fn rewrap(keyring: &dyn Keyring, wrapped: &WrappedDataKey) -> Result<WrappedDataKey> {
        Self::rewrap_in(keyring, wrapped, DEFAULT_NAMESPACE).await
    }

    /// [`rewrap`](Self::rewrap), for a secret wrapped under `namespace`.
    pub async fn rewrap_in(
        keyring: &dyn Keyring,
        wrapped: &WrappedDataKey,
        namespace: &str,
    ) -> Result<WrappedDataKey> {
        let context = EncryptionContext::for_index_secret(namespace);
        let key = keyring.unwrap_data_key(wrapped, &context).await?;
        keyring.rewrap_data_key(&key, wrapped, &context).await
    }
}
