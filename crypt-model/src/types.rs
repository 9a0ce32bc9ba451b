//! Other crates' types as fields, plain and sensitive, each behind the cargo feature named after
//! its crate (`serde_json::Value` always: crypt-model depends on serde_json). The table of what
//! each type is stored as is in `docs/types.md`; the sensitive encodings are part of the format
//! (`docs/format.md`).
//!
//! Instants are stored in plain as RFC 3339 text in UTC with nine decimals
//! (`2024-05-01T12:00:00.000000000Z`), so that a key of this type sorts by time; dates as
//! `YYYY-MM-DD`.

#[cfg(feature = "chrono")]
mod chrono_types;
#[cfg(feature = "rust_decimal")]
mod decimal;
mod json_value;
#[cfg(feature = "time")]
mod time_types;
#[cfg(feature = "uuid")]
mod uuid_types;

#[cfg(any(feature = "chrono", feature = "time"))]
mod civil;

#[cfg(any(feature = "chrono", feature = "time"))]
pub(crate) use civil::{Civil, parse_civil, parse_date};
