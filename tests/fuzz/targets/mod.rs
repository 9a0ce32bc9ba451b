//! What the targets share: the model and its sealed record, the run of a property over generated
//! inputs and over the corpus, the checks every input gets, and the mutations of valid data.

pub(crate) mod cursor;
pub(crate) mod differential;
pub(crate) mod json;
pub(crate) mod lambda;
pub(crate) mod plaintext;
pub(crate) mod sealed;
pub(crate) mod stream;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use crypt_model::{
    AttributeValue, Caller, EncryptedItem, Item, Keys, LocalKeyring, Sealed, Sensitive,
};
use crypt_model_fuzz_tests::Measuring;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// A sensitive value: no error may hold it.
pub(crate) const SECRET: &str = "fuzz-secret-7f3a9c0d";
/// A card number, sealed as bytes.
pub(crate) const CARD: &[u8] = b"4111111111111111";

/// The record every target seals.
#[derive(EncryptedItem)]
#[crypt_model(table = "fuzz_records")]
pub(crate) struct Record {
    #[partition_key]
    #[owner]
    pub(crate) user_id: String,
    #[sort_key]
    pub(crate) n: u32,
    #[sensitive]
    pub(crate) secret: Sensitive<String>,
    #[sensitive]
    pub(crate) card: Sensitive<Vec<u8>>,
    pub(crate) plan: String,
}

/// The keys, a runtime, and a record of alice's sealed under it.
pub(crate) struct Fixture {
    pub(crate) keys: Arc<Keys>,
    pub(crate) runtime: tokio::runtime::Runtime,
    pub(crate) sealed: Item,
    pub(crate) owner: Caller,
}

/// The one fixture of the process.
pub(crate) fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let keys = Arc::new(Keys::new(
            LocalKeyring::new("fuzz-key", &[0x42; 32]).unwrap(),
        ));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let record = Record {
            user_id: "alice".into(),
            n: 7,
            secret: Sensitive::new(SECRET.into()),
            card: Sensitive::new(CARD.to_vec()),
            plan: "gold".into(),
        };
        let sealed = runtime
            .block_on(record.to_item(&keys))
            .expect("the fixture seals");
        Fixture {
            keys,
            runtime,
            sealed,
            owner: Caller::user("alice").unwrap(),
        }
    })
}

/// Inputs per target.
pub(crate) fn cases() -> u32 {
    std::env::var("CRYPT_MODEL_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000)
}

/// The corpus directory of `target`.
fn corpus(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target)
}

/// Runs `check` on every file of `target`'s corpus, then on `cases()` inputs of `strategy`
/// (`encode` turns an input into the bytes a corpus file holds). Prints how many inputs were
/// tried, for docs/reliability.md.
pub(crate) fn fuzz<S: Strategy>(
    target: &str,
    strategy: S,
    encode: impl Fn(&S::Value) -> Vec<u8>,
    check: impl Fn(&[u8]) -> Result<(), String>,
) {
    let mut replayed = 0;
    if let Ok(entries) = std::fs::read_dir(corpus(target)) {
        let mut paths: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
        paths.sort();
        for path in paths {
            let input = std::fs::read(&path).unwrap();
            if let Err(failure) = check(&input) {
                panic!("{target}: corpus file {} fails: {failure}", path.display());
            }
            replayed += 1;
        }
    }
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&strategy, |value| {
        let input = encode(&value);
        check(&input).map_err(|failure| {
            save(target, &input);
            TestCaseError::fail(failure)
        })
    });
    if let Err(error) = result {
        panic!("{target}: {error}");
    }
    eprintln!(
        "fuzz {target}: {replayed} corpus inputs and {} generated inputs, every property held",
        cases()
    );
}

/// Keeps a failing input in the corpus, when asked to (`CRYPT_MODEL_FUZZ_SAVE=1`).
fn save(target: &str, input: &[u8]) {
    if std::env::var_os("CRYPT_MODEL_FUZZ_SAVE").is_some() {
        let dir = corpus(target);
        std::fs::create_dir_all(&dir).unwrap();
        let name: String = input
            .iter()
            .fold(0xcbf29ce484222325u64, |h, b| {
                (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
            })
            .to_string();
        std::fs::write(dir.join(format!("found-{name}")), input).unwrap();
    }
}

/// Runs `parse` measuring its largest allocation, which must stay within `bound` bytes.
pub(crate) fn bounded<R>(bound: usize, parse: impl FnOnce() -> R) -> Result<R, String> {
    let (result, largest) = Measuring::largest_during(parse);
    if largest > bound {
        return Err(format!(
            "allocated {largest} bytes at once, more than the bound of {bound}"
        ));
    }
    Ok(result)
}

/// Opens `sealed` as its owner, its largest allocation within `bound`. `Ok(true)`: it opened to
/// exactly the sealed values; `Ok(false)`: it failed with an error that holds no plaintext;
/// `Err`: a property does not hold.
pub(crate) fn opens_as_sealed(sealed: Sealed<Record>, bound: usize) -> Result<bool, String> {
    let fixture = fixture();
    let opened = bounded(bound, || {
        fixture
            .runtime
            .block_on(sealed.open(&fixture.owner, &fixture.keys))
    })?;
    match opened {
        Err(error) => no_plaintext(&error, &error.to_string()).map(|()| false),
        Ok(record) => {
            let same = record.user_id == "alice"
                && record.n == 7
                && record.secret.expose_secret() == SECRET
                && record.card.expose_secret() == CARD
                && record.plan == "gold";
            if same {
                Ok(true)
            } else {
                Err("an edited record opened to other values".to_owned())
            }
        }
    }
}

/// An error's `Display` and `Debug` hold no plaintext.
pub(crate) fn no_plaintext(error: &dyn std::fmt::Debug, display: &str) -> Result<(), String> {
    let debug = format!("{error:?}");
    let card = String::from_utf8_lossy(CARD);
    for text in [display, debug.as_str()] {
        if text.contains(SECRET) || text.contains(card.as_ref()) {
            return Err(format!("an error holds a plaintext value: {text}"));
        }
    }
    Ok(())
}

/// A stored attribute value of any type, a few levels deep.
pub(crate) fn attribute_value() -> impl Strategy<Value = AttributeValue> {
    let leaf = prop_oneof![
        ".{0,24}".prop_map(AttributeValue::S),
        "-?[0-9]{1,40}(\\.[0-9]{1,10})?(e-?[0-9]{1,3})?".prop_map(AttributeValue::N),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(AttributeValue::B),
        any::<bool>().prop_map(AttributeValue::Bool),
        Just(AttributeValue::Null),
        prop::collection::btree_set(".{0,8}", 1..4)
            .prop_map(|s| AttributeValue::Ss(s.into_iter().collect())),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(AttributeValue::L),
            prop::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| AttributeValue::M(m.into_iter().collect())),
        ]
    })
}

/// An edit of a byte string: what a flipped bit, a cut, a splice or a stray write does.
#[derive(Clone, Debug)]
pub(crate) enum ByteEdit {
    Flip { at: usize, bit: u8 },
    Set { at: usize, byte: u8 },
    Truncate { to: usize },
    Insert { at: usize, bytes: Vec<u8> },
    Remove { at: usize, len: usize },
}

/// Byte edits, one to four.
pub(crate) fn byte_edits() -> impl Strategy<Value = Vec<ByteEdit>> {
    let edit = prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| ByteEdit::Flip { at, bit }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| ByteEdit::Set { at, byte }),
        any::<usize>().prop_map(|to| ByteEdit::Truncate { to }),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| ByteEdit::Insert { at, bytes }),
        (any::<usize>(), 1usize..16).prop_map(|(at, len)| ByteEdit::Remove { at, len }),
    ];
    prop::collection::vec(edit, 1..5)
}

/// `bytes` with `edits` applied (positions taken modulo the length).
pub(crate) fn apply(bytes: &[u8], edits: &[ByteEdit]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for edit in edits {
        let len = out.len();
        match edit {
            ByteEdit::Flip { at, bit } if len > 0 => out[at % len] ^= 1 << bit,
            ByteEdit::Set { at, byte } if len > 0 => out[at % len] = *byte,
            ByteEdit::Truncate { to } => out.truncate(to % (len + 1)),
            ByteEdit::Insert { at, bytes } => {
                let at = at % (len + 1);
                out.splice(at..at, bytes.iter().copied());
            }
            ByteEdit::Remove { at, len: n } if len > 0 => {
                let at = at % len;
                out.drain(at..(at + n).min(len));
            }
            _ => {}
        }
    }
    out
}
