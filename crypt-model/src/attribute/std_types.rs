//! [`Attribute`] for the other standard types a model stores in plain: `Box<str>`, `char`, IP
//! addresses, `SystemTime`, `Duration`, the `NonZero` integers, arrays and tuples.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::num::{
    NonZeroI8, NonZeroI16, NonZeroI32, NonZeroI64, NonZeroI128, NonZeroIsize, NonZeroU8,
    NonZeroU16, NonZeroU32, NonZeroU64, NonZeroU128, NonZeroUsize,
};
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::convert::{Attribute, ConversionError, number_of, string_of};
use super::number::{decimal_text, scaled_integer};
use super::{AttributeValue, KeyType};

impl Attribute for Box<str> {
    const KEY_TYPE: Option<KeyType> = Some(KeyType::S);
    fn to_attribute(&self) -> Result<AttributeValue, ConversionError> {
        Ok(AttributeValue::S(self.to_string()))
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ConversionError> {
        string_of(value).map(String::into_boxed_str)
    }
}

impl Attribute for char {
    const KEY_TYPE: Option<KeyType> = Some(KeyType::S);
    fn to_attribute(&self) -> Result<AttributeValue, ConversionError> {
        Ok(AttributeValue::S(self.to_string()))
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ConversionError> {
        let text = string_of(value)?;
        let mut chars = text.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => Ok(c),
            _ => Err(ConversionError::expected("a string of one character (S)")),
        }
    }
}

/// Types stored as the string of their `Display`, read back by their `FromStr`.
macro_rules! text_attribute {
    ($($t:ty => $what:literal),* $(,)?) => {$(
        impl Attribute for $t {
            const KEY_TYPE: Option<KeyType> = Some(KeyType::S);
            fn to_attribute(&self) -> Result<AttributeValue, ConversionError> {
                Ok(AttributeValue::S(self.to_string()))
            }
            fn from_attribute(value: AttributeValue) -> Result<Self, ConversionError> {
                <$t>::from_str(&string_of(value)?).map_err(|_| ConversionError::expected($what))
            }
        }
    )*};
}

text_attribute!(
    IpAddr => "an IPv4 or IPv6 address (S)",
    Ipv4Addr => "an IPv4 address such as 192.0.2.1 (S)",
    Ipv6Addr => "an IPv6 address such as 2001:db8::1 (S)",
);

/// Nanoseconds in a second: times and durations are stored to the nanosecond.
const NANOS_PER_SECOND: u128 = 1_000_000_000;

/// A whole number of nanoseconds as a `Duration`, if it fits.
fn duration_of_nanos(nanos: u128) -> Option<Duration> {
    let seconds = u64::try_from(nanos / NANOS_PER_SECOND).ok()?;
    // The remainder is below 10^9.
    let subsec = u32::try_from(nanos % NANOS_PER_SECOND).ok()?;
    Some(Duration::new(seconds, subsec))
}

/// Seconds since the Unix epoch as a number (`N`), to the nanosecond: `1700000000.5`, negative
/// before 1970. Numbers order by value, so a key of this type sorts by time; DynamoDB's TTL
/// reads the same form.
impl Attribute for SystemTime {
    const KEY_TYPE: Option<KeyType> = Some(KeyType::N);
    fn to_attribute(&self) -> Result<AttributeValue, ConversionError> {
        let (negative, nanos) = match self.duration_since(UNIX_EPOCH) {
            Ok(after) => (false, after.as_nanos()),
            Err(before) => (true, before.duration().as_nanos()),
        };
        Ok(AttributeValue::N(decimal_text(negative, nanos, 9)))
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ConversionError> {
        let text = number_of(value)?;
        scaled_integer(&text, 9)
            .and_then(|(negative, nanos)| {
                let offset = duration_of_nanos(nanos)?;
                if negative {
                    UNIX_EPOCH.checked_sub(offset)
                } else {
                    UNIX_EPOCH.checked_add(offset)
                }
            })
            .ok_or_else(|| {
                ConversionError::expected(
                    "seconds since the Unix epoch, to the nanosecond at most, within this \
                     system's clock (N)",
                )
            })
    }
}

/// Seconds as a number (`N`), to the nanosecond: `1.5`.
impl Attribute for Duration {
    const KEY_TYPE: Option<KeyType> = Some(KeyType::N);
    fn to_attribute(&self) -> Result<AttributeValue, ConversionError> {
        Ok(AttributeValue::N(decimal_text(false, self.as_nanos(), 9)))
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ConversionError> {
        let text = number_of(value)?;
        match scaled_integer(&text, 9) {
            Some((false, nanos)) => duration_of_nanos(nanos),
            Some((true, 0)) => Some(Duration::ZERO),
            _ => None,
        }
        .ok_or_else(|| {
            ConversionError::expected("a number of seconds, not negative, to the nanosecond (N)")
        })
    }
}

macro_rules! non_zero_attribute {
    ($($t:ty => $inner:ty),* $(,)?) => {$(
        impl Attribute for $t {
            const KEY_TYPE: Option<KeyType> = Some(KeyType::N);
            fn to_attribute(&self) -> Result<AttributeValue, ConversionError> {
                self.get().to_attribute()
            }
            fn from_attribute(value: AttributeValue) -> Result<Self, ConversionError> {
                <$t>::new(<$inner>::from_attribute(value)?).ok_or_else(|| {
                    ConversionError::expected(concat!("a non-zero number that fits in ", stringify!($inner)))
                })
            }
        }
    )*};
}

non_zero_attribute!(
    NonZeroU8 => u8, NonZeroU16 => u16, NonZeroU32 => u32, NonZeroU64 => u64,
    NonZeroU128 => u128, NonZeroUsize => usize, NonZeroI8 => i8, NonZeroI16 => i16,
    NonZeroI32 => i32, NonZeroI64 => i64, NonZeroI128 => i128, NonZeroIsize => isize,
);

/// An array is stored as its `Vec` is: a list (`L`), and `[u8; N]` as binary (`B`).
impl<T: Attribute, const N: usize> Attribute for [T; N] {
    const KEY_TYPE: Option<KeyType> = T::__VEC_KEY_TYPE;
    fn to_attribute(&self) -> Result<AttributeValue, ConversionError> {
        T::__vec_to_attribute(self)
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ConversionError> {
        T::__vec_from_attribute(value)?
            .try_into()
            .map_err(|_| ConversionError::expected(format!("exactly {N} elements")))
    }
}

/// A tuple is stored as a list (`L`) of its elements.
macro_rules! tuple_attribute {
    ($len:literal: $($name:ident),+) => {
        impl<$($name: Attribute),+> Attribute for ($($name,)+) {
            fn to_attribute(&self) -> Result<AttributeValue, ConversionError> {
                #[allow(non_snake_case)]
                let ($($name,)+) = self;
                Ok(AttributeValue::L(vec![$($name.to_attribute()?),+]))
            }
            fn from_attribute(value: AttributeValue) -> Result<Self, ConversionError> {
                let wrong = || ConversionError::expected(concat!("a list (L) of ", $len, " elements"));
                let AttributeValue::L(items) = value else {
                    return Err(wrong());
                };
                let items: [AttributeValue; $len] = items.try_into().map_err(|_| wrong())?;
                #[allow(non_snake_case)]
                let [$($name),+] = items;
                Ok(($($name::from_attribute($name)?,)+))
            }
        }
    };
}

tuple_attribute!(1: A);
tuple_attribute!(2: A, B);
tuple_attribute!(3: A, B, C);
tuple_attribute!(4: A, B, C, D);
