//! The byte encoding of sensitive values before they are encrypted.
//!
//! The encoding is part of the stored format (`docs/format.md`); the table is on [`Plaintext`].

use zeroize::{Zeroize, Zeroizing};

mod collections;
mod encoder;
mod indexable;
pub(crate) mod std_types;

pub use crate::attribute::ConversionError;
pub use encoder::Encoder;
pub use indexable::Indexable;

use crate::wipe::{self, wipe_bytes};

/// A type a sensitive field can hold: it has a stable byte encoding and can wipe itself.
///
/// The encoding is part of the stored format (`docs/format.md`) and is stable:
///
/// | type | bytes |
/// |---|---|
/// | `String` | its UTF-8 bytes |
/// | `Vec<u8>` | the bytes themselves |
/// | `bool` | one byte, `0x00` or `0x01` |
/// | integers | two's complement, big-endian, the type's own width (`u16`: 2 bytes, `i128`: 16); `usize`/`isize` as 8 bytes |
/// | `f32`, `f64` | IEEE 754, big-endian |
/// | `Option<T>` | `0x00` for `None`; `0x01` then `T` |
/// | `Vec<T>`, sets | a 4-byte big-endian count, then each element as a 4-byte big-endian length and its bytes |
/// | maps | a 4-byte count, then per entry the key and the value, each length-prefixed as above |
/// | `Box<str>` | its UTF-8 bytes |
/// | `char` | the scalar value as a big-endian `u32` |
/// | `[u8; N]` | the `N` bytes |
/// | tuples (up to 4) | each element length-prefixed as above, in order |
/// | `SystemTime` and other crates' instants | whole seconds since the Unix epoch (`i64`, rounded down) and nanoseconds (`u32`), big-endian: 12 bytes |
/// | `Duration` | seconds (`u64`) and nanoseconds (`u32`), big-endian: 12 bytes |
/// | other crates' dates | days since 1970-01-01 as a big-endian `i32` |
/// | `IpAddr`, `Ipv4Addr`, `Ipv6Addr` | the address's 4 or 16 bytes |
/// | `NonZero*` | as its integer |
/// | `uuid::Uuid` | its 16 bytes |
/// | `rust_decimal::Decimal` | its 16-byte `serialize()` form |
/// | `serde_json::Value` | CBOR, as a [`SerdePlaintext`] type |
/// | [`SerdePlaintext`] types | CBOR (RFC 8949), as `docs/format.md` specifies |
///
/// Fixed widths mean a ciphertext's length says nothing of a number's magnitude.
///
/// Implement [`SerdePlaintext`] (a marker) to use a `serde` type. A type of your own that
/// implements `Plaintext` directly writes into an [`Encoder`], which leaves no copy of the
/// plaintext behind when it grows, and wipes in [`wipe`](Plaintext::wipe) whatever heap memory
/// it owns.
pub trait Plaintext: Sized {
    /// Appends the value's bytes to `out`.
    fn encode(&self, out: &mut Encoder) -> Result<(), ConversionError>;

    /// Reads a value back from exactly the bytes [`encode`](Plaintext::encode) wrote.
    fn decode(bytes: &[u8]) -> Result<Self, ConversionError>;

    /// Overwrites the value's memory (heap buffers included) with zeros or empties it.
    fn wipe(&mut self);

    /// Reads a value from bytes it may take over (a string or byte vector reuses the buffer
    /// instead of copying the plaintext once more).
    #[doc(hidden)]
    fn __decode_owned(bytes: Zeroizing<Vec<u8>>) -> Result<Self, ConversionError> {
        let value = Self::decode(&bytes);
        wipe::discard(bytes);
        value
    }

    /// `__decode_owned` for `Vec<Self>`.
    #[doc(hidden)]
    fn __vec_decode_owned(bytes: Zeroizing<Vec<u8>>) -> Result<Vec<Self>, ConversionError> {
        let items = Self::__vec_decode(&bytes);
        wipe::discard(bytes);
        items
    }

    /// How a `Vec<Self>` is encoded: counted elements, except `Vec<u8>`, which is raw bytes.
    #[doc(hidden)]
    fn __vec_encode(items: &[Self], out: &mut Encoder) -> Result<(), ConversionError> {
        encode_sequence(items.iter(), items.len(), out)
    }

    /// How a `Vec<Self>` is decoded; see `__vec_encode`.
    #[doc(hidden)]
    fn __vec_decode(bytes: &[u8]) -> Result<Vec<Self>, ConversionError> {
        let mut reader = Reader::new(bytes, 1)?;
        // `Reader::new` checked that the bytes can hold this many elements: reserved once, the
        // vector never moves its elements (which would leave copies in freed memory).
        let mut items = Vec::with_capacity(reader.remaining);
        while let Some(element) = reader.next()? {
            items.push(Self::decode(element)?);
        }
        Ok(items)
    }

    /// Wipes every element of a `Vec<Self>`.
    #[doc(hidden)]
    fn __vec_wipe(items: &mut Vec<Self>) {
        items.iter_mut().for_each(Plaintext::wipe);
        items.clear();
    }
}

/// Appends one length-prefixed element.
fn encode_element<T: Plaintext>(value: &T, out: &mut Encoder) -> Result<(), ConversionError> {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    value.encode(out)?;
    let len = u32::try_from(out.len() - start - 4)
        .map_err(|_| ConversionError::expected("an element shorter than 4 GiB"))?;
    out.overwrite(start, &len.to_be_bytes());
    Ok(())
}

fn encode_count(count: usize, out: &mut Encoder) -> Result<(), ConversionError> {
    let count = u32::try_from(count)
        .map_err(|_| ConversionError::expected("a collection of fewer than 2^32 elements"))?;
    out.extend_from_slice(&count.to_be_bytes());
    Ok(())
}

fn encode_sequence<'a, T: Plaintext + 'a>(
    items: impl Iterator<Item = &'a T>,
    count: usize,
    out: &mut Encoder,
) -> Result<(), ConversionError> {
    encode_count(count, out)?;
    items
        .into_iter()
        .try_for_each(|item| encode_element(item, out))
}

/// Reads the counted, length-prefixed elements of a collection.
struct Reader<'a> {
    bytes: &'a [u8],
    remaining: usize,
}

impl<'a> Reader<'a> {
    /// A reader of a collection whose entries are `elements` length-prefixed elements each
    /// (one for sequences and sets, two for maps). Refuses a count the bytes cannot hold, so
    /// that a collection can be sized from it.
    fn new(bytes: &'a [u8], elements: usize) -> Result<Self, ConversionError> {
        let (count, rest) = split_u32(bytes)?;
        let count = count as usize;
        if count.saturating_mul(4 * elements) > rest.len() {
            return Err(ConversionError::expected(
                "a collection count that its bytes can hold",
            ));
        }
        Ok(Reader {
            bytes: rest,
            remaining: count,
        })
    }

    fn next(&mut self) -> Result<Option<&'a [u8]>, ConversionError> {
        if self.remaining == 0 {
            return if self.bytes.is_empty() {
                Ok(None)
            } else {
                Err(ConversionError::expected(
                    "a collection without trailing bytes",
                ))
            };
        }
        let (len, rest) = split_u32(self.bytes)?;
        let len = len as usize;
        if rest.len() < len {
            return Err(ConversionError::expected("a complete collection element"));
        }
        let (element, rest) = rest.split_at(len);
        self.bytes = rest;
        self.remaining -= 1;
        Ok(Some(element))
    }
}

fn split_u32(bytes: &[u8]) -> Result<(u32, &[u8]), ConversionError> {
    match bytes.split_first_chunk::<4>() {
        Some((len, rest)) => Ok((u32::from_be_bytes(*len), rest)),
        None => Err(ConversionError::expected("a complete length prefix")),
    }
}

impl Plaintext for String {
    fn encode(&self, out: &mut Encoder) -> Result<(), ConversionError> {
        out.extend_from_slice(self.as_bytes());
        Ok(())
    }
    fn __decode_owned(bytes: Zeroizing<Vec<u8>>) -> Result<Self, ConversionError> {
        String::from_utf8(wipe::unwrap(bytes)).map_err(|e| {
            wipe_bytes(&mut e.into_bytes());
            ConversionError::expected("UTF-8 text")
        })
    }
    fn decode(bytes: &[u8]) -> Result<Self, ConversionError> {
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| ConversionError::expected("UTF-8 text"))
    }
    fn wipe(&mut self) {
        wipe_bytes(&mut std::mem::take(self).into_bytes());
    }
}

impl Plaintext for bool {
    fn encode(&self, out: &mut Encoder) -> Result<(), ConversionError> {
        out.push(u8::from(*self));
        Ok(())
    }
    fn decode(bytes: &[u8]) -> Result<Self, ConversionError> {
        match bytes {
            [0] => Ok(false),
            [1] => Ok(true),
            _ => Err(ConversionError::expected("a boolean byte")),
        }
    }
    fn wipe(&mut self) {
        self.zeroize();
    }
}

macro_rules! fixed_width_plaintext {
    ($($t:ident => $wire:ident),* $(,)?) => {$(
        impl Plaintext for $t {
            fn encode(&self, out: &mut Encoder) -> Result<(), ConversionError> {
                // Widening casts only (usize/isize to 64 bits, a no-op elsewhere).
                out.extend_from_slice(&(*self as $wire).to_be_bytes());
                Ok(())
            }
            fn decode(bytes: &[u8]) -> Result<Self, ConversionError> {
                let wire = <$wire>::from_be_bytes(bytes.try_into().map_err(|_| {
                    ConversionError::expected(concat!("a ", stringify!($t), " of the right width"))
                })?);
                <$t>::try_from(wire).map_err(|_| {
                    ConversionError::expected(concat!("a number that fits in ", stringify!($t)))
                })
            }
            fn wipe(&mut self) {
                self.zeroize();
            }
            fixed_width_plaintext!(@vec $t);
        }
    )*};
    (@vec u8) => {
        fn __vec_encode(items: &[Self], out: &mut Encoder) -> Result<(), ConversionError> {
            out.extend_from_slice(items);
            Ok(())
        }
        fn __vec_decode_owned(bytes: Zeroizing<Vec<u8>>) -> Result<Vec<Self>, ConversionError> {
            Ok(crate::wipe::unwrap(bytes))
        }
        fn __vec_decode(bytes: &[u8]) -> Result<Vec<Self>, ConversionError> {
            Ok(bytes.to_vec())
        }
        fn __vec_wipe(items: &mut Vec<Self>) {
            wipe_bytes(items);
        }
    };
    (@vec $t:ident) => {};
}

fixed_width_plaintext!(
    u8 => u8, u16 => u16, u32 => u32, u64 => u64, u128 => u128, usize => u64,
    i8 => i8, i16 => i16, i32 => i32, i64 => i64, i128 => i128, isize => i64,
);

macro_rules! float_plaintext {
    ($($t:ty),*) => {$(
        impl Plaintext for $t {
            fn encode(&self, out: &mut Encoder) -> Result<(), ConversionError> {
                out.extend_from_slice(&self.to_be_bytes());
                Ok(())
            }
            fn decode(bytes: &[u8]) -> Result<Self, ConversionError> {
                bytes.try_into().map(<$t>::from_be_bytes).map_err(|_| {
                    ConversionError::expected(concat!("an ", stringify!($t), " of the right width"))
                })
            }
            fn wipe(&mut self) {
                self.zeroize();
            }
        }
    )*};
}

float_plaintext!(f32, f64);

impl<T: Plaintext> Plaintext for Option<T> {
    fn encode(&self, out: &mut Encoder) -> Result<(), ConversionError> {
        match self {
            None => {
                out.push(0);
                Ok(())
            }
            Some(value) => {
                out.push(1);
                value.encode(out)
            }
        }
    }
    fn decode(bytes: &[u8]) -> Result<Self, ConversionError> {
        match bytes.split_first() {
            Some((0, [])) => Ok(None),
            Some((1, rest)) => T::decode(rest).map(Some),
            _ => Err(ConversionError::expected("an option tag")),
        }
    }
    fn wipe(&mut self) {
        if let Some(value) = self {
            value.wipe();
        }
        *self = None;
    }
}

impl<T: Plaintext> Plaintext for Vec<T> {
    fn encode(&self, out: &mut Encoder) -> Result<(), ConversionError> {
        T::__vec_encode(self, out)
    }
    fn __decode_owned(bytes: Zeroizing<Vec<u8>>) -> Result<Self, ConversionError> {
        T::__vec_decode_owned(bytes)
    }
    fn decode(bytes: &[u8]) -> Result<Self, ConversionError> {
        T::__vec_decode(bytes)
    }
    fn wipe(&mut self) {
        T::__vec_wipe(self);
    }
}

/// Opts a `serde` type in as a sensitive value: `impl SerdePlaintext for CardDetails {}`.
///
/// The value is encoded as CBOR (RFC 8949) by `ciborium`, a compact, self-describing format,
/// so that adding a field with `#[serde(default)]` keeps old records readable. The type must
/// implement [`Zeroize`] so that its plaintext is wiped on drop: `#[derive(Zeroize)]`, with
/// `zeroize = { version = "1", features = ["derive"] }` in your `Cargo.toml` (the derive names
/// the `zeroize` crate directly).
///
/// ```
/// use crypt_model::SerdePlaintext;
/// use crypt_model::plaintext::{Encoder, Plaintext};
/// use zeroize::Zeroize;
///
/// #[derive(serde::Serialize, serde::Deserialize, Zeroize, PartialEq, Debug)]
/// struct CardDetails { number: String, expiry: String }
/// impl SerdePlaintext for CardDetails {}
///
/// let card = CardDetails { number: "4111111111111111".into(), expiry: "12/29".into() };
/// let mut bytes = Encoder::new();
/// card.encode(&mut bytes).unwrap();
/// assert_eq!(CardDetails::decode(bytes.as_slice()).unwrap(), card);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a sensitive value: it does not opt in with `SerdePlaintext`",
    label = "inside `Sensitive<…>`",
    note = "a struct or enum of yours: add `#[derive(serde::Serialize, serde::Deserialize, \
            zeroize::Zeroize, crypt_model::SerdePlaintext)]` to `{Self}`",
    note = "a type of the `uuid`, `chrono`, `time` or `rust_decimal` crates: turn on crypt-model's \
            feature named after its crate, in Cargo.toml: `crypt-model = {{ version = \"…\", \
            features = [\"uuid\"] }}` (or `\"chrono\"`, `\"time\"`, `\"rust_decimal\"`); \
            another crate's type cannot opt in"
)]
pub trait SerdePlaintext: serde::Serialize + serde::de::DeserializeOwned + WipedOnDrop {}

/// A type that wipes itself: every [`Zeroize`] type. Its own name so that a `SerdePlaintext` type
/// without `Zeroize` gets a message that says what to add.
#[diagnostic::on_unimplemented(
    message = "`{Self}` must implement `Zeroize` to be a sensitive value",
    label = "a sensitive value is wiped on drop, through `Zeroize`",
    note = "add `#[derive(Zeroize)]` to `{Self}` (with `zeroize = {{ version = \"1\", features = \
            [\"derive\"] }}` in Cargo.toml), or \
            implement `Zeroize` for it"
)]
pub trait WipedOnDrop {
    /// Wipes the value ([`Zeroize::zeroize`]).
    fn wipe_on_drop(&mut self);
}

impl<T: Zeroize> WipedOnDrop for T {
    fn wipe_on_drop(&mut self) {
        self.zeroize();
    }
}

impl<T: SerdePlaintext> Plaintext for T {
    fn encode(&self, out: &mut Encoder) -> Result<(), ConversionError> {
        encode_cbor(self, out)
    }
    fn decode(bytes: &[u8]) -> Result<Self, ConversionError> {
        decode_cbor(bytes)
    }
    fn wipe(&mut self) {
        self.wipe_on_drop();
    }
}

/// Writes a serde value as CBOR.
pub(crate) fn encode_cbor<T: serde::Serialize>(
    value: &T,
    out: &mut Encoder,
) -> Result<(), ConversionError> {
    ciborium::into_writer(value, out)
        .map_err(|_| ConversionError::expected("a value CBOR can represent"))
}

/// Reads a serde value from CBOR.
pub(crate) fn decode_cbor<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
) -> Result<T, ConversionError> {
    // ciborium reads strings through a scratch buffer, in pieces of its size, into a string
    // that grows piece by piece; its own is 4 KiB on the stack. One as long as the whole
    // plaintext, wiped on drop, holds any string whole: each is then copied once, into a
    // string of exactly its length, and no growing buffer leaves a copy behind.
    let mut scratch = Zeroizing::new(vec![0; bytes.len()]);
    ciborium::de::from_reader_with_buffer(bytes, &mut scratch)
        .map_err(|_| ConversionError::expected("CBOR of the serde type"))
}
