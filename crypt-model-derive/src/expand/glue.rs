//! One `const` of glue per field, built where the field type's bound is checked, at the field's
//! type: a wrong type gives one error there, and the calls through the glue add none.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;
use syn::spanned::Spanned;

use super::Model;
use crate::ast::{Container, Field};

/// A field and the name of the `const` holding its glue.
pub(super) struct FieldGlue<'c, 'a> {
    pub(super) field: &'c Field<'a>,
    pub(super) name: Ident,
    /// The `const` that reads a sensitive field stored in plain (`migrate_from_plaintext`).
    pub(super) legacy: Ident,
}

impl FieldGlue<'_, '_> {
    /// The glue of the field as a plain attribute (nested in the owner's and the version's).
    pub(super) fn plain(&self) -> TokenStream {
        let name = &self.name;
        if self.field.owner.is_some() || self.field.version.is_some() {
            quote!(#name.plain)
        } else {
            quote!(#name)
        }
    }
}

/// Every field with the name of its glue.
pub(super) fn fields<'c, 'a>(cont: &'c Container<'a>) -> Vec<FieldGlue<'c, 'a>> {
    cont.fields
        .iter()
        .enumerate()
        .map(|(i, field)| FieldGlue {
            field,
            name: format_ident!("__CRYPT_MODEL_FIELD_{}", i),
            legacy: format_ident!("__CRYPT_MODEL_LEGACY_{}", i),
        })
        .collect()
}

/// The `const`s: `const __CRYPT_MODEL_FIELD_0: __private::PlainField<T> = …;`.
pub(super) fn consts(model: &Model<'_, '_>) -> Vec<TokenStream> {
    let private = &model.private;
    model
        .fields
        .iter()
        .map(|glue| {
            let (f, name, ty) = (glue.field, &glue.name, glue.field.ty);
            let (kind, constructor) = if f.sensitive.is_some() {
                (quote!(SecretField), quote!(secret_field))
            } else if f.version.is_some() {
                (quote!(VersionGlue), quote!(version_field))
            } else if f.owner.is_some() {
                (quote!(OwnerField), quote!(owner_field))
            } else {
                (quote!(PlainField), quote!(plain_field))
            };
            let legacy = (f.sensitive.is_some() && model.cont.migrate_from_plaintext.is_some())
                .then(|| {
                    let legacy = &glue.legacy;
                    quote_spanned! {ty.span()=>
                        const #legacy: #private::LegacyField = #private::legacy_field::<#ty>();
                    }
                });
            quote_spanned! {ty.span()=>
                const #name: #private::#kind<#ty> = #private::#constructor::<#ty>();
                #legacy
            }
        })
        .collect()
}
