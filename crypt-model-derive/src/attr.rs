//! Parsing `#[crypt_model(…)]`, `#[partition_key]`, `#[sort_key]`, `#[owner]` and
//! `#[sensitive]`, strictly: unknown options and repeated markers are errors.

use syn::{Attribute, DeriveInput, LitStr, Path};

use crate::ctxt::Ctxt;

/// The container's options.
pub(crate) struct ContainerOptions {
    pub(crate) table: Option<LitStr>,
    pub(crate) krate: Path,
}

/// A field's markers and options.
#[derive(Default)]
pub(crate) struct FieldMarkers {
    pub(crate) partition_key: Option<Path>,
    pub(crate) sort_key: Option<Path>,
    pub(crate) owner: Option<Path>,
    pub(crate) sensitive: Option<Path>,
    pub(crate) rename: Option<LitStr>,
    pub(crate) version: Option<Path>,
}

const MARKERS: [&str; 4] = ["partition_key", "sort_key", "owner", "sensitive"];

/// Parses the struct's `#[crypt_model(table = "…", crate = "…")]`, and refuses field markers
/// placed on the struct.
pub(crate) fn container(cx: &mut Ctxt, input: &DeriveInput) -> ContainerOptions {
    let mut table: Option<LitStr> = None;
    let mut krate: Option<Path> = None;
    for attr in &input.attrs {
        if let Some(marker) = MARKERS.iter().find(|m| attr.path().is_ident(m)) {
            cx.error_spanned_by(
                attr,
                format!("`#[{marker}]` belongs on a field, not on the struct"),
            );
            continue;
        }
        if !attr.path().is_ident("crypt_model") {
            continue;
        }
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("table") {
                let value: LitStr = meta.value()?.parse()?;
                if table.is_some() {
                    return Err(
                        meta.error("duplicate `table` option: a model has one logical table")
                    );
                }
                table = Some(value);
            } else if meta.path.is_ident("crate") {
                let value: LitStr = meta.value()?.parse()?;
                if krate.is_some() {
                    return Err(meta.error("duplicate `crate` option"));
                }
                krate = Some(value.parse()?);
            } else if meta.path.is_ident("rename") {
                return Err(
                    meta.error("`rename` belongs on a field: `#[crypt_model(rename = \"…\")]`")
                );
            } else {
                return Err(meta.error(format!(
                    "unknown `crypt_model` attribute `{}`; expected `table` or `crate`",
                    path_name(&meta.path)
                )));
            }
            Ok(())
        });
        if let Err(error) = result {
            cx.syn_error(error);
        }
    }
    ContainerOptions {
        table,
        krate: krate.unwrap_or_else(|| syn::parse_quote!(::crypt_model)),
    }
}

/// Parses one field's attributes.
pub(crate) fn field(cx: &mut Ctxt, field: &syn::Field) -> FieldMarkers {
    let mut markers = FieldMarkers::default();
    for attr in &field.attrs {
        let path = attr.path();
        let slot = if path.is_ident("partition_key") {
            &mut markers.partition_key
        } else if path.is_ident("sort_key") {
            &mut markers.sort_key
        } else if path.is_ident("owner") {
            &mut markers.owner
        } else if path.is_ident("sensitive") {
            sensitive_options(cx, attr);
            &mut markers.sensitive
        } else if path.is_ident("crypt_model") {
            field_options(cx, attr, &mut markers.rename, &mut markers.version);
            continue;
        } else {
            continue;
        };
        if !path.is_ident("sensitive") {
            if let Err(error) = attr.meta.require_path_only() {
                cx.syn_error(syn::Error::new(
                    error.span(),
                    format!("`#[{}]` takes no arguments", path_name(path)),
                ));
            }
        }
        if slot.is_some() {
            cx.error_spanned_by(
                attr,
                format!("duplicate `#[{}]` attribute", path_name(path)),
            );
        } else {
            *slot = Some(path.clone());
        }
    }
    markers
}

/// `#[sensitive]` takes no options yet; `#[sensitive(…)]` with anything inside is refused.
fn sensitive_options(cx: &mut Ctxt, attr: &Attribute) {
    if matches!(attr.meta, syn::Meta::Path(_)) {
        return;
    }
    let result = attr.parse_nested_meta(|meta| {
        Err(meta.error(format!(
            "unknown `sensitive` option `{}`: `#[sensitive]` takes no options",
            path_name(&meta.path)
        )))
    });
    if let Err(error) = result {
        cx.syn_error(error);
    }
}

/// A field's `#[crypt_model(rename = "…")]`.
fn field_options(
    cx: &mut Ctxt,
    attr: &Attribute,
    rename: &mut Option<LitStr>,
    version: &mut Option<Path>,
) {
    let result = attr.parse_nested_meta(|meta| {
        if meta.path.is_ident("version") {
            if meta.input.peek(syn::Token![=]) || meta.input.peek(syn::token::Paren) {
                return Err(meta.error("`version` takes no value: `#[crypt_model(version)]`"));
            }
            if version.is_some() {
                return Err(meta.error("duplicate `version` option"));
            }
            *version = Some(meta.path.clone());
            Ok(())
        } else if meta.path.is_ident("rename") {
            let value: LitStr = meta.value()?.parse()?;
            if rename.is_some() {
                return Err(meta.error("duplicate `rename` option"));
            }
            *rename = Some(value);
            Ok(())
        } else if meta.path.is_ident("table") || meta.path.is_ident("crate") {
            Err(meta.error(format!(
                "`{}` belongs on the struct: `#[crypt_model({} = \"…\")]` above `struct`",
                path_name(&meta.path),
                path_name(&meta.path)
            )))
        } else {
            Err(meta.error(format!(
                "unknown `crypt_model` field attribute `{}`; expected `rename` or `version`",
                path_name(&meta.path)
            )))
        }
    });
    if let Err(error) = result {
        cx.syn_error(error);
    }
}

fn path_name(path: &Path) -> String {
    path.segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}
