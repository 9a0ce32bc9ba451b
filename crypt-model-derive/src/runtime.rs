//! The runtime's constants that the derive needs at expansion time, copied because a proc-macro
//! crate cannot depend on the crate that uses it. Every expansion passes them to
//! `__private::derive_agrees`, a `const fn` that fails the build if the runtime's differ, so the
//! copies cannot drift (nor can mismatched versions of the two crates be mixed).

/// Attribute names starting with this are reserved (`crypt_model::format::RESERVED_PREFIX`).
pub(crate) const RESERVED_PREFIX: &str = "__cm";
/// The attribute of a field's blind index is this prefix and the field's attribute name.
pub(crate) const INDEX_ATTRIBUTE_PREFIX: &str = "__cm_ix_";
/// The secondary index of a field's blind index is this prefix and the field's attribute name.
pub(crate) const INDEX_NAME_PREFIX: &str = "cm_ix_";
/// The narrowest index (`crypt_model::blind_index::MIN_INDEX_BITS`).
pub(crate) const MIN_INDEX_BITS: u16 = 8;
/// The widest index (`crypt_model::blind_index::MAX_INDEX_BITS`).
pub(crate) const MAX_INDEX_BITS: u16 = 64;
