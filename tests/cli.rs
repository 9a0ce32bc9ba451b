//! The operator's command line end to end: a team's `crypt-model` binary
//! (`bin/operator.rs`, `crypt_model_cli::Cli` with two models) run as a process against tables
//! on moto — audit, migrate, audit clean, rotate, the key report, erase an owner — and the
//! library reading what it left.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod moto;

use crypt_model::error::KeyError;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use crypt_model::format::Suite;
use crypt_model::lifecycle::{Job, TableCheckpoints};
use crypt_model::{
    Caller, Error, Grant, IndexSecret, Keys, MigrationPlans, MigrationStatus, OwnerKeys, Sensitive,
    Table, Tombstones,
};
use crypt_model_dynamo::{DynamoStore, KmsErasureKey, KmsKeyring, ProvisionOptions, provision};
use crypt_model_tests::cli_models::{Account, AccountAes, Customer};
use crypt_model_tests::draw::Draw;
use serde_json::{Value, json};

const CARDS: [&str; 3] = ["4111111111111111", "5500005555555559", "340000000000009"];
const SSNS: [&str; 3] = ["078-05-1120", "219-09-9999", "457-55-5462"];

/// The operator binary with `args`, configured the AWS way for moto (nothing of this process's
/// crypt-model environment leaks in).
fn operator(args: &[&str]) -> Output {
    operator_command(args).output().unwrap()
}

fn operator_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_crypt-model-operator"));
    command
        .args(args)
        .env("AWS_ENDPOINT_URL", moto::endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE");
    // The migration plans every migration of these tests uses (set by `migration_plans`).
    if let Some((table, key)) = PLANS.get() {
        command
            .env("CRYPT_MODEL_MIGRATION_PLANS_TABLE", table)
            .env("CRYPT_MODEL_MIGRATION_KEY", key);
    }
    for name in [
        "CRYPT_MODEL_KMS_KEY",
        "CRYPT_MODEL_READ_KEYS",
        "CRYPT_MODEL_INDEX_SECRET_FILE",
        "CRYPT_MODEL_PREVIOUS_INDEX_SECRET_FILE",
        "CRYPT_MODEL_OWNER_KEYS_TABLE",
        "CRYPT_MODEL_INDEX_SECRET_NAMESPACE",
        "CRYPT_MODEL_CHECKPOINTS",
        "CRYPT_MODEL_OPEN_SUITES",
        "CRYPT_MODEL_TEST_ACCOUNTS_AES",
    ] {
        command.env_remove(name);
    }
    command
}

/// The plan table and the HMAC key that tags its plans, once per test process.
static PLANS: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();

/// The migration plans of these tests (their table provisioned, their key made), which the
/// operator is given by its environment.
async fn migration_plans() -> MigrationPlans {
    if PLANS.get().is_none() {
        let table = moto::unique("migration-plans");
        let key = moto::kms_hmac_key(&moto::kms()).await;
        let plans = plans_of(&table, &key);
        provision(
            &moto::dynamo(),
            plans.table_ref(),
            ProvisionOptions::default(),
        )
        .await
        .unwrap();
        // A test that raced this one may have set its own: either serves.
        let _ = PLANS.set((table, key));
    }
    let (table, key) = PLANS.get().unwrap();
    plans_of(table, key)
}

fn plans_of(table: &str, key: &str) -> MigrationPlans {
    let key = KmsErasureKey::new(moto::kms(), key).unwrap();
    MigrationPlans::new(DynamoStore::new(moto::dynamo()), table, key).unwrap()
}

/// Exit code, stdout, stderr; and no secret in either.
fn outcome(out: &Output) -> (i32, String, String) {
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    let stderr = String::from_utf8(out.stderr.clone()).unwrap();
    for secret in CARDS.iter().chain(&SSNS).chain(&["alice@example.com"]) {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "the command line printed a secret:\n{stdout}\n{stderr}"
        );
    }
    (out.status.code().unwrap(), stdout, stderr)
}

/// Runs the operator and parses its `--json` output, expecting exit status `code`.
fn json_of(args: &[&str], code: i32) -> Value {
    let (got, out, err) = outcome(&operator(args));
    assert_eq!(got, code, "{args:?}\n{out}\n{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

/// A temporary directory of this test's own.
fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(moto::unique(name));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// That `owner`'s record reads as erased.
async fn assert_erased(table: &Table<Customer, DynamoStore>, owner: &str) {
    let key = Customer::key(owner.to_owned()).unwrap();
    let error = table
        .get(&Caller::user(owner).unwrap(), &key)
        .await
        .err()
        .unwrap();
    assert!(
        matches!(error, Error::Key(KeyError::OwnerKeyErased { .. })),
        "{error:?}"
    );
}

/// Puts `item` into `table`, raw (a restore, or a writer of the table).
async fn put_raw(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    item: std::collections::HashMap<String, AttributeValue>,
) {
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
}

/// Every row of the key table `table`, raw (a backup of it).
async fn key_rows(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Vec<std::collections::HashMap<String, AttributeValue>> {
    let page = client.scan().table_name(table).send().await.unwrap();
    page.items.unwrap_or_default()
}

/// The key table, its tombstone table and the erasure key's ARN.
struct KeyTable {
    keys: String,
    tombstones: String,
    erasure_key: String,
}

impl KeyTable {
    /// The command line's flags that name them.
    fn flags(&self) -> [&str; 6] {
        [
            "--owner-keys-table",
            &self.keys,
            "--tombstone-table",
            &self.tombstones,
            "--erasure-key",
            &self.erasure_key,
        ]
    }

    fn owner_keys(&self) -> OwnerKeys {
        let store = DynamoStore::new(moto::dynamo());
        let erasure_key = KmsErasureKey::new(moto::kms(), &self.erasure_key).unwrap();
        let tombstones = Tombstones::new(store.clone(), &self.tombstones, erasure_key).unwrap();
        OwnerKeys::new(store, &self.keys, tombstones).unwrap()
    }
}

/// A reader of the customers, as the application would open them.
fn customers(
    name: &str,
    keys: &KeyTable,
    primary: &str,
    read: &[&str],
) -> Table<Customer, DynamoStore> {
    let store = DynamoStore::new(moto::dynamo());
    let mut keyring = KmsKeyring::new(moto::kms(), primary).unwrap();
    for key in read {
        keyring = keyring.with_read_key(key).unwrap();
    }
    let keys = Keys::new(keyring).with_owner_keys(keys.owner_keys());
    Table::named(store, Arc::new(keys), name).unwrap()
}

#[tokio::test]
async fn audit_migrate_audit_rotate_and_erase_an_owner() {
    let client = moto::dynamo();
    let kms = moto::kms();
    let (k1, k2) = (moto::kms_key(&kms).await, moto::kms_key(&kms).await);
    let name = moto::unique("customers");
    let tables = KeyTable {
        keys: moto::unique("owner-keys"),
        tombstones: moto::unique("tombstones"),
        erasure_key: moto::kms_hmac_key(&kms).await,
    };
    let keys = tables.keys.clone();
    let reader = customers(&name, &tables, &k1, &[]);
    provision(&client, reader.table_ref(), ProvisionOptions::default())
        .await
        .unwrap();
    let key_table = tables.owner_keys();
    for table in [key_table.table_ref(), key_table.tombstones().table_ref()] {
        provision(&client, table, ProvisionOptions::default())
            .await
            .unwrap();
    }
    // The legacy table: card numbers and SSNs in plaintext.
    for (i, (card, ssn)) in CARDS.iter().zip(SSNS).enumerate() {
        client
            .put_item()
            .table_name(&name)
            .item("customer_id", s(&format!("c{i}")))
            .item("card", s(card))
            .item("ssn", s(ssn))
            .item("plan", s("gold"))
            .send()
            .await
            .unwrap();
    }
    let checkpoints = temp_dir("checkpoints");
    let dir = checkpoints.to_str().unwrap();
    let with = |extra: &[&str], key: &str| -> Vec<String> {
        let mut args: Vec<String> = extra.iter().map(|a| a.to_string()).collect();
        args.extend(
            ["--table", &name, "--model", "customers", "--kms-key", key].map(str::to_owned),
        );
        args.extend(tables.flags().map(str::to_owned));
        args
    };
    let run = |args: Vec<String>, code: i32| -> Value {
        json_of(&args.iter().map(String::as_str).collect::<Vec<_>>(), code)
    };

    // 1. The audit finds the card numbers and SSNs, in fields the model marks sensitive: exit 1.
    let report = run(with(&["audit", "--json"], &k1), 1);
    assert_eq!(report["without_header"], 3);
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 6, "{report:#}");
    for finding in findings {
        assert_eq!(finding["field"], "sensitive", "{finding}");
    }
    let kinds: Vec<&str> = findings
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "card_number").count(), 3);
    assert_eq!(kinds.iter().filter(|k| **k == "us_ssn").count(), 3);

    // 2. The plan admits each record stored in plaintext; a dry run writes nothing; the
    // migration encrypts every record, and closes the plan.
    let plans = migration_plans().await;
    let planned = run(
        with(&["migrate", "--plan", "--json", "--checkpoints", dir], &k1),
        0,
    );
    assert_eq!(planned["job"], format!("plan-migration:{name}"));
    assert_eq!(planned["counts"]["plaintext"], 3);
    assert!(matches!(
        plans.status(&name).await.unwrap(),
        MigrationStatus::Open { expires: Some(_) }
    ));
    // The human report, as a snapshot.
    let dry = with(&["migrate", "--dry-run"], &k1);
    let (code, out, err) = outcome(&operator(
        &dry.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        format!(
            "migrate:{name}: complete, 4 of 4 segments done (dry run: nothing written)\n\
             \x20 3 records: 3 changed, 0 unchanged, 0 skipped, 0 erased, 0 failed; 3 still in \
             plaintext\n\
             \x20 key crypt-model:owner-key: 3 records\n\
             \x20 suite xchacha20poly1305-hkdf-sha256: 3 records\n"
        )
    );
    // Nothing written: no record, no owner key.
    let report = run(with(&["audit", "--json"], &k1), 1);
    assert_eq!(report["without_header"], 3);
    assert_eq!(report["owner_key_ids"], json!({}));
    let migrated = run(
        with(
            &["migrate", "--segments", "2", "--checkpoints", dir, "--json"],
            &k1,
        ),
        0,
    );
    // The job report's shape, pinned.
    assert_eq!(
        migrated,
        json!({
            "job": format!("migrate:{name}"),
            "complete": true,
            "stopped": false,
            "dry_run": false,
            "segments": {"total": 2, "run": 2, "done": 2},
            "counts": {"seen": 3, "changed": 3, "unchanged": 0, "skipped": 0, "erased": 0,
                       "failed": 0, "plaintext": 0},
            "failed": [],
            "throttled": 0,
            "key_ids": {"crypt-model:owner-key": 3},
            "suites": {"xchacha20poly1305-hkdf-sha256": 3},
            "owner_keys_rewrapped": null,
        })
    );
    assert_eq!(plans.status(&name).await.unwrap(), MigrationStatus::Closed);
    // Run again, it says the job is complete rather than end at once on its checkpoints; and
    // `--resume` of a job with no checkpoints is refused rather than started afresh.
    for (args, message) in [
        (
            &["migrate", "--segments", "2", "--checkpoints", dir][..],
            "already complete",
        ),
        (
            &["migrate", "--checkpoints", dir][..],
            "was run with 2 segments",
        ),
        (
            &[
                "migrate",
                "--checkpoints",
                dir,
                "--resume",
                "--name",
                "typo",
            ][..],
            "nothing to resume",
        ),
    ] {
        let args = with(args, &k1);
        let (code, _, err) = outcome(&operator(
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        ));
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(message), "{err}");
    }

    // 3. The audit is clean: exit 0; every record opens, each owner's key is under k1.
    let report = run(with(&["audit", "--json"], &k1), 0);
    assert_eq!(report["findings"], json!([]));
    assert_eq!(report["without_header"], 0);
    assert_eq!(
        report["integrity"],
        json!({"opened": 3, "erased": 0, "failures": []})
    );
    assert_eq!(report["owner_key_ids"], json!({ k1.clone(): 3 }));

    // 4. Rotation to k2: the key report shows only k2, and the records open without k1.
    let rotated = run(
        with(
            &[
                "rotate",
                "--mode",
                "rewrap",
                "--checkpoints",
                dir,
                "--read-key",
                &k1,
                "--json",
            ],
            &k2,
        ),
        0,
    );
    assert_eq!(rotated["owner_keys_rewrapped"], 3);
    let report = run(with(&["audit", "--json"], &k2), 0);
    assert_eq!(report["owner_key_ids"], json!({ k2.clone(): 3 }));
    assert_eq!(report["integrity"]["opened"], 3);
    let after = customers(&name, &tables, &k2, &[]);
    let c0 = Customer::key("c0".to_owned()).unwrap();
    let read = after
        .get(&Caller::user("c0").unwrap(), &c0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.card.expose_secret(), CARDS[0]);

    // 5. Erasing c1 needs --yes; then c1's records fail closed, the others still open.
    let erase = with(&["erase-owner", "--owner", "c1"], &k2);
    let (code, _, err) = outcome(&operator(
        &erase.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    assert_eq!(code, 2);
    assert!(err.contains("--yes"), "{err}");
    // The id from standard input (out of the process list), and not echoed.
    // No data-key KMS key: an erasure unwraps no data key; it signs the tombstone with the
    // erasure key.
    let backup = key_rows(&client, &keys).await;
    let erase = [
        ["erase-owner", "--table", &name, "--model", "customers"].as_slice(),
        &tables.flags(),
        &["--owner", "-", "--yes"],
    ]
    .concat();
    let mut child = operator_command(&erase)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"c1\n").unwrap();
    let (code, out, err) = outcome(&child.wait_with_output().unwrap());
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("erased"), "{out}");
    assert!(
        !out.contains("c1") && !err.contains("c1"),
        "the owner's id is echoed: {out}{err}"
    );
    // Again, or a mistyped id: nothing erased, and a status a pipeline sees.
    let again = with(&["erase-owner", "--owner", "c1", "--yes"], &k2);
    let (code, out, _) = outcome(&operator(
        &again.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("nothing erased"), "{out}");
    assert_erased(&after, "c1").await;
    // The key table restored from a backup taken before the erasure: c1 stays erased, for a
    // new process too, and the sweep deletes the row again, once.
    for row in backup {
        put_raw(&client, &keys, row).await;
    }
    assert_erased(&customers(&name, &tables, &k2, &[]), "c1").await;
    let sweep = [["reapply-erasures"].as_slice(), &tables.flags()].concat();
    for deleted in ["1 key rows", "0 key rows"] {
        let (code, out, err) = outcome(&operator(&sweep));
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.starts_with(deleted), "{out}");
    }
    assert!(
        after
            .get(&Caller::user("c0").unwrap(), &c0)
            .await
            .unwrap()
            .is_some()
    );
    // The audit counts c1's record as erased, not as a failure; a later rotation does not fail.
    let report = run(with(&["audit", "--json"], &k2), 0);
    assert_eq!(report["owner_key_ids"], json!({ k2.clone(): 2 }));
    assert_eq!(
        report["integrity"],
        json!({"opened": 2, "erased": 1, "failures": []})
    );
    let rotated = run(
        with(
            &[
                "rotate",
                "--mode",
                "reencrypt",
                "--checkpoints",
                dir,
                "--json",
            ],
            &k2,
        ),
        0,
    );
    assert_eq!(rotated["counts"]["failed"], 0);
    assert_eq!(rotated["complete"], true);

    // 6. Replacing c0's key: begin, re-encrypt (a new run, after the cache age), finish. c0's
    // record opens; a copy of it from before, put back, no longer does.
    let c0_item = || {
        client
            .get_item()
            .table_name(&name)
            .key("customer_id", AttributeValue::S("c0".to_owned()))
    };
    let before = c0_item().send().await.unwrap().item.unwrap();
    let replace = |extra: &[&str]| {
        let args = [
            [
                "replace-owner-key",
                "--owner",
                "c0",
                "--owner-key-cache-age",
                "1",
            ]
            .as_slice(),
            extra,
        ]
        .concat();
        outcome(&operator(
            &with(&args, &k2)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        ))
    };
    let (code, out, err) = replace(&[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("began replacing"), "{out}");
    let (code, _, err) = replace(&["--finish"]);
    assert_eq!(code, 2, "finished without --yes: {err}");
    assert!(err.contains("--yes"), "{err}");
    let (code, _, err) = replace(&["--finish", "--yes"]);
    assert_eq!(code, 2, "finished before the cache age: {err}");
    assert!(err.contains("wait"), "{err}");
    // The age, the margin of 2 s, and a second for the tombstone's whole seconds.
    std::thread::sleep(std::time::Duration::from_millis(3100));
    let moved = run(
        with(
            &[
                "rotate",
                "--mode",
                "reencrypt",
                "--name",
                "replace-c0",
                "--owner-key-cache-age",
                "1",
                "--checkpoints",
                dir,
                "--json",
            ],
            &k2,
        ),
        0,
    );
    assert_eq!(moved["counts"]["changed"], 1, "{moved:#}");
    let (code, out, err) = replace(&["--finish", "--yes"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("finished replacing"), "{out}");
    assert!(
        !out.contains("c0") && !err.contains("c0"),
        "the owner's id is echoed"
    );
    let reader = customers(&name, &tables, &k2, &[]);
    let read = reader
        .get(&Caller::user("c0").unwrap(), &c0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.card.expose_secret(), CARDS[0]);
    put_raw(&client, &name, before).await;
    assert_erased(&customers(&name, &tables, &k2, &[]), "c0").await;
    std::fs::remove_dir_all(checkpoints).unwrap();
}

/// The arguments of `migrate` on the accounts table `name` under `key` and the index secret file
/// `secret`, then `extra`.
fn migrate_args(name: &str, key: &str, secret: &str, extra: &[&str]) -> Vec<String> {
    let fixed = [
        "migrate",
        "--table",
        name,
        "--model",
        "accounts",
        "--kms-key",
        key,
        "--index-secret-file",
        secret,
    ];
    fixed.iter().chain(extra).map(|a| a.to_string()).collect()
}

/// An index secret file of 64 hex digits.
fn secret_file(dir: &Path, name: &str, byte: u8) -> (String, IndexSecret) {
    let path = dir.join(name);
    std::fs::write(&path, format!("{}\n", hex_of(&[byte; 32]))).unwrap();
    (
        path.to_str().unwrap().to_owned(),
        IndexSecret::from_bytes(&[byte; 32]).unwrap(),
    )
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The audit of the accounts table `name` with its model, which must find nothing.
fn audit_accounts(name: &str, key: &str, secret: &str) -> Value {
    let args = [
        "audit",
        "--table",
        name,
        "--model",
        "accounts",
        "--kms-key",
        key,
        "--index-secret-file",
        secret,
        "--json",
    ];
    json_of(&args, 0)
}

/// A table of 200 accounts sealed with suite 1 moves to suite 2: the next release's model names
/// `suite = "aes256gcm"`, and `rotate --mode reencrypt` reseals every record. Killed at random
/// points and resumed, it loses nothing: every record opens with keys that open suite 2 only,
/// is found by its blind index, and the audit counts every record in suite 2.
#[tokio::test]
async fn a_move_to_suite_2_killed_at_random_points_and_resumed_loses_nothing() {
    let k1 = moto::kms_key(&moto::kms()).await;
    let name = moto::unique("accounts-suite2");
    let dir = temp_dir("suite2");
    let (secret, index) = secret_file(&dir, "secret", 6);
    let client = moto::dynamo();
    let keyring = || KmsKeyring::new(moto::kms(), &k1).unwrap();
    let keys = Arc::new(Keys::new(keyring()).with_index_secret(index.clone()));
    let before = Table::<Account, _>::named(DynamoStore::new(client.clone()), keys, &name).unwrap();
    provision(&client, before.table_ref(), ProvisionOptions::default())
        .await
        .unwrap();
    for i in 0..200 {
        let owner = format!("a{i:03}");
        let mut account = Account {
            account_id: owner.clone(),
            email: Sensitive::new(email_of(i)),
        };
        before
            .put(&Caller::user(&owner).unwrap(), &mut account)
            .await
            .unwrap();
    }
    assert_eq!(
        audit_accounts(&name, &k1, &secret)["suites"],
        json!({"xchacha20poly1305-hkdf-sha256": 200})
    );
    // A copy of one record from before the move, which someone who can write the table will put
    // back afterwards.
    let old_copy = client
        .get_item()
        .table_name(&name)
        .key("account_id", AttributeValue::S("a005".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();

    // The release that moved, re-encrypting with its checkpoints in `at`; opening both suites
    // when `all` (the records not moved yet are suite 1's).
    let reencrypt_into = |at: &Path, resume: bool, all: bool| {
        let mut args = vec![
            "rotate",
            "--table",
            &name,
            "--model",
            "accounts",
            "--kms-key",
            &k1,
            "--index-secret-file",
            &secret,
            "--mode",
            "reencrypt",
            "--segments",
            "4",
            "--rate",
            "150",
            "--checkpoints",
            at.to_str().unwrap(),
            "--json",
        ];
        if all {
            args.extend(["--open-suites", "all"]);
        }
        if resume {
            args.push("--resume");
        }
        let mut command = operator_command(&args);
        command.env("CRYPT_MODEL_TEST_ACCOUNTS_AES", "1");
        command
    };
    let checkpoints = dir.join("checkpoints");
    let reencrypt = |resume: bool| reencrypt_into(&checkpoints, resume, true);
    let started = |dir: &Path| std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some());
    let mut draw = Draw(0x5111);
    for _ in 0..6 {
        let after = 150 + draw.below(500);
        let mut child = reencrypt(started(&checkpoints))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(after)).await;
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let (code, out, err) = outcome(&reencrypt(started(&checkpoints)).output().unwrap());
    assert_eq!(code, 0, "{out}{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["counts"]["failed"], 0, "{report}");
    assert_eq!(report["complete"], true, "{report}");
    // The job's report counts the suites it left, over every segment and run.
    assert_eq!(
        report["suites"],
        json!({"aes256gcm-hkdf-sha256": 200}),
        "{report}"
    );

    // Every record opens to its own value with keys that open suite 2 only, and its blind
    // index still finds it.
    let strict = Arc::new(
        Keys::new(keyring())
            .with_index_secret(index)
            .with_suites([Suite::Aes256Gcm]),
    );
    let after =
        Table::<AccountAes, _>::named(DynamoStore::new(client.clone()), strict, &name).unwrap();
    for i in 0..200 {
        let owner = format!("a{i:03}");
        let caller = Caller::user(&owner).unwrap();
        let record = after
            .get(&caller, &AccountAes::key(owner.clone()).unwrap())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{owner} is lost"));
        assert_eq!(record.email.expose_secret(), &email_of(i));
    }
    let alice = Caller::user("a000").unwrap();
    let found = after
        .find(&alice, &AccountAes::by_email(email_of(0)).unwrap())
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    // The audit of the release that moved (its model's suite is suite 2).
    let audit = |expected_code: i32| {
        let args = [
            "audit",
            "--table",
            &name,
            "--model",
            "accounts",
            "--kms-key",
            &k1,
            "--index-secret-file",
            &secret,
            "--json",
        ];
        let out = operator_command(&args)
            .env("CRYPT_MODEL_TEST_ACCOUNTS_AES", "1")
            .output()
            .unwrap();
        let (code, out, err) = outcome(&out);
        assert_eq!(code, expected_code, "{out}{err}");
        serde_json::from_str::<Value>(&out).unwrap()
    };
    let report = audit(0);
    assert_eq!(report["suites"], json!({"aes256gcm-hkdf-sha256": 200}));
    assert_eq!(
        report["integrity"],
        json!({"opened": 200, "erased": 0, "failures": []})
    );

    // The old copy put back is not laundered: a later re-encryption, which opens the model's
    // suite only (no --open-suites), reports it and leaves it in suite 1, and the audit shows it.
    client
        .put_item()
        .table_name(&name)
        .set_item(Some(old_copy))
        .send()
        .await
        .unwrap();
    let out = reencrypt_into(&dir.join("later"), false, false)
        .output()
        .unwrap();
    let (_, out, err) = outcome(&out);
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    assert_eq!(report["counts"]["failed"], 1, "{report}");
    assert_eq!(report["counts"]["changed"], 0, "{report}");
    assert!(report.to_string().contains("Keys::with_suites"), "{report}");
    let report = audit(1);
    assert_eq!(
        report["suites"],
        json!({"aes256gcm-hkdf-sha256": 199, "xchacha20poly1305-hkdf-sha256": 1})
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// The email of account `i` of [`plaintext_accounts`].
fn email_of(i: usize) -> String {
    match i {
        0 => "alice@example.com".to_owned(),
        _ => format!("user{i}@example.com"),
    }
}

/// A provisioned accounts table `name` holding `n` accounts in plaintext (`a000`…, the first
/// one's email alice's), and the application's view of it under `key` and `index`.
async fn plaintext_accounts(
    name: &str,
    n: usize,
    key: &str,
    index: IndexSecret,
) -> Table<Account, DynamoStore> {
    let client = moto::dynamo();
    let keys =
        Arc::new(Keys::new(KmsKeyring::new(moto::kms(), key).unwrap()).with_index_secret(index));
    let table = Table::named(DynamoStore::new(client.clone()), keys.clone(), name).unwrap();
    provision(&client, table.table_ref(), ProvisionOptions::default())
        .await
        .unwrap();
    for i in 0..n {
        let email = email_of(i);
        client
            .put_item()
            .table_name(name)
            .item("account_id", s(&format!("a{i:03}")))
            .item("email", s(&email))
            .send()
            .await
            .unwrap();
    }
    // Every record admitted into the table's migration plan, as the runbook's step 1 does.
    let planner = Table::<Account, _>::named(table.store().clone(), keys, name)
        .unwrap()
        .with_grant(Grant::read("planner").unwrap())
        .with_plaintext_migration(migration_plans().await);
    let planned = Job::plan_migration(&planner, &Caller::service("planner").unwrap())
        .run()
        .await
        .unwrap();
    assert_eq!(planned.counts.plaintext, n as u64);
    table
}

#[tokio::test]
async fn rotation_shows_only_the_new_key_and_a_backfill_moves_the_index_to_a_new_secret() {
    let kms = moto::kms();
    let (k1, k2) = (moto::kms_key(&kms).await, moto::kms_key(&kms).await);
    let name = moto::unique("accounts");
    let dir = temp_dir("account-secrets");
    let (old_secret, _) = secret_file(&dir, "old", 1);
    // The new secret kept as the guide says: wrapped by KMS, in its text form.
    let k2_keyring = KmsKeyring::new(moto::kms(), &k2).unwrap();
    let (new, wrapped) = IndexSecret::generate_wrapped(&k2_keyring).await.unwrap();
    let new_secret = dir.join("new-wrapped");
    std::fs::write(&new_secret, wrapped.to_text()).unwrap();
    let new_secret = new_secret.to_str().unwrap().to_owned();
    let checkpoints = dir.join("checkpoints");
    let checkpoints = checkpoints.to_str().unwrap();
    let table = plaintext_accounts(&name, 5, &k2, new).await;
    // `command` on the accounts, with the key, the index secret and `extra`.
    let run = |command: &str, key: &str, secret: &str, extra: &[&str], code: i32| -> Value {
        let mut args = vec![
            command,
            "--table",
            &name,
            "--model",
            "accounts",
            "--kms-key",
            key,
        ];
        args.extend(["--index-secret-file", secret, "--json"]);
        args.extend(extra);
        json_of(&args, code)
    };
    let at = ["--checkpoints", checkpoints];
    // Split between two processes (as two machines would, each with its checkpoints).
    let (first, second) = (dir.join("first"), dir.join("second"));
    let mut changed = 0;
    for (share, at) in [("0..2", &first), ("2..4", &second)] {
        let at = at.to_str().unwrap();
        let args = [
            "--segments",
            "4",
            "--run-segments",
            share,
            "--checkpoints",
            at,
        ];
        let migrated = run("migrate", &k1, &old_secret, &args, 0);
        assert_eq!(
            migrated["segments"],
            json!({"total": 4, "run": 2, "done": 2})
        );
        changed += migrated["counts"]["changed"].as_u64().unwrap();
    }
    assert_eq!(changed, 5);
    let report = run("audit", &k1, &old_secret, &[], 0);
    assert_eq!(report["key_ids"], json!({ k1.clone(): 5 }));
    let coverage = json!({"email": {"indexed": 5, "missing": 0}});
    assert_eq!(report["indexes"], coverage);

    // Re-encryption under k2: the key report names only k2.
    let rotate = [&["--mode", "reencrypt", "--read-key", &k1][..], &at].concat();
    let rotated = run("rotate", &k2, &old_secret, &rotate, 0);
    assert_eq!(rotated["counts"]["changed"], 5);
    let report = run("audit", &k2, &old_secret, &[], 0);
    assert_eq!(report["key_ids"], json!({ k2.clone(): 5 }));
    let opened = json!({"opened": 5, "erased": 0, "failures": []});
    assert_eq!(report["integrity"], opened);

    // The index secret rotated: the backfill writes every record's index under the new one.
    let backfill = [&["--previous-index-secret-file", &old_secret][..], &at].concat();
    let backfilled = run("backfill-index", &k2, &new_secret, &backfill, 0);
    assert_eq!(backfilled["counts"]["changed"], 5);
    let alice = Caller::user("a000").unwrap();
    let found = table
        .find(&alice, &Account::by_email("Alice@Example.com ").unwrap())
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn ctrl_c_stops_a_migration_at_a_checkpoint_and_resume_finishes_it() {
    let k1 = moto::kms_key(&moto::kms()).await;
    let name = moto::unique("accounts-stop");
    let dir = temp_dir("stop");
    let (secret, index) = secret_file(&dir, "secret", 3);
    plaintext_accounts(&name, 120, &k1, index).await;
    let checkpoints = dir.join("checkpoints");
    let at = checkpoints.to_str().unwrap();
    let args = |extra: &[&str]| {
        let fixed = ["--checkpoints", at, "--segments", "2"];
        migrate_args(&name, &k1, &secret, &[&fixed[..], extra].concat())
    };
    // Stopped by Ctrl-C, then resumed and stopped by SIGTERM (a container's stop): each time
    // the report says so, with what was done so far, and the status is the signal's.
    let mut changed = 0;
    for (signal, status, resume) in [("-INT", 130, &[][..]), ("-TERM", 143, &["--resume"][..])] {
        let run = args(&[&["--json", "--rate", "20"][..], resume].concat());
        let child = operator_command(&run.iter().map(String::as_str).collect::<Vec<_>>())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(2000)).await;
        let sent = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let (code, stdout, stderr) = outcome(&child.wait_with_output().unwrap());
        assert_eq!(code, status, "{signal}: {stdout}\n{stderr}");
        let stopped: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(stopped["stopped"], true);
        let now = stopped["counts"]["changed"].as_u64().unwrap();
        assert!(now > changed && now < 120, "{signal}: {stopped}");
        changed = now;
    }

    // Resumed, it finishes: every record encrypted once, none left in plaintext.
    let (code, stdout, stderr) = outcome(&operator(
        &args(&["--resume", "--log", "info"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    ));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("complete"), "{stdout}");
    // The counts are the job's, over both runs.
    assert!(stdout.contains("120 records: 120 changed"), "{stdout}");
    // Not a terminal: progress as plain lines; the library's log with `--log info` (each
    // record's grant use), on standard error only, without a value (`outcome` checks).
    assert!(stderr.contains("records seen"), "{stderr}");
    assert!(stderr.contains("crypt_model::access"), "{stderr}");
    assert!(!stdout.contains("crypt_model::"), "{stdout}");
    let report = audit_accounts(&name, &k1, &secret);
    assert_eq!(report["without_header"], 0);
    assert_eq!(report["integrity"]["opened"], 120);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn on_a_terminal_progress_is_a_bar_with_a_rate_and_an_eta() {
    let k1 = moto::kms_key(&moto::kms()).await;
    let name = moto::unique("accounts-bar");
    let dir = temp_dir("bar");
    let (secret, index) = secret_file(&dir, "secret", 4);
    plaintext_accounts(&name, 40, &k1, index).await;
    let checkpoints = dir.join("checkpoints");
    let operator = env!("CARGO_BIN_EXE_crypt-model-operator");
    let command = format!(
        "{operator} migrate --table {name} --model accounts --kms-key {k1} --index-secret-file \
         {secret} --checkpoints {} --rate 20",
        checkpoints.display()
    );
    // `script` runs the command on a pseudo-terminal and copies what it draws.
    let out = operator_command(&[])
        .get_envs()
        .fold(&mut Command::new("script"), |c, (k, v)| match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        })
        .args(["-qfec", &command, "/dev/null"])
        .output()
        .expect("`script` (util-linux) runs a command on a pseudo-terminal");
    let (code, drawn, _) = outcome(&out);
    assert_eq!(code, 0, "{drawn}");
    assert!(drawn.contains("/~40 records"), "{drawn}");
    assert!(drawn.contains("/s, ETA "), "{drawn}");
    assert!(drawn.contains("40 records: 40 changed"), "{drawn}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_migration_killed_at_random_points_and_resumed_loses_nothing() {
    let k1 = moto::kms_key(&moto::kms()).await;
    let name = moto::unique("accounts-killed");
    let dir = temp_dir("killed");
    let (secret, index) = secret_file(&dir, "secret", 5);
    let table = plaintext_accounts(&name, 200, &k1, index).await;
    let checkpoints = dir.join("checkpoints");
    let at = checkpoints.to_str().unwrap();
    let migrate = |resume: bool| {
        let fixed = ["--segments", "4", "--rate", "150", "--checkpoints", at];
        let resume: &[&str] = if resume { &["--resume"] } else { &[] };
        migrate_args(&name, &k1, &secret, &[&fixed[..], resume].concat())
    };
    let started = |dir: &Path| std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some());
    // SIGKILL at a random point, eight times: no report, no last checkpoint, mid-page.
    let mut draw = Draw(0x5eed);
    for _ in 0..8 {
        let after = 150 + draw.below(500);
        let args = migrate(started(&checkpoints));
        let mut child = operator_command(&args.iter().map(String::as_str).collect::<Vec<_>>())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(after)).await;
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let args = migrate(started(&checkpoints));
    let (code, out, err) = outcome(&operator(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("200 records:") && out.contains("0 still in plaintext"),
        "{out}"
    );

    // Nothing lost, nothing left half-migrated, nothing encrypted twice: every record opens to
    // its own value, and no stored item holds a plain value beside its message.
    for i in 0..200 {
        let owner = format!("a{i:03}");
        let caller = Caller::user(&owner).unwrap();
        let record = table
            .get(&caller, &Account::key(owner.clone()).unwrap())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{owner} is lost"));
        assert_eq!(record.email.expose_secret(), &email_of(i));
    }
    let report = audit_accounts(&name, &k1, &secret);
    assert_eq!(report["without_header"], 0);
    assert_eq!(
        report["integrity"],
        json!({"opened": 200, "erased": 0, "failures": []})
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// Three worker processes share one migration through a job table (one SIGKILLed midway, its
/// segments taken over after its lease lapses); `job status` follows the job from the table
/// alone; a run beside a running one is refused without a hint that would start a third.
#[tokio::test]
async fn workers_share_a_migration_through_a_job_table_and_job_status_follows_it() {
    let k1 = moto::kms_key(&moto::kms()).await;
    let name = moto::unique("accounts-workers");
    let jobs = moto::unique("jobs");
    let dir = temp_dir("workers");
    let (secret, index) = secret_file(&dir, "secret", 6);
    let table = plaintext_accounts(&name, 120, &k1, index).await;
    // The job table, and a model's table with its blind index, made by the command line.
    let other = moto::unique("accounts-provisioned");
    let args = [
        "provision",
        "--job-table",
        &jobs,
        "--table",
        &other,
        "--model",
        "accounts",
    ];
    let (code, out, err) = outcome(&operator(&args));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("the job table `{jobs}`: ready")),
        "{out}"
    );
    let described = moto::dynamo()
        .describe_table()
        .table_name(&other)
        .send()
        .await
        .unwrap();
    let indexes = described.table().unwrap().global_secondary_indexes();
    assert_eq!(indexes.len(), 1, "the blind index of `email`");
    // Provisioning again changes nothing and succeeds.
    assert_eq!(outcome(&operator(&args)).0, 0);
    // The plan, from the table's description: 120 records, each write a unit on the table and
    // one on the blind index; the time bounded by the workers at 8 ms a write.
    let plan = json_of(
        &[
            "plan",
            "migrate",
            "--table",
            &name,
            "--workers",
            "2",
            "--json",
        ],
        0,
    );
    assert_eq!(plan["records"], 120, "{plan}");
    assert_eq!(plan["write_units_per_record"], 2, "{plan}");
    assert_eq!(plan["write_units"], 240, "{plan}");
    assert_eq!(plan["bounded_by"], "the workers", "{plan}");
    assert_eq!(plan["records_per_second"], 1000, "{plan}");
    let (code, text, err) = outcome(&operator(&["plan", "rotate", "--table", &name]));
    assert_eq!(code, 0, "{err}");
    assert!(text.contains("assumptions:"), "{text}");

    let job_name = format!("migrate:{name}");
    let worker = |worker_name: &str| {
        let fixed = [
            "--job-table",
            &jobs,
            "--name",
            &job_name,
            "--worker",
            "--worker-name",
            worker_name,
            "--segments",
            "6",
            "--concurrent",
            "2",
            "--lease",
            "2",
            "--rate",
            "30",
            "--json",
        ];
        let args = migrate_args(&name, &k1, &secret, &fixed);
        operator_command(&args.iter().map(String::as_str).collect::<Vec<_>>())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut killed = worker("killed");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let status_args = [
        "job",
        "status",
        "--name",
        &format!("migrate:{name}"),
        "--job-table",
        &jobs,
    ];
    // While it runs: not complete (exit 1), segments held by the worker.
    let (code, running, err) = outcome(&operator(&status_args));
    assert_eq!(code, 1, "{running}{err}");
    assert!(
        running.contains("running") && running.contains("killed/"),
        "{running}"
    );
    killed.kill().unwrap();
    killed.wait().unwrap();
    let (second, third) = (worker("second"), worker("third"));
    for child in [second, third] {
        let (code, out, err) = outcome(&child.wait_with_output().unwrap());
        assert_eq!(code, 0, "{out}{err}");
        let report: Value = serde_json::from_str(&out).unwrap();
        // Each reports the whole job.
        assert_eq!(report["complete"], true, "{report}");
        assert_eq!(report["counts"]["seen"], 120, "{report}");
        assert_eq!(report["counts"]["plaintext"], 0, "{report}");
    }
    let status = json_of(&[&status_args[..], &["--json"]].concat(), 0);
    assert_eq!(status["complete"], true, "{status}");
    assert_eq!(
        status["segments"],
        json!({"total": 6, "done": 6, "running": 0, "waiting": 0})
    );
    assert_eq!(status["counts"]["seen"], 120);
    assert_eq!(status["seconds_left"], 0);
    // A one-host run of the finished job is refused: it would end at once.
    let again = migrate_args(
        &name,
        &k1,
        &secret,
        &["--job-table", &jobs, "--segments", "6"],
    );
    let (code, _, err) = outcome(&operator(
        &again.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    assert_eq!(code, 2);
    assert!(err.contains("already complete"), "{err}");
    // A worker without --name is refused: it would join whatever job has the default name.
    let nameless = migrate_args(&name, &k1, &secret, &["--job-table", &jobs, "--worker"]);
    let (code, _, err) = outcome(&operator(
        &nameless.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    assert_eq!(code, 2);
    assert!(err.contains("--name"), "{err}");
    // A job that is not there is named as such.
    let (code, _, err) = outcome(&operator(&[
        "job",
        "status",
        "--name",
        "migrate:nothing",
        "--job-table",
        &jobs,
    ]));
    assert_eq!(code, 2);
    assert!(
        err.contains("no checkpoint of a job `migrate:nothing`"),
        "{err}"
    );
    for i in 0..120 {
        let owner = format!("a{i:03}");
        let record = table
            .get(
                &Caller::user(&owner).unwrap(),
                &Account::key(owner.clone()).unwrap(),
            )
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{owner} is lost"));
        assert_eq!(record.email.expose_secret(), &email_of(i));
    }
    let report = audit_accounts(&name, &k1, &secret);
    assert_eq!(report["integrity"]["opened"], 120);
    std::fs::remove_dir_all(dir).unwrap();
}

/// Two runs of one job on one machine: the second is refused while the first holds its
/// segments (file checkpoints lock them), and its message does not suggest --resume.
#[tokio::test]
async fn a_second_run_of_a_job_beside_a_running_one_is_refused() {
    let k1 = moto::kms_key(&moto::kms()).await;
    let name = moto::unique("accounts-twice");
    let dir = temp_dir("twice");
    let (secret, index) = secret_file(&dir, "secret", 7);
    plaintext_accounts(&name, 40, &k1, index).await;
    let at = dir.join("checkpoints");
    let at = at.to_str().unwrap();
    let run = |extra: &[&str]| {
        let fixed = [
            &["--checkpoints", at, "--segments", "2", "--rate", "20"][..],
            extra,
        ]
        .concat();
        migrate_args(&name, &k1, &secret, &fixed)
    };
    let first = operator_command(&run(&[]).iter().map(String::as_str).collect::<Vec<_>>())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    for extra in [&[][..], &["--resume"][..]] {
        let (code, out, err) = outcome(&operator(
            &run(extra).iter().map(String::as_str).collect::<Vec<_>>(),
        ));
        assert_eq!(code, 2, "{extra:?}: {out}{err}");
        assert!(
            err.contains("is running") || err.contains("another run of the job is going on"),
            "{extra:?}: {err}"
        );
        assert!(!err.contains("with --resume"), "{extra:?}: {err}");
    }
    let (code, out, err) = outcome(&first.wait_with_output().unwrap());
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("40 records: 40 changed"), "{out}");
    // A record written in plaintext after the plan: the migration reports it by the digest the
    // README documents, and with --show-keys by its key too.
    moto::dynamo()
        .put_item()
        .table_name(&name)
        .item("account_id", s("late-1"))
        .item("email", s("late@example.com"))
        .send()
        .await
        .unwrap();
    let args = migrate_args(
        &name,
        &k1,
        &secret,
        &[
            "--checkpoints",
            at,
            "--name",
            "late",
            "--json",
            "--show-keys",
        ],
    );
    let report = json_of(&args.iter().map(String::as_str).collect::<Vec<_>>(), 1);
    let failed = &report["failed"][0];
    assert_eq!(failed["key"], json!({"account_id": "late-1"}), "{report}");
    let digest = {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        for part in ["account_id", "late-1"] {
            hasher.update((part.len() as u32).to_be_bytes());
            hasher.update(part.as_bytes());
        }
        hex_of(&hasher.finalize()[..8])
    };
    assert_eq!(failed["record"], digest.as_str(), "{report}");
    // --resume of a directory that is not there is an error, not a new, empty one.
    let missing = dir.join("mistyped");
    let args = migrate_args(
        &name,
        &k1,
        &secret,
        &["--resume", "--checkpoints", missing.to_str().unwrap()],
    );
    let (code, _, err) = outcome(&operator(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    assert_eq!(code, 2);
    assert!(err.contains("cannot use the checkpoint directory"), "{err}");
    assert!(!missing.exists());
    std::fs::remove_dir_all(dir).unwrap();
}

/// The Lambda worker, called in-process as the state machine drives it: a Map over the
/// segments, each invoked again until it answers done (one invocation cut off as a Lambda
/// timeout would, its segment taken over once its lease lapses), then one invocation without a
/// segment that finishes the job (the migration plan left open: a job table is no evidence).
#[tokio::test]
async fn lambda_invocations_in_the_state_machines_order_migrate_the_table() {
    let k1 = moto::kms_key(&moto::kms()).await;
    let name = moto::unique("accounts-lambda");
    let jobs = moto::unique("jobs-lambda");
    let dir = temp_dir("lambda");
    let (secret, index) = secret_file(&dir, "secret", 8);
    let table = plaintext_accounts(&name, 90, &k1, index).await;
    let (plans_table, plans_key) = PLANS.get().unwrap().clone();
    let jobs_table = TableCheckpoints::new(DynamoStore::new(moto::dynamo()), &jobs).unwrap();
    provision(
        &moto::dynamo(),
        jobs_table.table_ref(),
        ProvisionOptions::default(),
    )
    .await
    .unwrap();
    let worker = crypt_model_cli::Cli::new()
        .model::<Account>()
        .lambda(moto::sdk_config(&moto::endpoint()))
        .with_flags([
            "--kms-key",
            &k1,
            "--index-secret-file",
            &secret,
            "--migration-plans-table",
            &plans_table,
            "--migration-key",
            &plans_key,
        ]);
    // The state machine's input, and the payloads its two Task states build from it.
    let input = json!({"job": {
        "command": "migrate", "table": name, "name": format!("migrate:{name}"), "segments": 3,
        "job_table": jobs, "budget_seconds": 1, "rate": 20, "lease_seconds": 2,
        // A payload names a job, never flags: these would make it a plan job over any plan.
        "flags": ["--plan", "--reopen"],
    }});
    let machine = state_machine();
    let map = &machine["States"]["Work every segment"];
    let work = &map["ItemProcessor"]["States"]["Work the segment"]["Parameters"]["Payload"];
    let finish = &machine["States"]["Finish the job"]["Parameters"]["Payload"];
    let event = |segment: Option<u32>| match segment {
        Some(segment) => {
            let item = json!({"job": input["job"], "segment": segment});
            payload_of(work, &item)
        }
        None => payload_of(finish, &input),
    };
    // Cut off mid-segment, as Lambda ends an invocation at its timeout: the lease stays.
    let cut = tokio::time::timeout(
        std::time::Duration::from_millis(700),
        worker.handle(event(Some(0))),
    )
    .await;
    assert!(
        cut.is_err(),
        "the first invocation ended before it was cut off"
    );
    // The Map: every segment invoked until done, concurrently.
    let segment = |segment: u32| {
        let (worker, event) = (&worker, &event);
        async move {
            for invocation in 1..=30 {
                let answer = worker.handle(event(Some(segment))).await.unwrap();
                assert_eq!(answer["counts"]["failed"], 0, "{answer}");
                if answer["done"] == true {
                    return invocation;
                }
            }
            panic!("segment {segment} is not done after 30 invocations");
        }
    };
    let invocations = futures_util::future::join_all((0..3).map(segment)).await;
    assert!(
        invocations.iter().any(|n| *n > 1),
        "no segment took more than one invocation: {invocations:?}"
    );
    // The last step: the whole job, done.
    let finished = worker.handle(event(None)).await.unwrap();
    assert_eq!(finished["done"], true, "{finished}");
    assert_eq!(finished["counts"]["seen"], 90, "{finished}");
    assert_eq!(finished["counts"]["plaintext"], 0, "{finished}");
    // On a job table, the plan stays open (the job table's writers could have marked segments
    // done): closed by hand once an audit finds nothing in plaintext.
    let plans = plans_of(&plans_table, &plans_key);
    assert!(matches!(
        plans.status(&name).await.unwrap(),
        crypt_model::MigrationStatus::Open { .. }
    ));
    assert_eq!(audit_accounts(&name, &k1, &secret)["without_header"], 0);
    assert!(plans.close(&name).await.unwrap());
    for i in 0..90 {
        let owner = format!("a{i:03}");
        let record = table
            .get(
                &Caller::user(&owner).unwrap(),
                &Account::key(owner.clone()).unwrap(),
            )
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{owner} is lost"));
        assert_eq!(record.email.expose_secret(), &email_of(i));
    }
    // What is not a job's event is refused, saying why.
    let wrong = worker
        .handle(json!({"job": {"command": "erase-owner", "table": name, "name": "x", "segments": 1, "job_table": jobs}}))
        .await
        .unwrap_err();
    assert!(
        wrong.contains("migrate, rotate or backfill-index"),
        "{wrong}"
    );
    let wrong = worker.handle(json!({"table": name})).await.unwrap_err();
    assert!(
        wrong.contains("the payload is not a crypt-model job's"),
        "{wrong}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// The job's state machine (docs/workers/state-machine.asl.json).
fn state_machine() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/workers/state-machine.asl.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// What a Task state's `Payload` template makes of `input`, as Step Functions does for the
/// paths it uses: a field `name.$` takes the value at the path `$.a.b`.
fn payload_of(template: &Value, input: &Value) -> Value {
    let mut payload = serde_json::Map::new();
    for (name, value) in template.as_object().unwrap() {
        let (name, value) = match name.strip_suffix(".$") {
            Some(name) => {
                let path = value.as_str().unwrap().strip_prefix("$.").unwrap();
                let found = path.split('.').fold(input, |at, step| &at[step]);
                (name, found.clone())
            }
            None => (name.as_str(), value.clone()),
        };
        payload.insert(name.to_owned(), value);
    }
    Value::Object(payload)
}

/// The state machine and the CloudFormation template pass cfn-lint (the template's schema,
/// and the Amazon States Language's for the definition, inlined as `aws cloudformation package`
/// would upload it), and every state the definition names exists.
#[test]
fn the_state_machine_and_the_template_pass_their_schemas() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let lint = format!("{root}/.venv/bin/cfn-lint");
    assert!(
        Path::new(&lint).exists(),
        "{lint} is missing: scripts/test installs cfn-lint into .venv (or run `.venv/bin/pip \
         install cfn-lint`)"
    );
    let machine = state_machine();
    // Every `Next`, `Default` and `StartAt` names a state of its own level.
    fn check(states: &Value, start: &str) {
        let states = states.as_object().unwrap();
        assert!(states.contains_key(start), "StartAt {start} names no state");
        let mut targets = Vec::new();
        for (name, state) in states {
            targets.extend(state.get("Next").and_then(Value::as_str));
            targets.extend(state.get("Default").and_then(Value::as_str));
            for choice in state
                .get("Choices")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                targets.extend(choice["Next"].as_str());
            }
            if let Some(processor) = state.get("ItemProcessor") {
                check(&processor["States"], processor["StartAt"].as_str().unwrap());
            }
            let ends = matches!(state["Type"].as_str(), Some("Succeed" | "Fail" | "Choice"))
                || state.get("End") == Some(&Value::Bool(true));
            assert!(
                ends || state.get("Next").is_some(),
                "state {name} leads nowhere"
            );
        }
        for target in targets {
            assert!(states.contains_key(target), "`{target}` names no state");
        }
    }
    check(&machine["States"], machine["StartAt"].as_str().unwrap());
    let template = std::fs::read_to_string(format!("{root}/docs/workers/template.yaml")).unwrap();
    let inlined = template.replace(
        "DefinitionS3Location: state-machine.asl.json",
        &format!("Definition: {machine}"),
    );
    assert_ne!(
        inlined, template,
        "the template no longer names state-machine.asl.json"
    );
    let dir = temp_dir("template");
    let file = dir.join("template.yaml");
    std::fs::write(&file, inlined).unwrap();
    let out = Command::new(&lint).arg(&file).output().unwrap();
    assert!(
        out.status.success(),
        "cfn-lint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // A broken definition fails the check (the check can fail).
    let broken = std::fs::read_to_string(&file)
        .unwrap()
        .replace("\"Type\":\"Pass\"", "\"Type\":\"Pass\",\"Typo\":1");
    std::fs::write(&file, broken).unwrap();
    let out = Command::new(&lint).arg(&file).output().unwrap();
    assert!(
        !out.status.success(),
        "cfn-lint passed a definition with an unknown field"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
