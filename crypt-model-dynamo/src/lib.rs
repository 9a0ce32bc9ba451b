//! DynamoDB storage and the AWS KMS keyring for crypt-model.
//!
//! - [`DynamoStore`]: a [`crypt_model::Store`] over `aws-sdk-dynamodb`;
//! - [`provision`]: creates the table a model needs, idempotently;
//! - [`KmsKeyring`]: a [`crypt_model::keyring::Keyring`] over `aws-sdk-kms`;
//! - [`StreamDecoder`]: DynamoDB Streams records (SDK or Lambda JSON) as sealed records.
//!
//! ```no_run
//! use std::sync::Arc;
//! use crypt_model::{Cipher, Table, TableRef, EncryptedItem, Sensitive};
//! use crypt_model_dynamo::{DynamoStore, KmsKeyring, provision, ProvisionOptions};
//!
//! #[derive(EncryptedItem)]
//! #[crypt_model(table = "profiles")]
//! struct Profile {
//!     #[partition_key]
//!     #[owner]
//!     user_id: String,
//!     #[sensitive]
//!     ssn: Sensitive<String>,
//! }
//!
//! # async fn example(sdk: &aws_sdk_dynamodb::config::Config, kms: aws_sdk_kms::Client) -> crypt_model::Result<()> {
//! let dynamo = aws_sdk_dynamodb::Client::from_conf(sdk.clone());
//! let cipher = Arc::new(Cipher::new(KmsKeyring::connect(kms, "alias/profiles", &[]).await?));
//! // The physical table comes from configuration, e.g. per environment.
//! let table = TableRef::for_schema("prod-profiles", &Profile::SCHEMA)?;
//! provision(&dynamo, &table, ProvisionOptions::default()).await?;
//! let profiles = Table::<Profile, _>::named(DynamoStore::new(dynamo), cipher, table.name())?;
//! # Ok(()) }
//! ```

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod convert;
mod error;
mod expression;
mod kms;
mod provision;
mod store;
mod streams;

pub use convert::{from_sdk, item_from_sdk, item_to_sdk, to_sdk};
pub use kms::KmsKeyring;
pub use provision::{ProvisionOptions, provision};
pub use store::DynamoStore;
pub use streams::{ChangeKind, StreamChange, StreamDecoder};
