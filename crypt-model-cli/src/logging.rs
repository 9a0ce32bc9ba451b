//! The log on standard error: the library's (the access log, the warnings of records edited in
//! storage, the records a migration found in plaintext), never on standard output.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Logs at `level`; the AWS SDK's own warnings (a retry, a credential source it tried first)
/// are noise at the default level: they show from `debug`, and its traces never.
pub(crate) fn init(level: tracing::Level) {
    let level = LevelFilter::from_level(level);
    // Never the SDK's traces: they hold request and response bodies, values among them.
    let sdk = match level >= LevelFilter::DEBUG {
        true => LevelFilter::DEBUG,
        false => LevelFilter::ERROR,
    };
    let filter = [
        "aws_config",
        "aws_runtime",
        "aws_sdk_",
        "aws_sigv4",
        "aws_smithy_",
        "hyper",
        "rustls",
    ]
    .into_iter()
    .fold(Targets::new().with_default(level), |filter, target| {
        filter.with_target(target, sdk)
    });
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(false),
        )
        .with(filter)
        .try_init();
}
