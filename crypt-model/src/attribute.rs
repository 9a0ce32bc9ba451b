//! The backend-neutral item model and the conversions between Rust values and attributes.
//!
//! [`AttributeValue`] mirrors DynamoDB's attribute types one for one, so that a backend converts
//! without loss; [`Item`] is one record's attributes by name. [`Attribute`] converts the standard
//! types a model uses; [`SerdeAttribute`] opts any `serde` type in, stored as a map or list the
//! way `serde_dynamo` lays it out.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasher, Hash};

/// One attribute value, with DynamoDB's types.
///
/// Numbers are kept as their decimal text (`N("12345678901234567890123456789")`), as DynamoDB
/// sends them, so that no precision is lost on the way (`i128` and `u128` round-trip exactly).
#[derive(Clone, PartialEq, Eq, Debug)]
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
#[derive(Clone, PartialEq, Eq, Debug, Default)]
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

    /// The attributes, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &AttributeValue)> {
        self.attributes.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The attributes as a map.
    pub fn into_map(self) -> BTreeMap<String, AttributeValue> {
        self.attributes
    }

    /// The item in DynamoDB's JSON format, as the AWS CLI and console show it (binary values in
    /// base64), one attribute per line.
    ///
    /// ```
    /// use crypt_model::{AttributeValue, Item};
    ///
    /// let item = Item::from_iter([("id", AttributeValue::S("a\"b".into())), ("n", AttributeValue::N("7".into()))]);
    /// assert_eq!(item.to_dynamodb_json(), "{\n  \"id\": {\"S\": \"a\\\"b\"},\n  \"n\": {\"N\": \"7\"}\n}");
    /// ```
    pub fn to_dynamodb_json(&self) -> String {
        let lines: Vec<String> = self
            .attributes
            .iter()
            .map(|(name, value)| format!("  {}: {}", json_string(name), value.to_dynamodb_json()))
            .collect();
        if lines.is_empty() {
            "{}".to_owned()
        } else {
            format!("{{\n{}\n}}", lines.join(",\n"))
        }
    }
}

impl AttributeValue {
    /// The value in DynamoDB's JSON format: `{"S": "text"}`, `{"N": "12"}`, `{"B": "base64"}`, …
    pub fn to_dynamodb_json(&self) -> String {
        use base64::Engine as _;
        let b64 = |b: &[u8]| json_string(&base64::engine::general_purpose::STANDARD.encode(b));
        let strings = |v: &[String]| {
            v.iter()
                .map(|s| json_string(s))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            AttributeValue::S(s) => format!("{{\"S\": {}}}", json_string(s)),
            AttributeValue::N(n) => format!("{{\"N\": {}}}", json_string(n)),
            AttributeValue::B(b) => format!("{{\"B\": {}}}", b64(b)),
            AttributeValue::Bool(b) => format!("{{\"BOOL\": {b}}}"),
            AttributeValue::Null => "{\"NULL\": true}".to_owned(),
            AttributeValue::L(items) => {
                let items: Vec<String> =
                    items.iter().map(AttributeValue::to_dynamodb_json).collect();
                format!("{{\"L\": [{}]}}", items.join(", "))
            }
            AttributeValue::M(entries) => {
                let entries: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("{}: {}", json_string(k), v.to_dynamodb_json()))
                    .collect();
                format!("{{\"M\": {{{}}}}}", entries.join(", "))
            }
            AttributeValue::Ss(v) => format!("{{\"SS\": [{}]}}", strings(v)),
            AttributeValue::Ns(v) => format!("{{\"NS\": [{}]}}", strings(v)),
            AttributeValue::Bs(v) => {
                format!(
                    "{{\"BS\": [{}]}}",
                    v.iter().map(|b| b64(b)).collect::<Vec<_>>().join(", ")
                )
            }
        }
    }
}

/// A JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
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

/// A value could not be converted to or from an attribute. It says what was expected, never what
/// was found; the caller adds the attribute's name (see [`Error::MalformedAttribute`]).
///
/// [`Error::MalformedAttribute`]: crate::Error::MalformedAttribute
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttributeError {
    expected: String,
}

impl AttributeError {
    /// An error saying what was expected (`"a string (S)"`, `"a number that fits in u8"`).
    pub fn expected(what: impl Into<String>) -> Self {
        AttributeError {
            expected: what.into(),
        }
    }

    /// What was expected.
    pub fn expectation(&self) -> &str {
        &self.expected
    }
}

impl fmt::Display for AttributeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {}", self.expected)
    }
}

impl std::error::Error for AttributeError {}

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
    note = "a secret belongs in a `#[sensitive]` field of type `Sensitive<T>`; a serde type can opt \
            in as a plain attribute by implementing `crypt_model::SerdeAttribute`"
)]
pub trait Attribute: Sized {
    /// Converts the value into an attribute.
    fn to_attribute(&self) -> Result<AttributeValue, AttributeError>;

    /// Converts an attribute back into a value.
    fn from_attribute(value: AttributeValue) -> Result<Self, AttributeError>;

    /// The key type of this type, when it can be a key: strings `S`, numbers `N`, bytes `B`.
    #[doc(hidden)]
    const __KEY_TYPE: Option<crate::store::KeyType> = None;

    /// The key type of `Vec<Self>`: only `Vec<u8>` (binary) can be a key.
    #[doc(hidden)]
    const __VEC_KEY_TYPE: Option<crate::store::KeyType> = None;

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
    fn __vec_to_attribute(items: &[Self]) -> Result<AttributeValue, AttributeError> {
        items
            .iter()
            .map(Attribute::to_attribute)
            .collect::<Result<_, _>>()
            .map(AttributeValue::L)
    }

    /// How a `Vec<Self>` is read back; see `__vec_to_attribute`.
    #[doc(hidden)]
    fn __vec_from_attribute(value: AttributeValue) -> Result<Vec<Self>, AttributeError> {
        match value {
            AttributeValue::L(items) => items.into_iter().map(Attribute::from_attribute).collect(),
            _ => Err(AttributeError::expected("a list (L)")),
        }
    }
}

impl Attribute for String {
    const __KEY_TYPE: Option<crate::store::KeyType> = Some(crate::store::KeyType::S);
    fn to_attribute(&self) -> Result<AttributeValue, AttributeError> {
        Ok(AttributeValue::S(self.clone()))
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, AttributeError> {
        match value {
            AttributeValue::S(s) => Ok(s),
            _ => Err(AttributeError::expected("a string (S)")),
        }
    }
}

impl Attribute for bool {
    fn to_attribute(&self) -> Result<AttributeValue, AttributeError> {
        Ok(AttributeValue::Bool(*self))
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, AttributeError> {
        match value {
            AttributeValue::Bool(b) => Ok(b),
            _ => Err(AttributeError::expected("a boolean (BOOL)")),
        }
    }
}

fn parse_number<T: std::str::FromStr>(text: &str, type_name: &str) -> Result<T, AttributeError> {
    text.parse()
        .map_err(|_| AttributeError::expected(format!("a number that fits in {type_name}")))
}

macro_rules! integer_attribute {
    ($($t:ty),*) => {$(
        impl Attribute for $t {
            const __KEY_TYPE: Option<crate::store::KeyType> = Some(crate::store::KeyType::N);
            fn to_attribute(&self) -> Result<AttributeValue, AttributeError> {
                Ok(AttributeValue::N(self.to_string()))
            }
            fn from_attribute(value: AttributeValue) -> Result<Self, AttributeError> {
                match value {
                    AttributeValue::N(n) => parse_number(&n, stringify!($t)),
                    _ => Err(AttributeError::expected("a number (N)")),
                }
            }
        }
        impl SetMember for $t {
            fn to_set<'a>(items: impl Iterator<Item = &'a Self>) -> AttributeValue {
                AttributeValue::Ns(items.map(|n| n.to_string()).collect())
            }
            fn from_set(value: AttributeValue) -> Result<Vec<Self>, AttributeError> {
                match value {
                    AttributeValue::Ns(items) => {
                        items.iter().map(|n| parse_number(n, stringify!($t))).collect()
                    }
                    _ => Err(AttributeError::expected("a number set (NS)")),
                }
            }
        }
    )*};
}

integer_attribute!(i8, i16, i32, i64, i128, isize, u16, u32, u64, u128, usize);

// `u8` is a number on its own, but `Vec<u8>` is binary: the hidden list methods say so.
impl Attribute for u8 {
    const __KEY_TYPE: Option<crate::store::KeyType> = Some(crate::store::KeyType::N);
    const __VEC_KEY_TYPE: Option<crate::store::KeyType> = Some(crate::store::KeyType::B);
    fn to_attribute(&self) -> Result<AttributeValue, AttributeError> {
        Ok(AttributeValue::N(self.to_string()))
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, AttributeError> {
        match value {
            AttributeValue::N(n) => parse_number(&n, "u8"),
            _ => Err(AttributeError::expected("a number (N)")),
        }
    }
    fn __vec_to_attribute(items: &[Self]) -> Result<AttributeValue, AttributeError> {
        Ok(AttributeValue::B(items.to_vec()))
    }
    fn __vec_from_attribute(value: AttributeValue) -> Result<Vec<Self>, AttributeError> {
        match value {
            AttributeValue::B(bytes) => Ok(bytes),
            _ => Err(AttributeError::expected("binary (B)")),
        }
    }
}

macro_rules! float_attribute {
    ($($t:ty),*) => {$(
        impl Attribute for $t {
            fn to_attribute(&self) -> Result<AttributeValue, AttributeError> {
                if self.is_finite() {
                    Ok(AttributeValue::N(self.to_string()))
                } else {
                    Err(AttributeError::expected(
                        "a finite number (DynamoDB numbers cannot be NaN or infinite)",
                    ))
                }
            }
            fn from_attribute(value: AttributeValue) -> Result<Self, AttributeError> {
                match value {
                    AttributeValue::N(n) => parse_number(&n, stringify!($t)),
                    _ => Err(AttributeError::expected("a number (N)")),
                }
            }
        }
    )*};
}

float_attribute!(f32, f64);

impl<T: Attribute> Attribute for Option<T> {
    fn to_attribute(&self) -> Result<AttributeValue, AttributeError> {
        match self {
            Some(value) => value.to_attribute(),
            None => Ok(AttributeValue::Null),
        }
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, AttributeError> {
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
    const __KEY_TYPE: Option<crate::store::KeyType> = T::__VEC_KEY_TYPE;
    fn to_attribute(&self) -> Result<AttributeValue, AttributeError> {
        T::__vec_to_attribute(self)
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, AttributeError> {
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
    fn from_set(value: AttributeValue) -> Result<Vec<Self>, AttributeError>;
}

impl SetMember for String {
    fn to_set<'a>(items: impl Iterator<Item = &'a Self>) -> AttributeValue {
        AttributeValue::Ss(items.cloned().collect())
    }
    fn from_set(value: AttributeValue) -> Result<Vec<Self>, AttributeError> {
        match value {
            AttributeValue::Ss(items) => Ok(items),
            _ => Err(AttributeError::expected("a string set (SS)")),
        }
    }
}

impl SetMember for Vec<u8> {
    fn to_set<'a>(items: impl Iterator<Item = &'a Self>) -> AttributeValue {
        AttributeValue::Bs(items.cloned().collect())
    }
    fn from_set(value: AttributeValue) -> Result<Vec<Self>, AttributeError> {
        match value {
            AttributeValue::Bs(items) => Ok(items),
            _ => Err(AttributeError::expected("a binary set (BS)")),
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

fn set_from_attribute<T: SetMember>(value: AttributeValue) -> Result<Vec<T>, AttributeError> {
    match value {
        AttributeValue::Null => Ok(Vec::new()),
        value => T::from_set(value),
    }
}

impl<T: SetMember + Ord> Attribute for BTreeSet<T> {
    fn to_attribute(&self) -> Result<AttributeValue, AttributeError> {
        Ok(set_to_attribute(self.len(), self.iter()))
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, AttributeError> {
        set_from_attribute(value).map(|items| items.into_iter().collect())
    }
}

impl<T: SetMember + Hash + Eq, H: BuildHasher + Default> Attribute for HashSet<T, H> {
    fn to_attribute(&self) -> Result<AttributeValue, AttributeError> {
        Ok(set_to_attribute(self.len(), self.iter()))
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, AttributeError> {
        set_from_attribute(value).map(|items| items.into_iter().collect())
    }
}

fn map_to_attribute<'a, T: Attribute + 'a>(
    entries: impl Iterator<Item = (&'a String, &'a T)>,
) -> Result<AttributeValue, AttributeError> {
    entries
        .map(|(k, v)| Ok((k.clone(), v.to_attribute()?)))
        .collect::<Result<_, _>>()
        .map(AttributeValue::M)
}

fn map_from_attribute<T: Attribute, M: FromIterator<(String, T)>>(
    value: AttributeValue,
) -> Result<M, AttributeError> {
    match value {
        AttributeValue::M(entries) => entries
            .into_iter()
            .map(|(k, v)| Ok((k, T::from_attribute(v)?)))
            .collect(),
        _ => Err(AttributeError::expected("a map (M)")),
    }
}

impl<T: Attribute> Attribute for BTreeMap<String, T> {
    fn to_attribute(&self) -> Result<AttributeValue, AttributeError> {
        map_to_attribute(self.iter())
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, AttributeError> {
        map_from_attribute(value)
    }
}

impl<T: Attribute, H: BuildHasher + Default> Attribute for HashMap<String, T, H> {
    fn to_attribute(&self) -> Result<AttributeValue, AttributeError> {
        map_to_attribute(self.iter())
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, AttributeError> {
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
/// use crypt_model::{Attribute, AttributeValue, SerdeAttribute};
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
    fn to_attribute(&self) -> Result<AttributeValue, AttributeError> {
        serde_dynamo::to_attribute_value::<_, serde_dynamo::AttributeValue>(self)
            .map(from_serde_dynamo)
            .map_err(|_| AttributeError::expected("a value serde_dynamo can represent"))
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, AttributeError> {
        serde_dynamo::from_attribute_value(to_serde_dynamo(value))
            .map_err(|_| AttributeError::expected("the shape of the serde type"))
    }
}

fn from_serde_dynamo(value: serde_dynamo::AttributeValue) -> AttributeValue {
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

fn to_serde_dynamo(value: AttributeValue) -> serde_dynamo::AttributeValue {
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
