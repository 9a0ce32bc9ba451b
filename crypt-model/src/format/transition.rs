//! A schema's transitions: a record whose message the model's own set of authenticated
//! attributes does not open, but which another version of the model wrote, authenticating
//! attributes this one does not (docs/format.md, "Changing a model").
//!
//! Tried only after the record failed to open, with the attributes the record holds that this
//! model does not authenticate: first those it may open with — blind-index attributes of indexes
//! it does not declare (a newer model's, which a rewrite by this one removes), fields it now
//! declares `unauthenticated` (authenticated by the version that wrote the record) — and then
//! every attribute it does not know at all as well, which proves the record genuine but written
//! by another version of the model: [`DataError::WrittenByAnotherModel`], not an integrity
//! failure. A message that opens under none is the integrity failure it was.

use crate::attribute::Item;
use crate::blind_index::INDEX_ATTRIBUTE_PREFIX;
use crate::error::{DataError, Error};
use crate::schema::Schema;

/// At most this many attributes are tried: a record with more unknown ones fails as it did.
const MAX_TRIED: usize = 32;

/// The attributes of a record that its model does not authenticate, as the transitions try them.
pub(super) struct Candidates<'a> {
    /// Blind-index attributes of indexes the model does not declare.
    indexes: Vec<&'a str>,
    /// Fields the model declares `unauthenticated`.
    unauthenticated: Vec<&'a str>,
    /// Those the model does not know at all.
    unknown: Vec<&'a str>,
    /// The sets tried, in order, and whether the model may open with each.
    sets: Vec<(Vec<&'a str>, bool)>,
}

impl<'a> Candidates<'a> {
    /// The attributes of `attributes` (a record's, its header and message taken out) that
    /// `schema` does not authenticate, and the sets to try: by class, so that an attribute of
    /// one class the writer did not authenticate (a TTL, another writer's) does not hide a
    /// transition of another — the index attributes, the unauthenticated fields, both (each the
    /// model may open with), then the unknown ones alone and with each of those (which only name
    /// the other version). At most seven tries, none above [`MAX_TRIED`] attributes.
    pub(super) fn of(schema: &Schema, attributes: &'a Item) -> Self {
        let authenticated = schema.authenticated();
        let mut candidates = Candidates {
            indexes: Vec::new(),
            unauthenticated: Vec::new(),
            unknown: Vec::new(),
            sets: Vec::new(),
        };
        for (name, _) in attributes.iter() {
            if authenticated.contains(&name) || schema.is_sensitive(name) {
                continue;
            }
            if name.starts_with(INDEX_ATTRIBUTE_PREFIX) {
                candidates.indexes.push(name);
            } else if schema.unauthenticated().contains(&name) {
                candidates.unauthenticated.push(name);
            } else {
                candidates.unknown.push(name);
            }
        }
        let (indexes, unauthenticated) = (&candidates.indexes, &candidates.unauthenticated);
        let openable = [
            indexes.clone(),
            unauthenticated.clone(),
            [&indexes[..], &unauthenticated[..]].concat(),
        ];
        let mut tries: Vec<(Vec<&str>, bool)> =
            openable.iter().map(|set| (set.clone(), true)).collect();
        if !candidates.unknown.is_empty() {
            tries.push((candidates.unknown.clone(), false));
            for set in &openable {
                tries.push(([&set[..], &candidates.unknown[..]].concat(), false));
            }
        }
        for (set, openable) in tries {
            let new = !set.is_empty()
                && set.len() <= MAX_TRIED
                && !candidates.sets.iter().any(|(tried, _)| *tried == set);
            if new {
                candidates.sets.push((set, openable));
            }
        }
        candidates
    }

    /// The sets to try, in order.
    pub(super) fn sets(&self) -> Vec<Vec<&'a str>> {
        self.sets.iter().map(|(set, _)| set.clone()).collect()
    }

    /// What opening with set `i` of [`sets`](Self::sets) (counted from 1) means: `Ok` when the
    /// model may open the record (logged), the error that names the other version otherwise.
    pub(super) fn opened_with(&self, schema: &Schema, i: usize) -> Result<(), Error> {
        let Some((set, openable)) = self.sets.get(i.wrapping_sub(1)) else {
            return Err(Error::integrity(crate::format::SEALED_ATTRIBUTE));
        };
        if *openable {
            tracing::info!(
                target: "crypt_model::integrity",
                table = schema.table(),
                attributes = ?set,
                "opened a record that another version of the model wrote, authenticating \
                 attributes this one leaves unauthenticated or does not index"
            );
            return Ok(());
        }
        tracing::warn!(
            target: "crypt_model::integrity",
            table = schema.table(),
            attributes = ?self.unknown,
            "a record written by another version of the model, which authenticated attributes \
             this one does not know: deploy that version to every reader first"
        );
        Err(Error::Data(DataError::WrittenByAnotherModel {
            table: schema.table().to_owned(),
            reason: format!(
                "it authenticated attributes this one does not know: {:?}",
                self.unknown
            ),
        }))
    }
}
