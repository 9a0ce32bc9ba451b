//! [`Encoder`]: the buffer a sensitive value is encoded into.

use std::fmt;
use std::io;

use zeroize::Zeroizing;

use crate::wipe::wipe_bytes;

/// Where a [`Plaintext`](super::Plaintext) value writes its bytes before they are encrypted.
///
/// A byte buffer that wipes what it leaves behind: when it must grow, it moves its bytes to a
/// larger block and wipes the old block before freeing it, and it wipes its block on drop. A
/// `Vec<u8>` would leave a copy of the plaintext in freed memory at every reallocation. It
/// implements [`io::Write`], so encoders that write to one (CBOR, JSON) can write into it.
///
/// ```
/// use crypt_model::plaintext::{Encoder, Plaintext};
///
/// let mut out = Encoder::new();
/// String::from("078-05-1120").encode(&mut out).unwrap();
/// assert_eq!(out.as_slice(), b"078-05-1120");
/// assert_eq!(format!("{out:?}"), "Encoder { len: 11 }");
/// ```
#[derive(Default)]
pub struct Encoder {
    /// Wiped on growth and on drop, here (`crate::wipe`).
    bytes: Vec<u8>,
}

/// The first block an encoder allocates: most sensitive values fit.
const FIRST_CAPACITY: usize = 64;

impl Encoder {
    /// An empty encoder; it allocates on the first write.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty encoder with room for `capacity` bytes before it must grow.
    pub fn with_capacity(capacity: usize) -> Self {
        Encoder {
            bytes: Vec::with_capacity(capacity),
        }
    }

    /// Appends `bytes`.
    pub fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.reserve(bytes.len());
        self.bytes.extend_from_slice(bytes);
    }

    /// Appends one byte.
    pub fn push(&mut self, byte: u8) {
        self.reserve(1);
        self.bytes.push(byte);
    }

    /// The number of bytes written.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The bytes written so far.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes
    }

    /// The bytes written, in a buffer that is wiped on drop.
    pub fn into_bytes(self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.into_vec())
    }

    /// The bytes written, which the caller must wipe (`crate::wipe::wipe_bytes`).
    pub(crate) fn into_vec(mut self) -> Vec<u8> {
        std::mem::take(&mut self.bytes)
    }

    /// Overwrites the bytes at `at..at + bytes.len()` (a length prefix written after its
    /// element).
    pub(crate) fn overwrite(&mut self, at: usize, bytes: &[u8]) {
        self.bytes[at..at + bytes.len()].copy_from_slice(bytes);
    }

    /// Makes room for `additional` more bytes without a reallocation that leaves the old block
    /// unwiped: a larger block is allocated here, the bytes are copied, and the old block is
    /// wiped as it is dropped.
    fn reserve(&mut self, additional: usize) {
        // Saturated, `Vec::with_capacity` below reports the overflow as `Vec` itself would.
        let needed = self.bytes.len().saturating_add(additional);
        if needed <= self.bytes.capacity() {
            return;
        }
        let capacity = needed
            .max(self.bytes.capacity().saturating_mul(2))
            .max(FIRST_CAPACITY);
        let mut grown = Vec::with_capacity(capacity);
        grown.extend_from_slice(&self.bytes);
        wipe_bytes(&mut std::mem::replace(&mut self.bytes, grown));
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        wipe_bytes(&mut self.bytes);
    }
}

impl io::Write for Encoder {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.extend_from_slice(bytes);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl fmt::Debug for Encoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encoder").field("len", &self.len()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encoder_grows_by_moving_and_keeps_every_byte() {
        let mut out = Encoder::new();
        let mut expected = Vec::new();
        for i in 0..1000u32 {
            let bytes = i.to_be_bytes();
            out.extend_from_slice(&bytes[..(i % 4) as usize]);
            expected.extend_from_slice(&bytes[..(i % 4) as usize]);
            out.push(i as u8);
            expected.push(i as u8);
        }
        out.overwrite(1, &[0xAA, 0xBB]);
        expected[1..3].copy_from_slice(&[0xAA, 0xBB]);
        assert_eq!(out.as_slice(), expected.as_slice());
        assert_eq!(out.len(), expected.len());
        assert!(!out.is_empty() && Encoder::with_capacity(8).is_empty());
    }
}
