//! `#[delegate]`, `#[delegate(read)]`, `#[delegate(write)]` and `#[delegate(write, reassign)]`.

use syn::Attribute;
use syn::spanned::Spanned;

use super::path_name;
use crate::ctxt::Ctxt;

/// What a `#[delegate(…)]` lets the principals its field names do.
#[derive(Clone, Copy, Default)]
pub(crate) struct DelegateOptions {
    /// Read and update (`write`), or read only.
    pub(crate) write: bool,
    /// A delegate may change the field in an update (`reassign`).
    pub(crate) reassign: bool,
}

/// `#[delegate]`, `#[delegate(read)]`, `#[delegate(write)]` or `#[delegate(write, reassign)]`;
/// `None` when it cannot be read (the error is recorded).
pub(super) fn delegate_options(cx: &mut Ctxt, attr: &Attribute) -> Option<DelegateOptions> {
    if matches!(attr.meta, syn::Meta::Path(_)) {
        return Some(DelegateOptions::default());
    }
    let mut scope: Option<bool> = None;
    let mut reassign: Option<proc_macro2::Span> = None;
    let result = attr.parse_nested_meta(|meta| {
        if meta.path.is_ident("reassign") {
            if reassign.replace(meta.path.span()).is_some() {
                return Err(meta.error("duplicate `reassign`"));
            }
            return Ok(());
        }
        let write = if meta.path.is_ident("read") {
            false
        } else if meta.path.is_ident("write") {
            true
        } else {
            return Err(meta.error(format!(
                "unknown delegation option `{}`: `#[delegate]` or `#[delegate(read)]` lets the \
                 principals the field names read the record, `#[delegate(write)]` read and \
                 update it, and `#[delegate(write, reassign)]` also change the field",
                path_name(&meta.path)
            )));
        };
        if scope.replace(write).is_some() {
            return Err(meta.error("give one scope: `#[delegate(read)]` or `#[delegate(write)]`"));
        }
        Ok(())
    });
    if let Err(error) = result {
        cx.syn_error(error);
        return None;
    }
    let write = scope.unwrap_or(false);
    if let (Some(span), false) = (reassign, write) {
        cx.syn_error(syn::Error::new(
            span,
            "reassigning a delegation is a write: `#[delegate(write, reassign)]`",
        ));
        return None;
    }
    Some(DelegateOptions {
        write,
        reassign: reassign.is_some(),
    })
}
