//! Randomness from the operating system, for keys, salts and nonces.

use crate::error::{Error, Result};

/// Fills `buf` from the operating system's random number generator.
pub(crate) fn fill(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|_| Error::Randomness)
}

/// `N` random bytes from the operating system.
pub(crate) fn array<const N: usize>() -> Result<[u8; N]> {
    let mut out = [0; N];
    fill(&mut out)?;
    Ok(out)
}
