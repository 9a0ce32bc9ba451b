//! Scans: the store's parallel scan (every item once, in any number of segments, page by page)
//! and the table's, which only a service granted read may run.
// A case is named as the sentence it checks; its models and helpers serve the cases.
#![allow(missing_docs)]

use crypt_model::error::{AccessError, StorageError};
use std::collections::BTreeSet;

use crate::fixtures::{Profile, profile};
use crypt_model::{AttributeValue, Caller, Error, Grant, Item, Scan, Store, Table, TableRef};

use crypt_model::store::Checked;

use super::{Harness, keys, put, s, table};

/// Every `(pk, sk)` a scan of `segment` yields, following cursors, with pages of at most `limit`.
async fn scanned<S: Store + Clone + 'static>(
    store: &S,
    table: &TableRef,
    segment: Scan,
    limit: u32,
) -> Vec<(String, String)> {
    let mut keys = Vec::new();
    let mut request = segment.limit(limit);
    loop {
        let page = store.scan(table, &request).await.unwrap();
        assert!(page.items.len() <= limit as usize);
        for item in &page.items {
            let text = |name: &str| match item.get(name) {
                Some(AttributeValue::S(text)) => text.clone(),
                other => panic!("{name}: {other:?}"),
            };
            keys.push((text("pk"), text("sk")));
        }
        match page.cursor {
            Some(cursor) => request = request.after(Some(cursor)),
            None => return keys,
        }
    }
}

pub async fn a_scan_sees_every_item_once_in_any_number_of_segments(backend: &impl Harness) {
    let store = Checked::new(backend.store());
    let table = backend
        .table(TableRef::new("conf_scan", "pk", Some("sk")).unwrap())
        .await;
    let mut all = BTreeSet::new();
    for p in 0..12 {
        for i in 0..3 {
            let (pk, sk) = (format!("p{p:02}"), format!("{i}"));
            put(
                &store,
                &table,
                Item::from_iter([("pk", s(&pk)), ("sk", s(&sk))]),
            )
            .await;
            all.insert((pk, sk));
        }
    }
    let whole = scanned(&store, &table, Scan::all(), 5).await;
    assert_eq!(whole.len(), all.len(), "each item once");
    assert_eq!(whole.iter().cloned().collect::<BTreeSet<_>>(), all);

    for total in [2, 4, 7] {
        let mut seen = Vec::new();
        for segment in 0..total {
            seen.extend(scanned(&store, &table, Scan::segment(segment, total), 4).await);
        }
        assert_eq!(seen.len(), all.len(), "{total} segments: each item once");
        assert_eq!(
            seen.into_iter().collect::<BTreeSet<_>>(),
            all,
            "{total} segments"
        );
    }

    for bad in [
        Scan::segment(4, 4),
        Scan::segment(0, 0),
        Scan::segment(0, 1_000_001),
        Scan::all().limit(0),
    ] {
        let error = store.scan(&table, &bad).await.unwrap_err();
        assert!(
            matches!(error, Error::Storage(StorageError::InvalidRequest { .. })),
            "{bad:?}: {error:?}"
        );
    }
}

pub async fn a_table_scan_is_for_a_granted_service_only(backend: &impl Harness) {
    let profiles = table::<Profile, _>(backend).await;
    for owner in ["scan-alice", "scan-bob"] {
        profiles
            .put(&Caller::user(owner).unwrap(), &mut profile(owner, "scan"))
            .await
            .unwrap();
    }
    let auditor = Caller::service("auditor").unwrap();
    let granted = Table::<Profile, _>::named(backend.store(), keys(), profiles.table_ref().name())
        .unwrap()
        .with_grant(Grant::read("auditor").unwrap());
    let mut owners = BTreeSet::new();
    let mut request = Scan::all().limit(1);
    loop {
        let page = granted.scan(&auditor, &request).await.unwrap();
        owners.extend(page.items.iter().map(|p| p.user_id.clone()));
        match page.cursor {
            Some(cursor) => request = request.after(Some(cursor)),
            None => break,
        }
    }
    assert!(
        owners.contains("scan-alice") && owners.contains("scan-bob"),
        "{owners:?}"
    );

    // A user, or a service without the grant, is refused before anything is read: a scan
    // crosses every owner's records (a service with no grant at all is told that).
    for caller in [Caller::user("scan-alice").unwrap(), auditor] {
        let error = profiles.scan(&caller, &Scan::all()).await.unwrap_err();
        assert!(
            matches!(
                error,
                Error::Access(AccessError::Denied { .. } | AccessError::NoGrant { .. })
            ),
            "{error:?}"
        );
    }
}

pub async fn a_record_that_does_not_open_is_reported_beside_its_page_and_the_cursor_is_kept(
    backend: &impl Harness,
) {
    let profiles = table::<Profile, _>(backend).await;
    let alice = Caller::user("page-alice").unwrap();
    for kind in ["a", "b", "c", "d"] {
        profiles
            .put(&alice, &mut profile("page-alice", kind))
            .await
            .unwrap();
    }
    // One record edited in storage: "b" claims another kind.
    let key = crypt_model::Key::new(s("page-alice")).with_sort(s("b"));
    let store = profiles.store();
    let mut edited = store
        .get(profiles.table_ref(), &key)
        .await
        .unwrap()
        .unwrap();
    edited.insert("__cm_sealed", AttributeValue::B(vec![0; 40]));
    store
        .put(
            profiles.table_ref(),
            edited,
            &crypt_model::store::Condition::Always,
        )
        .await
        .unwrap();

    // Pages of two: the first holds "a" and reports "b" beside it, with its cursor; the next
    // goes on with "c" and "d".
    let query = crypt_model::Query::partition("page-alice").limit(2);
    let first = profiles.query(&alice, &query).await.unwrap();
    let kinds: Vec<&str> = first.items.iter().map(|p| p.kind.as_str()).collect();
    assert_eq!(kinds, ["a"]);
    assert_eq!(first.unreadable.len(), 1, "{:?}", first.unreadable);
    assert_eq!(first.unreadable[0].key, key);
    assert!(first.unreadable[0].tampered);
    assert!(!first.unreadable[0].reason.contains(crate::SSN));
    let next = query.clone().after(first.cursor.clone());
    let second = profiles.query(&alice, &next).await.unwrap();
    let kinds: Vec<&str> = second.items.iter().map(|p| p.kind.as_str()).collect();
    assert_eq!(kinds, ["c", "d"]);
    assert!(second.unreadable.is_empty());
    // query_all cannot report it beside a page: the call fails, naming why.
    let error = profiles.query_all(&alice, query).await.unwrap_err();
    assert!(format!("{error}").contains("did not open"), "{error}");

    // A granted scan reports it the same way and goes on.
    let granted = Table::<Profile, _>::named(backend.store(), keys(), profiles.table_ref().name())
        .unwrap()
        .with_grant(Grant::read("auditor").unwrap());
    let auditor = Caller::service("auditor").unwrap();
    let page = granted.scan(&auditor, &Scan::all()).await.unwrap();
    assert_eq!(page.items.len(), 3);
    assert_eq!(page.unreadable.len(), 1);
    // Another owner learns nothing of it: an empty page, nothing reported.
    let bob = Caller::user("page-bob").unwrap();
    let theirs = profiles
        .query(&bob, &crypt_model::Query::partition("page-alice"))
        .await
        .unwrap();
    assert!(theirs.items.is_empty() && theirs.unreadable.is_empty() && theirs.cursor.is_none());
}
