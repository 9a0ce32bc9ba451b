//! `chrono`'s `DateTime<Utc>`, `NaiveDate` and `NaiveDateTime` (feature `chrono`).

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike, Utc};

use super::{Civil, parse_civil, parse_date};
use crate::attribute::convert::string_of;
use crate::attribute::{Attribute, AttributeValue, ConversionError, KeyType};
use crate::plaintext::std_types::{
    decode_days, decode_instant, encode_days, encode_instant, overwrite,
};
use crate::plaintext::{Encoder, Indexable, Plaintext};

/// The days from 0001-01-01 to 1970-01-01 (chrono counts days from the former).
const UNIX_EPOCH_DAY_FROM_CE: i64 = 719_163;

fn civil(date: NaiveDate, time: impl Timelike) -> Result<Civil, ConversionError> {
    if time.nanosecond() >= 1_000_000_000 {
        return Err(ConversionError::expected("a time without a leap second"));
    }
    // Month, day, hour, minute and second all fit in a byte.
    let byte = |n: u32| u8::try_from(n).unwrap_or(u8::MAX);
    Ok(Civil {
        year: date.year(),
        month: byte(date.month()),
        day: byte(date.day()),
        hour: byte(time.hour()),
        minute: byte(time.minute()),
        second: byte(time.second()),
        nanos: time.nanosecond(),
    })
}

fn naive_of(civil: Civil) -> Option<NaiveDateTime> {
    NaiveDate::from_ymd_opt(civil.year, u32::from(civil.month), u32::from(civil.day))?
        .and_hms_nano_opt(
            u32::from(civil.hour),
            u32::from(civil.minute),
            u32::from(civil.second),
            civil.nanos,
        )
}

/// RFC 3339 in UTC with nine decimals (`S`); any RFC 3339 time is read, converted to UTC.
impl Attribute for DateTime<Utc> {
    const KEY_TYPE: Option<KeyType> = Some(KeyType::S);
    fn to_attribute(&self) -> Result<AttributeValue, ConversionError> {
        civil(self.date_naive(), *self)?
            .text("Z")
            .map(AttributeValue::S)
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ConversionError> {
        DateTime::parse_from_rfc3339(&string_of(value)?)
            .map(|time| time.with_timezone(&Utc))
            .map_err(|_| ConversionError::expected("an RFC 3339 date and time (S)"))
    }
}

/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnn`, without a zone (`S`).
impl Attribute for NaiveDateTime {
    const KEY_TYPE: Option<KeyType> = Some(KeyType::S);
    fn to_attribute(&self) -> Result<AttributeValue, ConversionError> {
        civil(self.date(), *self)?.text("").map(AttributeValue::S)
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ConversionError> {
        parse_civil(&string_of(value)?)
            .and_then(naive_of)
            .ok_or_else(|| ConversionError::expected("a date and time YYYY-MM-DDTHH:MM:SS (S)"))
    }
}

/// `YYYY-MM-DD` (`S`).
impl Attribute for NaiveDate {
    const KEY_TYPE: Option<KeyType> = Some(KeyType::S);
    fn to_attribute(&self) -> Result<AttributeValue, ConversionError> {
        civil(*self, chrono::NaiveTime::MIN)?
            .date_text()
            .map(AttributeValue::S)
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ConversionError> {
        parse_date(&string_of(value)?)
            .and_then(naive_of)
            .map(|time| time.date())
            .ok_or_else(|| ConversionError::expected("a date YYYY-MM-DD (S)"))
    }
}

/// An instant: seconds and nanoseconds since the Unix epoch (12 bytes).
impl Plaintext for DateTime<Utc> {
    fn encode(&self, out: &mut Encoder) -> Result<(), ConversionError> {
        encode_instant(self.timestamp(), self.timestamp_subsec_nanos(), out)
    }
    fn decode(bytes: &[u8]) -> Result<Self, ConversionError> {
        let (seconds, nanos) = decode_instant(bytes)?;
        DateTime::from_timestamp(seconds, nanos)
            .ok_or_else(|| ConversionError::expected("an instant chrono can represent"))
    }
    fn wipe(&mut self) {
        overwrite(self, DateTime::UNIX_EPOCH);
    }
}

/// As the instant it would be in UTC (12 bytes).
impl Plaintext for NaiveDateTime {
    fn encode(&self, out: &mut Encoder) -> Result<(), ConversionError> {
        self.and_utc().encode(out)
    }
    fn decode(bytes: &[u8]) -> Result<Self, ConversionError> {
        DateTime::<Utc>::decode(bytes).map(|time| time.naive_utc())
    }
    fn wipe(&mut self) {
        overwrite(self, NaiveDateTime::default());
    }
}

/// Days since 1970-01-01 (`i32`, 4 bytes).
impl Plaintext for NaiveDate {
    fn encode(&self, out: &mut Encoder) -> Result<(), ConversionError> {
        encode_days(
            i64::from(self.num_days_from_ce()) - UNIX_EPOCH_DAY_FROM_CE,
            out,
        )
    }
    fn decode(bytes: &[u8]) -> Result<Self, ConversionError> {
        let days = i64::from(decode_days(bytes)?) + UNIX_EPOCH_DAY_FROM_CE;
        i32::try_from(days)
            .ok()
            .and_then(NaiveDate::from_num_days_from_ce_opt)
            .ok_or_else(|| ConversionError::expected("a date chrono can represent"))
    }
    fn wipe(&mut self) {
        overwrite(self, NaiveDate::default());
    }
}

/// One encoding per value: a blind index may be on it.
impl Indexable for DateTime<Utc> {}
impl Indexable for NaiveDateTime {}
impl Indexable for NaiveDate {}
