//! The examples of crypt-model that need no AWS account: `cargo run --example quickstart`,
//! `patient`, `encrypt_one_record`. The examples on DynamoDB are in `examples/aws/`.
