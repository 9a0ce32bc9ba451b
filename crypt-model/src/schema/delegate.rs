//! [`Delegation`]: a plain, authenticated attribute that names further principals who may act on
//! a record besides its owner (`#[delegate]`, `#[delegate(write)]` on a field), and the rule that
//! decides whether a stored value names a caller.

use super::is_plain_integer;
use crate::attribute::AttributeValue;

/// What a delegation lets the principals it names do to the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DelegateScope {
    /// Open the record: `get`, `query`, a secondary index's queries, `find`, `batch_get`,
    /// streams (`#[delegate]`, `#[delegate(read)]`).
    Read,
    /// Open it and update it, without changing any delegation attribute (`#[delegate(write)]`).
    /// A delegate never creates or deletes a record, and never erases its owner.
    Write,
}

/// A plain attribute whose value names principals who may act on the record in a
/// [`DelegateScope`]: the id of one user (a `doctor_id`), or a set or list of them (a care
/// team). The gate reads it from the stored item, before any key is unwrapped, as it reads the
/// owner; and it is authenticated with the item, so a value edited in storage makes the record
/// fail its integrity check instead of opening.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delegation {
    attribute: &'static str,
    scope: DelegateScope,
    /// A delegate of this attribute may change it in an update (`#[delegate(write, reassign)]`).
    reassign: bool,
}

impl Delegation {
    /// The principals named in `attribute` may read the record.
    pub const fn read(attribute: &'static str) -> Self {
        Delegation {
            attribute,
            scope: DelegateScope::Read,
            reassign: false,
        }
    }

    /// The principals named in `attribute` may read and update the record.
    pub const fn write(attribute: &'static str) -> Self {
        Delegation {
            attribute,
            scope: DelegateScope::Write,
            reassign: false,
        }
    }

    /// A write delegation whose delegates may change the attribute itself in an
    /// [`update`](crate::Table::update) (`#[delegate(write, reassign)]`: a case worker hands the
    /// case to a colleague). The update opens the record only for a delegate the stored record
    /// names, and writes only if the record is unchanged since; a delegate's `put` still changes
    /// no delegation.
    pub const fn reassignable(mut self) -> Self {
        self.reassign = true;
        self
    }

    /// Whether its delegates may change the attribute in an update.
    pub const fn is_reassignable(&self) -> bool {
        self.reassign
    }

    /// The attribute.
    pub const fn attribute(&self) -> &'static str {
        self.attribute
    }

    /// What it lets the principals it names do.
    pub const fn scope(&self) -> DelegateScope {
        self.scope
    }

    /// Whether the delegation lets its principals read (`write == false`) or write a record.
    pub(crate) fn allows(&self, write: bool) -> bool {
        !write || self.scope == DelegateScope::Write
    }
}

/// Whether the stored `value` of a delegation attribute names the principal `id`: a string equal
/// to it, a number whose text is it (the integer's one plain decimal form, as for a number
/// owner), or a set or list holding either.
pub(crate) fn names(value: &AttributeValue, id: &str) -> bool {
    // A number names its one plain decimal form only: `1001.0` authenticates as `1001` does
    // (numbers are canonical in the item's authentication), so it must name no one else.
    let number = |text: &str| is_plain_integer(text) && text == id;
    match value {
        AttributeValue::S(text) => text == id,
        AttributeValue::N(text) => number(text),
        AttributeValue::Ss(texts) => texts.iter().any(|t| t == id),
        AttributeValue::Ns(texts) => texts.iter().any(|t| number(t)),
        AttributeValue::L(values) => values.iter().any(|v| match v {
            AttributeValue::S(text) => text == id,
            AttributeValue::N(text) => number(text),
            _ => false,
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_names_a_principal_by_its_exact_text() {
        let s = |t: &str| AttributeValue::S(t.to_owned());
        assert!(names(&s("dr-1"), "dr-1"));
        assert!(!names(&s("dr-1"), "dr-10"));
        assert!(!names(&s("DR-1"), "dr-1"));
        assert!(names(&AttributeValue::N("1001".to_owned()), "1001"));
        // DynamoDB compares numbers by value; the gate compares the text, as for the owner, and
        // a number not in its plain form names no one (not even its own text).
        assert!(!names(&AttributeValue::N("1001.0".to_owned()), "1001"));
        assert!(!names(&AttributeValue::N("1001.0".to_owned()), "1001.0"));
        assert!(!names(&AttributeValue::Ns(vec!["01".to_owned()]), "01"));
        let team = AttributeValue::Ss(vec!["dr-1".to_owned(), "nurse-2".to_owned()]);
        assert!(names(&team, "nurse-2"));
        assert!(!names(&team, "dr-2"));
        let list = AttributeValue::L(vec![s("dr-1"), AttributeValue::Bool(true)]);
        assert!(names(&list, "dr-1"));
        assert!(!names(&AttributeValue::Bool(true), "true"));
        assert!(!names(&AttributeValue::Null, ""));
    }

    #[test]
    fn a_read_delegation_does_not_write() {
        assert!(Delegation::read("doctor_id").allows(false));
        assert!(!Delegation::read("doctor_id").allows(true));
        assert!(Delegation::write("care_team").allows(true));
    }
}
