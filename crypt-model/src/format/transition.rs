//! A schema's transitions: a record whose message the model's own set of authenticated
//! attributes does not open, but which another version of the model wrote, authenticating
//! attributes this one does not (docs/format.md, "Changing a model").
//!
//! Tried only after the record failed to open, with the attributes the record holds that this
//! model does not authenticate, in two sets: those it may open with — fields it now declares
//! `unauthenticated` (authenticated by the version that wrote the record), and blind-index
//! attributes of indexes it does not declare (a newer model's, which a rewrite by this one drops)
//! — and then every attribute it does not know at all as well, which proves the record genuine
//! but written by another version of the model: [`DataError::WrittenByAnotherModel`], not an
//! integrity failure. A message that opens under neither is the integrity failure it was.

use crate::attribute::Item;
use crate::blind_index::INDEX_ATTRIBUTE_PREFIX;
use crate::error::{DataError, Error};
use crate::schema::Schema;

/// At most this many attributes are tried: a record with more unknown ones fails as it did.
const MAX_TRIED: usize = 32;

/// The attributes of a record that its model does not authenticate, as the transitions try them.
pub(super) struct Candidates<'a> {
    /// Those the model may open the record with.
    pub(super) openable: Vec<&'a str>,
    /// Those the model does not know at all.
    pub(super) unknown: Vec<&'a str>,
}

impl<'a> Candidates<'a> {
    /// The attributes of `attributes` (a record's, its header and message taken out) that
    /// `schema` does not authenticate.
    pub(super) fn of(schema: &Schema, attributes: &'a Item) -> Self {
        let authenticated = schema.authenticated();
        let mut candidates = Candidates {
            openable: Vec::new(),
            unknown: Vec::new(),
        };
        for (name, _) in attributes.iter() {
            if authenticated.contains(&name) || schema.is_sensitive(name) {
                continue;
            }
            if schema.unauthenticated().contains(&name) || name.starts_with(INDEX_ATTRIBUTE_PREFIX)
            {
                candidates.openable.push(name);
            } else {
                candidates.unknown.push(name);
            }
        }
        if candidates.openable.len() + candidates.unknown.len() > MAX_TRIED {
            candidates.openable.clear();
            candidates.unknown.clear();
        }
        candidates
    }

    /// The sets to try, in order: the openable attributes, then all of them.
    pub(super) fn sets(&self) -> Vec<Vec<&'a str>> {
        let mut sets = Vec::with_capacity(2);
        if !self.openable.is_empty() {
            sets.push(self.openable.clone());
        }
        if !self.unknown.is_empty() {
            let mut all = self.openable.clone();
            all.extend_from_slice(&self.unknown);
            sets.push(all);
        }
        sets
    }

    /// What opening with set `i` of [`sets`](Self::sets) (counted from 1) means: `Ok` when the
    /// model may open the record (logged), the error that names the other version otherwise.
    pub(super) fn opened_with(&self, schema: &Schema, i: usize) -> Result<(), Error> {
        let openable = !self.openable.is_empty();
        if i == 1 && openable {
            tracing::info!(
                target: "crypt_model::integrity",
                table = schema.table(),
                attributes = ?self.openable,
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
