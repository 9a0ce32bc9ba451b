//! Owners that are not strings: a `Uuid` that is the partition key, and a `u64` that is not part
//! of the key. Each is stored as its own DynamoDB type, and the owner rules hold as for strings:
//! the owner reads and writes, anyone else reads a missing record and cannot take it over.
// A case is named as the sentence it checks; its models and helpers serve the cases.
#![allow(missing_docs)]

use crypt_model::error::AccessError;
use std::borrow::Cow;

use crypt_model::attribute::{Attribute, ConversionError, KeyType};
use crypt_model::{AttributeValue, Caller, EncryptedItem, Error, OwnerId, Sensitive};
use uuid::Uuid;

use crypt_model::Store as _;

use super::{Harness, table};

/// A patient record keyed and owned by the patient's UUID.
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "conf_patients")]
pub struct Chart {
    #[partition_key]
    #[owner]
    pub patient: Uuid,
    #[sort_key]
    pub entry: u32,
    #[sensitive(index = "exact", scope = "owner")]
    pub diagnosis: Sensitive<String>,
}

/// A customer number, as a newtype: stored and declared as the `u64` inside.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CustomerNo(pub u64);

impl Attribute for CustomerNo {
    const KEY_TYPE: Option<KeyType> = u64::KEY_TYPE;
    fn to_attribute(&self) -> Result<AttributeValue, ConversionError> {
        self.0.to_attribute()
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ConversionError> {
        u64::from_attribute(value).map(CustomerNo)
    }
}

impl OwnerId for CustomerNo {
    fn owner_id(&self) -> Cow<'_, str> {
        self.0.owner_id()
    }
}

/// An invoice owned by a customer number that is not part of its key.
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "conf_invoices")]
pub struct Invoice {
    #[partition_key]
    pub invoice: String,
    #[owner]
    pub customer: CustomerNo,
    #[sensitive]
    pub iban: Sensitive<String>,
}

fn chart(patient: Uuid, entry: u32, diagnosis: &str) -> Chart {
    Chart {
        patient,
        entry,
        diagnosis: Sensitive::new(diagnosis.into()),
    }
}

pub async fn a_uuid_owner_is_stored_as_a_string_and_owns_its_partition(backend: &impl Harness) {
    let charts = table::<Chart, _>(backend).await;
    assert_eq!(Chart::SCHEMA.owner_type(), KeyType::S);
    let (alice_id, bob_id) = (Uuid::from_u128(1), Uuid::from_u128(2));
    let alice = Caller::owner(&alice_id).unwrap();
    let bob = Caller::owner(&bob_id).unwrap();
    assert_eq!(
        alice,
        Caller::user("00000000-0000-0000-0000-000000000001").unwrap()
    );

    charts
        .put(&alice, &mut chart(alice_id, 1, "flu"))
        .await
        .unwrap();
    let key = Chart::key(alice_id, 1u32).unwrap();
    let stored = backend
        .store()
        .get(charts.table_ref(), &key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.get("patient"),
        Some(&AttributeValue::S(
            "00000000-0000-0000-0000-000000000001".into()
        ))
    );

    let read = charts.get(&alice, &key).await.unwrap().unwrap();
    assert_eq!(read.diagnosis.expose_secret(), "flu");
    assert!(
        charts.get(&bob, &key).await.unwrap().is_none(),
        "reads as missing"
    );
    let partition = Chart::partition(alice_id).unwrap();
    assert!(
        charts
            .query_all(&bob, partition.clone())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(charts.query_all(&alice, partition).await.unwrap().len(), 1);
    // An owner-scoped index is scoped to the UUID's text, as the caller presents it.
    let found = charts
        .find(&alice, &Chart::by_diagnosis("flu").unwrap())
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert!(
        charts
            .find(&bob, &Chart::by_diagnosis("flu").unwrap())
            .await
            .unwrap()
            .is_empty()
    );

    // Bob cannot write into alice's partition, nor delete from it.
    let error = charts
        .put(&bob, &mut chart(alice_id, 2, "forged"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Access(AccessError::Denied { .. })),
        "{error:?}"
    );
    charts.delete(&bob, &key).await.unwrap();
    assert!(
        charts.get(&alice, &key).await.unwrap().is_some(),
        "not deleted"
    );
    charts.delete(&alice, &key).await.unwrap();
    assert!(charts.get(&alice, &key).await.unwrap().is_none());
}

pub async fn a_number_owner_is_stored_as_a_number_and_guards_its_records(backend: &impl Harness) {
    let invoices = table::<Invoice, _>(backend).await;
    assert_eq!(Invoice::SCHEMA.owner_type(), KeyType::N);
    let (alice_no, bob_no) = (CustomerNo(1001), CustomerNo(2002));
    let alice = Caller::owner(&alice_no).unwrap();
    let bob = Caller::owner(&bob_no).unwrap();
    assert_eq!(alice, Caller::user("1001").unwrap());

    let mut invoice = Invoice {
        invoice: "inv-1".into(),
        customer: alice_no,
        iban: Sensitive::new("DE89370400440532013000".into()),
    };
    invoices.put(&alice, &mut invoice).await.unwrap();
    let key = Invoice::key("inv-1").unwrap();
    let stored = backend
        .store()
        .get(invoices.table_ref(), &key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.get("customer"),
        Some(&AttributeValue::N("1001".into()))
    );

    let read = invoices.get(&alice, &key).await.unwrap().unwrap();
    assert_eq!(read.customer, alice_no);
    assert!(invoices.get(&bob, &key).await.unwrap().is_none());

    // Bob takes over the invoice number: refused by the stored owner, a number compared as one.
    let mut claim = Invoice {
        invoice: "inv-1".into(),
        customer: bob_no,
        iban: Sensitive::new("GB82WEST12345698765432".into()),
    };
    let error = invoices.put(&bob, &mut claim).await.unwrap_err();
    assert!(
        matches!(error, Error::Access(AccessError::Denied { .. })),
        "{error:?}"
    );
    invoices.delete(&bob, &key).await.unwrap();
    assert!(
        invoices.get(&alice, &key).await.unwrap().is_some(),
        "not deleted"
    );
    // DynamoDB compares numbers by value: ids that are alice's number in another form own
    // nothing, and one that is no number at all is refused the same way, not sent.
    for other in ["01001", "1001.0", "1.001E3", "alice"] {
        let caller = Caller::user(other).unwrap();
        assert!(!invoices.delete(&caller, &key).await.unwrap(), "{other}");
        assert!(
            invoices.get(&caller, &key).await.unwrap().is_none(),
            "{other}"
        );
        assert!(
            invoices.get(&alice, &key).await.unwrap().is_some(),
            "{other} deleted it"
        );
    }
    // Someone with raw write access rewrites the owner's text to another form of the number
    // (DynamoDB stores it as 1001 again; a store that keeps the text must not give the record to
    // the caller "01001").
    let mut raw = stored.clone();
    raw.insert("customer", AttributeValue::N("01001".into()));
    let raw_put = |item| {
        let store = backend.store();
        let table = invoices.table_ref().clone();
        async move {
            store
                .put(&table, item, &crypt_model::store::Condition::Always)
                .await
                .unwrap()
        }
    };
    raw_put(raw).await;
    let caller = Caller::user("01001").unwrap();
    assert!(invoices.get(&caller, &key).await.unwrap().is_none());
    raw_put(stored).await;
    // The owner rewrites and deletes: conditions on a number owner match it.
    invoice.iban = Sensitive::new("DE02120300000000202051".into());
    invoices.put(&alice, &mut invoice).await.unwrap();
    invoices.delete(&alice, &key).await.unwrap();
    assert!(invoices.get(&alice, &key).await.unwrap().is_none());
}
