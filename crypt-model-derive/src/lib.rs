//! The `#[derive(EncryptedItem)]` macro of crypt-model.
//!
//! Use it through the `crypt-model` crate, which re-exports it and documents every attribute.
//! The stages, one file each: `ast` (the struct as we understand it), `attr` (parsing the
//! attributes into it), `check` (one function per rule), `expand` (the generated code, one file
//! per part under `expand/`), `fallback` (the stub emitted when there are errors); `ctxt` gathers
//! the errors and `runtime` holds the runtime's constants the derive copies.

mod ast;
mod attr;
mod check;
mod ctxt;
mod expand;
mod fallback;
mod markers;
mod runtime;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Derives `crypt_model::EncryptedItem`. See the documentation of its re-export in
/// `crypt-model`.
#[proc_macro_derive(
    EncryptedItem,
    attributes(partition_key, sort_key, owner, sensitive, delegate, crypt_model)
)]
pub fn derive_encrypted_item(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}

/// Derives `crypt_model::SerdePlaintext` (the type must also be `Serialize`, `Deserialize` and
/// `Zeroize`).
#[proc_macro_derive(SerdePlaintext)]
pub fn derive_serde_plaintext(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    markers::marker(&input, "SerdePlaintext").into()
}

/// Derives `crypt_model::SerdeAttribute` (the type must also be `Serialize` and `Deserialize`).
#[proc_macro_derive(SerdeAttribute)]
pub fn derive_serde_attribute(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    markers::marker(&input, "SerdeAttribute").into()
}
