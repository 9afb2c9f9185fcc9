//! Progress bars for operations that move data, drawn on stderr only when it is a terminal.
//!
//! Never in pipes, cron jobs or `--json` mode, never with `--quiet`, and not for operations
//! on less than [`MIN_BYTES`] (they finish before a bar is worth reading).

use std::cell::OnceCell;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Operations on fewer bytes than this get no progress bar.
pub const MIN_BYTES: u64 = 64 << 20;

/// Whether progress may be drawn at all: stderr is a terminal and the user did not ask for
/// quiet.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    enabled: bool,
}

impl Policy {
    /// Progress is drawn when stderr is a terminal and `quiet` is false.
    pub fn new(quiet: bool) -> Self {
        Policy {
            enabled: !quiet && std::io::stderr().is_terminal(),
        }
    }

    /// A progress bar over `total` bytes, drawn from the first report of progress (hidden if
    /// progress is off or `total` is small).
    pub fn bytes(self, total: u64, message: &str) -> Progress {
        if !self.enabled || total < MIN_BYTES {
            return Progress::hidden();
        }
        Progress {
            bar: OnceCell::new(),
            make: Some(Box::new({
                let message = message.to_owned();
                move || {
                    let bar =
                        ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                    );
                    bar.set_message(message.clone());
                    bar
                }
            })),
        }
    }

    /// A spinner counting bytes of unknown total (a pipe), drawn from the first report.
    pub fn stream(self, message: &str) -> Progress {
        if !self.enabled {
            return Progress::hidden();
        }
        Progress {
            bar: OnceCell::new(),
            make: Some(Box::new({
                let message = message.to_owned();
                move || {
                    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                    bar.set_style(
                        ProgressStyle::with_template("{spinner} {msg} {bytes} {bytes_per_sec}")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    bar.set_message(message.clone());
                    bar.enable_steady_tick(Duration::from_millis(200));
                    bar
                }
            })),
        }
    }
}

/// A progress bar, or nothing. The bar appears at the first [`Progress::set`], so that
/// operations that turn out to have nothing to do draw nothing.
pub struct Progress {
    bar: OnceCell<ProgressBar>,
    make: Option<Box<dyn Fn() -> ProgressBar>>,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("drawn", &self.bar.get().is_some())
            .finish()
    }
}

impl Progress {
    /// A progress indicator that draws nothing.
    pub fn hidden() -> Self {
        Progress {
            bar: OnceCell::new(),
            make: None,
        }
    }

    /// Sets the position (bytes done).
    pub fn set(&self, done: u64) {
        if let Some(make) = &self.make {
            self.bar.get_or_init(make).set_position(done);
        }
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        if let Some(bar) = self.bar.get() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // An error path must not leave a half-drawn bar above the error message.
        self.finish();
    }
}
