//! `crypt-model audit`, end to end: the binary against a DynamoDB table on moto (started by
//! `scripts/test`, which exports `CRYPT_MODEL_TEST_ENDPOINT`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};

fn endpoint() -> String {
    std::env::var("CRYPT_MODEL_TEST_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "CRYPT_MODEL_TEST_ENDPOINT is not set: run scripts/test, which starts a local \
             DynamoDB (moto), or start one and export its URL"
        )
    })
}

fn client() -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint())
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .build();
    Client::from_conf(config)
}

async fn table(client: &Client, name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let name = format!("{name}-{}-{nanos}", std::process::id());
    client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    name
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

/// An item as crypt-model stores it: a format-3 header naming key `k1`, a sealed message.
fn encrypted(pk: &str) -> std::collections::HashMap<String, AttributeValue> {
    let mut header = vec![3, 0, 2, b'k', b'1', 0, 4, 9, 9, 9, 9];
    header.extend([7; 64]);
    [
        ("pk".to_owned(), s(pk)),
        ("plan".to_owned(), s("gold")),
        ("__cm_header".to_owned(), AttributeValue::B(header.into())),
        (
            "__cm_sealed".to_owned(),
            AttributeValue::B(b"aZ3kQ9xW2mP7rT5vY8nB1cD4fG6hJ0lK".to_vec().into()),
        ),
    ]
    .into_iter()
    .collect()
}

/// Runs `crypt-model audit` on `table`; its exit code and standard output.
fn audit(table: &str, json: bool) -> (i32, String, String) {
    audit_with(table, json, &[])
}

/// The same, with more arguments.
fn audit_with(table: &str, json: bool, extra: &[&str]) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_crypt-model"));
    command
        .args(["audit", "--table", table, "--segments", "2"])
        .args(extra)
        .env("AWS_ENDPOINT_URL", endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE");
    if json {
        command.arg("--json");
    }
    let out = command.output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[tokio::test]
async fn audit_finds_plaintext_card_numbers_and_ssns_and_exits_1() {
    let client = client();
    let name = table(&client, "cli-audit").await;
    let profile = AttributeValue::M(
        [("email".to_owned(), s("alice@example.com"))]
            .into_iter()
            .collect(),
    );
    client
        .put_item()
        .table_name(&name)
        .item("pk", s("u1"))
        .item("ssn", s("078-05-1120"))
        .item("card", AttributeValue::N("4111111111111111".into()))
        .item("profile", profile)
        .item("plan", s("basic"))
        .send()
        .await
        .unwrap();
    client
        .put_item()
        .table_name(&name)
        .set_item(Some(encrypted("u2")))
        .send()
        .await
        .unwrap();

    let (code, out, err) = audit(&name, true);
    assert_eq!(code, 1, "{out}{err}");
    for secret in ["078-05-1120", "4111111111111111", "alice@example.com"] {
        assert!(!out.contains(secret), "the report shows a secret: {out}");
    }
    // The JSON shape, pinned.
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let record = report["findings"][0]["record"].as_str().unwrap().to_owned();
    assert_eq!(record.len(), 16);
    // Without a model: no field roles, no index coverage, no integrity check.
    let expected = serde_json::json!({
        "table": name,
        "model": null,
        "records": 2,
        "without_header": 1,
        "format_versions": {"3": 1},
        "suites": {"xchacha20poly1305-hkdf-sha256": 1},
        "key_ids": {"k1": 1},
        "malformed_headers": 0,
        "owner_key_ids": null,
        "indexes": {},
        "integrity": null,
        "findings": [
            {"record": record, "attribute": "card", "field": null, "kind": "card_number",
             "requirements": ["PCI-DSS-4.0-3.5.1", "OWASP-API3-2023"]},
            {"record": record, "attribute": "profile.email", "field": null, "kind": "email",
             "requirements": ["GDPR-ART-32", "OWASP-API3-2023"]},
            {"record": record, "attribute": "ssn", "field": null, "kind": "us_ssn",
             "requirements": ["GDPR-ART-32", "OWASP-API3-2023"]},
        ],
        "findings_total": 3,
        "by_attribute": {
            "card": {"card_number": 1},
            "profile": {"email": 1},
            "ssn": {"us_ssn": 1},
        },
    });
    assert_eq!(report, expected);

    // The human report, as a snapshot.
    let (code, out, _) = audit(&name, false);
    assert_eq!(code, 1);
    let snapshot = format!(
        "table {name}: 2 records, 1 without a crypt-model header, 0 malformed headers\n\
         \x20 format version 3: 1 records\n\
         \x20 suite xchacha20poly1305-hkdf-sha256 (not NIST-approved): 1 records\n\
         \x20 key k1: 1 records\n\
         3 values look like plaintext secrets; by attribute:\n\
         \x20 card: 1 card_number\n\
         \x20 profile: 1 email\n\
         \x20 ssn: 1 us_ssn\n\
         the first of them:\n\
         \x20 record {record} attribute card: card_number (PCI-DSS-4.0-3.5.1, OWASP-API3-2023)\n\
         \x20 record {record} attribute profile.email: email (GDPR-ART-32, OWASP-API3-2023)\n\
         \x20 record {record} attribute ssn: us_ssn (GDPR-ART-32, OWASP-API3-2023)\n"
    );
    assert_eq!(out, snapshot);

    // At most --max-findings are listed; all are counted.
    let (code, out, _) = audit_with(&name, false, &["--max-findings", "1"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("3 values look like plaintext secrets; by attribute:"),
        "{out}"
    );
    assert!(out.contains("  and 2 more (see --max-findings)\n"), "{out}");
}

#[tokio::test]
async fn audit_of_an_encrypted_table_exits_0_and_an_error_exits_2() {
    let client = client();
    let name = table(&client, "cli-clean").await;
    for pk in ["a", "b"] {
        client
            .put_item()
            .table_name(&name)
            .set_item(Some(encrypted(pk)))
            .send()
            .await
            .unwrap();
    }
    let (code, out, err) = audit(&name, false);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("no value looks like a plaintext secret"),
        "{out}"
    );

    let (code, _, err) = audit("no-such-table-anywhere", false);
    assert_eq!(code, 2);
    assert!(err.contains("no-such-table-anywhere"), "{err}");
}

#[test]
fn the_published_binary_knows_no_model_and_says_how_to_build_one() {
    for args in [
        &["migrate", "--table", "t"][..],
        &["audit", "--table", "t", "--model", "customers"][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_crypt-model"))
            .args(args)
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .env("AWS_REGION", "us-east-1")
            .output()
            .unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("Cli::new().model::<YourModel>()"), "{err}");
    }
}

#[tokio::test]
async fn secrets_under_the_reserved_prefix_in_binary_or_as_map_keys_are_found_and_not_shown() {
    let client = client();
    let name = table(&client, "cli-hidden").await;
    let mut item = encrypted("u1");
    item.insert("__cm_notes".to_owned(), s("card 4111 1111 1111 1111"));
    item.insert(
        "scan".to_owned(),
        AttributeValue::B(b"ssn 078-05-1120".to_vec().into()),
    );
    let contacts = [("alice@example.com".to_owned(), s("call later"))];
    item.insert(
        "contacts".to_owned(),
        AttributeValue::M(contacts.into_iter().collect()),
    );
    client
        .put_item()
        .table_name(&name)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
    // A plaintext record dressed with a header but no message is not counted as encrypted.
    client
        .put_item()
        .table_name(&name)
        .item("pk", s("u2"))
        .item("__cm_header", encrypted("x")["__cm_header"].clone())
        .send()
        .await
        .unwrap();

    let (code, out, err) = audit(&name, true);
    assert_eq!(code, 1, "{out}{err}");
    for secret in ["4111 1111 1111 1111", "078-05-1120", "alice@example.com"] {
        assert!(!out.contains(secret), "the report shows a secret: {out}");
    }
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let found: Vec<(&str, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["attribute"].as_str().unwrap(),
                f["kind"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("__cm_notes", "card_number"),
            ("contacts.<key 0>", "email"),
            ("scan", "us_ssn"),
        ]
    );
    assert_eq!(report["malformed_headers"], 1);
}
