#![doc = include_str!("../README.md")]
//!
//! ## The crate
//!
//! [`Cli`] is the command line, with the models it knows; [`detect`] holds the audit's
//! detectors, which a team may also run in its own tests (on a log line, a response body):
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
//!
//! A crate of its own rather than a feature of `crypt-model-dynamo`, so that applications that
//! use the library never build the command line's dependencies (argument parsing, the AWS
//! configuration loader, terminal output).

mod audit;
mod checkpoints;
mod cli;
mod connect;
pub mod detect;
mod erasure;
mod job_report;
mod jobs;
mod lambda;
mod logging;
mod models;
mod plan;
mod progress;
mod provision;
mod signals;
mod status;

pub use cli::Cli;
pub use lambda::LambdaWorker;
