//! `crypt-model audit`: a scan of a DynamoDB table for values that look like plaintext secrets,
//! and for where its encryption stands (format versions and key ids in use, records without a
//! header). It needs no model: it reads every attribute but crypt-model's own.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::detect::{self, Kind};

/// Attribute names that start with this are crypt-model's (header, message, index values):
/// ciphertext, not scanned.
const RESERVED_PREFIX: &str = "__cm";
const HEADER: &str = "__cm_header";

/// One value that looks like a plaintext secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// A stable digest of the record's key (the first 16 hex digits of SHA-256 over its key
    /// attributes), since the key may be personal data; unkeyed, so a guessable key can be found
    /// from it by trying candidates.
    pub record: String,
    /// Where in the record: the attribute, and the path into a map or list (`address.line1`,
    /// `tags[2]`).
    pub attribute: String,
    /// What it looks like.
    pub kind: Kind,
}

/// What an audit found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The table.
    pub table: String,
    /// Records read.
    pub records: u64,
    /// Records with no crypt-model header: stored in plaintext, or not crypt-model's.
    pub without_header: u64,
    /// Records by format version (from their header).
    pub format_versions: BTreeMap<u8, u64>,
    /// Records by the key id their header names.
    pub key_ids: BTreeMap<String, u64>,
    /// Headers that could not be read.
    pub malformed_headers: u64,
    /// The values that look like plaintext secrets.
    pub findings: Vec<Finding>,
}

impl Report {
    /// The report as JSON, in the documented shape (`crypt-model-cli/README.md`): stable keys,
    /// findings in scan order.
    pub fn to_json(&self) -> Value {
        let findings: Vec<Value> = self
            .findings
            .iter()
            .map(|f| {
                json!({
                    "record": f.record,
                    "attribute": f.attribute,
                    "kind": f.kind.name(),
                    "requirements": f.kind.requirements(),
                })
            })
            .collect();
        let versions: BTreeMap<String, u64> = self
            .format_versions
            .iter()
            .map(|(v, n)| (v.to_string(), *n))
            .collect();
        json!({
            "table": self.table,
            "records": self.records,
            "without_header": self.without_header,
            "format_versions": versions,
            "key_ids": self.key_ids,
            "malformed_headers": self.malformed_headers,
            "findings": findings,
        })
    }

    /// The report for a person: a summary, then a line per finding.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "table {}: {} records, {} without a crypt-model header, {} malformed headers\n",
            self.table, self.records, self.without_header, self.malformed_headers
        );
        for (version, n) in &self.format_versions {
            out.push_str(&format!("  format version {version}: {n} records\n"));
        }
        for (key_id, n) in &self.key_ids {
            out.push_str(&format!("  key {key_id}: {n} records\n"));
        }
        if self.findings.is_empty() {
            out.push_str("no value looks like a plaintext secret\n");
        } else {
            out.push_str(&format!(
                "{} values look like plaintext secrets:\n",
                self.findings.len()
            ));
            for f in &self.findings {
                out.push_str(&format!(
                    "  record {} attribute {}: {} ({})\n",
                    f.record,
                    f.attribute,
                    f.kind.name(),
                    f.kind.requirements().join(", ")
                ));
            }
        }
        out
    }
}

/// Audits `table`, scanning it in `segments` parallel segments.
pub async fn audit(client: &Client, table: &str, segments: u32) -> Result<Report, String> {
    let keys = key_names(client, table).await?;
    let scans = (0..segments).map(|segment| scan_segment(client, table, segment, segments));
    let mut report = Report {
        table: table.to_owned(),
        ..Report::default()
    };
    for items in futures_util::future::join_all(scans).await {
        for item in items? {
            record(&mut report, &keys, &item);
        }
    }
    Ok(report)
}

/// The table's key attribute names.
async fn key_names(client: &Client, table: &str) -> Result<Vec<String>, String> {
    let described = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| format!("cannot describe table `{table}`: {}", error_text(&e)))?;
    Ok(described
        .table()
        .map(|t| {
            t.key_schema()
                .iter()
                .map(|k| k.attribute_name().to_owned())
                .collect()
        })
        .unwrap_or_default())
}

async fn scan_segment(
    client: &Client,
    table: &str,
    segment: u32,
    segments: u32,
) -> Result<Vec<std::collections::HashMap<String, AttributeValue>>, String> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .segment(segment as i32)
            .total_segments(segments as i32)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| format!("cannot scan table `{table}`: {}", error_text(&e)))?;
        items.extend(page.items.unwrap_or_default());
        start = page.last_evaluated_key;
        if start.is_none() {
            return Ok(items);
        }
    }
}

fn error_text<E: std::error::Error + 'static>(error: &E) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// Counts one record and scans its attributes.
fn record(
    report: &mut Report,
    keys: &[String],
    item: &std::collections::HashMap<String, AttributeValue>,
) {
    report.records += 1;
    match item.get(HEADER) {
        Some(AttributeValue::B(bytes)) => match parse_header(bytes.as_ref()) {
            Some((version, key_id)) => {
                *report.format_versions.entry(version).or_default() += 1;
                *report.key_ids.entry(key_id).or_default() += 1;
            }
            None => report.malformed_headers += 1,
        },
        Some(_) => report.malformed_headers += 1,
        None => report.without_header += 1,
    }
    let digest = record_digest(keys, item);
    let mut names: Vec<&String> = item
        .keys()
        .filter(|n| !n.starts_with(RESERVED_PREFIX))
        .collect();
    names.sort();
    for name in names {
        walk(report, &digest, name, &item[name]);
    }
}

/// The version byte and key id of a header (`u8(version) || u16(len) || key id || …`).
fn parse_header(bytes: &[u8]) -> Option<(u8, String)> {
    let (&version, rest) = bytes.split_first()?;
    let (len, rest) = rest.split_first_chunk::<2>()?;
    let key_id = rest.get(..usize::from(u16::from_be_bytes(*len)))?;
    let key_id = std::str::from_utf8(key_id).ok()?;
    key_id
        .bytes()
        .all(|b| b.is_ascii_graphic())
        .then(|| (version, key_id.to_owned()))
}

fn record_digest(
    keys: &[String],
    item: &std::collections::HashMap<String, AttributeValue>,
) -> String {
    let mut hasher = Sha256::new();
    for name in keys {
        hasher.update((name.len() as u32).to_be_bytes());
        hasher.update(name.as_bytes());
        let value = match item.get(name) {
            Some(AttributeValue::S(s)) => s.clone(),
            Some(AttributeValue::N(n)) => n.clone(),
            Some(AttributeValue::B(b)) => b.as_ref().iter().map(|x| format!("{x:02x}")).collect(),
            _ => String::new(),
        };
        hasher.update((value.len() as u32).to_be_bytes());
        hasher.update(value.as_bytes());
    }
    hasher.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Scans a value and what it holds.
fn walk(report: &mut Report, record: &str, path: &str, value: &AttributeValue) {
    let text = |report: &mut Report, s: &str| {
        for found in detect::scan(s) {
            report.findings.push(Finding {
                record: record.to_owned(),
                attribute: path.to_owned(),
                kind: found.kind,
            });
        }
    };
    match value {
        AttributeValue::S(s) | AttributeValue::N(s) => text(report, s),
        AttributeValue::Ss(members) | AttributeValue::Ns(members) => {
            for member in members {
                text(report, member);
            }
        }
        AttributeValue::L(values) => {
            for (i, value) in values.iter().enumerate() {
                walk(report, record, &format!("{path}[{i}]"), value);
            }
        }
        AttributeValue::M(entries) => {
            let mut names: Vec<&String> = entries.keys().collect();
            names.sort();
            for name in names {
                walk(report, record, &format!("{path}.{name}"), &entries[name]);
            }
        }
        _ => {}
    }
}
