//! The backend-neutral item model, and the conversions between Rust values and attributes.
//!
//! [`AttributeValue`] mirrors DynamoDB's attribute types one for one, so that a backend converts
//! without loss; [`Item`] is one record's attributes by name; [`Key`] a primary key. [`Attribute`]
//! converts the standard types a model uses; [`SerdeAttribute`] opts any `serde` type in, stored
//! as a map or list the way `serde_dynamo` lays it out. Implement [`Attribute`] for a type of your
//! own when neither fits.

use std::collections::BTreeMap;
use std::fmt;

use crate::fingerprint::KeyFingerprint;

pub(crate) mod convert;
mod number;
mod std_types;

pub use convert::{Attribute, ConversionError, SerdeAttribute, SetMember};
pub(crate) use convert::{from_serde_dynamo, to_serde_dynamo};
pub(crate) use number::{Number, canonical_number, put_canonical_number};

/// One attribute value, with DynamoDB's types.
///
/// Numbers are kept as their decimal text (`N("12345678901234567890123456789")`), as DynamoDB
/// sends them, so that no precision is lost on the way (`i128` and `u128` round-trip exactly).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum AttributeValue {
    /// A string (`S`).
    S(String),
    /// A number (`N`), as decimal text.
    N(String),
    /// Binary data (`B`).
    B(Vec<u8>),
    /// A boolean (`BOOL`).
    Bool(bool),
    /// The null value (`NULL`).
    Null,
    /// A list of values (`L`).
    L(Vec<AttributeValue>),
    /// A map of values by name (`M`).
    M(BTreeMap<String, AttributeValue>),
    /// A set of strings (`SS`).
    Ss(Vec<String>),
    /// A set of numbers, as decimal text (`NS`).
    Ns(Vec<String>),
    /// A set of binary values (`BS`).
    Bs(Vec<Vec<u8>>),
}

impl AttributeValue {
    /// DynamoDB's name of this value's type (`"S"`, `"N"`, `"BOOL"`, …), for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            AttributeValue::S(_) => "S",
            AttributeValue::N(_) => "N",
            AttributeValue::B(_) => "B",
            AttributeValue::Bool(_) => "BOOL",
            AttributeValue::Null => "NULL",
            AttributeValue::L(_) => "L",
            AttributeValue::M(_) => "M",
            AttributeValue::Ss(_) => "SS",
            AttributeValue::Ns(_) => "NS",
            AttributeValue::Bs(_) => "BS",
        }
    }
}

/// One record's attributes by name, in name order.
///
/// `Debug` shows each attribute's name and type, and the size of strings, binaries and
/// collections, never a value: plain attributes and keys may be personal data. To see the values,
/// ask for them: [`Item::to_dynamodb_json`].
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Item {
    attributes: BTreeMap<String, AttributeValue>,
}

impl Item {
    /// An item with no attributes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets an attribute, returning the value it replaces.
    pub fn insert(
        &mut self,
        name: impl Into<String>,
        value: AttributeValue,
    ) -> Option<AttributeValue> {
        self.attributes.insert(name.into(), value)
    }

    /// The attribute called `name`.
    pub fn get(&self, name: &str) -> Option<&AttributeValue> {
        self.attributes.get(name)
    }

    /// The attribute called `name`, mutably.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut AttributeValue> {
        self.attributes.get_mut(name)
    }

    /// Removes and returns the attribute called `name`.
    pub fn remove(&mut self, name: &str) -> Option<AttributeValue> {
        self.attributes.remove(name)
    }

    /// Whether the item has an attribute called `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.attributes.contains_key(name)
    }

    /// The number of attributes.
    pub fn len(&self) -> usize {
        self.attributes.len()
    }

    /// Whether the item has no attributes.
    pub fn is_empty(&self) -> bool {
        self.attributes.is_empty()
    }

    /// Whether an attribute's name starts with `prefix`: one search of the ordered names.
    pub(crate) fn has_name_starting_with(&self, prefix: &str) -> bool {
        use std::ops::Bound;
        self.attributes
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .next()
            .is_some_and(|(name, _)| name.starts_with(prefix))
    }

    /// The attributes, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &AttributeValue)> {
        self.attributes.iter().map(|(k, v)| (k.as_str(), v))
    }
}

impl From<BTreeMap<String, AttributeValue>> for Item {
    fn from(attributes: BTreeMap<String, AttributeValue>) -> Self {
        Item { attributes }
    }
}

impl<K: Into<String>> FromIterator<(K, AttributeValue)> for Item {
    fn from_iter<I: IntoIterator<Item = (K, AttributeValue)>>(iter: I) -> Self {
        Item {
            attributes: iter.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        }
    }
}

impl IntoIterator for Item {
    type Item = (String, AttributeValue);
    type IntoIter = std::collections::btree_map::IntoIter<String, AttributeValue>;
    fn into_iter(self) -> Self::IntoIter {
        self.attributes.into_iter()
    }
}

/// The type of a key attribute, as a table declares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum KeyType {
    /// A string.
    #[default]
    S,
    /// A number.
    N,
    /// Binary.
    B,
}

/// A primary key: the partition key's value and, for tables with one, the sort key's.
///
/// A key may be personal data (an email as partition key): its `Debug` shows a keyed fingerprint
/// (`Key(kf:…)`, stable within the process, the same as in crypt-model's log lines), never the
/// values.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Key {
    /// The partition key's value.
    pub partition: AttributeValue,
    /// The sort key's value.
    pub sort: Option<AttributeValue>,
}

impl Key {
    /// A key of a table without a sort key.
    pub fn new(partition: impl Into<AttributeValue>) -> Self {
        Key {
            partition: partition.into(),
            sort: None,
        }
    }

    /// Adds the sort key's value.
    pub fn with_sort(mut self, sort: impl Into<AttributeValue>) -> Self {
        self.sort = Some(sort.into());
        self
    }

    /// The key's keyed fingerprint (numbers by value, so that `1.5` and `1.50` agree).
    pub(crate) fn fingerprint(&self) -> KeyFingerprint {
        let part = |value: &AttributeValue| -> (u8, Vec<u8>) {
            match value {
                AttributeValue::S(s) => (1, s.as_bytes().to_vec()),
                AttributeValue::N(n) => (
                    2,
                    canonical_number(n)
                        .unwrap_or_else(|_| n.clone())
                        .into_bytes(),
                ),
                AttributeValue::B(b) => (3, b.clone()),
                _ => (0, Vec::new()),
            }
        };
        let parts: Vec<(u8, Vec<u8>)> = std::iter::once(&self.partition)
            .chain(&self.sort)
            .map(part)
            .collect();
        let borrowed: Vec<(u8, &[u8])> = parts.iter().map(|(t, b)| (*t, b.as_slice())).collect();
        KeyFingerprint::of(&borrowed)
    }
}

impl fmt::Debug for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        /// The shape of a value, without the value.
        struct Shape<'a>(&'a AttributeValue);
        impl fmt::Debug for Shape<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.0 {
                    AttributeValue::S(s) => write!(f, "S({} bytes)", s.len()),
                    AttributeValue::N(_) => f.write_str("N"),
                    AttributeValue::B(b) => write!(f, "B({} bytes)", b.len()),
                    AttributeValue::Bool(_) => f.write_str("BOOL"),
                    AttributeValue::Null => f.write_str("NULL"),
                    AttributeValue::L(l) => write!(f, "L({} values)", l.len()),
                    AttributeValue::M(m) => write!(f, "M({} entries)", m.len()),
                    AttributeValue::Ss(v) => write!(f, "SS({} members)", v.len()),
                    AttributeValue::Ns(v) => write!(f, "NS({} members)", v.len()),
                    AttributeValue::Bs(v) => write!(f, "BS({} members)", v.len()),
                }
            }
        }
        f.debug_map()
            .entries(
                self.attributes
                    .iter()
                    .map(|(name, value)| (name, Shape(value))),
            )
            .finish()
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({})", self.fingerprint())
    }
}

impl From<&str> for AttributeValue {
    fn from(s: &str) -> Self {
        AttributeValue::S(s.to_owned())
    }
}

impl From<String> for AttributeValue {
    fn from(s: String) -> Self {
        AttributeValue::S(s)
    }
}

macro_rules! number_into_attribute {
    ($($t:ty),*) => {$(
        impl From<$t> for AttributeValue {
            fn from(n: $t) -> Self {
                AttributeValue::N(n.to_string())
            }
        }
    )*};
}

number_into_attribute!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize
);

impl From<Vec<u8>> for AttributeValue {
    fn from(b: Vec<u8>) -> Self {
        AttributeValue::B(b)
    }
}
