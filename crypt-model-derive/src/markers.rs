//! `#[derive(SerdePlaintext)]` and `#[derive(SerdeAttribute)]`: the one-line marker impls that opt
//! a serde type in as a sensitive value or a plain attribute, written by the derive so that a
//! model's types need no hand-written impl.

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

/// `impl ::crypt_model::<marker> for Type {}`, with the type's generics.
pub(crate) fn marker(input: &DeriveInput, marker: &str) -> TokenStream {
    let ident = &input.ident;
    let marker = syn::Ident::new(marker, proc_macro2::Span::call_site());
    let (impl_generics, type_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        #[automatically_derived]
        impl #impl_generics ::crypt_model::#marker for #ident #type_generics #where_clause {}
    }
}
