//! `crypt-model audit`: a scan of a DynamoDB table for values that look like plaintext secrets,
//! and for where its encryption stands (format versions and key ids in use, records without a
//! header, the key table's keys). It needs no model: it reads every attribute but crypt-model's
//! ciphertexts. Given the model's schema it also says which field each finding is in, reports a
//! sensitive field stored in plaintext whatever it looks like, and counts each blind index's
//! coverage (the caller adds the integrity check, which needs the keys).

use crypt_model::error::DataError;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use crypt_model::Schema;
use crypt_model::format::Header;
use sha2::{Digest, Sha256};

use crate::connect::error_text;
use crate::detect::{self, Kind};

mod report;

use report::{Coverage, Finding};
pub(crate) use report::{Integrity, Report};

type SdkItem = HashMap<String, AttributeValue>;

// crypt-model's ciphertexts, not scanned: the header, the message, and the index values.
use crypt_model::format::{HEADER_ATTRIBUTE as HEADER, SEALED_ATTRIBUTE as SEALED};

/// The start of a blind index attribute's name (`__cm_ix_<field>`), whose binary values are
/// keyed hashes.
use crypt_model::blind_index::INDEX_ATTRIBUTE_PREFIX as INDEX_PREFIX;

/// Audits `table`, scanning it in `segments` parallel segments; with the model's `schema` when
/// known, and the key table `owner_keys` when given. At most `max_findings` findings are kept
/// (all are counted). Each page is counted and dropped as it comes: the audit holds no more of
/// the table than a page per segment.
pub(crate) async fn audit(
    client: &Client,
    table: &str,
    segments: u32,
    schema: Option<&Schema>,
    owner_keys: Option<&str>,
    max_findings: usize,
) -> Result<Report, String> {
    let keys = key_names(client, table).await?;
    let mut report = Report {
        table: table.to_owned(),
        model: schema.map(|s| s.table().to_owned()),
        ..Report::default()
    };
    for spec in schema.map(Schema::blind_indexes).unwrap_or_default() {
        report
            .indexes
            .insert(spec.field().to_owned(), Coverage::default());
    }
    let state = Mutex::new(report);
    scan(client, table, segments, &|item| {
        let mut report = state.lock().unwrap_or_else(PoisonError::into_inner);
        record(&mut report, &keys, schema, item);
        if report.findings.len() > max_findings.saturating_mul(2).max(1024) {
            keep_first(&mut report.findings, max_findings);
        }
    })
    .await?;
    let mut report = state.into_inner().unwrap_or_else(PoisonError::into_inner);
    keep_first(&mut report.findings, max_findings);
    if let Some(key_table) = owner_keys {
        let by_key = Mutex::new(BTreeMap::new());
        scan(client, key_table, segments, &|row| {
            if let Some(AttributeValue::S(key_id)) = row.get("key_id") {
                let mut by_key = by_key.lock().unwrap_or_else(PoisonError::into_inner);
                *by_key.entry(key_id.clone()).or_default() += 1;
            }
        })
        .await?;
        report.owner_key_ids = Some(by_key.into_inner().unwrap_or_else(PoisonError::into_inner));
    }
    Ok(report)
}

/// Sorts findings (by record digest, attribute, kind) and keeps the first `max`: the same
/// findings whatever the order of the scan's pages.
fn keep_first(findings: &mut Vec<Finding>, max: usize) {
    findings.sort_by(|a, b| {
        (&a.record, &a.attribute, a.kind.name()).cmp(&(&b.record, &b.attribute, b.kind.name()))
    });
    findings.truncate(max);
}

/// Gives `visit` each item of `table`, over `segments` parallel segments.
async fn scan(
    client: &Client,
    table: &str,
    segments: u32,
    visit: &(dyn Fn(&SdkItem) + Sync),
) -> Result<(), String> {
    let scans = (0..segments).map(|segment| scan_segment(client, table, segment, segments, visit));
    futures_util::future::join_all(scans)
        .await
        .into_iter()
        .collect()
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
    visit: &(dyn Fn(&SdkItem) + Sync),
) -> Result<(), String> {
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
        for item in page.items() {
            visit(item);
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            return Ok(());
        }
    }
}

/// Counts one record and scans its attributes.
fn record(report: &mut Report, keys: &[String], schema: Option<&Schema>, item: &SdkItem) {
    report.records += 1;
    let findings_before = report.findings.len();
    let has_header = item.contains_key(HEADER);
    let sealed = matches!(item.get(SEALED), Some(AttributeValue::B(_)));
    match item.get(HEADER) {
        // The library's own reading of a header: its version, then its key id.
        Some(AttributeValue::B(bytes)) => match Header::parse(bytes.as_ref()) {
            Ok(header) if sealed => {
                *report.format_versions.entry(header.version()).or_default() += 1;
                *report.suites.entry(header.suite().name()).or_default() += 1;
                *report
                    .key_ids
                    .entry(header.key_id().to_owned())
                    .or_default() += 1;
            }
            // A later format than this build reads: counted by its version, its key id unread.
            Err(crypt_model::Error::Data(DataError::UnsupportedVersion { version, .. }))
                if sealed =>
            {
                *report.format_versions.entry(version).or_default() += 1;
            }
            _ => report.malformed_headers += 1,
        },
        Some(_) => report.malformed_headers += 1,
        None => report.without_header += 1,
    }
    let parts: Vec<(&str, String)> = keys
        .iter()
        .map(|name| {
            (
                name.as_str(),
                item.get(name).map(sdk_text).unwrap_or_default(),
            )
        })
        .collect();
    let record = digest(&parts);
    // Every attribute but crypt-model's ciphertexts: its header, its message, its index values.
    // Another attribute under the reserved prefix is scanned like any other.
    let mut names: Vec<(&String, &AttributeValue)> = item
        .iter()
        .filter(|(name, value)| {
            let index = name.starts_with(INDEX_PREFIX) && matches!(value, AttributeValue::B(_));
            *name != HEADER && *name != SEALED && !index
        })
        .collect();
    names.sort_by_key(|(name, _)| *name);
    for (i, (name, value)) in names.into_iter().enumerate() {
        let field = schema.map(|s| field_role(s, name));
        let before = report.findings.len();
        let path = label(
            report,
            &record,
            field,
            "",
            name,
            &format!("<attribute {i}>"),
        );
        walk(report, &record, field, &path, value);
        // A sensitive field in plain is a finding whatever it looks like.
        if field == Some("sensitive") && report.findings.len() == before {
            report.findings.push(Finding {
                record: record.clone(),
                attribute: path,
                field,
                kind: Kind::SensitiveField,
            });
        }
    }
    report.findings_total += (report.findings.len() - findings_before) as u64;
    let new: Vec<(String, &'static str)> = report.findings[findings_before..]
        .iter()
        .map(|f| (top_level(&f.attribute).to_owned(), f.kind.name()))
        .collect();
    for (attribute, kind) in new {
        *report
            .by_attribute
            .entry(attribute)
            .or_default()
            .entry(kind)
            .or_default() += 1;
    }
    if has_header {
        for spec in schema.map(Schema::blind_indexes).unwrap_or_default() {
            let coverage = report.indexes.entry(spec.field().to_owned()).or_default();
            if item.contains_key(spec.attribute()) {
                coverage.indexed += 1;
            } else {
                coverage.missing += 1;
            }
        }
    }
}

/// What the model makes of a stored attribute.
fn field_role(schema: &Schema, name: &str) -> &'static str {
    let plain = [
        Some(schema.partition_key()),
        schema.sort_key(),
        Some(schema.owner()),
        schema.version(),
    ];
    if schema.sensitive().contains(&name) {
        "sensitive"
    } else if plain.contains(&Some(name))
        || schema.plain().contains(&name)
        || schema.unauthenticated().contains(&name)
    {
        "plain"
    } else {
        "unmodeled"
    }
}

/// A record's name in reports: the first 16 hex digits of SHA-256 over its key attributes'
/// names and values (`attribute_text`).
pub(crate) fn digest(parts: &[(&str, String)]) -> String {
    let mut hasher = Sha256::new();
    for (name, value) in parts {
        hasher.update((name.len() as u32).to_be_bytes());
        hasher.update(name.as_bytes());
        hasher.update((value.len() as u32).to_be_bytes());
        hasher.update(value.as_bytes());
    }
    hex::encode(&hasher.finalize()[..8])
}

/// A key value's text for the digest: a string or number as stored, binary in hex.
fn sdk_text(value: &AttributeValue) -> String {
    match value {
        AttributeValue::S(s) | AttributeValue::N(s) => s.clone(),
        AttributeValue::B(b) => hex::encode(b.as_ref()),
        _ => String::new(),
    }
}

/// [`sdk_text`] of the library's attribute values, so that a job's report names a record as the
/// audit does.
pub(crate) fn attribute_text(value: &crypt_model::AttributeValue) -> String {
    match value {
        crypt_model::AttributeValue::S(s) | crypt_model::AttributeValue::N(s) => s.clone(),
        crypt_model::AttributeValue::B(b) => hex::encode(b),
        _ => String::new(),
    }
}

/// The record's attribute a finding's path is in (`address` of `address.line1`, `tags` of
/// `tags[2]`).
fn top_level(path: &str) -> &str {
    path.split(['.', '[']).next().unwrap_or(path)
}

/// Whether the attribute at `path` is named as a phone number is (`phone`, `mobile_number`,
/// `phones[0]`, `contact.phone.home`, `cellPhone`), and not as something about one
/// (`phone_verified_at`, `phone_country_code`): there, digits alone are one.
fn phone_named(path: &str) -> bool {
    const PHONE: [&str; 11] = [
        "phone",
        "phones",
        "telephone",
        "tel",
        "mobile",
        "cell",
        "cellphone",
        "msisdn",
        "fax",
        "phonenumber",
        "mobilenumber",
    ];
    const ABOUT: [&str; 14] = [
        "at",
        "id",
        "ids",
        "count",
        "ts",
        "time",
        "verified",
        "type",
        "country",
        "code",
        "ext",
        "extension",
        "prefix",
        "status",
    ];
    let segments: Vec<Vec<String>> = path
        .split('.')
        .map(|segment| words(segment.split('[').next().unwrap_or(segment)))
        .collect();
    let named = segments
        .iter()
        .any(|words| words.iter().any(|word| PHONE.contains(&word.as_str())));
    let about = (segments.last().and_then(|words| words.last()))
        .is_some_and(|word| ABOUT.contains(&word.as_str()));
    named && !about
}

/// The lower-case words of a name: split at `_`, `-`, spaces and lower-to-upper case changes.
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if matches!(c, '_' | '-' | ' ') || (c.is_uppercase() && previous_lower) {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            if matches!(c, '_' | '-' | ' ') {
                previous_lower = false;
                continue;
            }
        }
        previous_lower = c.is_lowercase();
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Scans a value and what it holds.
fn walk(
    report: &mut Report,
    record: &str,
    field: Option<&'static str>,
    path: &str,
    value: &AttributeValue,
) {
    let text = |report: &mut Report, s: &str| {
        let mut kinds: Vec<Kind> = detect::scan(s).into_iter().map(|f| f.kind).collect();
        // A phone number stored as digits alone (a number, or a string) where the attribute
        // says it is one.
        if kinds.is_empty() && phone_named(path) && detect::is_phone_digits(s) {
            kinds.push(Kind::Phone);
        }
        for kind in kinds {
            report.findings.push(Finding {
                record: record.to_owned(),
                attribute: path.to_owned(),
                field,
                kind,
            });
        }
    };
    // Binary values are scanned as text when they are text.
    let binary = |report: &mut Report, b: &[u8]| {
        if let Ok(s) = std::str::from_utf8(b) {
            text(report, s);
        }
    };
    match value {
        AttributeValue::S(s) | AttributeValue::N(s) => text(report, s),
        AttributeValue::B(b) => binary(report, b.as_ref()),
        AttributeValue::Ss(members) | AttributeValue::Ns(members) => {
            for member in members {
                text(report, member);
            }
        }
        AttributeValue::Bs(members) => {
            for member in members {
                binary(report, member.as_ref());
            }
        }
        AttributeValue::L(values) => {
            for (i, value) in values.iter().enumerate() {
                walk(report, record, field, &format!("{path}[{i}]"), value);
            }
        }
        AttributeValue::M(entries) => {
            let mut names: Vec<&String> = entries.keys().collect();
            names.sort();
            for (i, name) in names.into_iter().enumerate() {
                let path = label(report, record, field, path, name, &format!("<key {i}>"));
                walk(report, record, field, &path, &entries[name]);
            }
        }
        _ => {}
    }
}

/// The path to the attribute or map key `name` under `parent`. A name that itself looks like a
/// secret (a map keyed by email addresses) is a finding, and the path shows `placeholder`
/// instead of it, so that the report never holds the value.
fn label(
    report: &mut Report,
    record: &str,
    field: Option<&'static str>,
    parent: &str,
    name: &str,
    placeholder: &str,
) -> String {
    let found = detect::scan(name);
    let shown = if found.is_empty() { name } else { placeholder };
    let path = if parent.is_empty() {
        shown.to_owned()
    } else {
        format!("{parent}.{shown}")
    };
    for found in found {
        report.findings.push(Finding {
            record: record.to_owned(),
            attribute: path.clone(),
            field,
            kind: found.kind,
        });
    }
    path
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_attribute_is_named_as_a_phone_by_its_words() {
        for phone in [
            "phone",
            "mobile_number",
            "phones[0]",
            "contact.phone.home",
            "cellPhone",
            "Tel",
            "fax",
        ] {
            assert!(super::phone_named(phone), "{phone}");
        }
        for other in [
            "cancelled_at",
            "phone_verified_at",
            "automobile_id",
            "excellence_score",
            "phone_country_code",
            "hotel",
            "phoneCount",
        ] {
            assert!(!super::phone_named(other), "{other}");
        }
    }
}
