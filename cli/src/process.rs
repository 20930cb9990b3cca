//! What every long-running command shares as a process: logging to stderr, and stopping
//! on Ctrl-C, SIGTERM or (for a supervised child) the end of stdin.

use anyhow::{Context, Result};
use std::io::IsTerminal;

/// Logs to stderr at `info` unless `RUST_LOG` says otherwise.
pub(crate) fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Fails only if a subscriber is already set; then that one is used.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// Resolves on Ctrl-C or SIGTERM, or (with `stdin_eof`) when stdin reaches its end: a
/// supervisor that holds the other end of a pipe (a test harness) stops the process by
/// exiting, even when it cannot send a signal (a panic, a static never dropped).
pub(crate) async fn shutdown_or_stdin_eof(stdin_eof: bool) -> Result<()> {
    if !stdin_eof {
        return shutdown_signal().await;
    }
    let eof = tokio::task::spawn_blocking(|| {
        let mut sink = [0u8; 256];
        let mut stdin = std::io::stdin();
        while std::io::Read::read(&mut stdin, &mut sink).is_ok_and(|n| n > 0) {}
    });
    tokio::select! {
        result = shutdown_signal() => result,
        _ = eof => Ok(()),
    }
}

/// Resolves on Ctrl-C, or SIGTERM on Unix.
pub(crate) async fn shutdown_signal() -> Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result.context("listening for Ctrl-C")?,
            _ = terminate.recv() => {}
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c()
            .await
            .context("listening for Ctrl-C")
    }
}
