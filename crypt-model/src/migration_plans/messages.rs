//! What the migration plans' tags authenticate: the id of a record's admission, the id of the
//! model it was made under, the digest of the record's contents, and the messages of an
//! admission's and a plan's tags (each under a label of its own).

use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::attribute::Item;
use crate::encoding::{put_bytes, put_hex};
use crate::error::Result;
use crate::format::put_attributes;
use crate::schema::Schema;

/// The domain of an admitted record's digest of its key.
const ID_LABEL: &[u8] = b"crypt-model migration admission";
/// The domain of the message an admission's tag authenticates.
const ADMISSION_LABEL: &[u8] = b"crypt-model migration admission tag";
/// The domain of the message a plan's tag authenticates.
const PLAN_LABEL: &[u8] = b"crypt-model migration plan tag";
/// The domain of a model's id in an admission.
const MODEL_LABEL: &[u8] = b"crypt-model migration model";
/// Seconds since the Unix epoch.
pub(super) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// The admission of a record of `schema` in the table `table`:
/// `<table>:<hex SHA-256(lp(label) || lp(table) || canonical key attributes)>`.
pub(super) fn admission_id(table: &str, schema: &Schema, item: &Item) -> Result<String> {
    let mut names = vec![schema.partition_key()];
    names.extend(schema.sort_key());
    names.sort_unstable_by_key(|name| name.as_bytes());
    let mut message = Vec::with_capacity(128);
    put_bytes(&mut message, ID_LABEL);
    put_bytes(&mut message, table.as_bytes());
    put_attributes(&mut message, &names, |name| item.get(name))?;
    let mut id = String::with_capacity(table.len() + 65);
    id.push_str(table);
    id.push(':');
    put_hex(&mut id, &Sha256::digest(&message));
    Ok(id)
}

/// SHA-256 of the canonical encoding of every attribute of `schema` that `item` holds: the
/// authenticated ones and the sensitive fields, stored in plain.
pub(super) fn content_digest(schema: &Schema, item: &Item) -> Result<[u8; 32]> {
    let names = content_names(schema);
    let mut content = Zeroizing::new(Vec::with_capacity(256));
    put_attributes(&mut content, &names, |name| item.get(name))?;
    Ok(Sha256::digest(&*content).into())
}

/// The version of `schema` an admission was made under: 16 hex digits of
/// SHA-256(lp(label) || lp(T) || lp(name) for each attribute the content digest covers, sorted).
pub(super) fn model_id(schema: &Schema) -> String {
    let mut message = Vec::with_capacity(128);
    put_bytes(&mut message, MODEL_LABEL);
    put_bytes(&mut message, schema.table().as_bytes());
    for name in content_names(schema) {
        put_bytes(&mut message, name.as_bytes());
    }
    let mut id = String::with_capacity(16);
    put_hex(&mut id, &Sha256::digest(&message)[..8]);
    id
}

/// The attributes an admission's content digest covers: those `schema` authenticates and its
/// sensitive fields, sorted by bytes.
fn content_names(schema: &Schema) -> Vec<&'static str> {
    let mut names = schema.authenticated();
    names.extend_from_slice(schema.sensitive());
    names.sort_unstable_by_key(|name| name.as_bytes());
    names.dedup();
    names
}

/// The message an admission's tag authenticates:
/// `lp(label) || lp(admission id) || lp(plan id) || lp(model id) || content digest`.
pub(super) fn admission_message(id: &str, plan: &str, model: &str, digest: &[u8; 32]) -> Vec<u8> {
    let mut message =
        Vec::with_capacity(ADMISSION_LABEL.len() + id.len() + plan.len() + model.len() + 52);
    put_bytes(&mut message, ADMISSION_LABEL);
    put_bytes(&mut message, id.as_bytes());
    put_bytes(&mut message, plan.as_bytes());
    put_bytes(&mut message, model.as_bytes());
    message.extend_from_slice(digest);
    message
}

/// The message a plan's tag authenticates:
/// `lp(label) || lp(table) || lp(plan id) || lp(state) || u64(expires)`.
pub(super) fn plan_message(table: &str, id: &str, state: &str, expires: u64) -> Vec<u8> {
    let mut message = Vec::with_capacity(PLAN_LABEL.len() + table.len() + id.len() + 32);
    put_bytes(&mut message, PLAN_LABEL);
    put_bytes(&mut message, table.as_bytes());
    put_bytes(&mut message, id.as_bytes());
    put_bytes(&mut message, state.as_bytes());
    message.extend_from_slice(&expires.to_be_bytes());
    message
}

#[cfg(test)]
mod tests {
    use super::{admission_id, admission_message, content_digest, model_id, plan_message};
    use crate::attribute::{AttributeValue, Item};
    use crate::format::spec_vectors::{all, hex, text, vectors};
    use crate::keyring::{ErasureKey, LocalErasureKey};
    use crate::schema::Schema;

    /// The model of the vector, as its prose says.
    const CUSTOMERS: Schema = Schema::new("customers", "user_id", "user_id")
        .with_sensitive(&["ssn"])
        .with_plain(&["plan"]);

    #[tokio::test]
    async fn admission_vector() {
        for v in vectors("admission") {
            assert_eq!(CUSTOMERS.table(), text(&v, "table"));
            assert_eq!(text(&v, "covered"), "plan ssn user_id");
            let item: Item = all(&v, "attribute")
                .iter()
                .map(|entry| {
                    let (name, typed) = entry.split_once(" = ").unwrap();
                    let value = typed.strip_prefix("S ").expect("strings only");
                    (name, AttributeValue::S(value.to_owned()))
                })
                .collect();
            let physical = text(&v, "physical table");
            let entry = admission_id(physical, &CUSTOMERS, &item).unwrap();
            assert_eq!(entry, text(&v, "entry"));
            let model = model_id(&CUSTOMERS);
            assert_eq!(model, text(&v, "model"));
            let digest = content_digest(&CUSTOMERS, &item).unwrap();
            assert_eq!(::hex::encode(digest), text(&v, "content digest"));
            let key = LocalErasureKey::new("kat", &hex(&v, "migration key")).unwrap();
            let plan = text(&v, "plan");
            let admission = admission_message(&entry, plan, &model, &digest);
            let tag = key.sign(&admission).await.unwrap();
            assert_eq!(::hex::encode(tag), text(&v, "admission tag"));
            let expires: u64 = text(&v, "expires").parse().unwrap();
            let message = plan_message(physical, plan, text(&v, "state"), expires);
            let tag = key.sign(&message).await.unwrap();
            assert_eq!(::hex::encode(tag), text(&v, "plan tag"));
        }
    }
}
