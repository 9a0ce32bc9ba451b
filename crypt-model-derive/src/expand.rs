//! The generated code: an `EncryptedItem` impl of glue calls into `::crypt_model::__private`,
//! inside `const _: () = { … };`. Built as serde_derive builds `ser.rs`, from one small function
//! per part, a file each: the fields' glue (`glue`), the schema (`schema`), the trait impl
//! (`item`), the key constructors (`keys`), the field selectors (`selectors`), the index lookups
//! (`lookup`). On errors, `fallback` emits a stub instead.

mod glue;
mod indexes;
mod item;
mod keys;
mod lookup;
mod schema;
mod selectors;

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use crate::ast::{Container, Field};
use crate::check;
use crate::ctxt::Ctxt;
use crate::fallback::fallback;
use crate::runtime;
use glue::FieldGlue;

/// Expands the derive of `input`: the impl, or every error and a stub impl.
pub(crate) fn derive(input: &DeriveInput) -> TokenStream {
    let mut cx = Ctxt::default();
    let cont = Container::from_ast(&mut cx, input);
    if let Some(cont) = &cont {
        check::check(&mut cx, cont);
    }
    match (cx.check(), cont) {
        (Ok(()), Some(cont)) => expand(&cont),
        (Err(errors), cont) => {
            let krate = cont
                .map(|c| c.krate)
                .unwrap_or_else(|| syn::parse_quote!(::crypt_model));
            let mut out = errors.to_compile_error();
            out.extend(fallback(input, &krate));
            out
        }
        (Ok(()), None) => fallback(input, &syn::parse_quote!(::crypt_model)),
    }
}

/// A model that passed every check, with what each part of the expansion needs.
struct Model<'c, 'a> {
    cont: &'c Container<'a>,
    /// `#krate::__private`.
    private: TokenStream,
    /// Each field with the `const` of its glue, in declaration order.
    fields: Vec<FieldGlue<'c, 'a>>,
    table: &'c syn::LitStr,
    partition_key: &'c Field<'a>,
    owner: &'c Field<'a>,
}

impl<'c, 'a> Model<'c, 'a> {
    /// `None` only if a check that guarantees a table, a partition key and an owner was skipped;
    /// this keeps the macro free of panics regardless.
    fn new(cont: &'c Container<'a>) -> Option<Self> {
        let krate = &cont.krate;
        Some(Model {
            cont,
            private: quote!(#krate::__private),
            fields: glue::fields(cont),
            table: cont.table.as_ref()?,
            partition_key: cont.partition_key()?,
            owner: cont.owner()?,
        })
    }

    /// The glue of the field matching `role`.
    fn glue_of(&self, role: impl Fn(&Field<'a>) -> bool) -> Option<&FieldGlue<'c, 'a>> {
        self.fields.iter().find(|g| role(g.field))
    }
}

fn expand(cont: &Container<'_>) -> TokenStream {
    let Some(model) = Model::new(cont) else {
        return quote!();
    };
    let agrees = runtime_agrees(&model);
    let glue = glue::consts(&model);
    let text_checks = schema::text_checks(&model);
    let plain_struct = item::plain_fields_struct(&model);
    let keys = keys::keys(&model);
    let selectors = selectors::selectors(&model);
    let lookups = lookup::lookups(&model);
    let item = item::encrypted_item_impl(&model);
    // The checks of the fields' types stand outside the block: a failed constant evaluation
    // inside it is reported at the derive, outside it at the field's type.
    quote! {
        #(#text_checks)*
        const _: () = {
            #agrees
            #plain_struct
            #(#glue)*
            #keys
            #selectors
            #lookups
            #item
        };
    }
}

/// Fails the build if the runtime's constants differ from the derive's copies.
fn runtime_agrees(model: &Model<'_, '_>) -> TokenStream {
    let private = &model.private;
    let (reserved, attribute, name) = (
        runtime::RESERVED_PREFIX,
        runtime::INDEX_ATTRIBUTE_PREFIX,
        runtime::INDEX_NAME_PREFIX,
    );
    let (min, max) = (runtime::MIN_INDEX_BITS, runtime::MAX_INDEX_BITS);
    quote! {
        const _: () = #private::derive_agrees(#reserved, #attribute, #name, #min, #max);
    }
}
