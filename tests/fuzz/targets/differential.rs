//! Differential tests against the independent implementation of docs/format.md
//! (`scripts/format-reference.py --serve`, Python, written from the prose): random items — a
//! random table, key attribute, owner, key id and key-encryption key, one to eight sensitive
//! fields of up to 2 KiB, up to four authenticated plain attributes of any type — sealed by the
//! library are opened by the reference, and sealed by the reference are opened by the library;
//! and each edit of a sealed item (its header or message bytes, an authenticated attribute
//! changed or removed, an unauthenticated one added) is accepted by both or rejected by both.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use crypt_model::hazmat::Plaintexts;
use crypt_model::zeroize::Zeroizing;
use crypt_model::{AttributeValue, Caller, Item, Keys, LocalKeyring, Schema};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};

use super::{ByteEdit, apply, attribute_value, byte_edits, fixture};

/// The reference implementation, serving one JSON request per line.
struct Reference {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl Reference {
    fn start() -> Reference {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let python = root.join(".venv/bin/python");
        let mut child = Command::new(&python)
            .arg(root.join("scripts/format-reference.py"))
            .arg("--serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "the format's Python reference cannot start ({}: {e}): run scripts/test, \
                     which installs it, or `python3 -m venv .venv && .venv/bin/pip install \
                     pycryptodome==4.4.0`",
                    python.display()
                )
            });
        let input = child.stdin.take().unwrap();
        let output = BufReader::new(child.stdout.take().unwrap());
        Reference {
            child,
            input,
            output,
        }
    }

    fn ask(&mut self, request: &Value) -> Value {
        writeln!(self.input, "{request}").unwrap();
        let mut line = String::new();
        self.output.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("the reference answered {line}: {e}"))
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One random item and what is done to it.
#[derive(Clone, Debug)]
struct Case {
    table: String,
    key_id: String,
    kek: [u8; 32],
    partition: String,
    owner: String,
    sensitive: BTreeMap<String, Vec<u8>>,
    plain: BTreeMap<String, AttributeValue>,
    randomness: [[u8; 32]; 4],
    edit: Edit,
}

#[derive(Clone, Debug)]
enum Edit {
    Header(Vec<ByteEdit>),
    Message(Vec<ByteEdit>),
    /// An authenticated attribute (by index) given another value.
    Change(usize, AttributeValue),
    /// An authenticated attribute (by index) removed.
    Remove(usize),
    /// An attribute the schema does not know, added.
    Add(AttributeValue),
}

fn case() -> impl Strategy<Value = Case> {
    let names = prop::collection::btree_set("[a-z][a-z0-9_]{0,10}", 2..14);
    let edit = prop_oneof![
        byte_edits().prop_map(Edit::Header),
        byte_edits().prop_map(Edit::Message),
        (any::<usize>(), attribute_value()).prop_map(|(i, v)| Edit::Change(i, v)),
        any::<usize>().prop_map(Edit::Remove),
        attribute_value().prop_map(Edit::Add),
    ];
    (
        "[a-z][a-z0-9_.-]{2,20}",
        "[a-z0-9][a-z0-9-]{0,20}",
        // A key-encryption key of zeros is refused by the keyring, rightly.
        any::<[u8; 32]>().prop_filter("not all zero", |k| k.iter().any(|b| *b != 0)),
        names,
        "[a-z0-9]{1,16}",
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..2048), 8),
        prop::collection::vec(authenticated_value(), 4),
        0usize..5,
        any::<[[u8; 32]; 4]>(),
        edit,
    )
        .prop_map(
            |(table, key_id, kek, names, owner, values, plains, plain_count, randomness, edit)| {
                let mut names: Vec<String> = names.into_iter().collect();
                let partition = names.remove(0);
                let plain_count = plain_count.min(names.len().saturating_sub(1));
                let plain: BTreeMap<String, AttributeValue> =
                    names.drain(..plain_count).zip(plains).collect();
                let sensitive: BTreeMap<String, Vec<u8>> =
                    names.into_iter().take(8).zip(values).collect();
                Case {
                    table,
                    key_id,
                    kek,
                    partition,
                    owner,
                    sensitive,
                    plain,
                    randomness,
                    edit,
                }
            },
        )
}

/// A plain attribute value the library stores as given (sets not empty, numbers canonical-able).
fn authenticated_value() -> impl Strategy<Value = AttributeValue> {
    attribute_value()
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

impl Case {
    fn schema(&self) -> Schema {
        let sensitive: Vec<&'static str> = self.sensitive.keys().map(|n| leak(n)).collect();
        let plain: Vec<&'static str> = self.plain.keys().map(|n| leak(n)).collect();
        let partition = leak(&self.partition);
        Schema::new(leak(&self.table), partition, partition)
            .with_sensitive(Box::leak(sensitive.into_boxed_slice()))
            .with_plain(Box::leak(plain.into_boxed_slice()))
    }

    fn keys(&self) -> Keys {
        Keys::new(LocalKeyring::new(&self.key_id, &self.kek).unwrap())
    }

    /// The plain attributes: the key (the owner) and the authenticated ones.
    fn plain_item(&self) -> Item {
        let mut item = Item::from_iter(self.plain.clone());
        item.insert(
            self.partition.clone(),
            AttributeValue::S(self.owner.clone()),
        );
        item
    }

    fn fields_hex(&self) -> Value {
        let fields: serde_json::Map<String, Value> = self
            .sensitive
            .iter()
            .map(|(n, v)| (n.clone(), Value::String(hex(v))))
            .collect();
        Value::Object(fields)
    }

    fn request(&self, op: &str, item: &Item) -> Value {
        let schema = self.schema();
        json!({
            "op": op,
            "table": self.table,
            "key_id": self.key_id,
            "kek": hex(&self.kek),
            "authenticated": schema.authenticated(),
            "item": serde_json::from_str::<Value>(&item.to_dynamodb_json()).unwrap(),
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The library's opening of `item`: the fields as hex, or why not.
fn library_opens(case: &Case, item: &Item) -> Result<Value, String> {
    let fixture = fixture();
    let schema = case.schema();
    let caller = Caller::user(&case.owner).map_err(|e| e.to_string())?;
    let mut plaintexts = fixture
        .runtime
        .block_on(crypt_model::hazmat::decrypt(
            &case.keys(),
            &schema,
            item,
            &caller,
        ))
        .map_err(|e| e.to_string())?;
    let mut fields = serde_json::Map::new();
    for name in case.sensitive.keys() {
        if let Some(value) = plaintexts
            .take::<Vec<u8>>(name)
            .map_err(|e| e.to_string())?
        {
            fields.insert(name.clone(), Value::String(hex(value.expose_secret())));
        }
    }
    Ok(Value::Object(fields))
}

/// The reference's opening of `item`.
fn reference_opens(reference: &mut Reference, case: &Case, item: &Item) -> Result<Value, String> {
    let answer = reference.ask(&case.request("open", item));
    match answer.get("fields") {
        Some(fields) => Ok(fields.clone()),
        None => Err(answer["error"].to_string()),
    }
}

fn edited(case: &Case, sealed: &Item) -> Item {
    let mut item = sealed.clone();
    let authenticated = case.schema().authenticated();
    let pick = |i: &usize| authenticated[i % authenticated.len()];
    match &case.edit {
        Edit::Header(edits) | Edit::Message(edits) => {
            let name = match case.edit {
                Edit::Header(_) => "__cm_header",
                _ => "__cm_sealed",
            };
            if let Some(AttributeValue::B(bytes)) = item.get_mut(name) {
                *bytes = apply(bytes, edits);
            }
        }
        Edit::Change(i, value) => {
            item.insert(pick(i), value.clone());
        }
        Edit::Remove(i) => {
            item.remove(pick(i));
        }
        Edit::Add(value) => {
            item.insert("zz_unknown_attribute", value.clone());
        }
    }
    item
}

fn check(reference: &mut Reference, case: &Case) -> Result<(), TestCaseError> {
    let fixture = fixture();
    let expected = case.fields_hex();
    // The library seals, the reference opens.
    let mut sealed = case.plain_item();
    let mut plaintexts = Plaintexts::new();
    for (name, value) in &case.sensitive {
        plaintexts.insert_bytes(leak(name), Zeroizing::new(value.clone()));
    }
    fixture
        .runtime
        .block_on(crypt_model::hazmat::encrypt(
            &case.keys(),
            &case.schema(),
            &mut sealed,
            &plaintexts,
        ))
        .map_err(|e| TestCaseError::fail(format!("the library cannot seal: {e}")))?;
    // Sealed with the suite the run asks for (`CRYPT_MODEL_TEST_SUITE`): version 4 for suite 2.
    let suite2 = std::env::var("CRYPT_MODEL_TEST_SUITE").is_ok_and(|suite| suite == "aes256gcm");
    let version = match sealed.get("__cm_header") {
        Some(AttributeValue::B(header)) => header.first().copied(),
        _ => None,
    };
    prop_assert_eq!(version, Some(if suite2 { 4 } else { 3 }));
    let opened = reference_opens(reference, case, &sealed).map_err(TestCaseError::fail)?;
    prop_assert_eq!(&opened, &expected, "the reference opens other values");

    // The reference seals, the library opens.
    let [data_key, salt, nonce, wrap_nonce] = case.randomness;
    let mut request = case.request("seal", &case.plain_item());
    request["fields"] = expected.clone();
    request["data_key"] = json!(hex(&data_key));
    request["salt"] = json!(hex(&salt));
    // The reference seals with the same suite: AES-GCM's nonce is 12 bytes.
    request["suite"] = json!(if suite2 { 2 } else { 1 });
    request["nonce"] = json!(hex(&nonce[..if suite2 { 12 } else { 24 }]));
    request["wrap_nonce"] = json!(hex(&wrap_nonce[..24]));
    let answer = reference.ask(&request);
    let theirs = Item::from_dynamodb_json(&answer["item"].to_string())
        .map_err(|e| TestCaseError::fail(format!("the reference sealed no item: {e} {answer}")))?;
    let opened = library_opens(case, &theirs).map_err(TestCaseError::fail)?;
    prop_assert_eq!(&opened, &expected, "the library opens other values");

    // An edit: both accept it, or both reject it.
    let edit = edited(case, &sealed);
    let ours = library_opens(case, &edit);
    let theirs = reference_opens(reference, case, &edit);
    match (&ours, &theirs) {
        (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
        (Err(_), Err(_)) => {}
        _ => {
            return Err(TestCaseError::fail(format!(
                "the implementations disagree on {:?}: library {ours:?}, reference {theirs:?}",
                case.edit
            )));
        }
    }
    if edit == sealed {
        prop_assert!(ours.is_ok(), "an unedited item does not open");
    }
    Ok(())
}

pub(crate) fn run() {
    let mut reference = Reference::start();
    // Each case is four round trips to the reference: fewer than the parsers' inputs.
    let cases = std::env::var("CRYPT_MODEL_DIFFERENTIAL_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let reference = std::cell::RefCell::new(&mut reference);
    let result = runner.run(&case(), |case| check(&mut reference.borrow_mut(), &case));
    if let Err(error) = result {
        panic!("differential: {error}");
    }
    eprintln!(
        "fuzz differential: {cases} random items sealed and opened by both implementations, \
         and one edit each: they agreed on every one"
    );
}
