//! The operator's command line for crypt-model (issue 16, in progress): `crypt-model audit`,
//! which scans a table for values that look like plaintext secrets ([`audit`]), with the
//! detectors it runs ([`detect`]).
//!
//! A crate of its own rather than a feature of `crypt-model-dynamo`, so that applications that
//! use the library never build the command line's dependencies (argument parsing, the AWS
//! configuration loader, terminal output).
//!
//! ```
//! use crypt_model_cli::detect::{Kind, scan};
//!
//! let text = "card 4111 1111 1111 1111, mail alice@example.com";
//! let found = scan(text);
//! assert_eq!(found.iter().map(|f| f.kind).collect::<Vec<_>>(), [Kind::CardNumber, Kind::Email]);
//! // A finding says where, never what: the report shows the kind and the requirement.
//! assert_eq!(Kind::CardNumber.requirements()[0], "PCI-DSS-4.0-3.5.1");
//! ```

pub mod audit;
pub mod detect;
