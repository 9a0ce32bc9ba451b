//! The `Store` conformance suite, written once and run against every backend, in two halves:
//! the store's own operations on raw items (`store.rs`), then the typed table on top
//! (`table.rs`: ownership, enumeration, optimistic locking, batches, transactions;
//! `update.rs`: updates, their rollback and key rotation; `access.rs`: who may do what). Each
//! backend's test file instantiates it with `conformance_suite!(harness expression)`; the
//! expression is evaluated once per test.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::sync::Arc;

use crypt_model::store::Condition;
use crypt_model::{
    AttributeValue, Cipher, EncryptedItem, IndexSecret, Item, LocalKeyring, Store, Table, TableRef,
};

mod access;
mod erasure;
mod evolution;
mod indexes;
mod lifecycle;
mod owners;
mod scan;
mod store;
mod table;
mod types;
mod update;

pub use access::*;
pub use erasure::*;
pub use evolution::*;
pub use indexes::*;
pub use lifecycle::*;
pub use owners::*;
pub use scan::*;
pub use store::*;
pub use table::*;
pub use types::*;
pub use update::*;

/// What a backend's test file provides to the suite.
#[crypt_model::keyring::async_trait]
pub trait Harness: Send + Sync {
    /// The store under test.
    fn store(&self) -> Arc<dyn Store>;
    /// Makes `table` ready (a real backend creates it) and returns it.
    async fn table(&self, table: TableRef) -> TableRef;
}

/// Instantiates every case of the suite as a test, with `$backend` evaluated per test.
#[macro_export]
macro_rules! conformance_suite {
    ($backend:expr) => {
        $crate::conformance_suite!(@cases $backend;
            put_get_delete, conditional_put, conditional_delete, update_sets_and_removes,
            numbers_sort_by_value_and_strings_by_bytes, sort_conditions, descending,
            pagination_over_three_pages, index_query_is_sparse, batch_put_and_get,
            batch_limits_are_enforced, transaction_is_all_or_nothing, transaction_limits,
            oversized_item_is_refused, invalid_table_names_are_refused,
            number_keys_are_decimal_and_equal_values_are_one_key,
            takeover_is_refused, enumeration_looks_like_a_missing_record,
            query_returns_only_what_the_caller_may_open, optimistic_locking_loses_no_update,
            stale_write_is_a_conflict, table_batch_put_and_get, table_transaction_rolls_back,
            stored_items_hold_no_plaintext,
            a_model_wrongly_claiming_batch_or_update_is_refused_at_run_time,
            update_writes_the_named_fields_only,
            a_field_rolled_back_after_later_updates_is_an_integrity_failure,
            an_update_reseals_under_the_current_primary_key,
            an_update_takes_a_data_key_within_the_cache_policy,
            a_foreign_partition_reads_like_a_missing_one,
            pages_of_a_shared_partition_point_only_at_the_callers_records,
            an_index_partition_reveals_nothing_to_a_non_owner,
            another_owners_malformed_item_reads_as_missing,
            grants_have_scopes_and_a_service_is_never_an_owner, identities_are_checked,
            versioned_writes_read_a_foreign_record_as_a_missing_one,
            every_field_type_round_trips_as_its_documented_type, timestamp_sort_keys_sort_by_time,
            a_uuid_owner_is_stored_as_a_string_and_owns_its_partition,
            a_number_owner_is_stored_as_a_number_and_guards_its_records,
            a_declared_index_answers_each_caller_with_its_own_records,
            a_scan_sees_every_item_once_in_any_number_of_segments,
            a_table_scan_is_for_a_granted_service_only,
            migration_mode_reads_plaintext_and_every_write_encrypts,
            a_job_is_for_a_granted_service_only,
            a_migration_races_the_application_and_loses_nothing,
            a_job_stopped_and_killed_at_random_points_resumes_to_the_same_state,
            a_job_reports_the_records_it_cannot_process_and_goes_on,
            a_model_gains_a_field_and_an_index_and_the_backfill_indexes_its_records,
            an_erased_owners_records_fail_closed_wherever_they_were_copied,
            a_dry_run_writes_nothing_not_even_an_owners_key,
            processes_sharing_the_segments_migrate_the_whole_table,
            owner_keys_are_rewrapped_so_the_old_key_can_retire
        );
    };
    (@cases $backend:expr; $($case:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $case() {
            conformance::$case(&$backend).await;
        }
    )*};
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

/// An unconditional put that must succeed.
async fn put(store: &Arc<dyn Store>, table: &TableRef, item: Item) {
    store.put(table, item, &Condition::Always).await.unwrap();
}

/// The cipher of the typed half: a local key and an index secret.
pub fn cipher() -> Arc<Cipher> {
    Arc::new(
        Cipher::new(LocalKeyring::new("conformance", &[7; 32]).unwrap())
            .with_index_secret(IndexSecret::from_bytes(&[8; 32]).unwrap()),
    )
}

/// The table of model `T` on the harness's store, made ready.
pub async fn table<T: EncryptedItem + Send + Sync>(
    backend: &impl Harness,
) -> Table<T, Arc<dyn Store>> {
    table_with::<T>(backend, cipher()).await
}

/// The same, encrypting with `cipher`.
pub async fn table_with<T: EncryptedItem + Send + Sync>(
    backend: &impl Harness,
    cipher: Arc<Cipher>,
) -> Table<T, Arc<dyn Store>> {
    let schema = T::SCHEMA;
    let table = backend
        .table(TableRef::for_schema(schema.table(), &schema).unwrap())
        .await;
    Table::named(backend.store(), cipher, table.name())
        .unwrap()
        .with_batch_retry(20, std::time::Duration::from_millis(1))
}
