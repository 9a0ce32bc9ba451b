//! [`KmsErasureKey`]: the tombstones of erasures authenticated by an AWS KMS HMAC key.

use async_trait::async_trait;
use aws_sdk_kms::Client;
use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::MacAlgorithmSpec;
use crypt_model::error::KeyError;
use crypt_model::keyring::ErasureKey;
use crypt_model::{Error, KeyProviderError, Result};

use crate::kms::{check_key_arn, map, resolve};

/// An [`ErasureKey`] in AWS KMS: an HMAC key (key spec `HMAC_256`, key usage
/// `GENERATE_VERIFY_MAC`) that authenticates the tombstones of erasures with HMAC-SHA-256.
///
/// Give `kms:GenerateMac` on it to the erasure role alone and `kms:VerifyMac` to every role that
/// reads records of models with a key per owner: then no application role can forge an erasure,
/// whatever it may write (docs/erasure.md). Like [`KmsKeyring`](crate::KmsKeyring), the key is
/// pinned by ARN: [`connect`](Self::connect) resolves a key id or alias once.
///
/// A tag that KMS finds wrong (`KMSInvalidMacException`) is `Ok(false)`; an unreachable KMS, a
/// refused or disabled key is an error, never `false`.
#[derive(Clone, Debug)]
pub struct KmsErasureKey {
    client: Client,
    key_arn: String,
}

impl KmsErasureKey {
    /// The HMAC key `key` (a key id, key ARN, alias name or alias ARN), resolved now, once, to
    /// its ARN.
    ///
    /// Errors: a key KMS does not know ([`KeyProviderError::KeyNotFound`]), credentials that may
    /// not describe it, KMS unreachable.
    pub async fn connect(client: Client, key: &str) -> Result<Self> {
        let key_arn = resolve(&client, key).await?;
        KmsErasureKey::new(client, &key_arn)
    }

    /// The HMAC key whose ARN is `key_arn`, without calling KMS.
    pub fn new(client: Client, key_arn: &str) -> Result<Self> {
        check_key_arn(key_arn)?;
        Ok(KmsErasureKey {
            client,
            key_arn: key_arn.to_owned(),
        })
    }
}

#[async_trait]
impl ErasureKey for KmsErasureKey {
    fn key_id(&self) -> &str {
        &self.key_arn
    }

    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let output = self
            .client
            .generate_mac()
            .key_id(&self.key_arn)
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .message(Blob::new(message))
            .send()
            .await
            .map_err(|e| map(&self.key_arn, e))?;
        output.mac.map(Blob::into_inner).ok_or_else(|| {
            Error::Key(KeyError::Provider {
                kind: KeyProviderError::Other,
                key_id: Some(self.key_arn.clone()),
                message: "AWS KMS answered GenerateMac without a MAC".to_owned(),
                source: None,
            })
        })
    }

    async fn verify(&self, message: &[u8], tag: &[u8]) -> Result<bool> {
        let answer = self
            .client
            .verify_mac()
            .key_id(&self.key_arn)
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .message(Blob::new(message))
            .mac(Blob::new(tag))
            .send()
            .await;
        match answer {
            Ok(output) => Ok(output.mac_valid),
            Err(error) if error.code() == Some("KMSInvalidMacException") => Ok(false),
            Err(error) => Err(map(&self.key_arn, error)),
        }
    }
}
