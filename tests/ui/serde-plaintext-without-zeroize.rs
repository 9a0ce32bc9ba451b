use crypt_model::SerdePlaintext;

#[derive(serde::Serialize, serde::Deserialize)]
struct Card {
    number: String,
}

impl SerdePlaintext for Card {}

fn main() {}
