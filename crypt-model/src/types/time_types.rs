//! `time`'s `OffsetDateTime`, `PrimitiveDateTime` and `Date` (feature `time`).

use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use super::{Civil, parse_civil, parse_date};
use crate::attribute::convert::string_of;
use crate::attribute::{Attribute, AttributeValue, ConversionError, KeyType};
use crate::plaintext::std_types::{
    decode_days, decode_instant, encode_days, encode_instant, overwrite,
};
use crate::plaintext::{Encoder, Indexable, Plaintext};

/// The Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

fn civil(date: Date, time: Time) -> Civil {
    Civil {
        year: date.year(),
        month: date.month() as u8,
        day: date.day(),
        hour: time.hour(),
        minute: time.minute(),
        second: time.second(),
        nanos: time.nanosecond(),
    }
}

fn primitive_of(civil: Civil) -> Option<PrimitiveDateTime> {
    let date =
        Date::from_calendar_date(civil.year, Month::try_from(civil.month).ok()?, civil.day).ok()?;
    let time = Time::from_hms_nano(civil.hour, civil.minute, civil.second, civil.nanos).ok()?;
    Some(PrimitiveDateTime::new(date, time))
}

/// RFC 3339 in UTC with nine decimals (`S`); any RFC 3339 time is read. The offset is not kept:
/// the value read back is the same instant, in UTC.
impl Attribute for OffsetDateTime {
    const KEY_TYPE: Option<KeyType> = Some(KeyType::S);
    fn to_attribute(&self) -> Result<AttributeValue, ConversionError> {
        // `to_offset` panics when UTC falls outside the years `time` represents.
        let utc = self
            .checked_to_offset(UtcOffset::UTC)
            .ok_or_else(|| ConversionError::expected("a year from 0 to 9999"))?;
        civil(utc.date(), utc.time())
            .text("Z")
            .map(AttributeValue::S)
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ConversionError> {
        OffsetDateTime::parse(&string_of(value)?, &Rfc3339)
            .map_err(|_| ConversionError::expected("an RFC 3339 date and time (S)"))
    }
}

/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnn`, without a zone (`S`).
impl Attribute for PrimitiveDateTime {
    const KEY_TYPE: Option<KeyType> = Some(KeyType::S);
    fn to_attribute(&self) -> Result<AttributeValue, ConversionError> {
        civil(self.date(), self.time())
            .text("")
            .map(AttributeValue::S)
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ConversionError> {
        parse_civil(&string_of(value)?)
            .and_then(primitive_of)
            .ok_or_else(|| ConversionError::expected("a date and time YYYY-MM-DDTHH:MM:SS (S)"))
    }
}

/// `YYYY-MM-DD` (`S`).
impl Attribute for Date {
    const KEY_TYPE: Option<KeyType> = Some(KeyType::S);
    fn to_attribute(&self) -> Result<AttributeValue, ConversionError> {
        civil(*self, Time::MIDNIGHT)
            .date_text()
            .map(AttributeValue::S)
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ConversionError> {
        parse_date(&string_of(value)?)
            .and_then(primitive_of)
            .map(|time| time.date())
            .ok_or_else(|| ConversionError::expected("a date YYYY-MM-DD (S)"))
    }
}

/// An instant: seconds and nanoseconds since the Unix epoch (12 bytes); read back in UTC.
impl Plaintext for OffsetDateTime {
    fn encode(&self, out: &mut Encoder) -> Result<(), ConversionError> {
        encode_instant(self.unix_timestamp(), self.nanosecond(), out)
    }
    fn decode(bytes: &[u8]) -> Result<Self, ConversionError> {
        let (seconds, nanos) = decode_instant(bytes)?;
        OffsetDateTime::from_unix_timestamp(seconds)
            .and_then(|time| time.replace_nanosecond(nanos))
            .map_err(|_| ConversionError::expected("an instant `time` can represent"))
    }
    fn wipe(&mut self) {
        overwrite(self, OffsetDateTime::UNIX_EPOCH);
    }
}

/// As the instant it would be in UTC (12 bytes).
impl Plaintext for PrimitiveDateTime {
    fn encode(&self, out: &mut Encoder) -> Result<(), ConversionError> {
        self.assume_utc().encode(out)
    }
    fn decode(bytes: &[u8]) -> Result<Self, ConversionError> {
        OffsetDateTime::decode(bytes).map(|time| PrimitiveDateTime::new(time.date(), time.time()))
    }
    fn wipe(&mut self) {
        let epoch = OffsetDateTime::UNIX_EPOCH;
        overwrite(self, PrimitiveDateTime::new(epoch.date(), epoch.time()));
    }
}

/// Days since 1970-01-01 (`i32`, 4 bytes).
impl Plaintext for Date {
    fn encode(&self, out: &mut Encoder) -> Result<(), ConversionError> {
        encode_days(i64::from(self.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY, out)
    }
    fn decode(bytes: &[u8]) -> Result<Self, ConversionError> {
        let day = i64::from(decode_days(bytes)?) + UNIX_EPOCH_JULIAN_DAY;
        i32::try_from(day)
            .ok()
            .and_then(|day| Date::from_julian_day(day).ok())
            .ok_or_else(|| ConversionError::expected("a date `time` can represent"))
    }
    fn wipe(&mut self) {
        overwrite(self, OffsetDateTime::UNIX_EPOCH.date());
    }
}

/// One encoding per value: a blind index may be on it.
impl Indexable for OffsetDateTime {}
impl Indexable for PrimitiveDateTime {}
impl Indexable for Date {}
