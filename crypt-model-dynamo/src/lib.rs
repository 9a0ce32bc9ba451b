//! DynamoDB storage and the AWS KMS keyring for crypt-model.
//!
//! This crate will hold `DynamoStore` (a `Store` over `aws-sdk-dynamodb`), `KmsKeyring` (a
//! [`crypt_model::Keyring`] over `aws-sdk-kms`), table provisioning and stream-record decoding.
//! It arrives with the issue "DynamoDB backend and AWS KMS keyring"; until then it exports
//! nothing.
