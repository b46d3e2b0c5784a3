//! SIGINT and SIGTERM for a command that writes to the cluster (`sync`, `diff`) or serves (the
//! agent).

use crate::halt::{Halt, HaltReason};

/// SIGINT and SIGTERM halt the run: no new write starts, the writes in flight finish, and the
/// partial report is printed. A second signal exits at once. Installed even when the signal
/// was inherited as ignored (a background job of a non-interactive shell). `chatty`: say so on
/// stderr (a command), else log it (the agent).
pub fn watch_signals(halt: &Halt, chatty: bool) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let halt = halt.clone();
    tokio::spawn(async move {
        loop {
            let reason = tokio::select! {
                _ = interrupt.recv() => HaltReason::Interrupt,
                _ = terminate.recv() => HaltReason::Terminate,
            };
            if halt.is_halted() {
                crate::talk!("second signal: exiting now");
                std::process::exit(i32::from(reason.exit_code().unwrap_or(2)));
            }
            if chatty {
                crate::talk!(
                    "{}: finishing the writes in flight, starting no new ones (signal again to exit at once)",
                    reason.describe()
                );
            } else {
                tracing::info!(
                    signal = reason.describe(),
                    "shutting down: finishing the writes in flight, giving back the Leases"
                );
            }
            halt.halt(reason);
        }
    });
    Ok(())
}
