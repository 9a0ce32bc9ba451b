//! The struct as the derive understands it: its table, its fields and their roles.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::{Data, DeriveInput, Fields, Generics, Ident, LitStr, Path, Type};

use crate::attr;
use crate::ctxt::Ctxt;

/// The struct being derived.
pub(crate) struct Container<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) generics: &'a Generics,
    /// `#[crypt_model(table = "…")]`.
    pub(crate) table: Option<LitStr>,
    /// `#[crypt_model(crate = "…")]`, or `::crypt_model`.
    pub(crate) krate: Path,
    /// The struct's `#[crypt_model(…)]` had an error of its own (already reported).
    pub(crate) options_unreadable: bool,
    /// The secondary indexes declared on the struct.
    pub(crate) secondary_indexes: Vec<attr::SecondaryIndexOptions>,
    /// `#[crypt_model(migrate_from_plaintext)]`.
    pub(crate) migrate_from_plaintext: Option<syn::Path>,
    /// `#[crypt_model(key_per_owner)]`.
    pub(crate) key_per_owner: Option<syn::Path>,
    /// `#[crypt_model(suite = "…")]`, one of `attr::SUITES`' names.
    pub(crate) suite: Option<syn::LitStr>,
    pub(crate) fields: Vec<Field<'a>>,
}

/// One named field.
pub(crate) struct Field<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) ty: &'a Type,
    /// The attribute it is stored under: its name, or its `rename`.
    pub(crate) name: String,
    /// Where the name comes from: the `rename` literal, or the field's identifier.
    pub(crate) name_span: Span,
    /// Each role marker, kept for its span.
    pub(crate) partition_key: Option<Path>,
    pub(crate) sort_key: Option<Path>,
    pub(crate) owner: Option<Path>,
    pub(crate) sensitive: Option<Path>,
    /// `#[crypt_model(version)]`.
    pub(crate) version: Option<Path>,
    /// `#[crypt_model(unauthenticated)]`.
    pub(crate) unauthenticated: Option<Path>,
    /// `#[sensitive(index = "exact", …)]`.
    pub(crate) index: Option<attr::IndexOptions>,
    /// `#[delegate(…)]`.
    pub(crate) delegate: Option<(Path, attr::DelegateOptions)>,
}

impl<'a> Container<'a> {
    /// Reads the struct and its attributes; `None` when it is not a struct with named fields
    /// (the error is in `cx`).
    pub(crate) fn from_ast(cx: &mut Ctxt, input: &'a DeriveInput) -> Option<Self> {
        let options = attr::container(cx, input);
        let named = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => named,
                Fields::Unnamed(_) | Fields::Unit => {
                    cx.error_spanned_by(
                        &input.ident,
                        "#[derive(EncryptedItem)] needs a struct with named fields: each field \
                         is stored as the attribute of its name",
                    );
                    return None;
                }
            },
            Data::Enum(data) => {
                cx.error_spanned_by(
                    data.enum_token,
                    "#[derive(EncryptedItem)] cannot be used on an enum: use a struct with named \
                     fields, one of them the `#[owner]`",
                );
                return None;
            }
            Data::Union(data) => {
                cx.error_spanned_by(
                    data.union_token,
                    "#[derive(EncryptedItem)] cannot be used on a union: use a struct with named \
                     fields",
                );
                return None;
            }
        };
        let fields = named
            .named
            .iter()
            .filter_map(|field| {
                let ident = field.ident.as_ref()?;
                let markers = attr::field(cx, field);
                let (name, name_span) = match markers.rename {
                    Some(rename) => (rename.value(), rename.span()),
                    None => (ident.unraw().to_string(), ident.span()),
                };
                Some(Field {
                    ident,
                    ty: &field.ty,
                    name,
                    name_span,
                    partition_key: markers.partition_key,
                    sort_key: markers.sort_key,
                    owner: markers.owner,
                    sensitive: markers.sensitive,
                    version: markers.version,
                    unauthenticated: markers.unauthenticated,
                    index: markers.index,
                    delegate: markers.delegate,
                })
            })
            .collect();
        Some(Container {
            ident: &input.ident,
            generics: &input.generics,
            table: options.table,
            krate: options.krate,
            options_unreadable: options.unreadable,
            secondary_indexes: options.secondary_indexes,
            migrate_from_plaintext: options.migrate_from_plaintext,
            key_per_owner: options.key_per_owner,
            suite: options.suite,
            fields,
        })
    }

    /// The field whose Rust name is `name` (`r#` prefixes ignored).
    pub(crate) fn field_named(&self, name: &str) -> Option<&Field<'a>> {
        self.fields
            .iter()
            .find(|f| f.ident.to_string().trim_start_matches("r#") == name)
    }

    /// The fields marked with a role, as `(field, marker)`.
    pub(crate) fn marked<'s>(
        &'s self,
        role: impl Fn(&'s Field<'a>) -> Option<&'s Path>,
    ) -> Vec<(&'s Field<'a>, &'s Path)> {
        self.fields
            .iter()
            .filter_map(|f| role(f).map(|marker| (f, marker)))
            .collect()
    }

    /// The partition key field (after checks: exactly one).
    pub(crate) fn partition_key(&self) -> Option<&Field<'a>> {
        self.fields.iter().find(|f| f.partition_key.is_some())
    }

    /// The sort key field, if any.
    pub(crate) fn sort_key(&self) -> Option<&Field<'a>> {
        self.fields.iter().find(|f| f.sort_key.is_some())
    }

    /// The version field, if any.
    pub(crate) fn version(&self) -> Option<&Field<'a>> {
        self.fields.iter().find(|f| f.version.is_some())
    }

    /// The owner field (after checks: exactly one).
    pub(crate) fn owner(&self) -> Option<&Field<'a>> {
        self.fields.iter().find(|f| f.owner.is_some())
    }
}

impl Field<'_> {
    /// Whether the field is a key or the owner: what binds the record.
    pub(crate) fn is_bound(&self) -> bool {
        self.partition_key.is_some() || self.sort_key.is_some() || self.owner.is_some()
    }
}
