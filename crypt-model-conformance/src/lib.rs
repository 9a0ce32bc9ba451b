//! The store conformance suite of crypt-model, written once and run against every backend:
//! `MemoryStore` and `crypt-model-dynamo`'s `DynamoStore` run it, and so can yours.
//!
//! It has two halves: the store's own operations on raw items (through
//! [`Checked`](crypt_model::store::Checked), as a table calls a store: conditional writes, key
//! order, pages, batches, transactions, scans), then the typed table on top (ownership and
//! enumeration, optimistic locking, updates and their rollback, who may do what, every field
//! type, blind and secondary indexes, the lifecycle jobs, erasure, a model that evolves). A
//! backend passes when every case does: [`run_all`] runs them in one call, and [`suite!`]
//! makes each a test of its own.
//!
//! Implement [`Harness`] for your store: give the suite a store, and make each table it asks
//! for ready (a real backend creates it, under a unique name if tables outlive the run).
//!
//! ```
//! use crypt_model::store::{BatchGet, Condition, Page, Query, Scan, Store, TableRef, TransactItem, Update};
//! use crypt_model::{Item, Key, MemoryStore, Result};
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicU64, Ordering};
//!
//! /// A backend written outside crypt-model: it keeps the items in a `MemoryStore` and counts
//! /// the requests it serves.
//! #[derive(Clone, Default)]
//! struct CountingStore {
//!     items: MemoryStore,
//!     requests: Arc<AtomicU64>,
//! }
//!
//! impl CountingStore {
//!     fn count(&self) {
//!         self.requests.fetch_add(1, Ordering::Relaxed);
//!     }
//! }
//!
//! #[crypt_model::store::async_trait]
//! impl Store for CountingStore {
//!     async fn put(&self, table: &TableRef, item: Item, condition: &Condition) -> Result<()> {
//!         self.count();
//!         self.items.put(table, item, condition).await
//!     }
//!     async fn get(&self, table: &TableRef, key: &Key) -> Result<Option<Item>> {
//!         self.count();
//!         self.items.get(table, key).await
//!     }
//!     async fn delete(&self, table: &TableRef, key: &Key, condition: &Condition) -> Result<()> {
//!         self.count();
//!         self.items.delete(table, key, condition).await
//!     }
//!     async fn update(&self, table: &TableRef, key: &Key, update: &Update, condition: &Condition) -> Result<()> {
//!         self.count();
//!         self.items.update(table, key, update, condition).await
//!     }
//!     async fn query(&self, table: &TableRef, query: &Query) -> Result<Page> {
//!         self.count();
//!         self.items.query(table, query).await
//!     }
//!     async fn scan(&self, table: &TableRef, scan: &Scan) -> Result<Page> {
//!         self.count();
//!         self.items.scan(table, scan).await
//!     }
//!     async fn batch_put(&self, table: &TableRef, items: Vec<Item>) -> Result<Vec<Item>> {
//!         self.count();
//!         self.items.batch_put(table, items).await
//!     }
//!     async fn batch_get(&self, table: &TableRef, keys: Vec<Key>) -> Result<BatchGet> {
//!         self.count();
//!         self.items.batch_get(table, keys).await
//!     }
//!     async fn transact_write(&self, items: Vec<TransactItem>) -> Result<()> {
//!         self.count();
//!         self.items.transact_write(items).await
//!     }
//! }
//!
//! struct Counting(CountingStore);
//!
//! #[crypt_model::store::async_trait]
//! impl crypt_model_conformance::Harness for Counting {
//!     type Store = CountingStore;
//!     fn store(&self) -> CountingStore {
//!         self.0.clone()
//!     }
//!     async fn table(&self, table: TableRef) -> TableRef {
//!         table // nothing to create in memory
//!     }
//! }
//!
//! // Every case, on a fresh store each (in a test file: `crypt_model_conformance::suite!(…)`).
//! let requests = Arc::new(AtomicU64::new(0));
//! crypt_model_conformance::run_all(|| {
//!     Counting(CountingStore { items: MemoryStore::new(), requests: requests.clone() })
//! });
//! assert!(requests.load(Ordering::Relaxed) > 1_000);
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::sync::Arc;

use crypt_model::store::Condition;
use crypt_model::{
    AttributeValue, EncryptedItem, IndexSecret, Item, Keys, LocalKeyring, Store, Table, TableRef,
};

mod access;
mod batches;
mod delegation;
mod erasure;
mod evolution;
mod fixtures;
mod indexes;
mod jobs;
mod lifecycle;
mod migration;
mod narrowed;
mod owners;
mod reassign;
mod replacement;
mod scan;
mod store;
mod table;
mod tombstones;
mod transitions;
mod types;
mod update;
mod workers;

pub use fixtures::{CARD, Profile, SSN, profile};

/// The cases, one public async function each, which [`suite!`] and [`run_all`] call. Not for
/// direct use: their names and their number change as the suite grows.
#[doc(hidden)]
pub mod cases {
    pub use crate::access::*;
    pub use crate::batches::*;
    pub use crate::delegation::*;
    pub use crate::erasure::*;
    pub use crate::evolution::*;
    pub use crate::indexes::*;
    pub use crate::jobs::*;
    pub use crate::lifecycle::*;
    pub use crate::migration::*;
    pub use crate::narrowed::*;
    pub use crate::owners::*;
    pub use crate::reassign::*;
    pub use crate::replacement::*;
    pub use crate::scan::*;
    pub use crate::store::*;
    pub use crate::table::*;
    pub use crate::tombstones::*;
    pub use crate::transitions::*;
    pub use crate::types::*;
    pub use crate::update::*;
    pub use crate::workers::*;
}

/// What a backend gives the suite.
#[async_trait::async_trait]
pub trait Harness: Send + Sync {
    /// The store under test: a handle, cheap to clone.
    type Store: Store + Clone + 'static;
    /// The store under test.
    fn store(&self) -> Self::Store;
    /// Makes `table` ready (a real backend creates it) and returns it, renamed if the backend
    /// needs a name of its own per run.
    async fn table(&self, table: TableRef) -> TableRef;
}

/// Runs one case to its end on a runtime of its own (two worker threads, timers on), so that a
/// test crate needs no async runtime: a case that fails panics.
pub fn run(case: impl Future<Output = ()>) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime for the case")
        .block_on(case);
}

/// Calls `$callback` (a macro of `$krate`, with `$args`) with the name of every case.
#[doc(hidden)]
#[macro_export]
macro_rules! __with_cases {
    ($krate:tt, $callback:ident, $($args:tt)*) => {
        $krate::$callback!($($args)*; put_get_delete, conditional_put, conditional_delete, update_sets_and_removes,
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
            a_delegate_reads_exactly_the_records_that_name_them_on_every_path,
            a_delegate_updates_only_as_its_delegation_allows_and_never_changes_it,
            a_service_on_a_persons_behalf_is_that_person_and_never_the_service,
            a_delegation_edited_in_storage_fails_integrity_and_opens_for_no_one,
            a_delegate_writes_only_through_update_so_a_forged_delegation_is_never_sealed,
            a_service_that_may_only_write_cannot_name_a_reader,
            a_reassignable_delegation_is_handed_on_only_by_the_delegate_it_names,
            a_grant_narrowed_within_a_value_acts_on_the_records_within_it_only,
            a_batch_write_is_never_a_delegates_nor_a_narrowed_grants,
            a_service_with_no_grant_on_the_model_is_told_so_on_every_operation,
            versioned_writes_read_a_foreign_record_as_a_missing_one,
            every_field_type_round_trips_as_its_documented_type, timestamp_sort_keys_sort_by_time,
            a_uuid_owner_is_stored_as_a_string_and_owns_its_partition,
            a_number_owner_is_stored_as_a_number_and_guards_its_records,
            a_declared_index_answers_each_caller_with_its_own_records,
            a_scan_sees_every_item_once_in_any_number_of_segments,
            a_table_scan_is_for_a_granted_service_only,
            a_record_that_does_not_open_is_reported_beside_its_page_and_the_cursor_is_kept,
            migration_mode_reads_plaintext_and_every_write_encrypts,
            a_job_is_for_a_granted_service_only,
            plaintext_is_read_only_as_the_plan_admitted_it,
            a_completed_migration_closes_its_plan_for_every_reader,
            an_expired_plan_refuses_plaintext, a_forged_plan_or_admission_is_never_believed,
            an_admission_made_under_another_version_of_the_model_is_named_as_such,
            a_migration_races_the_application_and_loses_nothing,
            a_job_stopped_and_killed_at_random_points_resumes_to_the_same_state,
            a_job_reports_the_records_it_cannot_process_and_goes_on,
            a_record_too_large_once_sealed_is_reported_and_the_job_goes_on,
            workers_sharing_a_job_table_do_every_record_once_and_take_over_a_killed_workers_segments,
            a_worker_whose_lease_was_taken_over_saves_nothing_over_its_successor,
            a_second_run_of_a_job_is_refused_while_the_first_holds_its_segments,
            a_worker_restarted_under_its_name_takes_its_segments_back_at_once,
            a_model_gains_a_field_and_an_index_and_the_backfill_indexes_its_records,
            a_previous_version_reads_what_a_newer_one_indexed_and_names_the_version_it_lacks,
            a_field_marked_unauthenticated_opens_the_records_that_authenticated_it_until_they_are_sealed_again,
            a_version_without_a_key_per_owner_names_the_version_that_sealed_a_record_under_its_owners_key,
            an_erased_owners_records_fail_closed_wherever_they_were_copied,
            listings_pass_over_an_erased_owners_records_and_a_direct_read_names_the_erasure,
            a_forged_or_edited_tombstone_reads_as_tampering_never_as_an_erasure,
            a_key_row_put_back_after_its_erasure_stays_erased_until_the_sweep_or_a_write_replaces_it,
            a_key_row_overwritten_or_deleted_by_a_writer_reads_as_tampering_and_a_restore_recovers_it,
            an_erasure_holds_when_a_writer_hid_or_changed_the_key_row_before_and_puts_it_back_after,
            erasures_made_under_a_rotated_out_erasure_key_still_hold,
            a_handle_of_no_live_generation_reads_as_tampering_never_as_an_erasure,
            a_replaced_owner_key_moves_their_records_and_old_copies_no_longer_open,
            a_dry_run_writes_nothing_not_even_an_owners_key,
            processes_sharing_the_segments_migrate_the_whole_table,
            owner_keys_are_rewrapped_so_the_old_key_can_retire);
    };
}

/// Instantiates every case of the suite as a `#[test]` of the crate it is written in, with
/// `$backend` (an expression that makes a [`Harness`]) evaluated once per test. Needs no async
/// runtime: each case runs on one of its own ([`run`]).
#[macro_export]
macro_rules! suite {
    ($backend:expr) => {
        $crate::__with_cases!($crate, __suite_tests, $backend);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __suite_tests {
    ($backend:expr; $($case:ident),* $(,)?) => {$(
        #[test]
        fn $case() {
            $crate::run(async { $crate::cases::$case(&$backend).await });
        }
    )*};
}

/// Runs each case named, in turn, with a harness `$backend()` makes (what [`run_all`] calls).
macro_rules! run_each {
    ($backend:expr; $($case:ident),* $(,)?) => {$(
        eprintln!("crypt-model-conformance: {}", stringify!($case));
        run(async { cases::$case(&$backend()).await });
    )*};
}
pub(crate) use run_each;

/// Runs every case in turn, each with a harness `backend` makes: a backend passes if this
/// returns. A failing case panics, naming itself on standard error first.
pub fn run_all<H: Harness>(backend: impl Fn() -> H) {
    __with_cases!(crate, run_each, backend);
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

/// An unconditional put that must succeed.
async fn put<S: Store>(store: &S, table: &TableRef, item: Item) {
    store.put(table, item, &Condition::Always).await.unwrap();
}

/// The keys of the typed half: a local key and an index secret.
pub fn keys() -> Arc<Keys> {
    Arc::new(
        Keys::new(LocalKeyring::new("conformance", &[7; 32]).unwrap())
            .with_index_secret(IndexSecret::from_bytes(&[8; 32]).unwrap()),
    )
}

/// The table of model `T` on the harness's store, made ready.
pub async fn table<T: EncryptedItem + Send + Sync, H: Harness>(backend: &H) -> Table<T, H::Store> {
    table_with::<T, H>(backend, keys()).await
}

/// The same, encrypting with `keys`.
pub async fn table_with<T: EncryptedItem + Send + Sync, H: Harness>(
    backend: &H,
    keys: Arc<Keys>,
) -> Table<T, H::Store> {
    let schema = T::SCHEMA;
    let table = backend
        .table(TableRef::for_schema(schema.table(), &schema).unwrap())
        .await;
    Table::named(backend.store(), keys, table.name())
        .unwrap()
        .with_batch_retry(20, std::time::Duration::from_millis(1))
}
