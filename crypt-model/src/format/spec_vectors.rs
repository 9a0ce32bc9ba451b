//! The known-answer vectors of docs/format.md, read for the tests of the modules they specify.

const SPEC: &str = include_str!("../../docs/format.md");

/// One vector: its `name: value` lines in order (a name may repeat; an indented line continues
/// the previous value).
pub(crate) type Vector = Vec<(String, String)>;

/// The vectors of the spec: each ```text block that starts with `vector:`.
pub(crate) fn vectors(kind: &str) -> Vec<Vector> {
    let mut vectors = Vec::new();
    let mut lines = SPEC.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "```text" {
            continue;
        }
        let mut fields: Vector = Vec::new();
        for line in lines.by_ref().take_while(|l| l.trim() != "```") {
            if line.starts_with(' ') && !fields.is_empty() {
                let last = fields.len() - 1;
                let value = &mut fields[last].1;
                if !value.ends_with(',') && value.chars().all(|c| c.is_ascii_hexdigit()) {
                    value.push_str(line.trim());
                } else {
                    value.push(' ');
                    value.push_str(line.trim());
                }
            } else if let Some((name, value)) = line.split_once(':') {
                fields.push((name.trim().to_owned(), value.trim().to_owned()));
            }
        }
        if fields
            .first()
            .is_some_and(|(n, v)| n == "vector" && v.starts_with(kind))
        {
            vectors.push(fields);
        }
    }
    assert!(!vectors.is_empty(), "docs/format.md has no `{kind}` vector");
    vectors
}

pub(crate) fn all<'a>(v: &'a Vector, name: &str) -> Vec<&'a str> {
    v.iter()
        .filter(|(n, _)| n == name)
        .map(|(_, value)| value.as_str())
        .collect()
}

pub(crate) fn text<'a>(v: &'a Vector, name: &str) -> &'a str {
    match all(v, name).as_slice() {
        [value] => value,
        _ => panic!("the vector needs exactly one `{name}`"),
    }
}

pub(crate) fn hex(v: &Vector, name: &str) -> Vec<u8> {
    hex::decode(text(v, name)).unwrap_or_else(|_| panic!("`{name}` is not hex"))
}

pub(crate) fn array<const N: usize>(v: &Vector, name: &str) -> [u8; N] {
    hex(v, name)
        .try_into()
        .unwrap_or_else(|_| panic!("`{name}` is not {N} bytes"))
}
