//! Opening a record the gate admitted: its data key from the key source (which asks for the
//! permit's admission), then its message, checked as one authenticated whole; or, for a model in
//! migration mode and a record stored before encryption, its plain attributes.

use crate::error::{DataError, IntegrityError};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::access::{Permit, fingerprint};
use crate::attribute::Item;
use crate::data_key::DataKey;
use crate::error::{Error, Result};
use crate::format::{self, Layout};
use crate::key_source::KeySource;
use crate::migration_plans::MigrationPlans;
use crate::plaintexts::Plaintexts;
use crate::schema::{Schema, Suites};

/// Whether a record stored in plaintext (migration mode) may be read, and what its read leaves
/// behind beside its warning.
#[derive(Clone, Copy)]
pub(crate) enum PlaintextReads<'a> {
    /// Refused: no migration plans (a record opened outside a table, or a table not given any).
    Refused,
    /// Read if the plans admit it into the plan of the table named; counted here (a table's
    /// count) and logged.
    Counted(&'a MigrationPlans, &'a str, &'a AtomicU64),
    /// Read if the plans admit it into the plan of the table named; a job reads it to encrypt
    /// it, and its report counts it.
    Job(&'a MigrationPlans, &'a str),
    /// Read unchecked: the plan job reads it to admit it, and its report counts it.
    Planning,
}

/// Takes a record stored in plaintext's sensitive fields out of its attributes (the model's
/// `__legacy`).
pub(crate) type TakePlain = fn(&mut Item, &mut Plaintexts) -> Result<()>;

/// The attributes and the plaintexts of the record `permit` admits, of `schema`: decrypted
/// under the key `source` gives for its header if its suite is one of `suites`, or taken from its
/// plain attributes by `take_plain` for a record stored in plaintext. The header and message are
/// gone from the attributes, the sensitive fields too.
pub(crate) async fn open_fields<T>(
    schema: &Schema,
    permit: Permit<T>,
    (source, suites): (&dyn KeySource, Suites),
    take_plain: TakePlain,
    reads: PlaintextReads<'_>,
) -> Result<(Item, Plaintexts)> {
    check_suite(schema, &permit, suites)?;
    let key = data_key(&permit, source).await?;
    let (mut attributes, layout) = permit.into_record().into_parts();
    match layout? {
        Layout::Plaintext => {
            plaintext_admitted(schema, &attributes, reads).await?;
            let mut plaintexts = Plaintexts::new();
            take_plain(&mut attributes, &mut plaintexts)?;
            plaintext_read(schema, &attributes, reads);
            Ok((attributes, plaintexts))
        }
        Layout::Encrypted(envelope) => {
            // `opening_key` gives a key for every encrypted layout.
            let key = key.ok_or_else(format::header_integrity)?;
            let opened =
                format::open(schema, envelope, &attributes, &key).inspect_err(|error| {
                    if let Error::Integrity(IntegrityError { attribute }) = error {
                        // A security event worth an alert; the record's key may itself be personal
                        // data, so only the table and the attribute are logged.
                        tracing::warn!(
                            target: "crypt_model::integrity",
                            table = schema.table(),
                            attribute,
                            "integrity check failed"
                        );
                    }
                })?;
            let mut plaintexts = Plaintexts::with_capacity(schema.sensitive().len());
            let fields = opened.for_each_field(|name, value| {
                if let Some(&name) = schema.sensitive().iter().find(|f| **f == name) {
                    plaintexts.push(name, value.to_vec());
                }
            });
            drop(opened);
            fields.ok_or_else(format::message_integrity)?;
            Ok((attributes, plaintexts))
        }
    }
}

/// Refuses the record `permit` admits if it is sealed with a suite not in `suites`, before its
/// data key is asked for.
pub(crate) fn check_suite<T>(schema: &Schema, permit: &Permit<T>, suites: Suites) -> Result<()> {
    let Ok(Layout::Encrypted(envelope)) = permit.record().layout() else {
        return Ok(());
    };
    let suite = envelope.header.suite();
    if suites.contains(suite) {
        return Ok(());
    }
    Err(Error::Data(DataError::SuiteNotAllowed {
        table: schema.table().to_owned(),
        suite,
        allowed: suites.to_string(),
    }))
}

/// The data key of the record `permit` admits, when it is a well-formed encrypted one: from
/// memory when the key source has it, else asked for.
pub(crate) async fn data_key<T>(
    permit: &Permit<T>,
    source: &dyn KeySource,
) -> Result<Option<DataKey>> {
    let Some(admission) = permit.admission() else {
        return Ok(None);
    };
    if let Some(key) = source.cached_opening_key(&admission) {
        return Ok(Some(key));
    }
    source.opening_key(&admission).await.map(Some)
}

/// Whether the record stored in plaintext `attributes` may be read: what the plans say.
async fn plaintext_admitted(
    schema: &Schema,
    attributes: &Item,
    reads: PlaintextReads<'_>,
) -> Result<()> {
    match reads {
        PlaintextReads::Refused => Err(Error::Data(DataError::PlaintextRefused {
            table: schema.table().to_owned(),
            reason: "the table reads no record stored in plaintext without its migration \
                     plans: give them to it (`Table::with_plaintext_migration`, \
                     docs/migration.md); a record opened outside a table is never read in \
                     plaintext"
                .to_owned(),
        })),
        PlaintextReads::Counted(plans, table, _) | PlaintextReads::Job(plans, table) => {
            plans.check(table, schema, attributes).await
        }
        PlaintextReads::Planning => Ok(()),
    }
}

/// Counts and logs a read of a record stored in plaintext: never silent.
fn plaintext_read(schema: &Schema, attributes: &Item, reads: PlaintextReads<'_>) {
    let PlaintextReads::Counted(_, _, counter) = reads else {
        return;
    };
    counter.fetch_add(1, Ordering::Relaxed);
    // `monotonic_counter.` makes the field a counter for a metrics layer
    // (`tracing-opentelemetry`'s `MetricsLayer`), for an alert on it.
    tracing::warn!(
        target: "crypt_model::migration",
        table = schema.table(),
        key = %fingerprint(schema, attributes),
        monotonic_counter.crypt_model_plaintext_reads = 1_u64,
        "read a record stored in plaintext (migration mode): run the migration job"
    );
}
