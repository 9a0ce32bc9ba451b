//! Keyrings for tests: one whose provider can be switched off, one that ignores the encryption
//! context. Shared by crypt-model's tests and the workspace's (`tests/lib.rs` includes this
//! file).
#![allow(dead_code, unreachable_pub)]

use crypt_model::error::KeyError;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crypt_model::keyring::{
    DataKey, EncryptionContext, GeneratedDataKey, Keyring, WrappedDataKey, async_trait,
};
use crypt_model::{Error, KeyProviderError, LocalKeyring, Result};

/// A keyring whose provider can be switched off, as when KMS is unreachable.
#[derive(Debug)]
pub struct Switchable {
    /// The keyring that answers while the provider is up.
    pub inner: LocalKeyring,
    /// Whether the provider is down.
    pub down: Arc<AtomicBool>,
}

impl Switchable {
    /// A provider in front of `inner`, up, and the switch that takes it down.
    pub fn new(inner: LocalKeyring) -> (Self, Arc<AtomicBool>) {
        let down = Arc::new(AtomicBool::new(false));
        (
            Switchable {
                inner,
                down: down.clone(),
            },
            down,
        )
    }

    fn check(&self) -> Result<()> {
        if self.down.load(Ordering::SeqCst) {
            return Err(Error::Key(KeyError::Provider {
                kind: KeyProviderError::Unavailable,
                key_id: Some("test-provider".into()),
                message: "the key provider is unreachable".into(),
                source: None,
            }));
        }
        Ok(())
    }
}

#[async_trait]
impl Keyring for Switchable {
    async fn generate_data_key(&self, context: &EncryptionContext) -> Result<GeneratedDataKey> {
        self.check()?;
        self.inner.generate_data_key(context).await
    }
    async fn unwrap_data_key(
        &self,
        wrapped: &WrappedDataKey,
        context: &EncryptionContext,
    ) -> Result<DataKey> {
        self.check()?;
        self.inner.unwrap_data_key(wrapped, context).await
    }
}

/// A keyring that ignores the encryption context, so that tests can show the engine binds the
/// table by itself, whatever the provider does.
#[derive(Debug)]
pub struct ContextBlind(pub LocalKeyring);

#[async_trait]
impl Keyring for ContextBlind {
    async fn generate_data_key(&self, _: &EncryptionContext) -> Result<GeneratedDataKey> {
        self.0
            .generate_data_key(&EncryptionContext::for_table("any"))
            .await
    }
    async fn unwrap_data_key(
        &self,
        wrapped: &WrappedDataKey,
        _: &EncryptionContext,
    ) -> Result<DataKey> {
        self.0
            .unwrap_data_key(wrapped, &EncryptionContext::for_table("any"))
            .await
    }
}
