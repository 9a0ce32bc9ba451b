//! Mapping the SDK's errors to crypt-model's typed errors.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use crypt_model::Error;
use crypt_model::error::StorageError;

/// Maps an SDK error of a request to table `table`.
pub(crate) fn map<E, R>(table: &str, error: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let table = table.to_owned();
    match &error {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            return Error::Storage(StorageError::Backend {
                table,
                message: "DynamoDB could not be reached: check the endpoint and the network"
                    .to_owned(),
                source: Some(Box::new(error)),
            });
        }
        SdkError::ConstructionFailure(_) => {
            return Error::Storage(StorageError::Backend {
                table,
                message:
                    "the request could not be built (check the client's region and credentials)"
                        .to_owned(),
                source: Some(Box::new(error)),
            });
        }
        _ => {}
    }
    let code = error.code().unwrap_or("Unknown").to_owned();
    let message = error.message().unwrap_or("").to_owned();
    match code.as_str() {
        "ConditionalCheckFailedException" => {
            Error::Storage(StorageError::ConditionFailed { table })
        }
        "ResourceNotFoundException" => Error::Storage(StorageError::TableNotFound { table }),
        "ProvisionedThroughputExceededException"
        | "ThrottlingException"
        | "RequestLimitExceeded" => Error::Storage(StorageError::Throttled { table }),
        // "Item size has exceeded the maximum allowed size", "Item size to update has exceeded
        // the maximum allowed size".
        "ValidationException" if message.starts_with("Item size") => {
            Error::Storage(StorageError::ItemTooLarge { table })
        }
        "ValidationException" => Error::Storage(StorageError::InvalidRequest {
            table,
            reason: message,
        }),
        _ => Error::Storage(StorageError::Backend {
            table,
            message: format!("{code}: {message}"),
            source: Some(Box::new(error)),
        }),
    }
}

/// Maps an SDK error of a query of table `table`, on its index `index` if it names one: a
/// missing index is named as such, not as a missing table (DynamoDB says `ValidationException`,
/// "The table does not have the specified index"; moto `ResourceNotFoundException`, "Invalid
/// index").
pub(crate) fn map_query<E, R>(table: &str, index: Option<&str>, error: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let message = error.message().unwrap_or("");
    let about_index = index.is_some()
        && match error.code() {
            Some("ValidationException") => message.contains("does not have the specified index"),
            Some("ResourceNotFoundException") => message.starts_with("Invalid index"),
            _ => false,
        };
    match index {
        Some(index) if about_index => Error::Storage(StorageError::IndexNotFound {
            table: table.to_owned(),
            index: index.to_owned(),
        }),
        _ => map(table, error),
    }
}

/// An SDK builder's error (a required field missing): a bug here, reported as a store error.
pub(crate) fn build(table: &str, error: aws_sdk_dynamodb::error::BuildError) -> Error {
    Error::Storage(StorageError::Backend {
        table: table.to_owned(),
        message: "an SDK request could not be built".to_owned(),
        source: Some(Box::new(error)),
    })
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::config::http::HttpResponse;
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::put_item::PutItemError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    use super::*;

    /// An error as DynamoDB returns it, with `code` (moto cannot produce throttling).
    fn service_error(code: &str) -> SdkError<PutItemError, HttpResponse> {
        saying(code, "said by the service")
    }

    /// An error with `code` and `message`.
    fn saying(code: &str, message: &str) -> SdkError<PutItemError, HttpResponse> {
        let meta = ErrorMetadata::builder().code(code).message(message).build();
        let response = HttpResponse::new(StatusCode::try_from(400).unwrap(), SdkBody::empty());
        SdkError::service_error(PutItemError::generic(meta), response)
    }

    #[test]
    fn a_query_of_a_missing_index_names_the_index_not_a_missing_table() {
        for (code, message) in [
            (
                "ValidationException",
                "The table does not have the specified index: by_team",
            ),
            (
                "ResourceNotFoundException",
                "Invalid index: by_team for table: t. Available indexes are: ",
            ),
        ] {
            match map_query("t", Some("by_team"), saying(code, message)) {
                Error::Storage(StorageError::IndexNotFound { table, index }) => {
                    assert_eq!((table.as_str(), index.as_str()), ("t", "by_team"));
                }
                other => panic!("{code}: {other:?}"),
            }
        }
        // Of the table itself, or with no index named: as before.
        assert!(matches!(
            map_query(
                "t",
                None,
                saying("ResourceNotFoundException", "Requested resource not found")
            ),
            Error::Storage(StorageError::TableNotFound { .. })
        ));
        assert!(matches!(
            map_query(
                "t",
                Some("by_team"),
                saying("ResourceNotFoundException", "Requested resource not found")
            ),
            Error::Storage(StorageError::TableNotFound { .. })
        ));
    }

    #[test]
    fn dynamodb_errors_are_typed() {
        let table = "prod-profiles";
        assert!(matches!(
            map(table, service_error("ConditionalCheckFailedException")),
            Error::Storage(StorageError::ConditionFailed { .. })
        ));
        assert!(matches!(
            map(table, service_error("ResourceNotFoundException")),
            Error::Storage(StorageError::TableNotFound { .. })
        ));
        for code in [
            "ProvisionedThroughputExceededException",
            "ThrottlingException",
            "RequestLimitExceeded",
        ] {
            assert!(
                matches!(
                    map(table, service_error(code)),
                    Error::Storage(StorageError::Throttled { .. })
                ),
                "{code}"
            );
        }
        assert!(matches!(
            map(table, service_error("ValidationException")),
            Error::Storage(StorageError::InvalidRequest { .. })
        ));
        match map(table, service_error("InternalServerError")) {
            Error::Storage(StorageError::Backend {
                table: t, message, ..
            }) => {
                assert_eq!(t, table);
                assert!(message.starts_with("InternalServerError"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
}
