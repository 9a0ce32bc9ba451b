//! [`Attribute`]: conversions between Rust values and plain attributes.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasher, Hash};

use super::{AttributeValue, KeyType};

/// A value could not be converted: to or from a plain attribute, or to or from a sensitive
/// value's plaintext bytes. It says what was expected, never what was found, so that it is safe to
/// log; the caller adds the attribute's name ([`DataError::Malformed`](crate::error::DataError::Malformed) on reads,
/// [`DataError::InvalidValue`](crate::error::DataError::InvalidValue) on writes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversionError {
    expected: Cow<'static, str>,
}

impl ConversionError {
    /// An error saying what was expected (`"a string (S)"`, `"a number that fits in u8"`).
    pub fn expected(what: impl Into<Cow<'static, str>>) -> Self {
        ConversionError {
            expected: what.into(),
        }
    }
}

impl fmt::Display for ConversionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {}", self.expected)
    }
}

impl std::error::Error for ConversionError {}

/// A type that is stored as one plain (unencrypted) attribute.
///
/// In a model, a plain field of type `Option<T>` stores no attribute when `None`.
///
/// Implemented for `String`, `bool`, every integer type, `f32`, `f64`, `Vec<u8>` (binary),
/// `Option<T>` (`None` is `NULL`), `Vec<T>` (a list), `BTreeSet`/`HashSet` of strings, integers or
/// byte vectors (DynamoDB sets; an empty set is stored as `NULL`, since DynamoDB has no empty
/// sets), and `BTreeMap`/`HashMap` from `String` (a map). Any `serde` type opts in through
/// [`SerdeAttribute`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored as a plain attribute",
    note = "a type of the `uuid`, `chrono`, `time` or `rust_decimal` crates needs crypt-model's \
            feature named after its crate, in Cargo.toml: `crypt-model = {{ version = \"…\", \
            features = [\"uuid\"] }}` (or `\"chrono\"`, `\"time\"`, `\"rust_decimal\"`); \
            implementing a trait of crypt-model's for another crate's type is not allowed",
    note = "a secret belongs in a `#[sensitive]` field of type `Sensitive<T>`; a serde type of \
            your own can opt in as a plain attribute with `#[derive(SerdeAttribute)]`"
)]
pub trait Attribute: Sized {
    /// Converts the value into an attribute.
    fn to_attribute(&self) -> Result<AttributeValue, ConversionError>;

    /// Converts an attribute back into a value.
    fn from_attribute(value: AttributeValue) -> Result<Self, ConversionError>;

    /// The key type of this type, when it can be a key (or an owner): strings `S`, numbers `N`,
    /// bytes `B`; `None` for types that cannot. A newtype used as a key or owner sets it to its
    /// inner type's (`const KEY_TYPE: Option<KeyType> = u64::KEY_TYPE;`); the derive declares
    /// the table's keys with it.
    const KEY_TYPE: Option<KeyType> = None;

    /// The key type of a secondary index on a field of this type: its key type, and for
    /// `Option<T>` that of `T` (items without the attribute are left out of the index).
    #[doc(hidden)]
    const __INDEX_KEY_TYPE: Option<KeyType> = Self::KEY_TYPE;

    /// The key type of `Vec<Self>`: only `Vec<u8>` (binary) can be a key.
    #[doc(hidden)]
    const __VEC_KEY_TYPE: Option<KeyType> = None;

    /// Whether the value is stored as no attribute at all (`None` at the top level of an item).
    #[doc(hidden)]
    fn __is_absent(&self) -> bool {
        false
    }

    /// The value of an attribute missing from an item, if that is allowed (`None`).
    #[doc(hidden)]
    fn __missing() -> Option<Self> {
        None
    }

    /// How a `Vec<Self>` is stored: a list, except for `Vec<u8>`, which is binary.
    #[doc(hidden)]
    fn __vec_to_attribute(items: &[Self]) -> Result<AttributeValue, ConversionError> {
        items
            .iter()
            .map(Attribute::to_attribute)
            .collect::<Result<_, _>>()
            .map(AttributeValue::L)
    }

    /// How a `Vec<Self>` is read back; see `__vec_to_attribute`.
    #[doc(hidden)]
    fn __vec_from_attribute(value: AttributeValue) -> Result<Vec<Self>, ConversionError> {
        match value {
            AttributeValue::L(items) => items.into_iter().map(Attribute::from_attribute).collect(),
            _ => Err(ConversionError::expected("a list (L)")),
        }
    }
}

/// The text of a string attribute.
pub(crate) fn string_of(value: AttributeValue) -> Result<String, ConversionError> {
    match value {
        AttributeValue::S(text) => Ok(text),
        _ => Err(ConversionError::expected("a string (S)")),
    }
}

/// The text of a number attribute.
pub(crate) fn number_of(value: AttributeValue) -> Result<String, ConversionError> {
    match value {
        AttributeValue::N(text) => Ok(text),
        _ => Err(ConversionError::expected("a number (N)")),
    }
}

impl Attribute for String {
    const KEY_TYPE: Option<KeyType> = Some(KeyType::S);
    fn to_attribute(&self) -> Result<AttributeValue, ConversionError> {
        Ok(AttributeValue::S(self.clone()))
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ConversionError> {
        string_of(value)
    }
}

impl Attribute for bool {
    fn to_attribute(&self) -> Result<AttributeValue, ConversionError> {
        Ok(AttributeValue::Bool(*self))
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ConversionError> {
        match value {
            AttributeValue::Bool(b) => Ok(b),
            _ => Err(ConversionError::expected("a boolean (BOOL)")),
        }
    }
}

fn parse_number<T: std::str::FromStr>(text: &str, type_name: &str) -> Result<T, ConversionError> {
    text.parse()
        .map_err(|_| ConversionError::expected(format!("a number that fits in {type_name}")))
}

macro_rules! integer_attribute {
    ($($t:ty),*) => {$(
        impl Attribute for $t {
            const KEY_TYPE: Option<KeyType> = Some(KeyType::N);
            fn to_attribute(&self) -> Result<AttributeValue, ConversionError> {
                Ok(AttributeValue::N(self.to_string()))
            }
            fn from_attribute(value: AttributeValue) -> Result<Self, ConversionError> {
                parse_number(&number_of(value)?, stringify!($t))
            }
        }
        impl SetMember for $t {
            fn to_set<'a>(items: impl Iterator<Item = &'a Self>) -> AttributeValue {
                AttributeValue::Ns(items.map(|n| n.to_string()).collect())
            }
            fn from_set(value: AttributeValue) -> Result<Vec<Self>, ConversionError> {
                match value {
                    AttributeValue::Ns(items) => {
                        items.iter().map(|n| parse_number(n, stringify!($t))).collect()
                    }
                    _ => Err(ConversionError::expected("a number set (NS)")),
                }
            }
        }
    )*};
}

integer_attribute!(i8, i16, i32, i64, i128, isize, u16, u32, u64, u128, usize);

// `u8` is a number on its own, but `Vec<u8>` is binary: the hidden list methods say so.
impl Attribute for u8 {
    const KEY_TYPE: Option<KeyType> = Some(KeyType::N);
    const __VEC_KEY_TYPE: Option<KeyType> = Some(KeyType::B);
    fn to_attribute(&self) -> Result<AttributeValue, ConversionError> {
        Ok(AttributeValue::N(self.to_string()))
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ConversionError> {
        parse_number(&number_of(value)?, "u8")
    }
    fn __vec_to_attribute(items: &[Self]) -> Result<AttributeValue, ConversionError> {
        Ok(AttributeValue::B(items.to_vec()))
    }
    fn __vec_from_attribute(value: AttributeValue) -> Result<Vec<Self>, ConversionError> {
        match value {
            AttributeValue::B(bytes) => Ok(bytes),
            _ => Err(ConversionError::expected("binary (B)")),
        }
    }
}

macro_rules! float_attribute {
    ($($t:ty),*) => {$(
        impl Attribute for $t {
            fn to_attribute(&self) -> Result<AttributeValue, ConversionError> {
                if self.is_finite() {
                    Ok(AttributeValue::N(self.to_string()))
                } else {
                    Err(ConversionError::expected(
                        "a finite number (DynamoDB numbers cannot be NaN or infinite)",
                    ))
                }
            }
            fn from_attribute(value: AttributeValue) -> Result<Self, ConversionError> {
                parse_number(&number_of(value)?, stringify!($t))
            }
        }
    )*};
}

float_attribute!(f32, f64);

impl<T: Attribute> Attribute for Option<T> {
    const __INDEX_KEY_TYPE: Option<KeyType> = T::KEY_TYPE;
    fn to_attribute(&self) -> Result<AttributeValue, ConversionError> {
        match self {
            Some(value) => value.to_attribute(),
            None => Ok(AttributeValue::Null),
        }
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ConversionError> {
        match value {
            AttributeValue::Null => Ok(None),
            value => T::from_attribute(value).map(Some),
        }
    }
    fn __is_absent(&self) -> bool {
        self.is_none()
    }
    fn __missing() -> Option<Self> {
        Some(None)
    }
}

impl<T: Attribute> Attribute for Vec<T> {
    const KEY_TYPE: Option<KeyType> = T::__VEC_KEY_TYPE;
    fn to_attribute(&self) -> Result<AttributeValue, ConversionError> {
        T::__vec_to_attribute(self)
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ConversionError> {
        T::__vec_from_attribute(value)
    }
}

/// A type that can be a member of a DynamoDB set: strings (`SS`), integers (`NS`) and byte
/// vectors (`BS`).
pub trait SetMember: Sized {
    /// Builds the set attribute from its members (never called with no members).
    fn to_set<'a>(items: impl Iterator<Item = &'a Self>) -> AttributeValue
    where
        Self: 'a;
    /// Reads the members back from a set attribute.
    fn from_set(value: AttributeValue) -> Result<Vec<Self>, ConversionError>;
}

impl SetMember for String {
    fn to_set<'a>(items: impl Iterator<Item = &'a Self>) -> AttributeValue {
        AttributeValue::Ss(items.cloned().collect())
    }
    fn from_set(value: AttributeValue) -> Result<Vec<Self>, ConversionError> {
        match value {
            AttributeValue::Ss(items) => Ok(items),
            _ => Err(ConversionError::expected("a string set (SS)")),
        }
    }
}

impl SetMember for Vec<u8> {
    fn to_set<'a>(items: impl Iterator<Item = &'a Self>) -> AttributeValue {
        AttributeValue::Bs(items.cloned().collect())
    }
    fn from_set(value: AttributeValue) -> Result<Vec<Self>, ConversionError> {
        match value {
            AttributeValue::Bs(items) => Ok(items),
            _ => Err(ConversionError::expected("a binary set (BS)")),
        }
    }
}

fn set_to_attribute<'a, T: SetMember + 'a>(
    len: usize,
    items: impl Iterator<Item = &'a T>,
) -> AttributeValue {
    if len == 0 {
        AttributeValue::Null
    } else {
        T::to_set(items)
    }
}

fn set_from_attribute<T: SetMember>(value: AttributeValue) -> Result<Vec<T>, ConversionError> {
    match value {
        AttributeValue::Null => Ok(Vec::new()),
        value => T::from_set(value),
    }
}

impl<T: SetMember + Ord> Attribute for BTreeSet<T> {
    fn to_attribute(&self) -> Result<AttributeValue, ConversionError> {
        Ok(set_to_attribute(self.len(), self.iter()))
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ConversionError> {
        set_from_attribute(value).map(|items| items.into_iter().collect())
    }
}

impl<T: SetMember + Hash + Eq, H: BuildHasher + Default> Attribute for HashSet<T, H> {
    fn to_attribute(&self) -> Result<AttributeValue, ConversionError> {
        Ok(set_to_attribute(self.len(), self.iter()))
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ConversionError> {
        set_from_attribute(value).map(|items| items.into_iter().collect())
    }
}

fn map_to_attribute<'a, T: Attribute + 'a>(
    entries: impl Iterator<Item = (&'a String, &'a T)>,
) -> Result<AttributeValue, ConversionError> {
    entries
        .map(|(k, v)| Ok((k.clone(), v.to_attribute()?)))
        .collect::<Result<_, _>>()
        .map(AttributeValue::M)
}

fn map_from_attribute<T: Attribute, M: FromIterator<(String, T)>>(
    value: AttributeValue,
) -> Result<M, ConversionError> {
    match value {
        AttributeValue::M(entries) => entries
            .into_iter()
            .map(|(k, v)| Ok((k, T::from_attribute(v)?)))
            .collect(),
        _ => Err(ConversionError::expected("a map (M)")),
    }
}

impl<T: Attribute> Attribute for BTreeMap<String, T> {
    fn to_attribute(&self) -> Result<AttributeValue, ConversionError> {
        map_to_attribute(self.iter())
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ConversionError> {
        map_from_attribute(value)
    }
}

impl<T: Attribute, H: BuildHasher + Default> Attribute for HashMap<String, T, H> {
    fn to_attribute(&self) -> Result<AttributeValue, ConversionError> {
        map_to_attribute(self.iter())
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ConversionError> {
        map_from_attribute(value)
    }
}

/// Opts a `serde` type in as a plain attribute: `impl SerdeAttribute for MyType {}`.
///
/// The value is laid out as `serde_dynamo` does it: a struct is a map (`M`), a sequence a list
/// (`L`), a string `S`, a number `N`. Conversion errors say which shape was expected and never
/// carry the value.
///
/// ```
/// use crypt_model::attribute::Attribute;
/// use crypt_model::{AttributeValue, SerdeAttribute};
///
/// #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
/// struct Address { city: String, zip: u32 }
/// impl SerdeAttribute for Address {}
///
/// let address = Address { city: "Lyon".into(), zip: 69001 };
/// let stored = address.to_attribute().unwrap();
/// assert!(matches!(stored, AttributeValue::M(_)));
/// assert_eq!(Address::from_attribute(stored).unwrap(), address);
/// ```
pub trait SerdeAttribute: serde::Serialize + serde::de::DeserializeOwned {}

impl<T: SerdeAttribute> Attribute for T {
    fn to_attribute(&self) -> Result<AttributeValue, ConversionError> {
        serde_dynamo::to_attribute_value::<_, serde_dynamo::AttributeValue>(self)
            .map(from_serde_dynamo)
            .map_err(|_| ConversionError::expected("a value serde_dynamo can represent"))
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ConversionError> {
        serde_dynamo::from_attribute_value(to_serde_dynamo(value))
            .map_err(|_| ConversionError::expected("the shape of the serde type"))
    }
}

pub(crate) fn from_serde_dynamo(value: serde_dynamo::AttributeValue) -> AttributeValue {
    use serde_dynamo::AttributeValue as D;
    match value {
        D::S(s) => AttributeValue::S(s),
        D::N(n) => AttributeValue::N(n),
        D::B(b) => AttributeValue::B(b),
        D::Bool(b) => AttributeValue::Bool(b),
        D::Null(_) => AttributeValue::Null,
        D::L(items) => AttributeValue::L(items.into_iter().map(from_serde_dynamo).collect()),
        D::M(entries) => AttributeValue::M(
            entries
                .into_iter()
                .map(|(k, v)| (k, from_serde_dynamo(v)))
                .collect(),
        ),
        D::Ss(items) => AttributeValue::Ss(items),
        D::Ns(items) => AttributeValue::Ns(items),
        D::Bs(items) => AttributeValue::Bs(items),
    }
}

pub(crate) fn to_serde_dynamo(value: AttributeValue) -> serde_dynamo::AttributeValue {
    use serde_dynamo::AttributeValue as D;
    match value {
        AttributeValue::S(s) => D::S(s),
        AttributeValue::N(n) => D::N(n),
        AttributeValue::B(b) => D::B(b),
        AttributeValue::Bool(b) => D::Bool(b),
        AttributeValue::Null => D::Null(true),
        AttributeValue::L(items) => D::L(items.into_iter().map(to_serde_dynamo).collect()),
        AttributeValue::M(entries) => D::M(
            entries
                .into_iter()
                .map(|(k, v)| (k, to_serde_dynamo(v)))
                .collect(),
        ),
        AttributeValue::Ss(items) => D::Ss(items),
        AttributeValue::Ns(items) => D::Ns(items),
        AttributeValue::Bs(items) => D::Bs(items),
    }
}
