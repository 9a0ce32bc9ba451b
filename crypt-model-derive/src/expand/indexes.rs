//! Secondary indexes on plain fields: their `SecondaryIndex` entries in the schema, and
//! `Model::<index name>(value)`, a query of one partition of the index in the partition field's
//! own type, so that a query of an index the model does not declare does not compile.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};

use super::Model;
use crate::ast::Field;
use crate::attr::SecondaryIndexOptions;

/// The declared indexes with their key fields (the checks guarantee the fields exist).
fn declared<'m>(
    model: &'m Model<'_, '_>,
) -> impl Iterator<
    Item = (
        &'m SecondaryIndexOptions,
        &'m Field<'m>,
        Option<&'m Field<'m>>,
    ),
> {
    model.cont.secondary_indexes.iter().filter_map(|index| {
        let partition = model.cont.field_named(&index.partition.value())?;
        let sort = match &index.sort {
            Some(sort) => Some(model.cont.field_named(&sort.value())?),
            None => None,
        };
        Some((index, partition, sort))
    })
}

/// `.with_secondary_indexes(&[…])`.
pub(super) fn schema_entries(model: &Model<'_, '_>) -> TokenStream {
    let private = &model.private;
    let entries = declared(model).map(|(index, partition, sort)| {
        let name = index.name.value();
        let (pk, pk_ty) = (&partition.name, partition.ty);
        let sort = match sort {
            Some(sort) => {
                let (sk, sk_ty) = (&sort.name, sort.ty);
                quote!(::core::option::Option::Some((#sk, #private::index_key_type::<#sk_ty>())))
            }
            None => quote!(::core::option::Option::None),
        };
        quote_spanned! {index.span=>
            #private::SecondaryIndex::new(#name, #pk, #private::index_key_type::<#pk_ty>(), #sort)
        }
    });
    quote!(.with_secondary_indexes(&[#(#entries),*]))
}

/// The type a query takes for a field of type `ty`: `T` for `Option<T>` (an index holds only
/// items that have the attribute), else `ty`.
fn queried_type(ty: &syn::Type) -> &syn::Type {
    if let syn::Type::Path(path) = ty
        && let Some(last) = path.path.segments.last()
        && last.ident == "Option"
        && let syn::PathArguments::AngleBracketed(arguments) = &last.arguments
        && let Some(syn::GenericArgument::Type(inner)) = arguments.args.first()
    {
        return inner;
    }
    ty
}

/// The query functions, in the model's inherent impl.
pub(super) fn queries(model: &Model<'_, '_>) -> Vec<TokenStream> {
    let private = &model.private;
    declared(model)
        .map(|(index, partition, _)| {
            let name = index.name.value();
            let function = format_ident!("{}", name, span = index.name.span());
            let (attribute, member, ty) =
                (&partition.name, partition.ident, queried_type(partition.ty));
            let doc = format!(
                "A query of the secondary index `{name}`: the records whose `{member}` is given, \
                 in the index's sort order. Pass it to `Table::query` or `Table::query_all`; \
                 only records the caller may open are returned."
            );
            quote! {
                #[doc = #doc]
                #[allow(dead_code, unreachable_pub)]
                pub fn #function(
                    #member: impl ::core::convert::Into<#ty>,
                ) -> #private::Result<#private::Query> {
                    #private::index_query::<#ty>(#name, #attribute, &#member.into())
                }
            }
        })
        .collect()
}
