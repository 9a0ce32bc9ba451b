//! `Model::by_<field>(value)`: one search of a blind index per indexed field, for `Table::find`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::Model;
use super::schema::{indexed, normalize};

/// The inherent impl holding the lookups, if the model has indexes.
pub(super) fn lookups(model: &Model<'_, '_>) -> Option<TokenStream> {
    let private = &model.private;
    let ident = model.cont.ident;
    let functions: Vec<TokenStream> = indexed(model)
        .map(|(f, index)| {
            let (name, member, ty) = (&f.name, f.ident, f.ty);
            let function = format_ident!(
                "by_{}",
                f.ident.to_string().trim_start_matches("r#"),
                span = index.span
            );
            let normalize = normalize(model, &index.normalize);
            let doc = format!(
                "A search of the blind index of `{}`: pass it to `Table::find`.",
                f.ident
            );
            quote! {
                #[doc = #doc]
                #[allow(dead_code, unreachable_pub)]
                pub fn #function(
                    value: impl ::core::convert::Into<<#ty as #private::SensitiveField>::__Value>,
                ) -> #private::Result<#private::IndexLookup<Self>> {
                    let value = #private::Sensitive::new(value.into());
                    #private::IndexLookup::__new(#name, value.expose_secret(), |record: &Self| {
                        #private::index_bytes_of(&record.#member, #name, #normalize)
                    })
                }
            }
        })
        .collect();
    (!functions.is_empty()).then(|| {
        quote! {
            #[automatically_derived]
            impl #ident {
                #(#functions)*
            }
        }
    })
}
