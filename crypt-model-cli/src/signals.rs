//! Ctrl-C and SIGTERM: the first stops a job at its next record, a second ends the process.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use crypt_model::lifecycle::StopSignal;

/// The exit status of a job stopped by Ctrl-C (as a shell reports a process interrupted).
pub(crate) const STOPPED: u8 = 130;

/// The exit status of a job stopped by SIGTERM.
pub(crate) const TERMINATED: u8 = 143;

/// The first Ctrl-C (or SIGTERM, as a container's stop sends) stops the job at its next record
/// (each segment saves its checkpoint); a second one ends the process at once (the checkpoints
/// saved after each page stand). The exit status the signal calls for: 130 for Ctrl-C, 143 for
/// SIGTERM, as a shell reports a process they ended.
/// The listener ends with the run (a Lambda function runs many in one process).
pub(crate) fn stop_on_signals(stop: &StopSignal) -> (Arc<AtomicU8>, tokio::task::JoinHandle<()>) {
    // 0 until a signal comes: a run stopped without one ran out of time.
    let status = Arc::new(AtomicU8::new(0));
    let (stop, given) = (stop.clone(), status.clone());
    let listener = tokio::spawn(async move {
        if let Some(code) = interrupted().await {
            given.store(code, Ordering::SeqCst);
            let again = match code {
                TERMINATED => "SIGTERM",
                _ => "Ctrl-C",
            };
            eprintln!("stopping at the next record ({again} again to quit now)");
            stop.stop();
            if let Some(code) = interrupted().await {
                std::process::exit(i32::from(code));
            }
        }
    });
    (status, listener)
}

/// Waits for Ctrl-C or SIGTERM: the exit status it calls for; `None` if no handler could be
/// installed.
async fn interrupted() -> Option<u8> {
    let ctrl_c = async { tokio::signal::ctrl_c().await.ok().map(|()| STOPPED) };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut terminate) = signal(SignalKind::terminate()) else {
            return ctrl_c.await;
        };
        tokio::select! {
            code = ctrl_c => code,
            _ = terminate.recv() => Some(TERMINATED),
        }
    }
    #[cfg(not(unix))]
    {
        ctrl_c.await
    }
}
