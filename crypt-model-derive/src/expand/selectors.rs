//! `Model::FIELD`: a selector per field that `Table::update` can write (sensitive fields and
//! plain fields other than the keys, the owner and the version); `Versioned` for a model with a
//! version, which `update` requires; `BatchWritable` for a model whose owner is in its key and
//! that has no version, which `batch_put` requires. A misspelt field, a key, or a field of another model
//! is then a compile error, not a run-time one.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::Model;

/// The selectors' inherent impl and, for a versioned model, the `Versioned` impl.
pub(super) fn selectors(model: &Model<'_, '_>) -> TokenStream {
    let private = &model.private;
    let ident = model.cont.ident;
    let consts = model
        .cont
        .fields
        .iter()
        .filter(|f| !f.is_bound() && f.version.is_none())
        .map(|f| {
            let bare = f.ident.to_string();
            let bare = bare.trim_start_matches("r#");
            let selector = format_ident!("{}", bare.to_uppercase(), span = f.ident.span());
            let name = &f.name;
            let doc = format!("The field `{bare}`, for `Table::update`.");
            quote! {
                #[doc = #doc]
                #[allow(dead_code)]
                pub const #selector: #private::Field<Self> = #private::Field::__new(#name);
            }
        });
    let versioned = model.cont.version().map(|_| {
        quote! {
            #[automatically_derived]
            impl #private::Versioned for #ident {}
        }
    });
    let owner_in_key = model.owner.partition_key.is_some() || model.owner.sort_key.is_some();
    let batch_writable = (owner_in_key && model.cont.version().is_none()).then(|| {
        quote! {
            #[automatically_derived]
            impl #private::BatchWritable for #ident {}
        }
    });
    quote! {
        #[automatically_derived]
        impl #ident {
            #(#consts)*
        }
        #versioned
        #batch_writable
    }
}
