//! The generated code: an `EncryptedItem` impl of glue calls into
//! `::crypt_model::__private`, inside `const _: () = { … };`. On errors, the errors and a stub
//! impl, so that one mistake gives one error and not twenty.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{DeriveInput, Ident, LitStr};

use crate::ast::{Container, Field};
use crate::check;
use crate::ctxt::Ctxt;

/// Expands the derive of `input`.
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

fn expand(cont: &Container<'_>) -> TokenStream {
    let krate = &cont.krate;
    let private = quote!(#krate::__private);
    let ident = cont.ident;
    let (Some(partition_key), Some(owner), Some(table)) =
        (cont.partition_key(), cont.owner(), &cont.table)
    else {
        // The checks guarantee all three; this keeps the macro free of panics regardless.
        return quote!();
    };
    let table = LitStr::new(&table.value(), table.span());
    let pk_name = &partition_key.name;
    let owner_name = &owner.name;
    let with_sort_key = cont.sort_key().map(|sk| {
        let name = &sk.name;
        quote!(.with_sort_key(#name))
    });
    let sensitive_names = cont
        .fields
        .iter()
        .filter(|f| f.sensitive.is_some())
        .map(|f| &f.name);

    // One `const` of glue per field, built where the type's bound is checked, at the field's
    // type: a wrong type gives one error there, and the calls through the glue add none.
    let glue: Vec<Ident> = (0..cont.fields.len())
        .map(|i| format_ident!("__CRYPT_MODEL_FIELD_{}", i))
        .collect();
    let fields: Vec<(&Field<'_>, &Ident)> = cont.fields.iter().zip(&glue).collect();
    let glue_consts = fields.iter().map(|(f, glue)| {
        let ty = f.ty;
        let (kind, constructor) = if f.sensitive.is_some() {
            (quote!(SecretField), quote!(secret_field))
        } else if f.version.is_some() {
            (quote!(VersionGlue), quote!(version_field))
        } else if f.owner.is_some() {
            (quote!(OwnerField), quote!(owner_field))
        } else {
            (quote!(PlainField), quote!(plain_field))
        };
        quote_spanned!(ty.span()=> const #glue: #private::#kind<#ty> = #private::#constructor::<#ty>();)
    });
    // The plain-attribute glue of a plain field (the owner's and the version's is nested).
    let plain_glue = |f: &Field<'_>, glue: &Ident| {
        if f.owner.is_some() || f.version.is_some() {
            quote!(#glue.plain)
        } else {
            quote!(#glue)
        }
    };

    let put_fields = fields.iter().map(|(f, glue)| {
        let (name, member) = (&f.name, f.ident);
        if f.sensitive.is_some() {
            quote!((#glue.put)(&mut __plaintexts, #name, &self.#member)?;)
        } else {
            let glue = plain_glue(f, glue);
            quote!((#glue.put)(&mut __item, #name, &self.#member)?;)
        }
    });
    let plain: Vec<&(&Field<'_>, &Ident)> = fields
        .iter()
        .filter(|(f, _)| f.sensitive.is_none())
        .collect();
    let plain_members: Vec<&Ident> = plain.iter().map(|(f, _)| f.ident).collect();
    let plain_types = plain.iter().map(|(f, _)| f.ty);
    let parse_plain = plain.iter().map(|(f, glue)| {
        let (name, member) = (&f.name, f.ident);
        let glue = plain_glue(f, glue);
        // Keys and the owner stay in the item: the ciphertexts are bound to them.
        let how = if f.is_bound() {
            quote!(read)
        } else {
            quote!(take)
        };
        quote!(let #member = (#glue.#how)(__item, #name)?;)
    });
    let check_sensitive = fields
        .iter()
        .filter(|(f, _)| f.sensitive.is_some())
        .map(|(f, glue)| {
            let name = &f.name;
            quote!((#glue.check)(__item, #name)?;)
        });
    let assemble = fields.iter().map(|(f, glue)| {
        let (name, member) = (&f.name, f.ident);
        if f.sensitive.is_some() {
            quote!(#member: (#glue.take)(__plaintexts, #name)?,)
        } else {
            quote!(#member: __plain.#member,)
        }
    });
    let owner_glue = fields
        .iter()
        .find(|(f, _)| f.owner.is_some())
        .map(|(_, glue)| glue);
    let owner_member = owner.ident;
    // Key types come from the key fields' glue, so they need no bound of their own.
    let key_type_of = |is_key: fn(&Field<'_>) -> bool| {
        fields.iter().find(|(f, _)| is_key(f)).map(|(f, glue)| {
            let glue = plain_glue(f, glue);
            quote!(#glue.key_type)
        })
    };
    let pk_type = key_type_of(|f| f.partition_key.is_some());
    let sk_type =
        key_type_of(|f| f.sort_key.is_some()).unwrap_or_else(|| quote!(#private::KeyType::S));
    let indexed: Vec<(&Field<'_>, &crate::attr::IndexOptions)> = cont
        .fields
        .iter()
        .filter_map(|f| f.index.as_ref().map(|i| (f, i)))
        .collect();
    let normalize_of = |n: &crate::attr::Normalize| match n {
        crate::attr::Normalize::None => quote!(#private::Normalize::None),
        crate::attr::Normalize::Lowercase => quote!(#private::Normalize::Lowercase),
        crate::attr::Normalize::Trim => quote!(#private::Normalize::Trim),
        crate::attr::Normalize::TrimLowercase => quote!(#private::Normalize::TrimLowercase),
        // Spanned at the path: a function of the wrong type is an error there.
        crate::attr::Normalize::Custom(path) => {
            quote_spanned!(path.span()=> #private::Normalize::Custom(#path))
        }
    };
    let index_specs = indexed.iter().map(|(f, index)| {
        let name = &f.name;
        let attribute = format!("__cm_ix_{}", f.name);
        let secondary = format!("cm_ix_{}", f.name);
        let bits = index.bits;
        let scope = match index.scope {
            crate::attr::Scope::Table => quote!(#private::IndexScope::Table),
            crate::attr::Scope::Owner => quote!(#private::IndexScope::Owner),
        };
        let normalize = normalize_of(&index.normalize);
        quote! {
            #private::IndexSpec::new(#name, #attribute, #secondary)
                .with_bits(#bits)
                .with_scope(#scope)
                .with_normalize(#normalize)
        }
    });
    // A normalised index needs a string field: checked once, at the field's type.
    let text_checks = indexed
        .iter()
        .filter(|(_, i)| !matches!(i.normalize, crate::attr::Normalize::None))
        .map(|(f, _)| {
            let ty = f.ty;
            quote_spanned!(ty.span()=> const _: () = #private::text_field::<#ty>();)
        });
    let lookups = indexed.iter().map(|(f, index)| {
        let (name, member, ty) = (&f.name, f.ident, f.ty);
        let function = format_ident!(
            "by_{}",
            f.ident.to_string().trim_start_matches("r#"),
            span = index.span
        );
        let normalize = normalize_of(&index.normalize);
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
    });
    let lookup_impl = (!indexed.is_empty()).then(|| {
        quote! {
            #[automatically_derived]
            impl #ident {
                #(#lookups)*
            }
        }
    });
    let with_version = cont.version().map(|v| {
        let name = &v.name;
        quote!(.with_version(#name))
    });
    let version_fns = fields
        .iter()
        .find(|(f, _)| f.version.is_some())
        .map(|(f, glue)| {
            let member = f.ident;
            quote! {
                fn version(&self) -> ::core::option::Option<u64> {
                    ::core::option::Option::Some((#glue.get)(&self.#member))
                }
                fn set_version(&mut self, version: u64) {
                    self.#member = (#glue.from_u64)(version);
                }
            }
        });

    quote! {
        const _: () = {
            #[doc(hidden)]
            #[allow(non_camel_case_types, unreachable_pub, missing_docs, dead_code)]
            pub struct __CryptModelPlainFields {
                #(#plain_members: #plain_types,)*
            }

            #(#glue_consts)*

            #(#text_checks)*

            #lookup_impl

            #[automatically_derived]
            impl #private::EncryptedItem for #ident {
                const SCHEMA: #private::Schema = #private::Schema::new(#table, #pk_name, #owner_name)
                    #with_sort_key
                    #with_version
                    .with_key_types(#pk_type, #sk_type)
                    .with_indexes(&[#(#index_specs),*])
                    .with_sensitive(&[#(#sensitive_names),*]);

                type __Plain = __CryptModelPlainFields;

                fn __to_parts(&self) -> #private::Result<(#private::Item, #private::Plaintexts)> {
                    let mut __item = #private::Item::new();
                    let mut __plaintexts = #private::Plaintexts::new();
                    #(#put_fields)*
                    ::core::result::Result::Ok((__item, __plaintexts))
                }

                fn __parse(__item: &mut #private::Item) -> #private::Result<Self::__Plain> {
                    #(#check_sensitive)*
                    #(#parse_plain)*
                    ::core::result::Result::Ok(__CryptModelPlainFields { #(#plain_members,)* })
                }

                fn __assemble(
                    __plain: Self::__Plain,
                    __plaintexts: &mut #private::Plaintexts,
                ) -> #private::Result<Self> {
                    ::core::result::Result::Ok(#ident { #(#assemble)* })
                }

                fn owner(&self) -> &str {
                    (#owner_glue.id)(&self.#owner_member)
                }

                #version_fns
            }
        };
    }
}

/// The impl emitted when the derive found errors: it satisfies the trait so that uses of the
/// model elsewhere do not add errors of their own.
fn fallback(input: &DeriveInput, krate: &syn::Path) -> TokenStream {
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
                fn owner(&self) -> &str {
                    ::core::unreachable!("the derive of EncryptedItem failed")
                }
            }
        };
    }
}
