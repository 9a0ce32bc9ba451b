//! Parsing `#[crypt_model(…)]`, `#[partition_key]`, `#[sort_key]`, `#[owner]`, `#[sensitive]`
//! and `#[delegate]`, strictly: unknown options and repeated markers are errors.

use syn::spanned::Spanned;
use syn::{Attribute, DeriveInput, LitStr, Path};

use crate::ctxt::Ctxt;
use crate::runtime::{MAX_INDEX_BITS, MIN_INDEX_BITS};

mod delegate;

pub(crate) use delegate::DelegateOptions;
use delegate::delegate_options;

/// The container's options.
pub(crate) struct ContainerOptions {
    pub(crate) table: Option<LitStr>,
    pub(crate) krate: Path,
    /// A `#[crypt_model(…)]` on the struct could not be read (its error is recorded): what it
    /// meant to give is unknown, so no option is reported missing on top.
    pub(crate) unreadable: bool,
    /// `index(name = "…", partition = "field", sort = "field")`, in order.
    pub(crate) secondary_indexes: Vec<SecondaryIndexOptions>,
    /// `migrate_from_plaintext`: records stored before encryption are read too.
    pub(crate) migrate_from_plaintext: Option<Path>,
    /// `key_per_owner`: each owner's records sealed under a key of their own.
    pub(crate) key_per_owner: Option<Path>,
    /// `suite = "…"`: the algorithms the records are sealed with, checked to be one of
    /// [`SUITES`]'s names.
    pub(crate) suite: Option<LitStr>,
}

/// The suites a model may name, and the variant of `crypt_model::format::Suite` each is.
pub(crate) const SUITES: [(&str, &str); 2] = [
    ("xchacha20poly1305", "XChaCha20Poly1305"),
    ("aes256gcm", "Aes256Gcm"),
];

/// A secondary index on plain fields, declared on the struct.
pub(crate) struct SecondaryIndexOptions {
    /// The `index` option, for errors about the whole declaration.
    pub(crate) span: proc_macro2::Span,
    pub(crate) name: LitStr,
    /// The fields (Rust names) that key it.
    pub(crate) partition: LitStr,
    pub(crate) sort: Option<LitStr>,
}

/// How a blind index normalises (the derive's own copy of `crypt_model::blind_index::Normalize`).
#[derive(Clone)]
pub(crate) enum Normalize {
    None,
    Lowercase,
    Trim,
    TrimLowercase,
    /// `normalize_with = "path::to::function"`.
    Custom(Path),
}

/// Whose values share an index's space.
#[derive(Clone, Copy)]
pub(crate) enum Scope {
    Table,
    Owner,
}

/// `#[sensitive(index = "exact", …)]`.
pub(crate) struct IndexOptions {
    /// The `index` option, for spans.
    pub(crate) span: proc_macro2::Span,
    pub(crate) bits: u16,
    pub(crate) scope: Scope,
    pub(crate) normalize: Normalize,
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
    pub(crate) unauthenticated: Option<Path>,
    pub(crate) index: Option<IndexOptions>,
    /// `#[delegate]`, `#[delegate(read)]`, `#[delegate(write)]`, `#[delegate(write, reassign)]`.
    pub(crate) delegate: Option<(Path, DelegateOptions)>,
}

const MARKERS: [&str; 5] = [
    "partition_key",
    "sort_key",
    "owner",
    "sensitive",
    "delegate",
];

/// Parses the struct's `#[crypt_model(table = "…", crate = "…")]`, and refuses field markers
/// placed on the struct.
pub(crate) fn container(cx: &mut Ctxt, input: &DeriveInput) -> ContainerOptions {
    let mut table: Option<LitStr> = None;
    let mut krate: Option<Path> = None;
    let mut unreadable = false;
    let mut secondary_indexes = Vec::new();
    let mut migrate_from_plaintext = None;
    let mut key_per_owner = None;
    let mut suite: Option<LitStr> = None;
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
            } else if meta.path.is_ident("index") {
                secondary_indexes.push(secondary_index(&meta)?);
            } else if meta.path.is_ident("migrate_from_plaintext") {
                flag(&meta, &mut migrate_from_plaintext, "migrate_from_plaintext")?;
            } else if meta.path.is_ident("key_per_owner") {
                flag(&meta, &mut key_per_owner, "key_per_owner")?;
            } else if meta.path.is_ident("suite") {
                let value: LitStr = meta.value()?.parse()?;
                if suite.is_some() {
                    return Err(meta.error("duplicate `suite` option"));
                }
                if !SUITES.iter().any(|(name, _)| *name == value.value()) {
                    // A report's name of a suite (`aes256gcm-hkdf-sha256`) names it too.
                    let hint = SUITES
                        .iter()
                        .find(|(name, _)| value.value().starts_with(&format!("{name}-")))
                        .map(|(name, _)| format!(": write `suite = \"{name}\"`"))
                        .unwrap_or_default();
                    return Err(syn::Error::new(
                        value.span(),
                        format!(
                            "unknown suite; expected `\"aes256gcm\"` (NIST-approved; crypt-model's \
                             feature `aes-gcm`) or `\"xchacha20poly1305\"` (the default except in \
                             a `fips` build){hint}"
                        ),
                    ));
                }
                suite = Some(value);
            } else if meta.path.is_ident("rename") {
                return Err(
                    meta.error("`rename` belongs on a field: `#[crypt_model(rename = \"…\")]`")
                );
            } else {
                return Err(meta.error(format!(
                    "unknown `crypt_model` attribute `{}`; expected `table`, `index`, `migrate_from_plaintext`, `key_per_owner`, `suite` or `crate`",
                    path_name(&meta.path)
                )));
            }
            Ok(())
        });
        if let Err(error) = result {
            cx.syn_error(error);
            unreadable = true;
        }
    }
    ContainerOptions {
        table,
        krate: krate.unwrap_or_else(|| syn::parse_quote!(::crypt_model)),
        unreadable,
        secondary_indexes,
        migrate_from_plaintext,
        key_per_owner,
        suite,
    }
}

/// Parses an option that takes no value (`#[crypt_model(name)]`) into `slot`, once.
fn flag(
    meta: &syn::meta::ParseNestedMeta<'_>,
    slot: &mut Option<Path>,
    name: &str,
) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) || meta.input.peek(syn::token::Paren) {
        return Err(meta.error(format!("`{name}` takes no value: `#[crypt_model({name})]`")));
    }
    if slot.is_some() {
        return Err(meta.error(format!("duplicate `{name}` option")));
    }
    *slot = Some(meta.path.clone());
    Ok(())
}

/// Parses `index(name = "…", partition = "field", sort = "field")`.
fn secondary_index(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<SecondaryIndexOptions> {
    let span = meta.path.span();
    let (mut name, mut partition, mut sort) = (None, None, None);
    meta.parse_nested_meta(|option| {
        let slot = if option.path.is_ident("name") {
            &mut name
        } else if option.path.is_ident("partition") {
            &mut partition
        } else if option.path.is_ident("sort") {
            &mut sort
        } else {
            return Err(option.error(format!(
                "unknown `index` option `{}`; expected `name`, `partition` or `sort`",
                path_name(&option.path)
            )));
        };
        let value: LitStr = option.value()?.parse()?;
        if slot.replace(value).is_some() {
            return Err(option.error("repeated `index` option"));
        }
        Ok(())
    })?;
    let missing = |what: &str| {
        syn::Error::new(
            span,
            format!(
                "`index` needs `{what}`: `index(name = \"by_clinic\", partition = \"clinic\", \
                 sort = \"admitted\")` (`sort` is optional)"
            ),
        )
    };
    Ok(SecondaryIndexOptions {
        span,
        name: name.ok_or_else(|| missing("name"))?,
        partition: partition.ok_or_else(|| missing("partition"))?,
        sort,
    })
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
            markers.index = sensitive_options(cx, attr);
            &mut markers.sensitive
        } else if path.is_ident("crypt_model") {
            field_options(cx, attr, &mut markers);
            continue;
        } else if path.is_ident("delegate") {
            if markers.delegate.is_some() {
                cx.error_spanned_by(attr, "duplicate `#[delegate]` attribute");
            } else if let Some(options) = delegate_options(cx, attr) {
                markers.delegate = Some((path.clone(), options));
            }
            continue;
        } else {
            continue;
        };
        if !path.is_ident("sensitive")
            && let Err(error) = attr.meta.require_path_only()
        {
            cx.syn_error(syn::Error::new(
                error.span(),
                format!("`#[{}]` takes no arguments", path_name(path)),
            ));
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

/// `#[sensitive]`, or `#[sensitive(index = "exact", normalize = "…", bits = N, scope = "…")]`.
fn sensitive_options(cx: &mut Ctxt, attr: &Attribute) -> Option<IndexOptions> {
    if matches!(attr.meta, syn::Meta::Path(_)) {
        return None;
    }
    let mut index: Option<proc_macro2::Span> = None;
    let mut bits: Option<(u16, proc_macro2::Span)> = None;
    let mut scope: Option<Scope> = None;
    let mut normalize: Option<Normalize> = None;
    let mut first_option: Option<proc_macro2::Span> = None;
    let result = attr.parse_nested_meta(|meta| {
        let name = path_name(&meta.path);
        first_option.get_or_insert(meta.path.span());
        let duplicate = || meta.error(format!("duplicate `{name}` option"));
        match name.as_str() {
            "index" => {
                let kind: LitStr = meta.value()?.parse()?;
                if kind.value() != "exact" {
                    return Err(syn::Error::new(
                        kind.span(),
                        "unknown index kind: the only kind is `index = \"exact\"` (equality search)",
                    ));
                }
                if index.replace(meta.path.span()).is_some() {
                    return Err(duplicate());
                }
            }
            "bits" => {
                let value: syn::LitInt = meta.value()?.parse()?;
                let n: u16 = value.base10_parse().unwrap_or(0);
                if !(MIN_INDEX_BITS..=MAX_INDEX_BITS).contains(&n) {
                    return Err(syn::Error::new(
                        value.span(),
                        format!(
                            "an index is {MIN_INDEX_BITS} to {MAX_INDEX_BITS} bits wide: \
                             narrower, nearly every search returns false positives to decrypt; \
                             wider, equal values get near-unique tags that link records \
                             (docs/searchable.md explains the choice)"
                        ),
                    ));
                }
                if bits.replace((n, value.span())).is_some() {
                    return Err(duplicate());
                }
            }
            "scope" => {
                let value: LitStr = meta.value()?.parse()?;
                let parsed = match value.value().as_str() {
                    "table" => Scope::Table,
                    "owner" => Scope::Owner,
                    _ => {
                        return Err(syn::Error::new(
                            value.span(),
                            "unknown index scope: `scope = \"table\"` (the default) or `scope = \"owner\"`",
                        ));
                    }
                };
                if scope.replace(parsed).is_some() {
                    return Err(duplicate());
                }
            }
            "normalize_with" => {
                let value: LitStr = meta.value()?.parse()?;
                let path: Path = value.parse()?;
                if normalize.replace(Normalize::Custom(path)).is_some() {
                    return Err(meta.error("give one of `normalize` and `normalize_with`, once"));
                }
            }
            "normalize" => {
                let value: LitStr = meta.value()?.parse()?;
                let parsed = match value.value().as_str() {
                    "lowercase" => Normalize::Lowercase,
                    "trim" => Normalize::Trim,
                    "trim_lowercase" => Normalize::TrimLowercase,
                    _ => {
                        return Err(syn::Error::new(
                            value.span(),
                            "unknown normaliser: expected `lowercase`, `trim` or `trim_lowercase`",
                        ));
                    }
                };
                if normalize.replace(parsed).is_some() {
                    return Err(meta.error("give one of `normalize` and `normalize_with`, once"));
                }
            }
            _ => {
                return Err(meta.error(format!(
                    "unknown `sensitive` option `{name}`; expected `index`, `bits`, `scope`, `normalize` or `normalize_with`"
                )));
            }
        }
        Ok(())
    });
    if let Err(error) = result {
        cx.syn_error(error);
        return None;
    }
    match index {
        Some(span) => Some(IndexOptions {
            span,
            bits: bits.map_or(16, |(n, _)| n),
            scope: scope.unwrap_or(Scope::Table),
            normalize: normalize.unwrap_or(Normalize::None),
        }),
        None => {
            if let Some(span) = first_option {
                cx.syn_error(syn::Error::new(
                    span,
                    "`bits`, `scope` and `normalize` configure a blind index: add `index = \"exact\"`",
                ));
            }
            None
        }
    }
}

/// A field's `#[crypt_model(rename = "…", version, unauthenticated)]`.
fn field_options(cx: &mut Ctxt, attr: &Attribute, markers: &mut FieldMarkers) {
    let result = attr.parse_nested_meta(|meta| {
        let flag = |slot: &mut Option<Path>, name: &str| {
            if meta.input.peek(syn::Token![=]) || meta.input.peek(syn::token::Paren) {
                return Err(
                    meta.error(format!("`{name}` takes no value: `#[crypt_model({name})]`"))
                );
            }
            if slot.is_some() {
                return Err(meta.error(format!("duplicate `{name}` option")));
            }
            *slot = Some(meta.path.clone());
            Ok(())
        };
        if meta.path.is_ident("version") {
            flag(&mut markers.version, "version")
        } else if meta.path.is_ident("unauthenticated") {
            flag(&mut markers.unauthenticated, "unauthenticated")
        } else if meta.path.is_ident("rename") {
            let value: LitStr = meta.value()?.parse()?;
            if markers.rename.is_some() {
                return Err(meta.error("duplicate `rename` option"));
            }
            markers.rename = Some(value);
            Ok(())
        } else if meta.path.is_ident("index") {
            Err(meta.error(
                "an index belongs on a sensitive field: `#[sensitive(index = \"exact\")]`; a plain \
                 field needs no blind index (query it directly)",
            ))
        } else if meta.path.is_ident("table") || meta.path.is_ident("crate") {
            Err(meta.error(format!(
                "`{}` belongs on the struct: `#[crypt_model({} = \"…\")]` above `struct`",
                path_name(&meta.path),
                path_name(&meta.path)
            )))
        } else {
            Err(meta.error(format!(
                "unknown `crypt_model` field attribute `{}`; expected `rename`, `version` or \
                 `unauthenticated`",
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
