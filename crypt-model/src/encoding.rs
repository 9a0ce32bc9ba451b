//! The byte-level building blocks of the stored format that every layer shares: the format
//! version, the reserved attribute namespace, and unambiguous length-prefixed encoding. Imports
//! nothing of the crate, so that anything may use it.

/// The format version this build writes and reads.
pub const VERSION: u8 = 3;

/// Attribute names that start with this are reserved for crypt-model.
pub const RESERVED_PREFIX: &str = "__cm";

/// Appends a 4-byte big-endian length or count. Every length here is far below 4 GiB (an item
/// is at most 400 KB), so saturating never happens in practice and cannot make two encodings
/// equal without also making them longer than any item.
pub(crate) fn put_u32(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes());
}

/// Appends `bytes` with a 4-byte big-endian length prefix.
pub(crate) fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u32(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// Appends `bytes` to `out` in lower-case hex (key ids, tombstone ids: nothing secret).
pub(crate) fn put_hex(out: &mut String, bytes: &[u8]) {
    for byte in bytes {
        out.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(byte & 15)]));
    }
}
