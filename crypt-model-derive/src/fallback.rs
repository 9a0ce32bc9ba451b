//! The impl emitted when the derive found errors (as thiserror's `fallback.rs`): it satisfies the
//! trait, so that uses of the model elsewhere add no errors of their own and one mistake gives
//! one error, not twenty.

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

/// The stub impl of `EncryptedItem` for `input`.
pub(crate) fn fallback(input: &DeriveInput, krate: &syn::Path) -> TokenStream {
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let private = quote!(#krate::__private);
    quote! {
        const _: () = {
            #[automatically_derived]
            impl #impl_generics #private::EncryptedItem for #ident #ty_generics #where_clause {
                const SCHEMA: #private::Schema = #private::Schema::new("invalid", "invalid", "invalid");
                type __Plain = ();
                fn __to_parts(&self) -> #private::Result<(#private::Item, #private::Plaintexts)> {
                    ::core::unreachable!("the derive of EncryptedItem failed")
                }
                fn __parse(_: &mut #private::Item) -> #private::Result<Self::__Plain> {
                    ::core::unreachable!("the derive of EncryptedItem failed")
                }
                fn __assemble(_: (), _: &mut #private::Plaintexts) -> #private::Result<Self> {
                    ::core::unreachable!("the derive of EncryptedItem failed")
                }
                fn owner(&self) -> ::std::borrow::Cow<'_, str> {
                    ::core::unreachable!("the derive of EncryptedItem failed")
                }
            }
        };
    }
}
