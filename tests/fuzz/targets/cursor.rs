//! Query cursors, which a caller hands back for the next page: any key — another owner's, of
//! another type, with extra attributes, empty — as the cursor of alice's query on a table that
//! also holds bob's records. The query answers alice's records only, or an error.

use std::sync::Arc;

use crypt_model::store::Cursor;
use crypt_model::{AttributeValue, Caller, Item, MemoryStore, Query, Sensitive, Table};
use proptest::prelude::*;

use super::{CARD, Record, SECRET, attribute_value, bounded, fixture, fuzz, no_plaintext};

/// Alice's and bob's records, three each.
fn table() -> &'static (Table<Record, MemoryStore>, tokio::runtime::Runtime) {
    static TABLE: std::sync::OnceLock<(Table<Record, MemoryStore>, tokio::runtime::Runtime)> =
        std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let table = Table::new(MemoryStore::new(), Arc::clone(&fixture().keys)).unwrap();
        for owner in ["alice", "bob"] {
            for n in 0..3 {
                let mut record = Record {
                    user_id: owner.into(),
                    n,
                    secret: Sensitive::new(SECRET.into()),
                    card: Sensitive::new(CARD.to_vec()),
                    plan: "gold".into(),
                };
                runtime
                    .block_on(table.put(&Caller::user(owner).unwrap(), &mut record))
                    .unwrap();
            }
        }
        (table, runtime)
    })
}

fn cursor() -> impl Strategy<Value = Item> {
    let key_value = prop_oneof![
        prop_oneof![Just("alice"), Just("bob"), Just("")].prop_map(|s| AttributeValue::S(s.into())),
        attribute_value(),
    ];
    let n = prop_oneof![
        (0u32..5).prop_map(|n| AttributeValue::N(n.to_string())),
        attribute_value(),
    ];
    (
        prop::option::of(key_value),
        prop::option::of(n),
        prop::collection::btree_map("[a-z_]{1,8}", attribute_value(), 0..3),
    )
        .prop_map(|(user, n, extra)| {
            let mut item = Item::from_iter(extra);
            if let Some(user) = user {
                item.insert("user_id", user);
            }
            if let Some(n) = n {
                item.insert("n", n);
            }
            item
        })
}

fn check(input: &[u8]) -> Result<(), String> {
    let Ok(item) = Item::from_dynamodb_json(&String::from_utf8_lossy(input)) else {
        return Ok(());
    };
    let (table, runtime) = table();
    let alice = Caller::user("alice").unwrap();
    let query = Query::partition("alice").after(Some(Cursor::new(item)));
    let page = bounded(1024 * 1024, || {
        runtime.block_on(table.query(&alice, &query))
    })?;
    match page {
        Err(error) => no_plaintext(&error, &error.to_string()),
        Ok(page) => {
            if page.items.iter().all(|r| r.user_id == "alice") {
                Ok(())
            } else {
                Err("a cursor gave alice another owner's record".to_owned())
            }
        }
    }
}

pub(crate) fn run() {
    fuzz(
        "cursor",
        cursor(),
        |item| item.to_dynamodb_json().into_bytes(),
        check,
    );
}
