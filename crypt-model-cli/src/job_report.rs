//! A job's report, in text and in JSON (the shapes the README documents).

use crypt_model::lifecycle::JobReport;
use crypt_model::{Key, Schema};
use serde_json::{Value, json};

use crate::audit::{attribute_text, digest};

/// A record's digest, as the audit names it.
pub(crate) fn key_digest(schema: &Schema, key: &Key) -> String {
    let mut parts = vec![(schema.partition_key(), attribute_text(&key.partition))];
    if let (Some(name), Some(sort)) = (schema.sort_key(), &key.sort) {
        parts.push((name, attribute_text(sort)));
    }
    digest(&parts)
}

/// A record's key attributes, by name, as text (binary in hex): `--show-keys`.
fn key_fields(schema: &Schema, key: &Key) -> Vec<(String, String)> {
    let mut fields = vec![(
        schema.partition_key().to_owned(),
        attribute_text(&key.partition),
    )];
    if let (Some(name), Some(sort)) = (schema.sort_key(), &key.sort) {
        fields.push((name.to_owned(), attribute_text(sort)));
    }
    fields
}

/// What a report shows besides the job's.
#[derive(Clone, Copy)]
pub(crate) struct Shown {
    pub(crate) dry_run: bool,
    /// The key table's rows a rotation rewrapped.
    pub(crate) rows: Option<u64>,
    /// The failed records' keys beside their digests (`--show-keys`).
    pub(crate) keys: bool,
}

pub(crate) fn to_json(report: &JobReport, schema: &Schema, shown: Shown) -> Value {
    let Shown { dry_run, rows, .. } = shown;
    let c = &report.counts;
    let failed: Vec<Value> = report
        .failed
        .iter()
        .map(|f| {
            let mut entry = json!({"record": key_digest(schema, &f.key), "reason": f.reason});
            if shown.keys {
                entry["key"] = key_fields(schema, &f.key).into_iter().collect();
            }
            entry
        })
        .collect();
    json!({
        "job": report.job,
        "complete": report.is_complete(),
        "stopped": report.stopped,
        "dry_run": dry_run,
        "segments": {
            "total": report.total_segments,
            "run": report.segments.end - report.segments.start,
            "done": report.segments_done,
        },
        "counts": {
            "seen": c.seen, "changed": c.changed, "unchanged": c.unchanged,
            "skipped": c.skipped, "erased": c.erased, "failed": c.failed,
            "plaintext": c.plaintext,
        },
        "failed": failed,
        "throttled": report.throttled,
        "key_ids": report.key_ids,
        "suites": report.suites,
        "owner_keys_rewrapped": rows,
    })
}

pub(crate) fn to_text(report: &JobReport, schema: &Schema, shown: Shown) -> String {
    let Shown { dry_run, rows, .. } = shown;
    let c = &report.counts;
    let state = if report.is_complete() {
        "complete".to_owned()
    } else if report.stopped {
        "stopped (run the same command again to go on: with --resume, unless it is a --worker)"
            .to_owned()
    } else {
        "incomplete".to_owned()
    };
    let mut out = format!(
        "{}: {state}, {} of {} segments done{}\n",
        report.job,
        report.segments_done,
        report.segments.end - report.segments.start,
        if dry_run {
            " (dry run: nothing written)"
        } else {
            ""
        }
    );
    out.push_str(&format!(
        "  {} records: {} changed, {} unchanged, {} skipped, {} erased, {} failed; {} still in \
         plaintext\n",
        c.seen, c.changed, c.unchanged, c.skipped, c.erased, c.failed, c.plaintext
    ));
    if report.throttled > 0 {
        out.push_str(&format!(
            "  throttled {} times: slowed to {:.0} records per second, {} at the end\n",
            report.throttled,
            report.slowest_rate.unwrap_or_default(),
            report
                .final_rate
                .map_or("no limit".to_owned(), |rate| format!("{rate:.0}"))
        ));
    }
    for (key_id, n) in &report.key_ids {
        out.push_str(&format!("  key {}: {n} records\n", printable(key_id)));
    }
    for (suite, n) in &report.suites {
        out.push_str(&format!("  suite {suite}: {n} records\n"));
    }
    if let Some(rows) = rows {
        out.push_str(&format!("  key table: {rows} owner keys rewrapped\n"));
    }
    for f in &report.failed {
        let key = match shown.keys {
            true => {
                let fields: Vec<String> = key_fields(schema, &f.key)
                    .into_iter()
                    .map(|(name, value)| format!("{name}={}", printable(&value)))
                    .collect();
                format!(" ({})", fields.join(", "))
            }
            false => String::new(),
        };
        out.push_str(&format!(
            "  failed: record {}{key}: {}\n",
            key_digest(schema, &f.key),
            printable(&f.reason)
        ));
    }
    out
}

/// `text` without control characters (a failure's reason names attributes, which anyone who can
/// write the table chooses): nothing it holds can move a terminal's cursor.
pub(crate) fn printable(text: &str) -> String {
    text.chars()
        .map(|c| match c.is_control() || hides_text(c) {
            true => '?',
            false => c,
        })
        .collect()
}

/// Whether `c` reorders or hides the text around it on a terminal (bidirectional controls,
/// zero-width format characters).
fn hides_text(c: char) -> bool {
    matches!(c,
        '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}
