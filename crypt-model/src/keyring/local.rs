//! [`LocalKeyring`]: key-encryption keys held in this process.

use crate::error::{ConfigError, KeyError};
use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use base64::Engine as _;
use zeroize::Zeroizing;

use super::{DataKey, EncryptionContext, GeneratedDataKey, KEY_LEN, Keyring, WrappedDataKey};
use crate::aead::{self, NONCE_LEN};
use crate::encoding::put_bytes;
use crate::error::{Error, Result};
use crate::key_bytes::KeyBytes;
use crate::random;

/// Domain label of the local wrapping's associated data.
const WRAP_LABEL: &[u8] = b"crypt-model local wrap v1";

/// A keyring of named 256-bit key-encryption keys held in memory: for development, tests, and
/// teams that manage their own keys.
///
/// One key is the *primary*: it wraps every new data key. Older keys are kept for reads only, so
/// that a key can be rotated without re-encrypting the table. A data key is wrapped with
/// XChaCha20-Poly1305 under the key-encryption key, with the key id and the
/// [`EncryptionContext`] as associated data (layout in `docs/format.md`).
///
/// Keys are refused unless they are exactly 32 bytes and not all zero. Key material is never
/// printed: `Debug` shows the key ids only.
///
/// ```
/// use crypt_model::LocalKeyring;
///
/// # fn main() -> Result<(), crypt_model::Error> {
/// let old = [7u8; 32];
/// let new = [9u8; 32];
/// // Write with "2026-11", still read what "2026-01" wrote.
/// let keyring = LocalKeyring::new("2026-11", &new)?.with_read_key("2026-01", &old)?;
/// assert_eq!(keyring.primary_key_id(), "2026-11");
/// assert_eq!(format!("{keyring:?}"), r#"LocalKeyring { primary: "2026-11", keys: ["2026-01", "2026-11"] }"#);
/// # Ok(()) }
/// ```
pub struct LocalKeyring {
    primary: String,
    keys: BTreeMap<String, KeyBytes>,
}

impl LocalKeyring {
    /// A keyring whose primary key is `key` (32 bytes), named `key_id`.
    pub fn new(key_id: &str, key: &[u8]) -> Result<Self> {
        #[cfg(feature = "fips")]
        {
            static WARNED: std::sync::Once = std::sync::Once::new();
            WARNED.call_once(|| {
                tracing::warn!(
                    target: "crypt_model::fips",
                    "a LocalKeyring wraps data keys with XChaCha20-Poly1305, outside AWS-LC's FIPS \
                     module: use it in development only, and AWS KMS in production (docs/fips.md)"
                );
            });
        }
        let mut keys = BTreeMap::new();
        keys.insert(key_id.to_owned(), checked_key(key_id, key)?);
        Ok(LocalKeyring {
            primary: key_id.to_owned(),
            keys,
        })
    }

    /// A keyring whose primary key is given in standard base64 (44 characters with padding).
    pub fn from_base64(key_id: &str, key: &str) -> Result<Self> {
        Self::new(key_id, &decode_base64(key_id, key)?)
    }

    /// A keyring whose primary key is read, in base64, from the environment variable `var`.
    pub fn from_env(key_id: &str, var: &str) -> Result<Self> {
        check_key_id(key_id)?;
        let value = Zeroizing::new(std::env::var(var).map_err(|_| {
            Error::Config(ConfigError::InvalidKey {
                key_id: key_id.to_owned(),
                reason: format!("environment variable `{var}` is not set or is not valid Unicode"),
            })
        })?);
        Self::from_base64(key_id, value.trim())
    }

    /// A keyring with a fresh random primary key named `local-` and 16 random hex digits: for
    /// tests and the quickstart. What it encrypts is lost with it.
    pub fn generate() -> Result<Self> {
        let id = random::id("local-")?;
        let mut keys = BTreeMap::new();
        keys.insert(id.clone(), KeyBytes::random()?);
        Ok(LocalKeyring { primary: id, keys })
    }

    /// Adds an older key, used only to unwrap data keys it wrapped before a rotation.
    pub fn with_read_key(mut self, key_id: &str, key: &[u8]) -> Result<Self> {
        if self.keys.contains_key(key_id) {
            return Err(Error::Config(ConfigError::InvalidKey {
                key_id: key_id.to_owned(),
                reason: "this keyring already holds a key with that id".to_owned(),
            }));
        }
        self.keys
            .insert(key_id.to_owned(), checked_key(key_id, key)?);
        Ok(self)
    }

    /// Adds an older key given in base64; see [`with_read_key`](Self::with_read_key).
    pub fn with_read_key_base64(self, key_id: &str, key: &str) -> Result<Self> {
        let key = decode_base64(key_id, key)?;
        self.with_read_key(key_id, &key)
    }

    /// The id of the key that wraps new data keys.
    pub fn primary_key_id(&self) -> &str {
        &self.primary
    }

    fn key(&self, key_id: &str) -> Result<&[u8; KEY_LEN]> {
        self.keys.get(key_id).map(KeyBytes::get).ok_or_else(|| {
            Error::Key(KeyError::UnknownKeyId {
                key_id: key_id.to_owned(),
            })
        })
    }
}

fn wrap_aad(key_id: &str, context: &EncryptionContext) -> Vec<u8> {
    let mut aad = Vec::with_capacity(96);
    put_bytes(&mut aad, WRAP_LABEL);
    put_bytes(&mut aad, key_id.as_bytes());
    aad.extend_from_slice(&context.to_bytes());
    aad
}

/// Wraps `data_key` under `kek` with the given nonce: `nonce (24) || ciphertext (32) || tag (16)`.
pub(crate) fn wrap_with_nonce(
    kek: &[u8; KEY_LEN],
    key_id: &str,
    context: &EncryptionContext,
    data_key: &[u8; KEY_LEN],
    nonce: [u8; NONCE_LEN],
) -> Vec<u8> {
    aead::seal(kek, nonce, &wrap_aad(key_id, context), data_key)
}

#[async_trait]
impl Keyring for LocalKeyring {
    async fn generate_data_key(&self, context: &EncryptionContext) -> Result<GeneratedDataKey> {
        let key = DataKey::random()?;
        let kek = self.key(&self.primary)?;
        let ciphertext =
            wrap_with_nonce(kek, &self.primary, context, key.bytes(), random::array()?);
        Ok(GeneratedDataKey {
            key,
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
        let kek = self.key(&wrapped.key_id)?;
        let failed = || {
            Error::Key(KeyError::UnwrapFailed {
                key_id: wrapped.key_id.clone(),
            })
        };
        let plaintext = aead::open(
            kek,
            &wrap_aad(&wrapped.key_id, context),
            &wrapped.ciphertext,
        )
        .ok_or_else(failed)?;
        DataKey::from_slice(&wrapped.key_id, &plaintext).map_err(|_| failed())
    }

    fn primary_key_id(&self) -> Option<&str> {
        Some(&self.primary)
    }

    async fn rewrap_data_key(
        &self,
        key: &DataKey,
        _wrapped: &WrappedDataKey,
        context: &EncryptionContext,
    ) -> Result<WrappedDataKey> {
        let kek = self.key(&self.primary)?;
        Ok(WrappedDataKey {
            key_id: self.primary.clone(),
            ciphertext: wrap_with_nonce(kek, &self.primary, context, key.bytes(), random::array()?),
        })
    }
}

impl fmt::Debug for LocalKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKeyring")
            .field("primary", &self.primary)
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

pub(super) fn checked_key(key_id: &str, key: &[u8]) -> Result<KeyBytes> {
    check_key_id(key_id)?;
    let refuse = |reason: String| {
        Error::Config(ConfigError::InvalidKey {
            key_id: key_id.to_owned(),
            reason,
        })
    };
    let key = KeyBytes::from_slice(key).ok_or_else(|| {
        refuse(format!(
            "a key must be exactly {KEY_LEN} bytes, not {}",
            key.len()
        ))
    })?;
    if key.get().iter().all(|&b| b == 0) {
        return Err(refuse(
            "an all-zero key is refused: generate one with a secure RNG".to_owned(),
        ));
    }
    Ok(key)
}

/// Key ids are stored in every header and shown in errors: short, printable, no spaces, and not
/// a key given in the id's place by swapped arguments.
fn check_key_id(key_id: &str) -> Result<()> {
    let base64_key = key_id.len() == 44
        && base64::engine::general_purpose::STANDARD
            .decode(key_id)
            .is_ok_and(|k| k.len() == KEY_LEN);
    let hex_key = key_id.len() == 2 * KEY_LEN && key_id.chars().all(|c| c.is_ascii_hexdigit());
    if base64_key || hex_key {
        return Err(Error::Config(ConfigError::InvalidKey {
            key_id: "[REDACTED]".to_owned(),
            reason: "the key id looks like a 256-bit key: key ids are stored in every item and \
                     shown in errors; were the key id and the key swapped?"
                .to_owned(),
        }));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_.:/+=@".contains(c);
    if key_id.is_empty() || key_id.len() > 255 || !key_id.chars().all(allowed) {
        return Err(Error::Config(ConfigError::InvalidKey {
            key_id: key_id.chars().filter(|&c| allowed(c)).take(64).collect(),
            reason: "a key id must be 1 to 255 characters of A-Z a-z 0-9 - _ . : / + = @"
                .to_owned(),
        }));
    }
    Ok(())
}

fn decode_base64(key_id: &str, key: &str) -> Result<Zeroizing<Vec<u8>>> {
    check_key_id(key_id)?;
    base64::engine::general_purpose::STANDARD
        .decode(key.trim())
        .map(Zeroizing::new)
        .map_err(|_| {
            Error::Config(ConfigError::InvalidKey {
                key_id: key_id.to_owned(),
                reason: "not valid standard base64".to_owned(),
            })
        })
}
