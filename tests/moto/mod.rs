//! The local DynamoDB/KMS server (moto) that the DynamoDB tests run against, and clients for it.
//! `scripts/test` starts it and exports `CRYPT_MODEL_TEST_ENDPOINT`; a test without it fails
//! saying how to start it.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::sync::atomic::{AtomicU32, Ordering};

/// The server's endpoint.
pub fn endpoint() -> String {
    std::env::var("CRYPT_MODEL_TEST_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "CRYPT_MODEL_TEST_ENDPOINT is not set: these tests need a local DynamoDB/KMS server. \
             Run scripts/test, which starts one, or start moto yourself: \
             `python3 -m venv .venv && .venv/bin/pip install 'moto[server,dynamodb]==5.2.5' && \
             .venv/bin/python scripts/moto-server 127.0.0.1 5000`, then \
             `export CRYPT_MODEL_TEST_ENDPOINT=http://127.0.0.1:5000`"
        )
    })
}

/// A DynamoDB client for the local server, with static test credentials.
pub fn dynamo() -> aws_sdk_dynamodb::Client {
    dynamo_at(&endpoint())
}

/// The shared SDK configuration for a local server at `endpoint`, with static test
/// credentials; every client below is built from it.
pub fn sdk_config(endpoint: &str) -> aws_types::SdkConfig {
    use aws_sdk_dynamodb::config::Credentials;
    let credentials = Credentials::new("testing", "testing", None, None, "crypt-model-tests");
    sdk_config_as(endpoint, credentials)
}

/// The SDK configuration for a local server at `endpoint`, signing with `credentials` (an IAM
/// user's, when the server checks them).
pub fn sdk_config_as(
    endpoint: &str,
    credentials: aws_sdk_dynamodb::config::Credentials,
) -> aws_types::SdkConfig {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Region};
    use aws_types::sdk_config::SharedCredentialsProvider;
    aws_types::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .build()
}

/// A DynamoDB client for `endpoint`.
pub fn dynamo_at(endpoint: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&sdk_config(endpoint))
}

/// A KMS client for the local server.
pub fn kms() -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::new(&sdk_config(&endpoint()))
}

/// A DynamoDB Streams client for the local server.
pub fn streams() -> aws_sdk_dynamodbstreams::Client {
    aws_sdk_dynamodbstreams::Client::new(&sdk_config(&endpoint()))
}

/// A new KMS key; its ARN.
pub async fn kms_key(kms: &aws_sdk_kms::Client) -> String {
    let created = kms
        .create_key()
        .send()
        .await
        .expect("moto creates a KMS key");
    created
        .key_metadata
        .and_then(|metadata| metadata.arn)
        .expect("key metadata with an ARN")
}

/// A new HMAC key (for tombstones: `KmsErasureKey`), by its ARN.
pub async fn kms_hmac_key(kms: &aws_sdk_kms::Client) -> String {
    let created = kms
        .create_key()
        .key_spec(aws_sdk_kms::types::KeySpec::Hmac256)
        .key_usage(aws_sdk_kms::types::KeyUsageType::GenerateVerifyMac)
        .send()
        .await
        .expect("moto creates an HMAC key");
    created
        .key_metadata
        .and_then(|metadata| metadata.arn)
        .expect("key metadata with an ARN")
}

/// A table name no other test uses.
pub fn unique(name: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "t{}-{}-{nanos}-{name}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}
