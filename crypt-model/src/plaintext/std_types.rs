//! [`Plaintext`] for the other standard types a sensitive field may hold: `Box<str>`, `char`,
//! `[u8; N]`, tuples, `SystemTime`, `Duration`, IP addresses and the `NonZero` integers; and the
//! encodings of instants and dates that other crates' types share (`crate::types`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::num::{
    NonZeroI8, NonZeroI16, NonZeroI32, NonZeroI64, NonZeroI128, NonZeroIsize, NonZeroU8,
    NonZeroU16, NonZeroU32, NonZeroU64, NonZeroU128, NonZeroUsize,
};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use zeroize::{Zeroize, Zeroizing};

use super::{ConversionError, Encoder, Plaintext, encode_element, split_u32};
use crate::wipe::wipe_bytes;

/// Overwrites a value that owns no heap memory with `blank`, in place, as a store the compiler
/// keeps (for the `Copy` types that `Zeroize` does not cover).
pub(crate) fn overwrite<T>(slot: &mut T, blank: T) {
    *slot = blank;
    std::hint::black_box(slot);
}

/// Exactly `N` bytes, or the error that says what was expected.
pub(crate) fn exact<const N: usize>(
    bytes: &[u8],
    what: &'static str,
) -> Result<[u8; N], ConversionError> {
    bytes
        .try_into()
        .map_err(|_| ConversionError::expected(what))
}

/// An instant as 12 bytes: whole seconds since the Unix epoch (`i64`, rounded down) and the
/// nanoseconds past them (`u32`, below 10^9), both big-endian.
pub(crate) fn encode_instant(
    seconds: i64,
    nanos: u32,
    out: &mut Encoder,
) -> Result<(), ConversionError> {
    if nanos >= 1_000_000_000 {
        return Err(ConversionError::expected(
            "an instant without a leap second",
        ));
    }
    out.extend_from_slice(&seconds.to_be_bytes());
    out.extend_from_slice(&nanos.to_be_bytes());
    Ok(())
}

/// Reads what [`encode_instant`] wrote.
pub(crate) fn decode_instant(bytes: &[u8]) -> Result<(i64, u32), ConversionError> {
    let bytes: [u8; 12] = exact(bytes, "an instant of 12 bytes")?;
    let (seconds, nanos) = bytes.split_at(8);
    let seconds = i64::from_be_bytes(exact(seconds, "an instant of 12 bytes")?);
    let nanos = u32::from_be_bytes(exact(nanos, "an instant of 12 bytes")?);
    if nanos >= 1_000_000_000 {
        return Err(ConversionError::expected("nanoseconds below one second"));
    }
    Ok((seconds, nanos))
}

/// The number of days from 1970-01-01 to the day of the civil date, in an `i32`: the encoding of
/// a date.
#[cfg(any(feature = "chrono", feature = "time"))]
pub(crate) fn encode_days(days: i64, out: &mut Encoder) -> Result<(), ConversionError> {
    let days =
        i32::try_from(days).map_err(|_| ConversionError::expected("a representable date"))?;
    out.extend_from_slice(&days.to_be_bytes());
    Ok(())
}

/// Reads what [`encode_days`] wrote.
#[cfg(any(feature = "chrono", feature = "time"))]
pub(crate) fn decode_days(bytes: &[u8]) -> Result<i32, ConversionError> {
    exact(bytes, "a date of 4 bytes").map(i32::from_be_bytes)
}

impl Plaintext for Box<str> {
    fn encode(&self, out: &mut Encoder) -> Result<(), ConversionError> {
        out.extend_from_slice(self.as_bytes());
        Ok(())
    }
    fn decode(bytes: &[u8]) -> Result<Self, ConversionError> {
        String::decode(bytes).map(String::into_boxed_str)
    }
    fn __decode_owned(bytes: Zeroizing<Vec<u8>>) -> Result<Self, ConversionError> {
        // `into_boxed_str` keeps the buffer when it is exactly full, as a decrypted one is.
        String::__decode_owned(bytes).map(String::into_boxed_str)
    }
    fn wipe(&mut self) {
        wipe_bytes(&mut std::mem::take(self).into_boxed_bytes().into_vec());
    }
}

impl Plaintext for char {
    fn encode(&self, out: &mut Encoder) -> Result<(), ConversionError> {
        out.extend_from_slice(&u32::from(*self).to_be_bytes());
        Ok(())
    }
    fn decode(bytes: &[u8]) -> Result<Self, ConversionError> {
        let code = u32::from_be_bytes(exact(bytes, "a character of 4 bytes")?);
        char::from_u32(code).ok_or_else(|| ConversionError::expected("a Unicode scalar value"))
    }
    fn wipe(&mut self) {
        overwrite(self, '\0');
    }
}

/// The bytes themselves, exactly `N` of them.
impl<const N: usize> Plaintext for [u8; N] {
    fn encode(&self, out: &mut Encoder) -> Result<(), ConversionError> {
        out.extend_from_slice(self);
        Ok(())
    }
    fn decode(bytes: &[u8]) -> Result<Self, ConversionError> {
        bytes
            .try_into()
            .map_err(|_| ConversionError::expected(format!("exactly {N} bytes")))
    }
    fn wipe(&mut self) {
        self.zeroize();
    }
}

/// Each element as `lp(element)`, in order; the type gives their number.
macro_rules! tuple_plaintext {
    ($($name:ident),+) => {
        impl<$($name: Plaintext),+> Plaintext for ($($name,)+) {
            fn encode(&self, out: &mut Encoder) -> Result<(), ConversionError> {
                #[allow(non_snake_case)]
                let ($($name,)+) = self;
                $(encode_element($name, out)?;)+
                Ok(())
            }
            fn decode(bytes: &[u8]) -> Result<Self, ConversionError> {
                let mut rest = bytes;
                let value = ($($name::decode(next_element(&mut rest)?)?,)+);
                if !rest.is_empty() {
                    return Err(ConversionError::expected("a tuple without trailing bytes"));
                }
                Ok(value)
            }
            fn wipe(&mut self) {
                #[allow(non_snake_case)]
                let ($($name,)+) = self;
                $($name.wipe();)+
            }
        }
    };
}

/// The next length-prefixed element of `rest`.
fn next_element<'a>(rest: &mut &'a [u8]) -> Result<&'a [u8], ConversionError> {
    let (len, tail) = split_u32(rest)?;
    let len = len as usize;
    if tail.len() < len {
        return Err(ConversionError::expected("a complete tuple element"));
    }
    let (element, tail) = tail.split_at(len);
    *rest = tail;
    Ok(element)
}

tuple_plaintext!(A);
tuple_plaintext!(A, B);
tuple_plaintext!(A, B, C);
tuple_plaintext!(A, B, C, D);

/// An instant: seconds since the Unix epoch (`i64`, rounded down) and nanoseconds (`u32`).
impl Plaintext for SystemTime {
    fn encode(&self, out: &mut Encoder) -> Result<(), ConversionError> {
        let (seconds, nanos) = match self.duration_since(UNIX_EPOCH) {
            Ok(after) => (i64::try_from(after.as_secs()).ok(), after.subsec_nanos()),
            Err(before) => {
                let before = before.duration();
                // Rounded down: 0.25 s before the epoch is -1 s and 750,000,000 ns.
                let seconds = i64::try_from(before.as_secs()).ok().map(|s| -s);
                match before.subsec_nanos() {
                    0 => (seconds, 0),
                    nanos => (
                        seconds.and_then(|s| s.checked_sub(1)),
                        1_000_000_000 - nanos,
                    ),
                }
            }
        };
        let seconds =
            seconds.ok_or_else(|| ConversionError::expected("a time within ±2^63 seconds"))?;
        encode_instant(seconds, nanos, out)
    }
    fn decode(bytes: &[u8]) -> Result<Self, ConversionError> {
        let (seconds, nanos) = decode_instant(bytes)?;
        let whole = Duration::from_secs(seconds.unsigned_abs());
        let time = if seconds >= 0 {
            UNIX_EPOCH.checked_add(whole)
        } else {
            UNIX_EPOCH.checked_sub(whole)
        };
        time.and_then(|t| t.checked_add(Duration::from_nanos(u64::from(nanos))))
            .ok_or_else(|| ConversionError::expected("a time this system's clock can represent"))
    }
    fn wipe(&mut self) {
        overwrite(self, UNIX_EPOCH);
    }
}

/// Whole seconds (`u64`) and nanoseconds (`u32`), big-endian: 12 bytes.
impl Plaintext for Duration {
    fn encode(&self, out: &mut Encoder) -> Result<(), ConversionError> {
        out.extend_from_slice(&self.as_secs().to_be_bytes());
        out.extend_from_slice(&self.subsec_nanos().to_be_bytes());
        Ok(())
    }
    fn decode(bytes: &[u8]) -> Result<Self, ConversionError> {
        let bytes: [u8; 12] = exact(bytes, "a duration of 12 bytes")?;
        let (seconds, nanos) = bytes.split_at(8);
        let seconds = u64::from_be_bytes(exact(seconds, "a duration of 12 bytes")?);
        let nanos = u32::from_be_bytes(exact(nanos, "a duration of 12 bytes")?);
        if nanos >= 1_000_000_000 {
            return Err(ConversionError::expected("nanoseconds below one second"));
        }
        Ok(Duration::new(seconds, nanos))
    }
    fn wipe(&mut self) {
        overwrite(self, Duration::ZERO);
    }
}

/// The address's 4 or 16 bytes (their number says which).
impl Plaintext for IpAddr {
    fn encode(&self, out: &mut Encoder) -> Result<(), ConversionError> {
        match self {
            IpAddr::V4(address) => address.encode(out),
            IpAddr::V6(address) => address.encode(out),
        }
    }
    fn decode(bytes: &[u8]) -> Result<Self, ConversionError> {
        match bytes.len() {
            4 => Ipv4Addr::decode(bytes).map(IpAddr::V4),
            _ => Ipv6Addr::decode(bytes)
                .map(IpAddr::V6)
                .map_err(|_| ConversionError::expected("an IP address of 4 or 16 bytes")),
        }
    }
    fn wipe(&mut self) {
        overwrite(self, IpAddr::V6(Ipv6Addr::UNSPECIFIED));
    }
}

impl Plaintext for Ipv4Addr {
    fn encode(&self, out: &mut Encoder) -> Result<(), ConversionError> {
        out.extend_from_slice(&self.octets());
        Ok(())
    }
    fn decode(bytes: &[u8]) -> Result<Self, ConversionError> {
        exact::<4>(bytes, "an IPv4 address of 4 bytes").map(Ipv4Addr::from)
    }
    fn wipe(&mut self) {
        overwrite(self, Ipv4Addr::UNSPECIFIED);
    }
}

impl Plaintext for Ipv6Addr {
    fn encode(&self, out: &mut Encoder) -> Result<(), ConversionError> {
        out.extend_from_slice(&self.octets());
        Ok(())
    }
    fn decode(bytes: &[u8]) -> Result<Self, ConversionError> {
        exact::<16>(bytes, "an IPv6 address of 16 bytes").map(Ipv6Addr::from)
    }
    fn wipe(&mut self) {
        overwrite(self, Ipv6Addr::UNSPECIFIED);
    }
}

/// As the integer (its own width); zero is refused when read.
macro_rules! non_zero_plaintext {
    ($($t:ty => $inner:ty),* $(,)?) => {$(
        impl Plaintext for $t {
            fn encode(&self, out: &mut Encoder) -> Result<(), ConversionError> {
                self.get().encode(out)
            }
            fn decode(bytes: &[u8]) -> Result<Self, ConversionError> {
                <$t>::new(<$inner>::decode(bytes)?)
                    .ok_or_else(|| ConversionError::expected("a non-zero number"))
            }
            fn wipe(&mut self) {
                // One overwrites every byte of the value, as zero would.
                if let Some(one) = <$t>::new(1) {
                    overwrite(self, one);
                }
            }
        }
    )*};
}

non_zero_plaintext!(
    NonZeroU8 => u8, NonZeroU16 => u16, NonZeroU32 => u32, NonZeroU64 => u64,
    NonZeroU128 => u128, NonZeroUsize => usize, NonZeroI8 => i8, NonZeroI16 => i16,
    NonZeroI32 => i32, NonZeroI64 => i64, NonZeroI128 => i128, NonZeroIsize => isize,
);
