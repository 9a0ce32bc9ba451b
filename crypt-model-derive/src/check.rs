//! The rules a model must follow, one function each, with the reason in its message.

use std::collections::BTreeMap;

use crate::ast::Container;
use crate::ctxt::Ctxt;
use crate::runtime::RESERVED_PREFIX;

/// Runs every rule, recording each violation.
pub(crate) fn check(cx: &mut Ctxt, cont: &Container<'_>) {
    no_generics(cx, cont);
    table_is_named_and_valid(cx, cont);
    one_partition_key(cx, cont);
    at_most_one_sort_key(cx, cont);
    one_owner(cx, cont);
    keys_and_owner_are_not_sensitive(cx, cont);
    sensitive_types_are_marked(cx, cont);
    partition_and_sort_key_differ(cx, cont);
    version_is_a_plain_field_of_its_own(cx, cont);
    only_plain_fields_are_unauthenticated(cx, cont);
    delegations_are_plain_and_authenticated(cx, cont);
    indexed_names_can_name_an_index(cx, cont);
    attribute_names_are_valid(cx, cont);
    attribute_names_are_unique(cx, cont);
    secondary_indexes_are_valid(cx, cont);
    selectors_do_not_shadow_the_schema(cx, cont);
}

/// A field's update selector is its name in capitals: a field named `schema` would make
/// `Model::SCHEMA` the selector and hide `EncryptedItem::SCHEMA` behind it.
fn selectors_do_not_shadow_the_schema(cx: &mut Ctxt, cont: &Container<'_>) {
    for field in &cont.fields {
        if field
            .ident
            .to_string()
            .trim_start_matches("r#")
            .to_uppercase()
            == "SCHEMA"
        {
            cx.error_spanned_by(
                field.ident,
                "a field named `schema` would make its update selector `Model::SCHEMA`, which \
                 hides `EncryptedItem::SCHEMA`: name the Rust field otherwise and keep the \
                 attribute name with `#[crypt_model(rename = \"schema\")]`",
            );
        }
    }
}

/// A secondary index is named as the function that queries it (a snake-case identifier, not one
/// of the other generated functions, not a blind index's), declared once, and keyed by plain
/// fields of the model.
fn secondary_indexes_are_valid(cx: &mut Ctxt, cont: &Container<'_>) {
    let blind: Vec<String> = cont
        .fields
        .iter()
        .filter(|f| f.index.is_some())
        .map(|f| format!("by_{}", f.ident.to_string().trim_start_matches("r#")))
        .collect();
    for (i, index) in cont.secondary_indexes.iter().enumerate() {
        let name = index.name.value();
        let snake = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !snake || name.len() < 3 || syn::parse_str::<syn::Ident>(&name).is_err() {
            cx.error_spanned_by(
                &index.name,
                "an index name is a snake-case identifier of at least 3 characters \
                 (`by_clinic`): the model's function that queries the index is named after it",
            );
        } else if name.starts_with(crate::runtime::INDEX_NAME_PREFIX)
            || ["key", "partition"].contains(&name.as_str())
            || blind.contains(&name)
        {
            cx.error_spanned_by(
                &index.name,
                format!(
                    "the index name `{name}` is taken: `key`, `partition` and `by_<field>` of a \
                     blind index are generated functions, and `{}…` names blind indexes",
                    crate::runtime::INDEX_NAME_PREFIX
                ),
            );
        }
        if cont.secondary_indexes[..i]
            .iter()
            .any(|other| other.name.value() == name)
        {
            cx.error_spanned_by(&index.name, format!("index `{name}` is declared twice"));
        }
        let keys = std::iter::once(&index.partition).chain(index.sort.as_ref());
        for key in keys {
            match cont.field_named(&key.value()) {
                None => cx.error_spanned_by(
                    key,
                    format!("the model has no field `{}` to key an index", key.value()),
                ),
                Some(field) if field.sensitive.is_some() => cx.error_spanned_by(
                    key,
                    format!(
                        "`{}` is sensitive: an encrypted value cannot key an index (search it \
                         with a blind index, `#[sensitive(index = \"exact\")]`)",
                        key.value()
                    ),
                ),
                Some(_) => {}
            }
        }
        if index
            .sort
            .as_ref()
            .is_some_and(|s| s.value() == index.partition.value())
        {
            cx.error_spanned_by(
                index.sort.as_ref(),
                "an index's sort key cannot be its partition key",
            );
        }
    }
}

/// Generic and lifetime parameters are not supported: the schema and the generated glue are
/// per concrete type.
fn no_generics(cx: &mut Ctxt, cont: &Container<'_>) {
    if !cont.generics.params.is_empty() {
        cx.error_spanned_by(
            cont.generics,
            "#[derive(EncryptedItem)] does not support generic or lifetime parameters: a model \
             is one concrete type with owned fields; use a concrete type per table",
        );
    }
}

/// The logical table is bound into every ciphertext, so it must be given, and it follows
/// DynamoDB's table-name rules.
fn table_is_named_and_valid(cx: &mut Ctxt, cont: &Container<'_>) {
    let Some(table) = &cont.table else {
        if cont.options_unreadable {
            // A typo such as `tabel = "…"` is reported where it is; "missing" would be noise.
            return;
        }
        cx.error_spanned_by(
            cont.ident,
            "missing `#[crypt_model(table = \"…\")]`: the logical table name is bound into every \
             ciphertext; name the data set, e.g. `#[crypt_model(table = \"profiles\")]`",
        );
        return;
    };
    let name = table.value();
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    if !(3..=255).contains(&name.len()) || !name.chars().all(allowed) {
        cx.error_spanned_by(
            table,
            "invalid table name: a table name is 3 to 255 characters of A-Z a-z 0-9 _ . -",
        );
    }
}

/// Exactly one partition key: records are found and bound by it.
fn one_partition_key(cx: &mut Ctxt, cont: &Container<'_>) {
    let marked = cont.marked(|f| f.partition_key.as_ref());
    if marked.is_empty() {
        cx.error_spanned_by(
            cont.ident,
            "missing `#[partition_key]`: mark the field that identifies the record",
        );
    }
    for (_, marker) in marked.iter().skip(1) {
        cx.error_spanned_by(
            marker,
            "a model has one `#[partition_key]`; this is the second (a composite key is a \
             `#[partition_key]` and a `#[sort_key]`)",
        );
    }
}

/// At most one sort key.
fn at_most_one_sort_key(cx: &mut Ctxt, cont: &Container<'_>) {
    for (_, marker) in cont.marked(|f| f.sort_key.as_ref()).iter().skip(1) {
        cx.error_spanned_by(
            marker,
            "a model has at most one `#[sort_key]`; this is the second",
        );
    }
}

/// Exactly one owner: the owner gate compares it with the caller.
fn one_owner(cx: &mut Ctxt, cont: &Container<'_>) {
    let marked = cont.marked(|f| f.owner.as_ref());
    if marked.is_empty() {
        cx.error_spanned_by(
            cont.ident,
            "missing `#[owner]`: mark the field holding the id of the user who owns the record; \
             only that user (or a granted service) can open it",
        );
    }
    for (_, marker) in marked.iter().skip(1) {
        cx.error_spanned_by(
            marker,
            "a record has one `#[owner]`; this is the second (grant other callers access with \
             `crypt_model::Grant` instead)",
        );
    }
}

/// Keys and the owner are stored in plain: a randomly encrypted value cannot be looked up, and
/// the owner must be readable to check access before anything is decrypted.
fn keys_and_owner_are_not_sensitive(cx: &mut Ctxt, cont: &Container<'_>) {
    for field in &cont.fields {
        let Some(sensitive) = &field.sensitive else {
            continue;
        };
        if field.partition_key.is_some() {
            cx.error_spanned_by(
                sensitive,
                "`#[sensitive]` cannot be on the partition key: a randomly encrypted key cannot be \
                 looked up; keep the key a plain id and put the secret in another field",
            );
        }
        if field.sort_key.is_some() {
            cx.error_spanned_by(
                sensitive,
                "`#[sensitive]` cannot be on the sort key: a randomly encrypted key cannot be \
                 looked up or ordered; put the secret in another field",
            );
        }
        if field.owner.is_some() {
            cx.error_spanned_by(
                sensitive,
                "`#[sensitive]` cannot be on the owner: the owner is checked against the caller \
                 before anything is decrypted, so it is stored in plain (and bound to every \
                 ciphertext)",
            );
        }
    }
}

/// A field of type `Sensitive<T>` (or `Option<Sensitive<T>>`) without `#[sensitive]` would be a
/// plain attribute: that is surely a forgotten marker, so say so, instead of the type error the
/// compiler would give (that `Sensitive<T>` is no plain attribute type).
fn sensitive_types_are_marked(cx: &mut Ctxt, cont: &Container<'_>) {
    for field in &cont.fields {
        if field.sensitive.is_none() && holds_sensitive(field.ty) {
            cx.error_spanned_by(
                field.ty,
                format!(
                    "`{}` is a `Sensitive<T>` but not marked `#[sensitive]`: add `#[sensitive]` \
                     above it, so that it is encrypted (a plain attribute is stored as it is)",
                    field.ident
                ),
            );
        }
    }
}

/// Whether a type is written as `Sensitive<…>` or `Option<Sensitive<…>>` (by the last segment of
/// its path, as the derive sees only tokens).
fn holds_sensitive(ty: &syn::Type) -> bool {
    let syn::Type::Path(path) = ty else {
        return false;
    };
    let Some(last) = path.path.segments.last() else {
        return false;
    };
    if last.ident == "Sensitive" {
        return true;
    }
    if last.ident != "Option" {
        return false;
    }
    match &last.arguments {
        syn::PathArguments::AngleBracketed(arguments) => arguments.args.iter().any(|argument| {
            matches!(argument, syn::GenericArgument::Type(inner) if holds_sensitive(inner))
        }),
        _ => false,
    }
}

/// One field cannot be both keys.
fn partition_and_sort_key_differ(cx: &mut Ctxt, cont: &Container<'_>) {
    for field in &cont.fields {
        if let (Some(_), Some(sort_key)) = (&field.partition_key, &field.sort_key) {
            cx.error_spanned_by(
                sort_key,
                "a field cannot be both the partition key and the sort key",
            );
        }
    }
}

/// At most one version field, and it is nothing else: the table increments it on every write.
fn version_is_a_plain_field_of_its_own(cx: &mut Ctxt, cont: &Container<'_>) {
    for (_, marker) in cont.marked(|f| f.version.as_ref()).iter().skip(1) {
        cx.error_spanned_by(
            marker,
            "a model has at most one `version` field; this is the second",
        );
    }
    for field in &cont.fields {
        let Some(version) = &field.version else {
            continue;
        };
        if field.is_bound() || field.sensitive.is_some() {
            cx.error_spanned_by(
                version,
                "the `version` field counts writes: it cannot also be a key, the owner or \
                 sensitive",
            );
        }
    }
}

/// `unauthenticated` lets a plain field change in storage without failing the item's integrity
/// check; keys, the owner and the version are what the item's authentication binds, and a
/// sensitive field is authenticated by its encryption.
fn only_plain_fields_are_unauthenticated(cx: &mut Ctxt, cont: &Container<'_>) {
    for field in &cont.fields {
        let Some(marker) = &field.unauthenticated else {
            continue;
        };
        if field.is_bound() || field.version.is_some() || field.sensitive.is_some() {
            cx.error_spanned_by(
                marker,
                "only a plain field can be `unauthenticated`: keys, the owner and the version \
                 bind the record, and a sensitive field is authenticated by its encryption",
            );
        }
    }
}

/// A delegation attribute is read by the gate before anything is decrypted, and must be covered
/// by the item's integrity check: a plain, authenticated field, and not one that binds the record
/// (the owner already has every right; a key cannot change, so a delegation in it could not be
/// revoked).
fn delegations_are_plain_and_authenticated(cx: &mut Ctxt, cont: &Container<'_>) {
    for field in &cont.fields {
        let Some((marker, _)) = &field.delegate else {
            continue;
        };
        let reason = if field.sensitive.is_some() {
            "a `#[delegate]` field cannot be `#[sensitive]`: the gate reads who the record \
             delegates to before any key is unwrapped, so the field is stored in plain (and \
             authenticated)"
        } else if field.unauthenticated.is_some() {
            "a `#[delegate]` field cannot be `unauthenticated`: anyone who can write to the table \
             could then name themselves a delegate; the item's integrity check must cover it"
        } else if field.owner.is_some() {
            "the `#[owner]` already acts on the record: `#[delegate]` names other principals, on \
             a field of its own (`doctor_id`, `care_team`)"
        } else if field.partition_key.is_some() || field.sort_key.is_some() {
            "a key cannot be a `#[delegate]` field: a record's key never changes, so the \
             delegation could not be revoked; name delegates in a plain field of their own"
        } else if field.version.is_some() {
            "the version cannot be a `#[delegate]` field: it counts writes"
        } else {
            continue;
        };
        cx.error_spanned_by(marker, reason);
    }
}

/// An indexed field's attribute name also names its secondary index (`cm_ix_<name>`), which
/// DynamoDB restricts to `A-Z a-z 0-9 _ . -`.
fn indexed_names_can_name_an_index(cx: &mut Ctxt, cont: &Container<'_>) {
    for field in cont.fields.iter().filter(|f| f.index.is_some()) {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
        if !field.name.chars().all(allowed) || field.name.len() > 240 {
            cx.syn_error(syn::Error::new(
                field.name_span,
                "an indexed field's attribute name also names its secondary index: use at most \
                 240 characters of A-Z a-z 0-9 _ . -",
            ));
        }
    }
}

/// Attribute names are 1 to 255 bytes and do not use crypt-model's reserved prefix, where the
/// header lives.
fn attribute_names_are_valid(cx: &mut Ctxt, cont: &Container<'_>) {
    for field in &cont.fields {
        if field.name.is_empty() || field.name.len() > 255 {
            cx.syn_error(syn::Error::new(
                field.name_span,
                "an attribute name is 1 to 255 bytes",
            ));
        }
        if field.name.starts_with(RESERVED_PREFIX) {
            cx.syn_error(syn::Error::new(
                field.name_span,
                format!(
                    "attribute `{}` is in the reserved `{RESERVED_PREFIX}` namespace, where \
                     crypt-model keeps its header; rename it with \
                     `#[crypt_model(rename = \"…\")]`",
                    field.name
                ),
            ));
        }
    }
}

/// Two fields stored under one attribute name would overwrite each other.
fn attribute_names_are_unique(cx: &mut Ctxt, cont: &Container<'_>) {
    let mut seen = BTreeMap::new();
    for field in &cont.fields {
        if let Some(first) = seen.insert(field.name.as_str(), field.ident) {
            cx.syn_error(syn::Error::new(
                field.name_span,
                format!(
                    "fields `{first}` and `{}` are both stored as attribute `{}`; rename one with \
                     `#[crypt_model(rename = \"…\")]`",
                    field.ident, field.name
                ),
            ));
        }
    }
}
