//! The rule every identity meets — a caller's id, a service's name, a record's owner: two ids
//! that print alike are the same id. Values-level, so that the format can check a stored owner
//! without knowing the access policy.

use crate::error::AccessError;
use crate::error::{Error, Result};

/// Refuses an identity (a caller's id, a service's name, a record's owner) that is empty, starts
/// or ends with white space, or holds a control character or an invisible or direction-changing
/// one (zero-width spaces and joiners, bidirectional overrides, the byte-order mark): two ids that
/// print alike must be the same id. `subject` says whose it is; the value is never quoted.
pub(crate) fn check_identity(id: &str, subject: &str) -> Result<()> {
    identity_problem(id).map_or(Ok(()), |reason| {
        Err(Error::Access(AccessError::InvalidIdentity {
            subject: subject.to_owned(),
            reason: reason.to_owned(),
        }))
    })
}

/// Whether `id` is a valid identity (see [`check_identity`]).
pub(crate) fn is_identity(id: &str) -> bool {
    identity_problem(id).is_none()
}

/// What is wrong with `id` as an identity, if anything.
fn identity_problem(id: &str) -> Option<&'static str> {
    // Most ids are printable ASCII without spaces: one pass over the bytes settles them.
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let invisible = |c: char| {
        matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{E0000}'..='\u{E007F}'
        )
    };
    if id.is_empty() {
        Some("it is empty")
    } else if id.trim() != id {
        Some("it starts or ends with white space")
    } else if id.chars().any(char::is_control) {
        Some("it holds a control character")
    } else if id.chars().any(invisible) {
        Some("it holds an invisible or direction-changing character")
    } else {
        None
    }
}
