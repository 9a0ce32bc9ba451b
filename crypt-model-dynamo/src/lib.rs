#![doc = include_str!("../README.md")]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod convert;
mod error;
mod expression;
#[cfg(feature = "kms")]
mod kms;
#[cfg(feature = "kms")]
mod kms_erasure;
mod provision;
mod store;
#[cfg(feature = "streams")]
mod streams;

pub use convert::{from_sdk, item_from_sdk, item_to_sdk, to_sdk};
#[cfg(feature = "kms")]
pub use kms::KmsKeyring;
#[cfg(feature = "kms")]
pub use kms_erasure::KmsErasureKey;
pub use provision::{ProvisionOptions, provision};
pub use store::DynamoStore;
#[cfg(feature = "streams")]
pub use streams::{ChangeKind, StreamChange, StreamDecoder};

/// The typed Lambda events, whose DynamoDB event [`StreamDecoder::lambda`] takes.
#[cfg(feature = "lambda")]
pub use aws_lambda_events;
/// The DynamoDB SDK this crate's API takes ([`DynamoStore::new`], [`provision`]), at the version
/// it was built with: build the client from it, and no version can mismatch.
pub use aws_sdk_dynamodb;
/// The DynamoDB Streams SDK that [`StreamDecoder::sdk_record`] takes records of.
#[cfg(feature = "streams")]
pub use aws_sdk_dynamodbstreams;
/// The KMS SDK whose client [`KmsKeyring`] takes.
#[cfg(feature = "kms")]
pub use aws_sdk_kms;

/// The chapters of crypt-model's guide that use this crate; the rest of the guide is
/// [`crypt_model::guide`].
pub mod guide {
    #[doc = include_str!("../docs/guide/aws-setup.md")]
    pub mod aws_setup {}
    #[doc = include_str!("../docs/guide/streams.md")]
    #[cfg(feature = "streams")]
    pub mod streams {}
    #[doc = include_str!("../docs/guide/testing-with-moto.md")]
    #[cfg(feature = "kms")]
    pub mod testing_with_moto {}
}
