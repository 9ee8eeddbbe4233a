//! Ctrl-C, caught from the moment a command says so.
//!
//! `tokio::signal::ctrl_c()` installs its handler only when first polled, so a
//! task that awaits it may still be unscheduled when the signal arrives, and
//! the process then dies with the default action instead of stopping cleanly.
//! Here the handler is installed before the function returns.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::runtime::Runtime;

/// Calls `on_signal` on `rt` the first time Ctrl-C (SIGINT) arrives. The
/// handler is in place when this returns.
pub fn on_interrupt(
    rt: &Runtime,
    on_signal: impl FnOnce() + Send + 'static,
) -> std::io::Result<()> {
    let _entered = rt.enter();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut sigint = signal(SignalKind::interrupt())?;
        rt.spawn(async move {
            if sigint.recv().await.is_some() {
                on_signal();
            }
        });
    }
    #[cfg(not(unix))]
    {
        rt.spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                on_signal();
            }
        });
    }
    Ok(())
}

/// A flag that Ctrl-C sets, for synchronous loops that check it between steps.
/// The runtime listening for the signal lives as long as the returned guard.
pub struct InterruptFlag {
    flag: Arc<AtomicBool>,
    _listener: Option<Runtime>,
}

impl InterruptFlag {
    /// Installs the handler. If no listener can be started, Ctrl-C keeps its
    /// default action (the process ends) and the flag is never set.
    pub fn install() -> InterruptFlag {
        let flag = Arc::new(AtomicBool::new(false));
        let listener = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .ok()
            .filter(|rt| {
                let set = Arc::clone(&flag);
                on_interrupt(rt, move || set.store(true, Ordering::SeqCst)).is_ok()
            });
        InterruptFlag {
            flag,
            _listener: listener,
        }
    }

    /// The shared flag, for code that outlives a borrow of the guard.
    pub fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.flag)
    }

    /// Whether Ctrl-C has been pressed.
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn the_handler_is_in_place_when_install_returns() {
        let guard = InterruptFlag::install();
        assert!(!guard.is_set());
        // Raised at once: with a handler installed lazily this would end the test process.
        // SAFETY: raise only sends a signal to this process, whose handler is now tokio's.
        assert_eq!(unsafe { libc::raise(libc::SIGINT) }, 0);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !guard.is_set() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(guard.is_set());
    }
}
