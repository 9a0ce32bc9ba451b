//! The `EncryptedItem` impl: the schema, and the glue calls that split a model into its plain
//! attributes and plaintexts, parse it back, and assemble it once decrypted.

use proc_macro2::TokenStream;
use quote::quote;

use super::Model;

/// The struct of the plain fields, parsed, waiting for the sensitive ones (`__Plain`).
pub(super) fn plain_fields_struct(model: &Model<'_, '_>) -> TokenStream {
    let plain = model.fields.iter().filter(|g| g.field.sensitive.is_none());
    let (members, types): (Vec<_>, Vec<_>) = plain.map(|g| (g.field.ident, g.field.ty)).unzip();
    quote! {
        #[doc(hidden)]
        #[allow(non_camel_case_types, unreachable_pub, missing_docs, dead_code)]
        pub struct __CryptModelPlainFields {
            #(#members: #types,)*
        }
    }
}

/// `impl EncryptedItem for Model { … }`.
pub(super) fn encrypted_item_impl(model: &Model<'_, '_>) -> TokenStream {
    let private = &model.private;
    let ident = model.cont.ident;
    let schema = super::schema::schema(model);
    let to_parts = to_parts(model);
    let parse = parse(model);
    let assemble = assemble(model);
    let owner = owner(model);
    let version = version(model);
    let legacy = legacy(model);
    quote! {
        #[automatically_derived]
        impl #private::EncryptedItem for #ident {
            const SCHEMA: #private::Schema = #schema;
            type __Plain = __CryptModelPlainFields;
            #to_parts
            #parse
            #assemble
            #owner
            #version
            #legacy
        }
    }
}

/// `__to_parts`: each plain field into the item, each sensitive one into the plaintexts.
fn to_parts(model: &Model<'_, '_>) -> TokenStream {
    let private = &model.private;
    let puts = model.fields.iter().map(|g| {
        let (name, member, glue) = (&g.field.name, g.field.ident, &g.name);
        if g.field.sensitive.is_some() {
            quote!((#glue.put)(&mut __plaintexts, #name, &self.#member)?;)
        } else {
            let glue = g.plain();
            quote!((#glue.put)(&mut __item, #name, &self.#member)?;)
        }
    });
    quote! {
        fn __to_parts(&self) -> #private::Result<(#private::Item, #private::Plaintexts)> {
            let mut __item = #private::Item::new();
            let mut __plaintexts = #private::Plaintexts::new();
            #(#puts)*
            ::core::result::Result::Ok((__item, __plaintexts))
        }
    }
}

/// `__parse`: the plain fields taken out of the item (it is parsed after its authentication was
/// checked, and no sensitive field found in plain, so nothing needs it any more).
fn parse(model: &Model<'_, '_>) -> TokenStream {
    let private = &model.private;
    let plain: Vec<_> = model
        .fields
        .iter()
        .filter(|g| g.field.sensitive.is_none())
        .collect();
    let reads = plain.iter().map(|g| {
        let (name, member, glue) = (&g.field.name, g.field.ident, g.plain());
        quote!(let #member = (#glue.take)(__item, #name)?;)
    });
    let members = plain.iter().map(|g| g.field.ident);
    quote! {
        fn __parse(__item: &mut #private::Item) -> #private::Result<Self::__Plain> {
            #(#reads)*
            ::core::result::Result::Ok(__CryptModelPlainFields { #(#members,)* })
        }
    }
}

/// `__assemble`: the model from its plain fields and decrypted plaintexts.
fn assemble(model: &Model<'_, '_>) -> TokenStream {
    let private = &model.private;
    let ident = model.cont.ident;
    let fields = model.fields.iter().map(|g| {
        let (name, member, glue) = (&g.field.name, g.field.ident, &g.name);
        if g.field.sensitive.is_some() {
            quote!(#member: (#glue.take)(__plaintexts, #name)?,)
        } else {
            quote!(#member: __plain.#member,)
        }
    });
    quote! {
        fn __assemble(
            __plain: Self::__Plain,
            __plaintexts: &mut #private::Plaintexts,
        ) -> #private::Result<Self> {
            ::core::result::Result::Ok(#ident { #(#fields)* })
        }
    }
}

/// `owner`: the owner field's id.
fn owner(model: &Model<'_, '_>) -> TokenStream {
    let member = model.owner.ident;
    let glue = model.glue_of(|f| f.owner.is_some()).map(|g| &g.name);
    quote! {
        fn owner(&self) -> ::std::borrow::Cow<'_, str> {
            (#glue.id)(&self.#member)
        }
    }
}

/// `version` and `set_version`, for a model with a version field.
fn version(model: &Model<'_, '_>) -> Option<TokenStream> {
    let glue = model.glue_of(|f| f.version.is_some())?;
    let (member, name) = (glue.field.ident, &glue.name);
    Some(quote! {
        fn version(&self) -> ::core::option::Option<u64> {
            ::core::option::Option::Some((#name.get)(&self.#member))
        }
        fn set_version(&mut self, version: u64) {
            self.#member = (#name.from_u64)(version);
        }
    })
}

/// `__legacy`, for a model with `#[crypt_model(migrate_from_plaintext)]`: each sensitive field
/// stored in plain taken out of the item into the plaintexts.
fn legacy(model: &Model<'_, '_>) -> Option<TokenStream> {
    model.cont.migrate_from_plaintext.as_ref()?;
    let private = &model.private;
    let takes = model
        .fields
        .iter()
        .filter(|g| g.field.sensitive.is_some())
        .map(|g| {
            let (name, legacy) = (&g.field.name, &g.legacy);
            quote!((#legacy)(__item, __plaintexts, #name)?;)
        });
    Some(quote! {
        fn __legacy(
            __item: &mut #private::Item,
            __plaintexts: &mut #private::Plaintexts,
        ) -> #private::Result<()> {
            #(#takes)*
            ::core::result::Result::Ok(())
        }
    })
}
