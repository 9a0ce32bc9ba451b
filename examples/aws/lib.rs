//! The examples of crypt-model on DynamoDB and AWS KMS, and what they share: `cargo run --example
//! dynamo_quickstart -- http://127.0.0.1:5000` against a local server (moto), `cargo run --example
//! profile_service` (an HTTP service, in memory or on DynamoDB).

/// The SDK configuration for a local DynamoDB/KMS server at `endpoint` (moto), built the way
/// applications build theirs (`aws-config`), with static test credentials: point it only at a
/// local server. Against AWS, use `aws_config::load_defaults(BehaviorVersion::latest())`.
pub async fn local_config(endpoint: &str) -> aws_config::SdkConfig {
    use crypt_model_dynamo::aws_sdk_dynamodb::config::{Credentials, Region};
    let credentials = Credentials::new("testing", "testing", None, None, "crypt-model-examples");
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(credentials)
        .load()
        .await
}
