//! A sealed item's header and message, and its other attributes: a stored item edited — bytes
//! of its header or message flipped, cut or spliced, an attribute replaced, removed or added —
//! is opened by its owner. It fails, or opens to exactly what was sealed.

use crypt_model::{AttributeValue, EncryptedItem, Item};
use proptest::prelude::*;

use super::{
    ByteEdit, Record, apply, attribute_value, bounded, byte_edits, fixture, fuzz, no_plaintext,
    opens_as_sealed,
};

/// An edit of the stored item.
#[derive(Clone, Debug)]
enum Edit {
    /// Byte edits of a binary attribute (the header, the message), by index among the item's
    /// attributes.
    Bytes(usize, Vec<ByteEdit>),
    /// The attribute replaced by another value.
    Replace(usize, AttributeValue),
    /// The attribute removed.
    Remove(usize),
    /// An attribute added (or replaced, if the name is taken).
    Add(String, AttributeValue),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        4 => (any::<usize>(), byte_edits()).prop_map(|(i, e)| Edit::Bytes(i, e)),
        1 => (any::<usize>(), attribute_value()).prop_map(|(i, v)| Edit::Replace(i, v)),
        1 => any::<usize>().prop_map(Edit::Remove),
        1 => ("(__cm_[a-z]{0,8}|[a-z_]{1,8})", attribute_value()).prop_map(|(n, v)| Edit::Add(n, v)),
    ];
    prop::collection::vec(edit, 1..4)
}

fn edited(edits: &[Edit]) -> Item {
    let mut item = fixture().sealed.clone();
    for edit in edits {
        let mut names: Vec<String> = item.iter().map(|(n, _)| n.to_owned()).collect();
        names.sort();
        let name = |i: &usize| names[i % names.len()].clone();
        match edit {
            Edit::Bytes(i, bytes) => {
                let name = name(i);
                if let Some(AttributeValue::B(b)) = item.get_mut(&name) {
                    *b = apply(b, bytes);
                }
            }
            Edit::Replace(i, value) => {
                item.insert(name(i), value.clone());
            }
            Edit::Remove(i) => {
                item.remove(&name(i));
            }
            Edit::Add(name, value) => {
                item.insert(name.clone(), value.clone());
            }
        }
    }
    item
}

/// The property, on an item given as DynamoDB JSON (the corpus's form).
fn check(input: &[u8]) -> Result<(), String> {
    let fixture = fixture();
    let Ok(text) = std::str::from_utf8(input) else {
        return Ok(());
    };
    let bound = 1024 * 1024 + 16 * input.len();
    let item = match bounded(bound, || Item::from_dynamodb_json(text))? {
        Ok(item) => item,
        Err(error) => return no_plaintext(&error, &error.to_string()),
    };
    let unchanged = item == fixture.sealed;
    let opened = opens_as_sealed(Record::from_item(item), bound)?;
    if unchanged && !opened {
        return Err("the unchanged item does not open".to_owned());
    }
    Ok(())
}

pub(crate) fn run() {
    fuzz(
        "sealed",
        edits(),
        |edits| edited(edits).to_dynamodb_json().into_bytes(),
        check,
    );
}
