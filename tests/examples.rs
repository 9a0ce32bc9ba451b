//! The examples run and say what the README promises, and print no secret.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use crypt_model_tests::example;

mod moto;

/// Runs an example and returns its output.
fn run_example(name: &str) -> String {
    run_example_with(name, &[])
}

/// Runs an example with arguments.
fn run_example_with(name: &str, args: &[&str]) -> String {
    let output = Command::new(example(name))
        .args(args)
        .output()
        .expect("the example runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "example {name} failed:\n{stdout}\n{stderr}"
    );
    stdout
}

#[test]
fn encrypt_one_record_stores_ciphertext_opens_for_the_owner_and_refuses_others() {
    let out = run_example("encrypt_one_record");
    let stored = out.split("Opened by alice").next().unwrap();
    assert!(stored.contains("__cm_header"), "{out}");
    assert!(
        stored.contains("__cm_sealed")
            && stored.contains("bytes, ciphertext")
            && !stored.contains("ssn"),
        "{out}"
    );
    for secret in ["078-05-1120", "alice@example.com"] {
        assert!(
            !stored.contains(secret),
            "plaintext in the stored item: {out}"
        );
    }
    assert!(out.contains("Opened by alice: ssn = 078-05-1120"), "{out}");
    assert!(
        out.contains("ssn: Sensitive([REDACTED]), email: Sensitive([REDACTED])"),
        "{out}"
    );
    assert!(!out.contains("alice@example.com"), "{out}");
    assert!(
        out.contains("Opened by mallory: refused (access denied"),
        "{out}"
    );
    assert!(
        out.contains("to name mallory as owner: refused (integrity check failed"),
        "{out}"
    );
}

#[test]
fn the_quickstart_stores_no_plaintext_serves_the_owner_and_refuses_the_rest() {
    let out = run_example("quickstart");
    let stored = out.split("alice reads").next().unwrap();
    assert!(stored.contains("\"__cm_header\": {\"B\":"), "{out}");
    assert!(
        stored.contains("\"__cm_sealed\": {\"B\":")
            && !stored.contains("\"ssn\"")
            && !stored.contains("\"card\""),
        "{out}"
    );
    for secret in ["078-05-1120", "4111", "12/29"] {
        assert!(
            !stored.contains(secret),
            "plaintext in the stored item: {out}"
        );
    }
    assert!(
        out.contains("alice reads her profile: ssn 078-05-1120, card ending 1111"),
        "{out}"
    );
    assert!(
        out.contains("ssn: Sensitive([REDACTED]), card: Some(Sensitive([REDACTED]))"),
        "{out}"
    );
    assert!(
        out.contains("mallory asks for alice's profile: not found"),
        "{out}"
    );
    assert!(
        out.contains("moved to mallory's key: refused (integrity check failed"),
        "{out}"
    );
    assert!(
        out.lines().count() < 25,
        "the quickstart's output stays short: {out}"
    );
}

#[test]
fn the_dynamo_quickstart_runs_against_the_local_server() {
    let endpoint = std::env::var("CRYPT_MODEL_TEST_ENDPOINT").unwrap_or_else(|_| {
        panic!("CRYPT_MODEL_TEST_ENDPOINT is not set: run scripts/test, which starts a local DynamoDB/KMS server (moto)")
    });
    let out = run_example_with("dynamo_quickstart", &[&endpoint]);
    let stored = out.split("alice reads").next().unwrap();
    assert!(
        stored.contains("\"__cm_sealed\": {\"B\":") && !stored.contains("078-05-1120"),
        "{out}"
    );
    assert!(out.contains("alice reads her SSN: 078-05-1120"), "{out}");
    assert!(
        out.contains("mallory reads alice's profile: not found"),
        "{out}"
    );
    assert!(
        out.contains("KMS calls: KeyringCalls { generate: 1, unwrap: 0, rewrap: 0 }"),
        "{out}"
    );
}

#[test]
fn the_patient_example_stores_typed_fields_and_answers_each_caller_with_its_own() {
    let out = run_example("patient");
    let stored = out.split("ana reads").next().unwrap();
    for plain in [
        r#""patient_id": {"S":"00000000-0000-0000-0000-0000000000a1"}"#,
        r#""registered": {"S":"2026-03-01T09:30:00.000000000Z"}"#,
        r#""visits": {"N":"0"}"#,
        r#""active": {"BOOL":true}"#,
    ] {
        assert!(stored.contains(plain), "{plain} in {out}");
    }
    for secret in [
        "penicillin",
        "Sam Rivera",
        "AH-99-1234",
        "Ana@Example.com",
        "1984",
    ] {
        assert!(!stored.contains(secret), "{secret} stored in plain: {out}");
    }
    assert!(
        out.contains(r#"allergies ["penicillin", "latex"], preferred name Some("Annie"), visits 1, version 2"#),
        "{out}"
    );
    assert!(out.contains("ana finds by email: 1 record(s)"), "{out}");
    assert!(
        out.contains("ben asks for ana's record: not found"),
        "{out}"
    );
    assert!(
        out.contains(
            r#"front desk, north clinic: ["00000000-0000-0000-0000-0000000000a1", "00000000-0000-0000-0000-0000000000b2"]"#
        ),
        "{out}"
    );
    assert!(out.contains("ben, north clinic: 1 record(s)"), "{out}");
    assert!(
        out.contains("secrets stay redacted: Sensitive([REDACTED])"),
        "{out}"
    );
}

#[test]
fn the_stream_consumer_acts_on_each_change_and_reports_the_edited_record() {
    let out = run_example("stream_consumer");
    for line in [
        "alice: new profile on plan free, mail domain example.com",
        "bob: new profile on plan free, mail domain example.net",
        "alice: plan free -> pro, email changed: confirm the new address",
        "bob: profile deleted, erase downstream copies",
        "failed records: [\"104\"]",
    ] {
        assert!(out.contains(line), "no line {line:?} in:\n{out}");
    }
    for secret in ["alice@example", "bob@example", "carol@example"] {
        assert!(!out.contains(secret), "a secret in the output:\n{out}");
    }
}

/// The job's Lambda worker, run outside Lambda: one payload on standard input, the answer on
/// standard output. Here a rewrap of an empty table: one segment, done at once.
#[test]
fn the_job_worker_lambda_answers_a_payload_from_standard_input() {
    use std::io::Write;

    let endpoint = std::env::var("CRYPT_MODEL_TEST_ENDPOINT").unwrap_or_else(|_| {
        panic!("CRYPT_MODEL_TEST_ENDPOINT is not set: run scripts/test, which starts a local DynamoDB/KMS server (moto)")
    });
    let (table, jobs) = (
        moto::unique("lambda-customers"),
        moto::unique("lambda-jobs"),
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let key = runtime.block_on(async {
        let dynamo = moto::dynamo();
        let store = crypt_model_dynamo::DynamoStore::new(dynamo.clone());
        let options = crypt_model_dynamo::ProvisionOptions::default();
        let customers = crypt_model::TableRef::new(&table, "customer_id", None).unwrap();
        crypt_model_dynamo::provision(&dynamo, &customers, options)
            .await
            .unwrap();
        let checkpoints = crypt_model::lifecycle::TableCheckpoints::new(store, &jobs).unwrap();
        crypt_model_dynamo::provision(&dynamo, checkpoints.table_ref(), options)
            .await
            .unwrap();
        moto::kms_key(&moto::kms()).await
    });
    let payload = serde_json::json!({"job": {
        "command": "rotate", "mode": "rewrap", "table": table, "name": "rewrap-test",
        "segments": 1, "job_table": jobs, "budget_seconds": 30,
    }, "segment": 0});
    let mut child = Command::new(example("job_worker_lambda"))
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("CRYPT_MODEL_KMS_KEY", &key)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(payload.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{out}\n{err}");
    let answer: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(answer["done"], true, "{answer}");
    assert_eq!(answer["job"], "rewrap-test");
    assert_eq!(answer["counts"]["seen"], 0);
}
