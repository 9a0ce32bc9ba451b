//! Data keys as values: the plaintext key that a record's keys derive from, its wrapped form as
//! a keyring returns it, and the two together. Values-level, so that the format takes a key
//! without knowing where keys come from; `crate::keyring` re-exports them for key providers.

use crate::error::ConfigError;
use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{Error, Result};
use crate::key_bytes::{KEY_LEN, KeyBytes};

/// A plaintext 256-bit data key, in a heap block of its own that is wiped when the last clone is
/// dropped (moving or cloning a `DataKey` copies a pointer, not the key: the cache hands one out
/// per item). Its `Debug` is redacted.
#[derive(Clone)]
pub struct DataKey(Arc<KeyBytes>);

impl DataKey {
    /// A data key from its 32 bytes, as a key provider returns them.
    ///
    /// Refuses any other length, so that a provider misconfigured to return (say) a 128-bit key
    /// fails loudly instead of weakening every item.
    pub fn from_slice(key_id: &str, bytes: &[u8]) -> Result<Self> {
        KeyBytes::from_slice(bytes)
            .map(|key| DataKey(Arc::new(key)))
            .ok_or_else(|| {
                crate::Error::Config(ConfigError::InvalidKey {
                    key_id: key_id.to_owned(),
                    reason: format!(
                        "a data key must be {KEY_LEN} bytes, the provider returned {}",
                        bytes.len()
                    ),
                })
            })
    }

    /// A fresh random data key.
    pub(crate) fn random() -> Result<Self> {
        KeyBytes::random().map(|key| DataKey(Arc::new(key)))
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        self.0.get()
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey([REDACTED])")
    }
}

/// A data key wrapped (encrypted) by a keyring: safe to store, useless without the keyring.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct WrappedDataKey {
    /// The id of the key-encryption key that wrapped it (a local key name, a KMS key ARN).
    pub key_id: String,
    /// The wrapped key, in the keyring's own format.
    pub ciphertext: Vec<u8>,
}

/// The prefix of a wrapped key's text form.
const WRAPPED_TEXT_PREFIX: &str = "crypt-model-wrapped-key.v1.";
/// The longest text form read: a KMS ciphertext blob is a few hundred bytes.
const WRAPPED_TEXT_MAX: usize = 16 * 1024;

impl WrappedDataKey {
    /// A one-line text form, to keep the key in a file, an environment variable or a
    /// configuration store: `crypt-model-wrapped-key.v1.` then the key id and the ciphertext,
    /// each in unpadded URL-safe base64, separated by a dot. It holds nothing secret (the key is
    /// wrapped) but names the key-encryption key.
    pub fn to_text(&self) -> String {
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        format!(
            "{WRAPPED_TEXT_PREFIX}{}.{}",
            b64(self.key_id.as_bytes()),
            b64(&self.ciphertext)
        )
    }

    /// Reads [`to_text`](Self::to_text)'s form (surrounding white space ignored). Anything else
    /// is refused with [`ConfigError::InvalidKey`](crate::error::ConfigError::InvalidKey).
    pub fn from_text(text: &str) -> Result<Self> {
        let refuse = |reason: &str| {
            Error::Config(ConfigError::InvalidKey {
                key_id: "wrapped key".to_owned(),
                reason: reason.to_owned(),
            })
        };
        let text = text.trim();
        if text.len() > WRAPPED_TEXT_MAX {
            return Err(refuse("the text is too long to be a wrapped key"));
        }
        let rest = text.strip_prefix(WRAPPED_TEXT_PREFIX).ok_or_else(|| {
            refuse("not a wrapped key's text form (crypt-model-wrapped-key.v1.KEY-ID.CIPHERTEXT)")
        })?;
        let (key_id, ciphertext) = rest
            .split_once('.')
            .ok_or_else(|| refuse("a wrapped key's text form has a key id and a ciphertext"))?;
        let decode = |part: &str| {
            URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| refuse("not base64"))
        };
        let key_id = String::from_utf8(decode(key_id)?).map_err(|_| refuse("a key id is text"))?;
        let ciphertext = decode(ciphertext)?;
        if key_id.is_empty() || ciphertext.is_empty() {
            return Err(refuse("a wrapped key has a key id and a ciphertext"));
        }
        Ok(WrappedDataKey { key_id, ciphertext })
    }
}

/// A fresh data key, in plaintext for this process and wrapped for storage.
#[derive(Clone, Debug)]
pub struct GeneratedDataKey {
    /// The plaintext key.
    pub key: DataKey,
    /// The same key, wrapped.
    pub wrapped: WrappedDataKey,
}
