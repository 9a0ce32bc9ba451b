//! 256-bit secret keys held on the heap: data keys, key-encryption keys and index secrets.
//!
//! A key kept inline in a value is copied whenever the value moves and left behind in the old
//! place, and a key inline in a collection's memory (a map of keys, the data-key cache) is left
//! in the freed table when the collection grows. A [`KeyBytes`] is a pointer to one heap block
//! that is written once, in place, and wiped when it is dropped, so moving a key moves only the
//! pointer.

use secrecy::{ExposeSecret, ExposeSecretMut, SecretBox};

/// The length of every key: data keys, key-encryption keys, index secrets, the keys of an item.
pub(crate) const KEY_LEN: usize = 32;

/// 32 key bytes in a heap block of their own, wiped on drop.
pub(crate) struct KeyBytes(SecretBox<[u8; KEY_LEN]>);

impl KeyBytes {
    /// A copy of `bytes`, or `None` unless they are exactly 32.
    pub(crate) fn from_slice(bytes: &[u8]) -> Option<Self> {
        let bytes: &[u8; KEY_LEN] = bytes.try_into().ok()?;
        Some(Self::copy_of(bytes))
    }

    /// Fresh bytes from the operating system, written straight into the heap block.
    pub(crate) fn random() -> crate::error::Result<Self> {
        let mut key = SecretBox::<[u8; KEY_LEN]>::default();
        crate::random::fill(key.expose_secret_mut())?;
        Ok(KeyBytes(key))
    }

    pub(crate) fn get(&self) -> &[u8; KEY_LEN] {
        self.0.expose_secret()
    }

    fn copy_of(bytes: &[u8; KEY_LEN]) -> Self {
        KeyBytes(SecretBox::init_with_mut(|key: &mut [u8; KEY_LEN]| {
            key.copy_from_slice(bytes)
        }))
    }
}

impl Clone for KeyBytes {
    fn clone(&self) -> Self {
        Self::copy_of(self.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_exactly_32_bytes_and_random_keys_differ() {
        assert!(KeyBytes::from_slice(&[1; 31]).is_none());
        assert!(KeyBytes::from_slice(&[1; 33]).is_none());
        assert_eq!(KeyBytes::from_slice(&[1; 32]).unwrap().get(), &[1; 32]);
        let (a, b) = (KeyBytes::random().unwrap(), KeyBytes::random().unwrap());
        assert_ne!(a.get(), b.get());
        assert_eq!(a.clone().get(), a.get());
    }
}
