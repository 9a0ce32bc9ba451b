//! The examples of crypt-model on DynamoDB and AWS KMS, and what they share: `cargo run --example
//! dynamo_quickstart -- http://127.0.0.1:5000` against a local server (moto), `cargo run --example
//! profile_service` and `clinic_service` (HTTP services, in memory or on DynamoDB).

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

/// The endpoint after `--dynamo` on the command line, if any: the HTTP services then run on
/// DynamoDB and KMS there (a local server) instead of in memory.
pub fn dynamo_endpoint() -> Option<String> {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--dynamo" {
            return args.next();
        }
    }
    None
}

/// A keyring over a KMS key created for the run on the local server `config` points at. An
/// application configures the id, ARN or alias of a key it already has, and calls
/// `KmsKeyring::connect` with it.
pub async fn new_kms_keyring(
    config: &aws_config::SdkConfig,
) -> Result<crypt_model_dynamo::KmsKeyring, Box<dyn std::error::Error>> {
    let kms = crypt_model_dynamo::aws_sdk_kms::Client::new(config);
    let key = kms
        .create_key()
        .send()
        .await?
        .key_metadata
        .map(|m| m.key_id);
    let key = key.ok_or("KMS returned no key")?;
    Ok(crypt_model_dynamo::KmsKeyring::connect(kms, &key, &[]).await?)
}
