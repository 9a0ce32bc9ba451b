//! An audit's report: what it holds, as JSON (the documented, stable shape) and as text.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::detect::Kind;

/// The attributes the text report's summary names (the JSON has them all).
const SUMMARISED: usize = 100;

/// One value that looks like a plaintext secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Finding {
    /// A stable digest of the record's key (the first 16 hex digits of SHA-256 over its key
    /// attributes), since the key may be personal data; unkeyed, so a guessable key can be found
    /// from it by trying candidates.
    pub(crate) record: String,
    /// Where in the record: the attribute, and the path into a map or list (`address.line1`,
    /// `tags[2]`).
    pub(crate) attribute: String,
    /// What the model makes of the attribute (`sensitive`, `plain`, `unmodeled`); `None` when the
    /// audit knows no model.
    pub(crate) field: Option<&'static str>,
    /// What it looks like.
    pub(crate) kind: Kind,
}

/// What opening every record found (an audit that knows the model).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Integrity {
    /// Records opened: authentic, under a key the keyring reads.
    pub(crate) opened: u64,
    /// Records whose owner's key was erased: unreadable by design (delete them to free the
    /// space).
    pub(crate) erased: u64,
    /// Records that could not be opened: their digest, and why (never a value).
    pub(crate) failures: Vec<(String, String)>,
}

/// Of the records with a header, how many hold an index's attribute.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Coverage {
    pub(crate) indexed: u64,
    pub(crate) missing: u64,
}

/// What an audit found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Report {
    /// The table.
    pub(crate) table: String,
    /// The model's logical table, when the audit knows the model.
    pub(crate) model: Option<String>,
    /// Records read.
    pub(crate) records: u64,
    /// Records with no crypt-model header: stored in plaintext, or not crypt-model's.
    pub(crate) without_header: u64,
    /// Records by format version (from their header).
    pub(crate) format_versions: BTreeMap<u8, u64>,
    /// Records by the algorithm suite their header names (`aes256gcm-hkdf-sha256`, …).
    pub(crate) suites: BTreeMap<&'static str, u64>,
    /// Records by the key id their header names.
    pub(crate) key_ids: BTreeMap<String, u64>,
    /// Headers that could not be read.
    pub(crate) malformed_headers: u64,
    /// The key table's rows by the key id that wraps them, when it was given.
    pub(crate) owner_key_ids: Option<BTreeMap<String, u64>>,
    /// Each blind index's coverage, by field (an audit that knows the model).
    pub(crate) indexes: BTreeMap<String, Coverage>,
    /// What opening every record found (an audit that knows the model).
    pub(crate) integrity: Option<Integrity>,
    /// The values that look like plaintext secrets (at most `--max-findings` of them).
    pub(crate) findings: Vec<Finding>,
    /// Every finding counted by the record's attribute it is in (its top-level name, or the
    /// placeholder a name that looks like a secret gets) and by kind.
    pub(crate) by_attribute: BTreeMap<String, BTreeMap<&'static str, u64>>,
    /// How many values look like plaintext secrets, listed or not.
    pub(crate) findings_total: u64,
}

impl Report {
    /// Whether anything needs a person's attention: a finding, a header that cannot be read, a
    /// record that does not open.
    pub(crate) fn has_problems(&self) -> bool {
        self.findings_total > 0
            || self.malformed_headers > 0
            || self
                .integrity
                .as_ref()
                .is_some_and(|i| !i.failures.is_empty())
    }

    /// The report as JSON, in the documented shape (`crypt-model-cli/README.md`).
    pub(crate) fn to_json(&self) -> Value {
        let findings: Vec<Value> = self
            .findings
            .iter()
            .map(|f| {
                json!({
                    "record": f.record,
                    "attribute": f.attribute,
                    "field": f.field,
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
        let indexes: BTreeMap<&String, Value> = self
            .indexes
            .iter()
            .map(|(f, c)| (f, json!({"indexed": c.indexed, "missing": c.missing})))
            .collect();
        let integrity = self.integrity.as_ref().map(|i| {
            let failures: Vec<Value> = i
                .failures
                .iter()
                .map(|(record, reason)| json!({"record": record, "reason": reason}))
                .collect();
            json!({"opened": i.opened, "erased": i.erased, "failures": failures})
        });
        json!({
            "table": self.table,
            "model": self.model,
            "records": self.records,
            "without_header": self.without_header,
            "format_versions": versions,
            "suites": self.suites,
            "key_ids": self.key_ids,
            "malformed_headers": self.malformed_headers,
            "owner_key_ids": self.owner_key_ids,
            "indexes": indexes,
            "integrity": integrity,
            "findings": findings,
            "findings_total": self.findings_total,
            "by_attribute": self.by_attribute,
        })
    }

    /// The report for a person: a summary, then a line per finding.
    pub(crate) fn to_text(&self) -> String {
        let mut out = format!(
            "table {}: {} records, {} without a crypt-model header, {} malformed headers\n",
            self.table, self.records, self.without_header, self.malformed_headers
        );
        if let Some(model) = &self.model {
            out.push_str(&format!("  model {model}\n"));
        }
        for (version, n) in &self.format_versions {
            out.push_str(&format!("  format version {version}: {n} records\n"));
        }
        for (suite, n) in &self.suites {
            let approved = if suite_approved(suite) {
                "NIST-approved"
            } else {
                "not NIST-approved"
            };
            out.push_str(&format!("  suite {suite} ({approved}): {n} records\n"));
        }
        for (key_id, n) in &self.key_ids {
            out.push_str(&format!("  key {key_id}: {n} records\n"));
        }
        for (key_id, n) in self.owner_key_ids.iter().flatten() {
            out.push_str(&format!("  key table: key {key_id}: {n} owner keys\n"));
        }
        for (field, c) in &self.indexes {
            out.push_str(&format!(
                "  index on {field}: {} records indexed, {} missing\n",
                c.indexed, c.missing
            ));
        }
        if let Some(integrity) = &self.integrity {
            out.push_str(&format!(
                "  integrity: {} records opened, {} erased, {} failed\n",
                integrity.opened,
                integrity.erased,
                integrity.failures.len()
            ));
            for (record, reason) in &integrity.failures {
                out.push_str(&format!("    record {record}: {reason}\n"));
            }
        }
        if self.findings_total == 0 {
            out.push_str("no value looks like a plaintext secret\n");
        } else {
            out.push_str(&format!(
                "{} values look like plaintext secrets; by attribute:\n",
                self.findings_total
            ));
            for (attribute, kinds) in self.by_attribute.iter().take(SUMMARISED) {
                let kinds: Vec<String> = kinds
                    .iter()
                    .map(|(kind, n)| format!("{n} {kind}"))
                    .collect();
                out.push_str(&format!("  {attribute}: {}\n", kinds.join(", ")));
            }
            if let Some(more) = self
                .by_attribute
                .len()
                .checked_sub(SUMMARISED)
                .filter(|n| *n > 0)
            {
                out.push_str(&format!("  and {more} more attributes (see --json)\n"));
            }
            if !self.findings.is_empty() {
                out.push_str("the first of them:\n");
            }
            for f in &self.findings {
                let field = f.field.map(|r| format!(" ({r} field)")).unwrap_or_default();
                out.push_str(&format!(
                    "  record {} attribute {}{field}: {} ({})\n",
                    f.record,
                    f.attribute,
                    f.kind.name(),
                    f.kind.requirements().join(", ")
                ));
            }
            let unlisted = self.findings_total - self.findings.len() as u64;
            if unlisted > 0 {
                out.push_str(&format!("  and {unlisted} more (see --max-findings)\n"));
            }
        }
        out
    }
}

/// Whether the suite named `name` is NIST-approved.
fn suite_approved(name: &str) -> bool {
    crypt_model::format::Suite::ALL
        .into_iter()
        .any(|suite| suite.name() == name && suite.nist_approved())
}
