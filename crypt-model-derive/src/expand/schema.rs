//! The model's `SCHEMA`: its logical table, key, owner, version, key types, blind indexes and
//! sensitive attributes.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::Model;
use crate::ast::Field;
use crate::attr::{IndexOptions, Normalize, Scope};
use crate::runtime::{INDEX_ATTRIBUTE_PREFIX, INDEX_NAME_PREFIX};

/// The `Schema` expression.
pub(super) fn schema(model: &Model<'_, '_>) -> TokenStream {
    let private = &model.private;
    let table = syn::LitStr::new(&model.table.value(), model.table.span());
    let (pk, owner) = (&model.partition_key.name, &model.owner.name);
    let sort_key = model.cont.sort_key().map(|sk| {
        let name = &sk.name;
        quote!(.with_sort_key(#name))
    });
    let version = model.cont.version().map(|v| {
        let name = &v.name;
        quote!(.with_version(#name))
    });
    let (pk_type, sk_type) = key_types(model);
    // The owner field's glue already refused a type not stored as S or N.
    let owner_ty = model.owner.ty;
    let owner_type = quote!(.with_owner_type(#private::key_type::<#owner_ty>()));
    let indexes = indexed(model).map(|(f, index)| index_spec(model, f, index));
    let secondary = super::indexes::schema_entries(model);
    let sensitive = model
        .cont
        .fields
        .iter()
        .filter(|f| f.sensitive.is_some())
        .map(|f| &f.name);
    // Plain fields other than the keys, the owner and the version: authenticated unless marked.
    let plain = |authenticated: bool| {
        model
            .cont
            .fields
            .iter()
            .filter(move |f| {
                f.sensitive.is_none()
                    && !f.is_bound()
                    && f.version.is_none()
                    && f.unauthenticated.is_none() == authenticated
            })
            .map(|f| &f.name)
    };
    let (authenticated, unauthenticated) = (plain(true), plain(false));
    // Every attribute the item's authentication covers, sorted and deduplicated now, at compile
    // time (the runtime checks the derive's list against its own in the tests).
    let mut covered: Vec<String> = model
        .cont
        .fields
        .iter()
        .filter(|f| {
            f.sensitive.is_none()
                && (f.is_bound() || f.version.is_some() || f.unauthenticated.is_none())
        })
        .map(|f| f.name.clone())
        .chain(indexed(model).map(|(f, _)| format!("{INDEX_ATTRIBUTE_PREFIX}{}", f.name)))
        .collect();
    covered.sort();
    covered.dedup();
    let migration = model
        .cont
        .migrate_from_plaintext
        .as_ref()
        .map(|_| quote!(.with_plaintext_migration()));
    let key_per_owner = model
        .cont
        .key_per_owner
        .as_ref()
        .map(|_| quote!(.with_key_per_owner()));
    // A suite the attribute names (checked against `SUITES` when parsed); none, the default.
    let suite = model.cont.suite.as_ref().and_then(|name| {
        let variant = crate::attr::SUITES
            .iter()
            .find(|(known, _)| *known == name.value())?
            .1;
        let variant = syn::Ident::new(variant, name.span());
        Some(quote!(.with_suite(#private::Suite::#variant)))
    });
    let delegations = model.cont.fields.iter().filter_map(|f| {
        let name = &f.name;
        f.delegate
            .as_ref()
            .map(|(_, options)| match (options.write, options.reassign) {
                (true, true) => quote!(#private::Delegation::write(#name).reassignable()),
                (true, false) => quote!(#private::Delegation::write(#name)),
                _ => quote!(#private::Delegation::read(#name)),
            })
    });
    quote! {
        #private::Schema::new(#table, #pk, #owner)
            #sort_key
            #version
            .with_key_types(#pk_type, #sk_type)
            #owner_type
            .with_blind_indexes(&[#(#indexes),*])
            #secondary
            .with_sensitive(&[#(#sensitive),*])
            .with_plain(&[#(#authenticated),*])
            .with_unauthenticated(&[#(#unauthenticated),*])
            .__authenticated(&[#(#covered),*])
            #migration
            #key_per_owner
            #suite
            .with_delegations(&[#(#delegations),*])
            .__checked()
    }
}

/// What the build says when the key field `f`'s type cannot be a key: the field, its role and
/// its type named (a constant evaluation's panic points at no field by itself).
fn key_refusal(f: &Field<'_>) -> syn::LitStr {
    let role = if f.partition_key.is_some() {
        "partition key"
    } else {
        "sort key"
    };
    let ty = f.ty;
    let ty = quote!(#ty).to_string().replace(' ', "");
    let text = format!(
        "the {role} `{}` cannot be of type `{ty}`: a key is a string, an integer, a UUID, a time \
         or binary, compared exactly (a float or a bool is not); a newtype declares its inner \
         type's `Attribute::KEY_TYPE`",
        f.ident.to_string().trim_start_matches("r#")
    );
    // Spanned at the field's type, as the call that carries it, so that the error points there.
    syn::LitStr::new(&text, f.ty.span())
}

/// The key types, from the key fields' glue, so that they need no bound of their own.
fn key_types(model: &Model<'_, '_>) -> (TokenStream, TokenStream) {
    let private = &model.private;
    // Through `key_type`, so that a type that cannot be a key (a float, a bool) fails the build.
    let of = |is_key: fn(&Field<'_>) -> bool| {
        model.glue_of(is_key).map(|glue| {
            let ty = glue.field.ty;
            let refused = key_refusal(glue.field);
            quote_spanned!(ty.span()=> #private::key_type_of::<#ty>(#refused))
        })
    };
    let pk = of(|f| f.partition_key.is_some()).unwrap_or_else(|| quote!(#private::KeyType::S));
    let sk = of(|f| f.sort_key.is_some()).unwrap_or_else(|| quote!(#private::KeyType::S));
    (pk, sk)
}

/// The fields with a blind index, and its options.
pub(super) fn indexed<'m>(
    model: &'m Model<'_, '_>,
) -> impl Iterator<Item = (&'m Field<'m>, &'m IndexOptions)> {
    model
        .cont
        .fields
        .iter()
        .filter_map(|f| f.index.as_ref().map(|i| (f, i)))
}

/// One `BlindIndex`.
fn index_spec(model: &Model<'_, '_>, f: &Field<'_>, index: &IndexOptions) -> TokenStream {
    let private = &model.private;
    let name = &f.name;
    let attribute = format!("{INDEX_ATTRIBUTE_PREFIX}{}", f.name);
    let secondary = format!("{INDEX_NAME_PREFIX}{}", f.name);
    let bits = index.bits;
    let scope = match index.scope {
        Scope::Table => quote!(#private::IndexScope::Table),
        Scope::Owner => quote!(#private::IndexScope::Owner),
    };
    let normalize = normalize(model, &index.normalize);
    quote! {
        #private::BlindIndex::new(#name, #attribute, #secondary)
            .with_bits(#bits)
            .with_scope(#scope)
            .with_normalize(#normalize)
    }
}

/// The runtime's `Normalize` for an index's option.
pub(super) fn normalize(model: &Model<'_, '_>, normalize: &Normalize) -> TokenStream {
    let private = &model.private;
    match normalize {
        Normalize::None => quote!(#private::Normalize::None),
        Normalize::Lowercase => quote!(#private::Normalize::Lowercase),
        Normalize::Trim => quote!(#private::Normalize::Trim),
        Normalize::TrimLowercase => quote!(#private::Normalize::TrimLowercase),
        // Spanned at the path, and given its type first: a function of the wrong type is one
        // error there, that names the type expected and not the runtime's enum.
        Normalize::Custom(path) => quote_spanned!(path.span()=> {
            const NORMALIZE_WITH: fn(&str) -> ::std::string::String = #path;
            #private::Normalize::Custom(NORMALIZE_WITH)
        }),
    }
}

/// A normalised index needs a string field, and an index of any kind a type with one encoding
/// per value: checked once, at the field's type.
pub(super) fn text_checks(model: &Model<'_, '_>) -> Vec<TokenStream> {
    // Each check's whole call spanned at the field's type (the crate's path too), so that a
    // failed constant evaluation points at the field rather than at the derive.
    let private = |ty: &syn::Type| respanned(model.private.clone(), ty.span());
    // The key fields' types can be keys (a float or a bool cannot): a free `const`, evaluated
    // whether or not anything reads the schema.
    let keys = model
        .cont
        .fields
        .iter()
        .filter(|f| f.partition_key.is_some() || f.sort_key.is_some())
        .map(|f| {
            let (ty, private) = (f.ty, private(f.ty));
            let refused = key_refusal(f);
            quote_spanned!(ty.span()=> const _: #private::KeyType = #private::key_type_of::<#ty>(#refused);)
        });
    // A delegation field names principals: ids, alone or in a collection.
    let delegations = model
        .cont
        .fields
        .iter()
        .filter(|f| f.delegate.is_some())
        .map(|f| {
            let (ty, private) = (f.ty, private(f.ty));
            quote_spanned!(ty.span()=> const _: () = #private::delegation_field::<#ty>();)
        });
    // A suite this build of crypt-model leaves out fails the build, at the suite's name.
    let suite = model.cont.suite.iter().filter_map(|name| {
        let variant = crate::attr::SUITES
            .iter()
            .find(|(known, _)| *known == name.value())?
            .1;
        let span = name.span();
        let private = respanned(model.private.clone(), span);
        let variant = syn::Ident::new(variant, span);
        Some(quote_spanned!(span=> const _: () = #private::suite_built(#private::Suite::#variant);))
    });
    keys.chain(delegations)
        .chain(suite)
        .chain(indexed(model).map(|(f, index)| {
            let (ty, private) = (f.ty, private(f.ty));
            if matches!(index.normalize, Normalize::None) {
                quote_spanned!(ty.span()=> const _: () = #private::indexed_field::<#ty>();)
            } else {
                quote_spanned!(ty.span()=> const _: () = #private::text_field::<#ty>();)
            }
        }))
        .collect()
}

/// `tokens` with every span (inside groups too) set to `span`.
fn respanned(tokens: TokenStream, span: proc_macro2::Span) -> TokenStream {
    use proc_macro2::{Group, TokenTree};
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut inner = Group::new(group.delimiter(), respanned(group.stream(), span));
                inner.set_span(span);
                token = TokenTree::Group(inner);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}
