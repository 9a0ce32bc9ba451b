//! [`Indexable`]: the sensitive types a blind index may be on — those whose encoding has one
//! form per value, so that a search finds every record holding the value sought.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::num::{
    NonZeroI8, NonZeroI16, NonZeroI32, NonZeroI64, NonZeroI128, NonZeroIsize, NonZeroU8,
    NonZeroU16, NonZeroU32, NonZeroU64, NonZeroU128, NonZeroUsize,
};
use std::time::{Duration, SystemTime};

use super::Plaintext;

/// A sensitive type with one encoding per value, which a blind index
/// (`#[sensitive(index = "exact")]`) may be on: strings, integers, booleans, characters, bytes,
/// times, dates, durations, addresses, UUIDs, and options, lists, tuples and ordered sets and
/// maps of them.
///
/// Not floats (`0.0` and `-0.0` are equal and encode differently), decimals (`1.5` and `1.50`),
/// hash sets and maps (their order varies), JSON values and serde types (a map's order, a
/// number's form): a search could miss a record that holds the value sought. Index a canonical
/// form of such a value instead, kept in a field of its own.
#[diagnostic::on_unimplemented(
    message = "a blind index cannot be on `{Self}`: one value can be encoded in more than one way",
    label = "a search for a value must find every record that holds it",
    note = "a blind index is on strings, integers, booleans, bytes, times, dates, UUIDs, and \
            options, lists, tuples and ordered sets or maps of them; keep a canonical form \
            (e.g. a string) in a field of its own and index that"
)]
pub trait Indexable: Plaintext {}

macro_rules! indexable {
    ($($t:ty),* $(,)?) => {$(impl Indexable for $t {})*};
}

indexable!(
    String,
    Box<str>,
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    NonZeroU8,
    NonZeroU16,
    NonZeroU32,
    NonZeroU64,
    NonZeroU128,
    NonZeroUsize,
    NonZeroI8,
    NonZeroI16,
    NonZeroI32,
    NonZeroI64,
    NonZeroI128,
    NonZeroIsize,
    SystemTime,
    Duration,
    IpAddr,
    Ipv4Addr,
    Ipv6Addr,
);

impl<const N: usize> Indexable for [u8; N] {}
impl<T: Indexable> Indexable for Option<T> {}
impl<T: Indexable> Indexable for Vec<T> {}
impl<T: Indexable + Ord> Indexable for BTreeSet<T> {}
impl<K: Indexable + Ord, V: Indexable> Indexable for BTreeMap<K, V> {}
impl<A: Indexable> Indexable for (A,) {}
impl<A: Indexable, B: Indexable> Indexable for (A, B) {}
impl<A: Indexable, B: Indexable, C: Indexable> Indexable for (A, B, C) {}
impl<A: Indexable, B: Indexable, C: Indexable, D: Indexable> Indexable for (A, B, C, D) {}
