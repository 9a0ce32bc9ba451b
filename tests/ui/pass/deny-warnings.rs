//! The derive's output is warning-free under `#![deny(warnings)]` and documented-item lints.
#![deny(warnings, missing_docs, unreachable_pub, unused)]

use crypt_model::{EncryptedItem, Sensitive};

/// A model exercising every marker, a rename, optional fields and a raw identifier.
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "pass.case-1")]
pub struct Profile {
    /// Key and owner.
    #[partition_key]
    #[owner]
    pub user_id: String,
    /// Sort key.
    #[sort_key]
    pub r#type: String,
    /// Secret.
    #[sensitive]
    pub ssn: Sensitive<String>,
    /// Optional secret.
    #[sensitive]
    pub note: Option<Sensitive<Vec<u8>>>,
    /// Searchable secret.
    #[sensitive(index = "exact", normalize = "trim_lowercase", bits = 24, scope = "owner")]
    pub email: Sensitive<String>,
    /// Renamed plain field.
    #[crypt_model(rename = "name")]
    pub display_name: Option<String>,
}

/// A private model with a separate owner and a numeric key.
#[derive(EncryptedItem)]
#[crypt_model(table = "orders")]
struct Order {
    #[partition_key]
    order_no: u64,
    #[owner]
    customer: String,
    #[sensitive(index = "exact")]
    card: Sensitive<String>,
}

fn main() {
    assert_eq!(Profile::SCHEMA.sort_key(), Some("type"));
    assert_eq!(Order::SCHEMA.owner(), "customer");
    assert_eq!(Profile::SCHEMA.blind_indexes()[0].bits(), 24);
    let lookup = Profile::by_email("A@B.C").expect("an index lookup");
    assert_eq!(lookup.spec().field(), "email");
    let order = Order { order_no: 1, customer: "c".into(), card: Sensitive::new("x".into()) };
    assert_eq!(order.owner(), "c");
    let _ = (order.order_no, order.customer, order.card);
}
