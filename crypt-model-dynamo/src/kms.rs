//! [`KmsKeyring`]: data keys from AWS KMS.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_kms::Client;
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use crypt_model::keyring::{DataKey, EncryptionContext, GeneratedDataKey, Keyring, WrappedDataKey};
use crypt_model::{Error, KeyProviderError, Result};
use zeroize::Zeroizing;

/// A [`Keyring`] whose data keys are generated and unwrapped by AWS KMS.
///
/// - `GenerateDataKey` (AES-256 spec: 32 bytes) under the primary key; `Decrypt` with the key id
///   **pinned** to the one named in the item's header, which must be one of this keyring's keys
///   (else [`Error::UnknownKeyId`], and KMS is not called).
/// - Both calls carry the [`EncryptionContext`]: the logical table and the format version. It
///   holds nothing per item because a cached data key serves many items of a table; per-item
///   binding is done by the item's own key derivation. KMS logs the context in CloudTrail, so it
///   never carries a record's values. A data key of table A therefore cannot be unwrapped for an
///   item of table B.
/// - Rotation: new data keys use the primary key; [`with_read_key`](Self::with_read_key) keeps
///   older keys usable for reads.
/// - Errors are typed ([`KeyProviderError`]): access denied and key not found name the key id;
///   throttling and unreachability are distinguished; a context or ciphertext mismatch is
///   [`Error::UnwrapFailed`].
///
/// Put it behind the [`Cipher`](crypt_model::Cipher)'s cache (always there): with the default
/// limits, 10,000 writes cost one `GenerateDataKey`.
#[derive(Clone, Debug)]
pub struct KmsKeyring {
    client: Client,
    primary: String,
    keys: Vec<String>,
}

impl KmsKeyring {
    /// A keyring generating data keys under `key_id` (a key id, key ARN, alias name or alias
    /// ARN; stored as given in each item's header).
    pub fn new(client: Client, key_id: &str) -> Result<Self> {
        check_key_id(key_id)?;
        Ok(KmsKeyring {
            client,
            primary: key_id.to_owned(),
            keys: vec![key_id.to_owned()],
        })
    }

    /// Keeps an older key usable for reads after a rotation.
    pub fn with_read_key(mut self, key_id: &str) -> Result<Self> {
        check_key_id(key_id)?;
        if !self.keys.iter().any(|k| k == key_id) {
            self.keys.push(key_id.to_owned());
        }
        Ok(self)
    }

    /// The key that wraps new data keys.
    pub fn primary_key_id(&self) -> &str {
        &self.primary
    }
}

fn check_key_id(key_id: &str) -> Result<()> {
    if key_id.is_empty() || key_id.len() > 2048 || key_id.chars().any(char::is_whitespace) {
        return Err(Error::InvalidKey {
            key_id: key_id
                .chars()
                .filter(|c| !c.is_whitespace())
                .take(64)
                .collect(),
            reason: "a KMS key id is 1 to 2048 characters without spaces (key id, ARN or alias)"
                .to_owned(),
        });
    }
    Ok(())
}

fn context_map(context: &EncryptionContext) -> HashMap<String, String> {
    context
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Maps a KMS error for `key_id`.
fn map<E, R>(key_id: &str, error: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let provider = |kind, message: &str, error: SdkError<E, R>| Error::KeyProvider {
        kind,
        key_id: Some(key_id.to_owned()),
        message: message.to_owned(),
        source: Some(Box::new(error)),
    };
    if matches!(
        error,
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_)
    ) {
        return provider(
            KeyProviderError::Unavailable,
            "AWS KMS could not be reached",
            error,
        );
    }
    match error.code().unwrap_or("") {
        "InvalidCiphertextException" | "IncorrectKeyException" => Error::UnwrapFailed {
            key_id: key_id.to_owned(),
        },
        "AccessDeniedException" => provider(
            KeyProviderError::AccessDenied,
            "the credentials may not use this key",
            error,
        ),
        "NotFoundException" => provider(
            KeyProviderError::KeyNotFound,
            "no such key in this account and region",
            error,
        ),
        "DisabledException" | "KMSInvalidStateException" => provider(
            KeyProviderError::KeyDisabled,
            "the key is disabled or pending deletion",
            error,
        ),
        "ThrottlingException" | "LimitExceededException" => provider(
            KeyProviderError::Throttled,
            "AWS KMS throttled the request",
            error,
        ),
        code => {
            let message = format!("AWS KMS answered {code}");
            provider(KeyProviderError::Other, &message, error)
        }
    }
}

#[async_trait]
impl Keyring for KmsKeyring {
    async fn generate_data_key(&self, context: &EncryptionContext) -> Result<GeneratedDataKey> {
        let output = self
            .client
            .generate_data_key()
            .key_id(&self.primary)
            .key_spec(DataKeySpec::Aes256)
            .set_encryption_context(Some(context_map(context)))
            .send()
            .await
            .map_err(|e| map(&self.primary, e))?;
        let missing = |what: &str| Error::KeyProvider {
            kind: KeyProviderError::Other,
            key_id: Some(self.primary.clone()),
            message: format!("AWS KMS returned no {what}"),
            source: None,
        };
        let plaintext = Zeroizing::new(
            output
                .plaintext
                .ok_or_else(|| missing("plaintext key"))?
                .into_inner(),
        );
        let ciphertext = output
            .ciphertext_blob
            .ok_or_else(|| missing("wrapped key"))?
            .into_inner();
        Ok(GeneratedDataKey {
            key: DataKey::from_slice(&self.primary, &plaintext)?,
            wrapped: WrappedDataKey {
                key_id: self.primary.clone(),
                ciphertext,
            },
        })
    }

    async fn unwrap_data_key(
        &self,
        wrapped: &WrappedDataKey,
        context: &EncryptionContext,
    ) -> Result<DataKey> {
        if !self.keys.contains(&wrapped.key_id) {
            return Err(Error::UnknownKeyId {
                key_id: wrapped.key_id.clone(),
            });
        }
        let output = self
            .client
            .decrypt()
            .key_id(&wrapped.key_id)
            .ciphertext_blob(Blob::new(wrapped.ciphertext.clone()))
            .set_encryption_context(Some(context_map(context)))
            .send()
            .await
            .map_err(|e| map(&wrapped.key_id, e))?;
        let plaintext = Zeroizing::new(
            output
                .plaintext
                .ok_or_else(|| Error::UnwrapFailed {
                    key_id: wrapped.key_id.clone(),
                })?
                .into_inner(),
        );
        DataKey::from_slice(&wrapped.key_id, &plaintext)
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_kms::config::http::HttpResponse;
    use aws_sdk_kms::error::ErrorMetadata;
    use aws_sdk_kms::operation::decrypt::DecryptError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    use super::*;

    /// An error as KMS returns it, with `code` (moto cannot produce most of these).
    fn service_error(code: &str) -> SdkError<DecryptError, HttpResponse> {
        let meta = ErrorMetadata::builder()
            .code(code)
            .message("said by the service")
            .build();
        let response = HttpResponse::new(StatusCode::try_from(400).unwrap(), SdkBody::empty());
        SdkError::service_error(DecryptError::generic(meta), response)
    }

    #[test]
    fn kms_errors_are_typed_and_name_the_key() {
        for (code, expected) in [
            ("AccessDeniedException", KeyProviderError::AccessDenied),
            ("NotFoundException", KeyProviderError::KeyNotFound),
            ("DisabledException", KeyProviderError::KeyDisabled),
            ("KMSInvalidStateException", KeyProviderError::KeyDisabled),
            ("ThrottlingException", KeyProviderError::Throttled),
            ("InternalFailure", KeyProviderError::Other),
        ] {
            let error = map(
                "arn:aws:kms:eu-west-1:111122223333:key/k1",
                service_error(code),
            );
            assert!(error.to_string().contains("key/k1"), "{error}");
            match error {
                Error::KeyProvider { kind, key_id, .. } => {
                    assert_eq!(kind, expected, "{code}");
                    assert_eq!(
                        key_id.as_deref(),
                        Some("arn:aws:kms:eu-west-1:111122223333:key/k1")
                    );
                }
                other => panic!("{code}: {other:?}"),
            }
        }
        for code in ["InvalidCiphertextException", "IncorrectKeyException"] {
            assert!(
                matches!(map("k1", service_error(code)), Error::UnwrapFailed { .. }),
                "{code}"
            );
        }
    }
}
