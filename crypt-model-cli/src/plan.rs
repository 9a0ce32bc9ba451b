//! `plan`: what a job will cost before it runs — records, read and write units, KMS calls, time
//! at a given rate and number of workers — from the table's description, with its assumptions.

use std::process::ExitCode;

use clap::{Args, ValueEnum};
use serde_json::json;

use crate::connect::Aws;
use crate::progress::duration;

/// Bytes a record gains when it is encrypted: the header, the salt, the sealed message's tag
/// and framing (docs/format.md), rounded up.
const SEALING_BYTES: u64 = 150;
/// The records a data key seals by default (`CacheLimits::default`).
const RECORDS_PER_DATA_KEY: u64 = 10_000;
/// An on-demand table's default write quota, request units per second.
const ON_DEMAND_WRITES: u64 = 40_000;
/// Records per page, as the jobs scan by default.
const PAGE: u64 = 100;

/// Which job to plan.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum Planned {
    /// `migrate`: every record stored in plaintext encrypted.
    Migrate,
    /// `rotate`: every record rewritten under the primary key.
    Rotate,
    /// `backfill-index`: every record's blind-index attributes written.
    BackfillIndex,
}

/// What to plan.
#[derive(Args, Debug)]
pub(crate) struct PlanJobArgs {
    /// The job.
    #[arg(value_enum)]
    job: Planned,
    /// The DynamoDB table.
    #[arg(long)]
    table: String,
    /// Workers that will run the job.
    #[arg(long, default_value_t = 1)]
    workers: u32,
    /// Segments each worker runs at once (`--concurrent`).
    #[arg(long, default_value_t = 4)]
    concurrent: u32,
    /// The job's rate budget, records per second (`--job-rate`); by default, what the table's
    /// write capacity allows at --capacity-share.
    #[arg(long)]
    rate: Option<u64>,
    /// The share of the table's write capacity (provisioned; on demand, the default quota of
    /// 40,000 write units a second) the job may take, 0 to 1.
    #[arg(long, default_value_t = 0.5)]
    capacity_share: f64,
    /// The time one conditional write takes, in milliseconds: a segment does one record at a
    /// time.
    #[arg(long, default_value_t = 8.0)]
    latency_ms: f64,
    /// The plan as JSON.
    #[arg(long)]
    json: bool,
}

/// What the table's description says.
struct Described {
    records: u64,
    bytes: u64,
    /// Provisioned write capacity; `None` on demand.
    write_capacity: Option<u64>,
    indexes: u64,
}

/// Prints the plan.
pub(crate) async fn run(aws: &Aws, args: &PlanJobArgs) -> Result<ExitCode, String> {
    if !(args.capacity_share.is_finite() && args.capacity_share > 0.0 && args.capacity_share <= 1.0)
    {
        return Err("--capacity-share is more than 0 and at most 1".to_owned());
    }
    let latency_ok = args.latency_ms.is_finite() && args.latency_ms > 0.0;
    if !latency_ok || args.workers == 0 || args.concurrent == 0 {
        return Err("--latency-ms, --workers and --concurrent are more than 0".to_owned());
    }
    let table = &args.table;
    let description = aws.describe(table).await?;
    let count = |n: Option<i64>| n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
    let table = Described {
        records: count(description.item_count()),
        bytes: count(description.table_size_bytes()),
        write_capacity: description
            .provisioned_throughput()
            .and_then(|p| p.write_capacity_units())
            .and_then(|n| u64::try_from(n).ok())
            .filter(|n| *n > 0),
        indexes: description.global_secondary_indexes().len() as u64,
    };
    let plan = Plan::of(&table, args);
    if args.json {
        println!("{}", plan.to_json(args));
    } else {
        print!("{}", plan.to_text(args));
    }
    Ok(ExitCode::SUCCESS)
}

/// The arithmetic of docs/scale.md.
struct Plan {
    records: u64,
    item_bytes: u64,
    read_units: u64,
    write_units_per_record: u64,
    write_units: u64,
    job_table_writes: u64,
    kms_calls: u64,
    rate: f64,
    bounded_by: &'static str,
    seconds: u64,
    write_quota: u64,
}

impl Plan {
    fn of(table: &Described, args: &PlanJobArgs) -> Plan {
        let records = table.records;
        let stored = table.bytes.checked_div(records).unwrap_or(0);
        // A migration's records grow by their sealing; the others' keep their size.
        let item_bytes = match args.job {
            Planned::Migrate => stored + SEALING_BYTES,
            _ => stored,
        };
        // A write costs a unit per KB of the larger item, on the table and on each index the
        // record is in (at most every one).
        let per_record = item_bytes.div_ceil(1024).max(1) * (1 + table.indexes);
        let read_units = table.bytes.div_ceil(4096).div_ceil(2);
        let segments = u64::from(args.workers) * u64::from(args.concurrent);
        let write_quota = table.write_capacity.unwrap_or(ON_DEMAND_WRITES);
        let by_capacity = write_quota as f64 * args.capacity_share / per_record as f64;
        let by_workers = segments as f64 * 1000.0 / args.latency_ms;
        let (rate, bounded_by) = match args.rate {
            Some(rate) if (rate as f64) < by_capacity.min(by_workers) => {
                (rate as f64, "the rate given")
            }
            _ if by_workers < by_capacity => (by_workers, "the workers"),
            _ => (by_capacity, "the table's write capacity"),
        };
        let seconds = (records as f64 / rate.max(1.0)).ceil() as u64;
        let kms_calls = match args.job {
            // One data key per 10,000 records, and one per worker per 5 minutes.
            Planned::Migrate | Planned::Rotate => {
                records.div_ceil(RECORDS_PER_DATA_KEY)
                    + u64::from(args.workers) * (seconds / 300 + 1)
            }
            Planned::BackfillIndex => records.div_ceil(RECORDS_PER_DATA_KEY),
        };
        Plan {
            records,
            item_bytes,
            read_units,
            write_units_per_record: per_record,
            write_units: records * per_record,
            job_table_writes: records.div_ceil(PAGE),
            kms_calls,
            rate,
            bounded_by,
            seconds,
            write_quota,
        }
    }

    fn to_text(&self, args: &PlanJobArgs) -> String {
        let job = match args.job {
            Planned::Migrate => "migrate",
            Planned::Rotate => "rotate",
            Planned::BackfillIndex => "backfill-index",
        };
        let mut out = format!(
            "{job} {}: about {} records of about {} bytes\n",
            args.table, self.records, self.item_bytes
        );
        out.push_str(&format!(
            "  reads: {} read units (the scan, eventually consistent)\n",
            self.read_units
        ));
        out.push_str(&format!(
            "  writes: {} write units ({} per record, with the table's indexes), and {} \
             checkpoint writes to the job table\n",
            self.write_units, self.write_units_per_record, self.job_table_writes
        ));
        out.push_str(&format!(
            "  KMS: about {} calls (one data key per 10,000 records, one per worker per 5 \
             minutes; a rotation's rewrap: one per data key the writers made)\n",
            self.kms_calls
        ));
        out.push_str(&format!(
            "  time: about {} at {:.0} records per second, bounded by {} ({} workers × {} \
             segments at {} ms a write; {:.0} % of {} write units a second)\n",
            duration(self.seconds as f64),
            self.rate,
            self.bounded_by,
            args.workers,
            args.concurrent,
            args.latency_ms,
            args.capacity_share * 100.0,
            self.write_quota
        ));
        out.push_str(
            "  assumptions: DynamoDB's item count and size (refreshed about every six hours); \
             every record written once; a conditional write per record; see docs/scale.md\n",
        );
        out
    }

    fn to_json(&self, args: &PlanJobArgs) -> serde_json::Value {
        json!({
            "table": args.table,
            "records": self.records,
            "item_bytes": self.item_bytes,
            "read_units": self.read_units,
            "write_units": self.write_units,
            "write_units_per_record": self.write_units_per_record,
            "job_table_writes": self.job_table_writes,
            "kms_calls": self.kms_calls,
            "records_per_second": self.rate.round() as u64,
            "bounded_by": self.bounded_by,
            "seconds": self.seconds,
        })
    }
}
