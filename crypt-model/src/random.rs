//! Randomness from the operating system (or AWS-LC's FIPS module), for keys, salts and nonces.

use crate::error::Result;
#[cfg(not(feature = "fips"))]
use crate::error::{Error, KeyError};

/// Fills `buf` from the operating system's random number generator (in a `fips` build, from
/// AWS-LC's FIPS module, seeded by it).
pub(crate) fn fill(buf: &mut [u8]) -> Result<()> {
    #[cfg(feature = "fips")]
    return crate::fips::fill(buf);
    #[cfg(not(feature = "fips"))]
    getrandom::fill(buf).map_err(|_| Error::Key(KeyError::Randomness))
}

/// `N` random bytes from the operating system, returned by value: for values that are not
/// secret (nonces, ids, jitter). Keys are written in place instead (`KeyBytes::random`), so that
/// no copy is left where a returned array was.
pub(crate) fn array<const N: usize>() -> Result<[u8; N]> {
    let mut out = [0; N];
    fill(&mut out)?;
    Ok(out)
}

/// A fresh random id: `prefix` and 16 lower-case hex digits.
pub(crate) fn id(prefix: &str) -> Result<String> {
    let mut id = String::from(prefix);
    crate::encoding::put_hex(&mut id, &array::<8>()?);
    Ok(id)
}
