//! The one conditional rewrite: the [`Update`] that turns a stored item into a new one and the
//! [`Condition`] that the stored item is still as it was read. A table's update, every job and
//! the key table's rotation build theirs here.

use std::collections::BTreeSet;

use super::{Condition, TableRef, Update};
use crate::attribute::Item;

/// The update that turns `stored` into `new` in `table`, and its condition.
///
/// Only what differs is written: each attribute of `new` whose stored value is not the same is
/// set, and each stored attribute the writer `manages` that `new` lacks is removed; attributes
/// it does not manage are left as they are. The keys are never written.
///
/// The condition is that an item is stored, that each of `witnesses` — the attributes whose
/// values show that nothing changed since the read (a record's header and message, which every
/// write seals again; a key-table row's wrapped key) — is as read (or still absent), that each
/// attribute set or removed is as read too, and `extra`.
pub(crate) fn rewrite<'a>(
    table: &TableRef,
    stored: &'a Item,
    new: &Item,
    manages: impl Fn(&str) -> bool,
    witnesses: impl IntoIterator<Item = &'a str>,
    extra: Vec<Condition>,
) -> (Update, Condition) {
    let is_key = |name: &str| name == table.partition_key() || Some(name) == table.sort_key();
    let mut update = Update::default();
    for (name, value) in new.iter() {
        if !is_key(name) && stored.get(name) != Some(value) {
            update.set.insert(name, value.clone());
        }
    }
    update.remove = stored
        .iter()
        .map(|(name, _)| name)
        .filter(|name| !is_key(name) && manages(name) && !new.contains(name))
        .map(str::to_owned)
        .collect();
    let mut names: BTreeSet<&str> = witnesses.into_iter().collect();
    names.extend(update.set.iter().map(|(name, _)| name));
    names.extend(update.remove.iter().map(String::as_str));
    let mut conditions = vec![Condition::Exists];
    conditions.extend(names.into_iter().map(|name| match stored.get(name) {
        Some(value) => Condition::equals(name, value.clone()),
        None => Condition::absent(name),
    }));
    conditions.extend(extra);
    (update, Condition::And(conditions))
}
