//! [`KmsKeyring`]: data keys from AWS KMS.

use crypt_model::error::{ConfigError, KeyError};
use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_kms::Client;
use aws_sdk_kms::config::http::HttpResponse;
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use crypt_model::keyring::{DataKey, EncryptionContext, GeneratedDataKey, Keyring, WrappedDataKey};
use crypt_model::{Error, KeyProviderError, Result};
use zeroize::Zeroizing;

/// A [`Keyring`] whose data keys are generated and unwrapped by AWS KMS.
///
/// - Keys are **pinned by ARN**. [`connect`](Self::connect) takes a key id, key ARN, alias name
///   or alias ARN and resolves each once (`DescribeKey`) to the key's ARN; [`new`](Self::new)
///   takes key ARNs as they are. Each item's header records the ARN that `GenerateDataKey`
///   returned, and `Decrypt` is called with that ARN, which must be one of this keyring's keys
///   (else [`KeyError::UnknownKeyId`](crypt_model::error::KeyError::UnknownKeyId), and KMS is not called). Re-pointing an alias therefore
///   neither breaks older items nor changes which key they trust.
/// - Both calls carry the [`EncryptionContext`]: the logical table and the format version. It
///   holds nothing per item because a cached data key serves many items of a table; per-item
///   binding is done by the item's own key derivation. KMS logs the context in CloudTrail, so it
///   never carries a record's values. A data key of table A therefore cannot be unwrapped for an
///   item of table B.
/// - Rotation: new data keys use the primary key; read keys stay usable for reads.
/// - Errors are typed ([`KeyProviderError`]): access denied and key not found name the key;
///   throttling is `Throttled`; an unreachable KMS and its transient failures
///   (`KeyUnavailableException`, `KMSInternalException`, `DependencyTimeoutException`) are
///   `Unavailable`, where a retry may help; a context or ciphertext mismatch is
///   [`KeyError::UnwrapFailed`](crypt_model::error::KeyError::UnwrapFailed).
///
/// Put it behind the [`Keys`](crypt_model::Keys)'s cache (always there): with the default
/// limits, 10,000 writes cost one `GenerateDataKey`.
#[derive(Clone, Debug)]
pub struct KmsKeyring {
    client: Client,
    primary: String,
    keys: Vec<String>,
}

impl KmsKeyring {
    /// A keyring generating data keys under `primary` and also reading what `read_keys` wrapped
    /// (keys rotated out): each a key id, key ARN, alias name (`alias/…`) or alias ARN, resolved
    /// now, once, to the key's ARN.
    ///
    /// Errors: a key KMS does not know ([`KeyProviderError::KeyNotFound`]), credentials that may
    /// not describe it, KMS unreachable.
    pub async fn connect(client: Client, primary: &str, read_keys: &[&str]) -> Result<Self> {
        let primary = resolve(&client, primary).await?;
        let mut keyring = KmsKeyring::new(client, &primary)?;
        for key in read_keys {
            let arn = resolve(&keyring.client, key).await?;
            keyring = keyring.with_read_key(&arn)?;
        }
        Ok(keyring)
    }

    /// A keyring generating data keys under the key whose ARN is `key_arn`
    /// (`arn:aws:kms:REGION:ACCOUNT:key/ID`), without calling KMS. For an alias or a bare key id,
    /// use [`connect`](Self::connect).
    pub fn new(client: Client, key_arn: &str) -> Result<Self> {
        check_key_arn(key_arn)?;
        Ok(KmsKeyring {
            client,
            primary: key_arn.to_owned(),
            keys: vec![key_arn.to_owned()],
        })
    }

    /// Keeps an older key, given by its ARN, usable for reads after a rotation.
    pub fn with_read_key(mut self, key_arn: &str) -> Result<Self> {
        check_key_arn(key_arn)?;
        if !self.keys.iter().any(|k| k == key_arn) {
            self.keys.push(key_arn.to_owned());
        }
        Ok(self)
    }

    /// An answer of KMS about the primary key that the keyring cannot use.
    fn provider_error(&self, message: String) -> Error {
        Error::Key(KeyError::Provider {
            kind: KeyProviderError::Other,
            key_id: Some(self.primary.clone()),
            message,
            source: None,
        })
    }

    /// The ARN of the key that wraps new data keys.
    pub fn primary_key_id(&self) -> &str {
        &self.primary
    }

    /// The ARNs of every key this keyring reads, the primary first.
    pub fn key_ids(&self) -> &[String] {
        &self.keys
    }
}

/// A key's ARN, from any of the forms KMS accepts.
pub(crate) async fn resolve(client: &Client, key: &str) -> Result<String> {
    check_key_reference(key)?;
    let described = client
        .describe_key()
        .key_id(key)
        .send()
        .await
        .map_err(|e| map(key, e))?;
    described
        .key_metadata
        .and_then(|metadata| metadata.arn)
        .ok_or_else(|| {
            Error::Key(KeyError::Provider {
                kind: KeyProviderError::Other,
                key_id: Some(key.to_owned()),
                message: "AWS KMS described the key without an ARN".to_owned(),
                source: None,
            })
        })
}

/// A key reference as a key id, ARN or alias: 1 to 2,048 characters of printable ASCII.
fn check_key_reference(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > 2048 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::Config(ConfigError::InvalidKey {
            key_id: key.escape_debug().take(64).collect(),
            reason: "a KMS key is named by 1 to 2,048 printable characters without spaces (key \
                     id, key ARN, alias name or alias ARN)"
                .to_owned(),
        }));
    }
    Ok(())
}

/// A key ARN: `arn:PARTITION:kms:REGION:ACCOUNT:key/ID`, not an alias.
pub(crate) fn check_key_arn(key: &str) -> Result<()> {
    check_key_reference(key)?;
    let parts: Vec<&str> = key.splitn(6, ':').collect();
    let is_key_arn = parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "kms"
        && parts[5]
            .strip_prefix("key/")
            .is_some_and(|id| !id.is_empty());
    if !is_key_arn {
        return Err(Error::Config(ConfigError::InvalidKey {
            key_id: key.to_owned(),
            reason: "expected a key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID); for an alias or a \
                     key id, use KmsKeyring::connect, which resolves it to the key's ARN"
                .to_owned(),
        }));
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
pub(crate) fn map<E>(key_id: &str, error: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let provider = |kind, message: &str, error: SdkError<E, HttpResponse>| {
        Error::Key(KeyError::Provider {
            kind,
            key_id: Some(key_id.to_owned()),
            message: message.to_owned(),
            source: Some(Box::new(error)),
        })
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
        "InvalidCiphertextException" | "IncorrectKeyException" => {
            Error::Key(KeyError::UnwrapFailed {
                key_id: key_id.to_owned(),
            })
        }
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
        "KeyUnavailableException" | "KMSInternalException" | "DependencyTimeoutException" => {
            provider(
                KeyProviderError::Unavailable,
                "AWS KMS is temporarily unavailable; retry with backoff",
                error,
            )
        }
        // An answer without an error code the SDK could read (a proxy's, or an emulator's
        // that speaks another protocol): its HTTP status is all there is to go on.
        "" => match error
            .raw_response()
            .map(|response| response.status().as_u16())
        {
            Some(403) => provider(
                KeyProviderError::AccessDenied,
                "the credentials may not use this key (HTTP 403)",
                error,
            ),
            Some(status) => {
                let message = format!("AWS KMS answered HTTP {status} without an error code");
                provider(KeyProviderError::Other, &message, error)
            }
            None => provider(KeyProviderError::Other, "AWS KMS failed", error),
        },
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
        let missing = |what: &str| self.provider_error(format!("AWS KMS returned no {what}"));
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
        // The header records the key that KMS says wrapped the data key: it must be ours.
        let key_id = output.key_id.ok_or_else(|| missing("key id"))?;
        if key_id != self.primary {
            return Err(self.provider_error(
                "AWS KMS wrapped the data key under another key than the one asked for".to_owned(),
            ));
        }
        Ok(GeneratedDataKey {
            key: DataKey::from_slice(&self.primary, &plaintext)?,
            wrapped: WrappedDataKey { key_id, ciphertext },
        })
    }

    async fn unwrap_data_key(
        &self,
        wrapped: &WrappedDataKey,
        context: &EncryptionContext,
    ) -> Result<DataKey> {
        if !self.keys.contains(&wrapped.key_id) {
            return Err(Error::Key(KeyError::UnknownKeyId {
                key_id: wrapped.key_id.clone(),
            }));
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
                .ok_or_else(|| {
                    Error::Key(KeyError::UnwrapFailed {
                        key_id: wrapped.key_id.clone(),
                    })
                })?
                .into_inner(),
        );
        DataKey::from_slice(&wrapped.key_id, &plaintext)
    }

    fn primary_key_id(&self) -> Option<&str> {
        Some(&self.primary)
    }

    /// `ReEncrypt` from the key that wrapped `wrapped` to the primary, under the same encryption
    /// context: the data key does not leave KMS (the credentials need `kms:ReEncryptFrom` on
    /// the old key and `kms:ReEncryptTo` on the primary).
    async fn rewrap_data_key(
        &self,
        _key: &DataKey,
        wrapped: &WrappedDataKey,
        context: &EncryptionContext,
    ) -> Result<WrappedDataKey> {
        if !self.keys.contains(&wrapped.key_id) {
            return Err(Error::Key(KeyError::UnknownKeyId {
                key_id: wrapped.key_id.clone(),
            }));
        }
        let context = context_map(context);
        let output = self
            .client
            .re_encrypt()
            .source_key_id(&wrapped.key_id)
            .ciphertext_blob(Blob::new(wrapped.ciphertext.clone()))
            .set_source_encryption_context(Some(context.clone()))
            .destination_key_id(&self.primary)
            .set_destination_encryption_context(Some(context))
            .send()
            .await
            .map_err(|e| map(&wrapped.key_id, e))?;
        let missing = |what: &str| self.provider_error(format!("AWS KMS returned no {what}"));
        let key_id = output.key_id.ok_or_else(|| missing("key id"))?;
        if key_id != self.primary {
            return Err(self.provider_error(
                "AWS KMS rewrapped the data key under another key than the primary".to_owned(),
            ));
        }
        let ciphertext = output
            .ciphertext_blob
            .ok_or_else(|| missing("wrapped key"))?
            .into_inner();
        Ok(WrappedDataKey { key_id, ciphertext })
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_kms::error::ErrorMetadata;
    use aws_sdk_kms::operation::decrypt::DecryptError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    use super::*;

    /// An error as KMS returns it, with `code` (moto cannot produce most of these).
    fn service_error(code: &str) -> SdkError<DecryptError, HttpResponse> {
        answer(Some(code), 400)
    }

    /// An answer with HTTP `status`, and an error code the SDK could read, or none.
    fn answer(code: Option<&str>, status: u16) -> SdkError<DecryptError, HttpResponse> {
        let mut meta = ErrorMetadata::builder().message("said by the service");
        if let Some(code) = code {
            meta = meta.code(code);
        }
        let response = HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty());
        SdkError::service_error(DecryptError::generic(meta.build()), response)
    }

    /// An answer whose body the SDK could not read (moto's IAM denial is XML, for one) is
    /// classified by its status alone.
    #[test]
    fn an_answer_without_an_error_code_is_classified_by_its_status() {
        for (status, expected) in [
            (403, KeyProviderError::AccessDenied),
            (500, KeyProviderError::Other),
        ] {
            match map("k1", answer(None, status)) {
                Error::Key(KeyError::Provider { kind, message, .. }) => {
                    assert_eq!(kind, expected, "{status}");
                    assert!(message.contains(&status.to_string()), "{message}");
                }
                other => panic!("{status}: {other:?}"),
            }
        }
    }

    #[test]
    fn kms_errors_are_typed_and_name_the_key() {
        for (code, expected) in [
            ("AccessDeniedException", KeyProviderError::AccessDenied),
            ("NotFoundException", KeyProviderError::KeyNotFound),
            ("DisabledException", KeyProviderError::KeyDisabled),
            ("KMSInvalidStateException", KeyProviderError::KeyDisabled),
            ("ThrottlingException", KeyProviderError::Throttled),
            ("KeyUnavailableException", KeyProviderError::Unavailable),
            ("KMSInternalException", KeyProviderError::Unavailable),
            ("DependencyTimeoutException", KeyProviderError::Unavailable),
            ("InternalFailure", KeyProviderError::Other),
        ] {
            let error = map(
                "arn:aws:kms:eu-west-1:111122223333:key/k1",
                service_error(code),
            );
            assert!(error.to_string().contains("key/k1"), "{error}");
            match error {
                Error::Key(KeyError::Provider { kind, key_id, .. }) => {
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
                matches!(
                    map("k1", service_error(code)),
                    Error::Key(KeyError::UnwrapFailed { .. })
                ),
                "{code}"
            );
        }
    }
}

#[cfg(test)]
mod arn_tests {
    use super::*;

    #[test]
    fn only_key_arns_are_taken_as_they_are() {
        assert!(check_key_arn("arn:aws:kms:eu-west-1:111122223333:key/1234abcd").is_ok());
        assert!(check_key_arn("arn:aws-cn:kms:cn-north-1:111122223333:key/k").is_ok());
        for reference in [
            "alias/profiles",
            "arn:aws:kms:eu-west-1:111122223333:alias/profiles",
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:eu-west-1:111122223333:key/",
            "arn:aws:s3:::bucket/key/x",
            "",
            "arn:aws:kms:eu-west-1:111122223333:key/with space",
        ] {
            assert!(
                matches!(
                    check_key_arn(reference),
                    Err(Error::Config(ConfigError::InvalidKey { .. }))
                ),
                "{reference}"
            );
        }
    }
}
