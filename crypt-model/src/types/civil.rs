//! The civil date and time that the plain text of instants and dates holds: fixed-width
//! `YYYY-MM-DDTHH:MM:SS.nnnnnnnnn` text, written and read.

use crate::attribute::ConversionError;

/// A civil date and time of day, as the plain text of instants and dates holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Civil {
    pub(crate) year: i32,
    pub(crate) month: u8,
    pub(crate) day: u8,
    pub(crate) hour: u8,
    pub(crate) minute: u8,
    pub(crate) second: u8,
    pub(crate) nanos: u32,
}

impl Civil {
    /// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnn`, followed by `zone` (`"Z"` for an instant in UTC,
    /// `""` for a time without a zone): fixed widths, so that the text sorts by time.
    pub(crate) fn text(&self, zone: &str) -> Result<String, ConversionError> {
        if !(0..=9999).contains(&self.year) {
            return Err(ConversionError::expected("a year from 0 to 9999"));
        }
        Ok(format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}{zone}",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.nanos
        ))
    }

    /// `YYYY-MM-DD`.
    pub(crate) fn date_text(&self) -> Result<String, ConversionError> {
        if !(0..=9999).contains(&self.year) {
            return Err(ConversionError::expected("a year from 0 to 9999"));
        }
        Ok(format!(
            "{:04}-{:02}-{:02}",
            self.year, self.month, self.day
        ))
    }
}

/// Fixed-width decimal digits.
fn digits<T: std::str::FromStr>(text: &str) -> Option<T> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Reads `YYYY-MM-DD`.
pub(crate) fn parse_date(text: &str) -> Option<Civil> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    Some(Civil {
        year: digits(&text[0..4])?,
        month: digits(&text[5..7])?,
        day: digits(&text[8..10])?,
        hour: 0,
        minute: 0,
        second: 0,
        nanos: 0,
    })
}

/// Reads `YYYY-MM-DDTHH:MM:SS`, then optionally `.` and one to nine digits: a time without
/// a zone.
pub(crate) fn parse_civil(text: &str) -> Option<Civil> {
    let (date, time) = text.split_once('T')?;
    let (time, fraction) = match time.split_once('.') {
        Some((time, fraction)) if (1..=9).contains(&fraction.len()) => (time, Some(fraction)),
        Some(_) => return None,
        None => (time, None),
    };
    let bytes = time.as_bytes();
    if bytes.len() != 8 || bytes[2] != b':' || bytes[5] != b':' {
        return None;
    }
    let nanos = match fraction {
        Some(fraction) => digits::<u32>(fraction)? * 10u32.pow(9 - fraction.len() as u32),
        None => 0,
    };
    Some(Civil {
        hour: digits(&time[0..2])?,
        minute: digits(&time[3..5])?,
        second: digits(&time[6..8])?,
        nanos,
        ..parse_date(date)?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_texts_have_fixed_widths_and_read_back() {
        let civil = Civil {
            year: 2024,
            month: 5,
            day: 1,
            hour: 12,
            minute: 3,
            second: 4,
            nanos: 500_000_000,
        };
        let text = civil.text("").unwrap();
        assert_eq!(text, "2024-05-01T12:03:04.500000000");
        assert_eq!(parse_civil(&text), Some(civil));
        assert_eq!(parse_civil("2024-05-01T12:03:04.5"), Some(civil));
        assert_eq!(parse_civil("2024-05-01T12:03:04").map(|c| c.nanos), Some(0));
        assert_eq!(civil.date_text().unwrap(), "2024-05-01");
        assert_eq!(
            parse_date("2024-05-01").map(|c| (c.year, c.month, c.day)),
            Some((2024, 5, 1))
        );
        for bad in [
            "2024-5-01T12:03:04",
            "2024-05-01 12:03:04",
            "2024-05-01T12:03:04.",
            "2024-05-01T12:03:04.1234567890",
            "+024-05-01T12:03:04",
        ] {
            assert_eq!(parse_civil(bad), None, "{bad}");
        }
        assert!(
            Civil {
                year: 10_000,
                ..civil
            }
            .text("Z")
            .is_err()
        );
    }
}
