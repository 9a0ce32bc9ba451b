//! Structured fuzzing of every parser of stored or received data, on the stable toolchain
//! (proptest): a sealed item's header and message, plaintext decoding, DynamoDB JSON, Lambda
//! stream events, stream records from the SDK, query cursors; and differential tests against the format's independent
//! Python implementation (`targets/differential.rs`). Each target's inputs are mutations of valid encodings (the
//! structure) and arbitrary data. The properties, for every input:
//!
//! - no panic;
//! - no unbounded allocation: the largest single allocation stays within a bound of the input's
//!   size (the measuring allocator of `lib.rs`);
//! - no plaintext in any error (`Display` or `Debug`);
//! - what opens is what was sealed: a mutated item either fails, or opens to the original values.
//!
//! `CRYPT_MODEL_FUZZ_CASES` inputs per target (2,000 by default, as `scripts/test` runs them;
//! `scripts/fuzz` runs 1,000,000). Every file under `corpus/<target>/` is replayed by every run;
//! with `CRYPT_MODEL_FUZZ_SAVE=1` an input that fails a property is written there first.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod targets;

use crypt_model_fuzz_tests::Measuring;

#[global_allocator]
static ALLOCATOR: Measuring = Measuring;

#[test]
fn sealed_items() {
    targets::sealed::run();
}

#[test]
fn plaintext_decoding() {
    targets::plaintext::run();
}

#[test]
fn dynamodb_json() {
    targets::json::run();
}

#[test]
fn lambda_stream_events() {
    targets::lambda::run();
}

#[test]
fn sdk_stream_records() {
    targets::stream::run();
}

#[test]
fn query_cursors() {
    targets::cursor::run();
}

#[test]
fn differential_against_the_python_reference() {
    targets::differential::run();
}
