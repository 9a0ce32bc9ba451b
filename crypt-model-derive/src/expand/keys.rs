//! `Model::key(…)` and `Model::partition(…)`: the model's primary key and a query of one
//! partition, from values of the key fields' own types, so that user code never spells an
//! attribute name or a key type.

use proc_macro2::TokenStream;
use quote::quote;

use super::Model;

/// The inherent impl holding the key constructors.
pub(super) fn keys(model: &Model<'_, '_>) -> TokenStream {
    let private = &model.private;
    let ident = model.cont.ident;
    let pk = model.partition_key;
    let (pk_name, pk_ty) = (&pk.name, pk.ty);
    let pk_arg = pk.ident;
    let key = match model.cont.sort_key() {
        Some(sk) => {
            let (sk_name, sk_ty) = (&sk.name, sk.ty);
            let sk_arg = sk.ident;
            let doc = format!(
                "The primary key of the record whose `{}` and `{}` are given: pass it to \
                 `Table::get`, `Table::delete` or `Table::update`.",
                pk.ident, sk.ident
            );
            quote! {
                #[doc = #doc]
                #[allow(dead_code, unreachable_pub)]
                pub fn key(
                    #pk_arg: impl ::core::convert::Into<#pk_ty>,
                    #sk_arg: impl ::core::convert::Into<#sk_ty>,
                ) -> #private::Result<#private::Key> {
                    #private::key_of::<#pk_ty, #sk_ty>(
                        #pk_name,
                        &#pk_arg.into(),
                        ::core::option::Option::Some((#sk_name, &#sk_arg.into())),
                    )
                }
            }
        }
        None => {
            let doc = format!(
                "The primary key of the record whose `{}` is given: pass it to `Table::get`, \
                 `Table::delete` or `Table::update`.",
                pk.ident
            );
            quote! {
                #[doc = #doc]
                #[allow(dead_code, unreachable_pub)]
                pub fn key(
                    #pk_arg: impl ::core::convert::Into<#pk_ty>,
                ) -> #private::Result<#private::Key> {
                    #private::key_of::<#pk_ty, #pk_ty>(#pk_name, &#pk_arg.into(), ::core::option::Option::None)
                }
            }
        }
    };
    let doc = format!(
        "A query of the records whose `{}` is given, in sort-key order: pass it to \
         `Table::query` or `Table::query_all`.",
        pk.ident
    );
    let index_queries = super::indexes::queries(model);
    quote! {
        #[automatically_derived]
        impl #ident {
            #key
            #(#index_queries)*

            #[doc = #doc]
            #[allow(dead_code, unreachable_pub)]
            pub fn partition(
                #pk_arg: impl ::core::convert::Into<#pk_ty>,
            ) -> #private::Result<#private::Query> {
                #private::partition_query::<#pk_ty>(#pk_name, &#pk_arg.into())
            }
        }
    }
}
