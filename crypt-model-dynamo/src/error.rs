//! Mapping the SDK's errors to crypt-model's typed errors.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use crypt_model::Error;

/// Maps an SDK error of a request to table `table`.
pub(crate) fn map<E, R>(table: &str, error: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let table = table.to_owned();
    match &error {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            return Error::Store {
                table,
                message: "DynamoDB could not be reached: check the endpoint and the network"
                    .to_owned(),
                source: Some(Box::new(error)),
            };
        }
        SdkError::ConstructionFailure(_) => {
            return Error::Store {
                table,
                message:
                    "the request could not be built (check the client's region and credentials)"
                        .to_owned(),
                source: Some(Box::new(error)),
            };
        }
        _ => {}
    }
    let code = error.code().unwrap_or("Unknown").to_owned();
    let message = error.message().unwrap_or("").to_owned();
    match code.as_str() {
        "ConditionalCheckFailedException" => Error::ConditionFailed { table },
        "ResourceNotFoundException" => Error::TableNotFound { table },
        "ProvisionedThroughputExceededException"
        | "ThrottlingException"
        | "RequestLimitExceeded" => Error::Throttled { table },
        "ValidationException" => Error::InvalidRequest {
            table,
            reason: message,
        },
        _ => Error::Store {
            table,
            message: format!("{code}: {message}"),
            source: Some(Box::new(error)),
        },
    }
}

/// An SDK builder's error (a required field missing): a bug here, reported as a store error.
pub(crate) fn build(table: &str, error: aws_sdk_dynamodb::error::BuildError) -> Error {
    Error::Store {
        table: table.to_owned(),
        message: "an SDK request could not be built".to_owned(),
        source: Some(Box::new(error)),
    }
}
