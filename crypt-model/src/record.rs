//! The record pipeline: the steps every path of a [`Table`](crate::Table), every job and every
//! public opener takes with one record — open a record the gate admitted, seal a record's parts,
//! rewrite a stored record if it is unchanged. One copy of each step, so that a rule (migration
//! mode, the integrity log line, the witnesses of a rewrite) is kept in one place.

mod open;
mod rewrite;
mod seal;

pub(crate) use open::{PlaintextReads, check_suite, data_key, open_fields};
pub(crate) use rewrite::rewrite_of;
pub(crate) use seal::seal;
