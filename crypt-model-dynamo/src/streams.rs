//! DynamoDB Streams records, from the SDK or from a Lambda event, as sealed records.

use crypt_model::error::{DataError, StorageError};
use std::marker::PhantomData;

use aws_sdk_dynamodbstreams::types::{AttributeValue as StreamValue, OperationType, Record};
use crypt_model::{AttributeValue, EncryptedItem, Error, Item, Key, Result, Sealed, TableRef};
use serde_json::Value;

/// What happened to an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// The item was created.
    Insert,
    /// The item was replaced or updated.
    Modify,
    /// The item was deleted.
    Remove,
}

/// One stream record, decoded: what happened, to which key, and the images still sealed. Open
/// an image with [`Sealed::open`] (or `open_with` and a grant) like any read: it is verified then.
#[derive(Debug)]
#[non_exhaustive]
pub struct StreamChange<T: EncryptedItem> {
    /// What happened.
    pub kind: ChangeKind,
    /// The key of the item, as the stream gives it: for a removal, what was deleted. Plain key
    /// attributes (DynamoDB's word, not verified: open an image to check a record).
    pub key: Key,
    /// The item after the change, for inserts and modifications.
    pub new_image: Option<Sealed<T>>,
    /// The item before the change, for modifications and removals, when the stream carries old
    /// images (`NEW_AND_OLD_IMAGES`, as `provision` creates it).
    pub old_image: Option<Sealed<T>>,
}

/// Decodes the stream records of one table into [`StreamChange`]s of model `T`.
///
/// Records of another table are refused ([`StorageError::InvalidRequest`](crypt_model::error::StorageError::InvalidRequest)), as are malformed images
/// ([`DataError::Malformed`](crypt_model::error::DataError::Malformed) naming the attribute) and records without the item's key. The
/// table needs a stream with new images (`NEW_IMAGE` or `NEW_AND_OLD_IMAGES`; see
/// `ProvisionOptions::stream`).
#[derive(Debug)]
pub struct StreamDecoder<T> {
    table: TableRef,
    model: PhantomData<fn() -> T>,
}

impl<T: EncryptedItem> StreamDecoder<T> {
    /// A decoder for the stream of the physical table `table`.
    pub fn new(table: &str) -> Result<Self> {
        Ok(StreamDecoder {
            table: TableRef::for_schema(table, &T::SCHEMA)?,
            model: PhantomData,
        })
    }

    /// Decodes a record from `GetRecords` on the stream `stream_arn`.
    pub fn sdk_record(&self, stream_arn: &str, record: &Record) -> Result<StreamChange<T>> {
        self.check_source(stream_arn)?;
        let kind = match record.event_name() {
            Some(OperationType::Insert) => ChangeKind::Insert,
            Some(OperationType::Modify) => ChangeKind::Modify,
            Some(OperationType::Remove) => ChangeKind::Remove,
            _ => return Err(self.invalid("the record has no known event name")),
        };
        let stream = record.dynamodb();
        let item = |image: Option<&std::collections::HashMap<String, StreamValue>>| {
            image
                .map(|image| {
                    image
                        .iter()
                        .map(|(name, value)| Ok((name.clone(), from_stream(name, value)?)))
                        .collect::<Result<Item>>()
                })
                .transpose()
        };
        self.change(
            kind,
            item(stream.and_then(|r| r.keys.as_ref()))?,
            item(stream.and_then(|r| r.new_image.as_ref()))?,
            item(stream.and_then(|r| r.old_image.as_ref()))?,
        )
    }

    /// Decodes one element of a Lambda event's `Records` array.
    pub fn lambda_record(&self, record: &Value) -> Result<StreamChange<T>> {
        let source = record
            .get("eventSourceARN")
            .and_then(Value::as_str)
            .ok_or_else(|| self.invalid("the record has no eventSourceARN"))?;
        self.check_source(source)?;
        let kind = match record.get("eventName").and_then(Value::as_str) {
            Some("INSERT") => ChangeKind::Insert,
            Some("MODIFY") => ChangeKind::Modify,
            Some("REMOVE") => ChangeKind::Remove,
            _ => return Err(self.invalid("the record has no known eventName")),
        };
        // DynamoDB JSON is read in one place, the core's (a re-serialisation: this path is for
        // Lambda events, whose records are small).
        let item = |name: &str| {
            record
                .get("dynamodb")
                .and_then(|d| d.get(name))
                .and_then(Value::as_object)
                // A typed event written back to JSON has `{}` for an image it did not carry.
                .filter(|image| !image.is_empty())
                .map(|image| Item::from_dynamodb_json(&Value::Object(image.clone()).to_string()))
                .transpose()
        };
        self.change(kind, item("Keys")?, item("NewImage")?, item("OldImage")?)
    }

    /// A change of `kind` to the item keyed `keys`, from its images: the new one required but
    /// for a removal.
    fn change(
        &self,
        kind: ChangeKind,
        keys: Option<Item>,
        new_image: Option<Item>,
        old_image: Option<Item>,
    ) -> Result<StreamChange<T>> {
        // The key: from `Keys`, or (a record written without them) from an image, read and
        // type-checked as the store reads one.
        let named = keys.as_ref().or(new_image.as_ref()).or(old_image.as_ref());
        let key = self
            .table
            .key_of(named.ok_or_else(|| self.invalid("the record has no key"))?)?;
        // An image of another item than the key names is refused: a consumer acting on the key
        // (a removal's) and on an opened image must be acting on one record.
        for image in [&new_image, &old_image].into_iter().flatten() {
            if self.table.key_of(image).ok().as_ref() != Some(&key) {
                return Err(self.invalid("the record's key and its image name different items"));
            }
        }
        let new_image = match (kind, new_image) {
            (ChangeKind::Remove, _) => None,
            (_, Some(image)) => Some(T::from_item(image)),
            (_, None) => {
                return Err(self.invalid(
                    "the record has no new image: enable NEW_IMAGE or NEW_AND_OLD_IMAGES",
                ));
            }
        };
        Ok(StreamChange {
            kind,
            key,
            new_image,
            old_image: old_image.map(T::from_item),
        })
    }

    /// Decodes every record of the typed event a Lambda function receives (`aws_lambda_events`,
    /// re-exported by this crate; `lambda_runtime` hands it over as
    /// `LambdaEvent<aws_lambda_events::event::dynamodb::Event>`), one result each.
    #[cfg(feature = "lambda")]
    pub fn lambda(
        &self,
        event: &aws_lambda_events::event::dynamodb::Event,
    ) -> Result<Vec<Result<StreamChange<T>>>> {
        // Through its JSON, read by the one reader of DynamoDB JSON (records are small).
        let json = serde_json::to_value(event)
            .map_err(|_| self.invalid("the Lambda event does not serialise"))?;
        self.lambda_event(&json)
    }

    /// Decodes every record of a Lambda event (`{"Records": [...]}`), one result each, so that
    /// one bad record does not hide the others.
    pub fn lambda_event(&self, event: &Value) -> Result<Vec<Result<StreamChange<T>>>> {
        let records = event
            .get("Records")
            .and_then(Value::as_array)
            .ok_or_else(|| self.invalid("the event has no Records array"))?;
        Ok(records.iter().map(|r| self.lambda_record(r)).collect())
    }

    /// The stream must belong to this decoder's table: `arn:…:table/NAME/stream/…`.
    fn check_source(&self, arn: &str) -> Result<()> {
        let table = arn
            .split_once(":table/")
            .and_then(|(_, rest)| rest.split('/').next());
        match table {
            Some(name) if name == self.table.name() => Ok(()),
            Some(name) => Err(self.invalid(&format!(
                "the record comes from table `{name}`, not from this decoder's table"
            ))),
            None => Err(self.invalid("the record's source is not a DynamoDB stream ARN")),
        }
    }

    fn invalid(&self, reason: &str) -> Error {
        Error::Storage(StorageError::InvalidRequest {
            table: self.table.name().to_owned(),
            reason: reason.to_owned(),
        })
    }
}

fn malformed(attribute: &str, reason: &str) -> Error {
    Error::Data(DataError::Malformed {
        attribute: attribute.to_owned(),
        reason: reason.to_owned(),
    })
}

/// A stream attribute value as crypt-model's (not serde_dynamo's conversion, which panics on a
/// variant it does not know; see `convert.rs`).
fn from_stream(attribute: &str, value: &StreamValue) -> Result<AttributeValue> {
    Ok(match value {
        StreamValue::S(s) => AttributeValue::S(s.clone()),
        StreamValue::N(n) => AttributeValue::N(n.clone()),
        StreamValue::B(b) => AttributeValue::B(b.as_ref().to_vec()),
        StreamValue::Bool(b) => AttributeValue::Bool(*b),
        StreamValue::Null(_) => AttributeValue::Null,
        StreamValue::L(items) => AttributeValue::L(
            items
                .iter()
                .map(|v| from_stream(attribute, v))
                .collect::<Result<_>>()?,
        ),
        StreamValue::M(entries) => AttributeValue::M(
            entries
                .iter()
                .map(|(k, v)| Ok((k.clone(), from_stream(attribute, v)?)))
                .collect::<Result<_>>()?,
        ),
        StreamValue::Ss(v) => AttributeValue::Ss(v.clone()),
        StreamValue::Ns(v) => AttributeValue::Ns(v.clone()),
        StreamValue::Bs(v) => AttributeValue::Bs(v.iter().map(|b| b.as_ref().to_vec()).collect()),
        _ => {
            return Err(malformed(
                attribute,
                "the stream holds an attribute type this version does not know",
            ));
        }
    })
}
