//! A model that changes after its records were written: a new optional field and a new blind
//! index read the earlier records (format 3 authenticates the attributes present); the backfill
//! job indexes them; an index secret rotated while `find` keeps finding every record.
// A case is named as the sentence it checks; its models and helpers serve the cases.
#![allow(missing_docs)]

use std::sync::Arc;

use crypt_model::lifecycle::Job;
use crypt_model::{
    Caller, EncryptedItem, Grant, IndexSecret, Keys, LocalKeyring, Sensitive, Store, Table,
};

use super::lifecycle::complete;
use super::{Harness, table_with};

/// The model as first deployed.
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "conf_evolve")]
pub struct MemberV1 {
    #[partition_key]
    #[owner]
    pub user_id: String,
    #[sensitive]
    pub email: Sensitive<String>,
    pub plan: String,
}

/// The model later: a new optional plain field, and a blind index on the email.
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "conf_evolve")]
pub struct MemberV2 {
    #[partition_key]
    #[owner]
    pub user_id: String,
    #[sensitive(index = "exact", normalize = "lowercase")]
    pub email: Sensitive<String>,
    pub plan: String,
    pub nickname: Option<String>,
}

const JOB: &str = "evolution-job";
const MEMBERS: usize = 30;

fn keys(secret: u8, previous: Option<u8>) -> Arc<Keys> {
    let keys = Keys::new(LocalKeyring::new("k1", &[1; 32]).unwrap())
        .with_index_secret(IndexSecret::from_bytes(&[secret; 32]).unwrap());
    Arc::new(match previous {
        Some(previous) => {
            keys.with_previous_index_secret(IndexSecret::from_bytes(&[previous; 32]).unwrap())
        }
        None => keys,
    })
}

fn v2<S: Store + Clone + 'static>(store: &S, name: &str, keys: Arc<Keys>) -> Table<MemberV2, S> {
    Table::named(store.clone(), keys, name)
        .unwrap()
        .with_grant(Grant::read(JOB).unwrap())
        .with_grant(Grant::write(JOB).unwrap())
}

fn email(i: usize) -> String {
    format!("Member{i}@Example.com")
}

/// How many members each finds by their own email.
async fn found<S: Store + Clone + 'static>(table: &Table<MemberV2, S>) -> usize {
    let mut found = 0;
    for i in 0..MEMBERS {
        let owner = Caller::user(format!("m{i:02}")).unwrap();
        let lookup = MemberV2::by_email(email(i).to_lowercase()).unwrap();
        let records = table.find(&owner, &lookup).await.unwrap();
        assert!(records.len() <= 1);
        found += records.len();
    }
    found
}

pub async fn a_model_gains_a_field_and_an_index_and_the_backfill_indexes_its_records(
    backend: &impl Harness,
) {
    // The table as the later model provisions it (with the index's GSI).
    let table = table_with::<MemberV2, _>(backend, keys(8, None)).await;
    let (store, name) = (table.store().clone(), table.table_ref().name().to_owned());
    let first = Table::<MemberV1, _>::named(store.clone(), keys(8, None), &name).unwrap();
    for i in 0..MEMBERS {
        let owner = format!("m{i:02}");
        let mut member = MemberV1 {
            user_id: owner.clone(),
            email: Sensitive::new(email(i)),
            plan: "basic".into(),
        };
        first
            .put(&Caller::user(&owner).unwrap(), &mut member)
            .await
            .unwrap();
    }

    // The new model reads every earlier record: the new field is absent, not a forgery.
    let later = v2(&store, &name, keys(8, None));
    for i in 0..MEMBERS {
        let owner = format!("m{i:02}");
        let member = later
            .get(
                &Caller::user(&owner).unwrap(),
                &MemberV2::key(owner.clone()).unwrap(),
            )
            .await
            .unwrap()
            .expect("an earlier record opens under the model that gained a field");
        assert_eq!(member.email.expose_secret(), &email(i));
        assert_eq!(member.nickname, None);
    }
    // Not indexed yet.
    assert_eq!(found(&later).await, 0);

    let service = Caller::service(JOB).unwrap();
    let report = complete(Job::backfill(&later, &service).segments(3)).await;
    assert_eq!(report.counts.changed, MEMBERS as u64);
    assert_eq!(
        found(&later).await,
        MEMBERS,
        "every record found once backfilled"
    );
    let again = Job::backfill(&later, &service).run().await.unwrap();
    assert_eq!(
        (again.counts.changed, again.counts.unchanged),
        (0, MEMBERS as u64)
    );

    // The index secret rotated: the new one writes, the previous one still finds the records
    // not yet rewritten, and the backfill moves them all.
    let rolling = v2(&store, &name, keys(9, Some(8)));
    assert_eq!(
        found(&rolling).await,
        MEMBERS,
        "found under the previous secret"
    );
    let new_only = v2(&store, &name, keys(9, None));
    assert_eq!(
        found(&new_only).await,
        0,
        "nothing is under the new secret yet"
    );
    let report = Job::backfill(&rolling, &service)
        .segments(2)
        .run()
        .await
        .unwrap();
    assert_eq!(report.counts.changed, MEMBERS as u64);
    assert_eq!(found(&rolling).await, MEMBERS);
    assert_eq!(
        found(&new_only).await,
        MEMBERS,
        "the previous secret can go"
    );
}
