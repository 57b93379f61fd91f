//! Progress on long work: a bar on a terminal, a log line every few seconds otherwise.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// Reports `done` of `total` for one command.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    what: &'static str,
    last_line: Instant,
}

impl Progress {
    /// Progress over `what` (e.g. "bundles").
    pub fn new(what: &'static str) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg} ({elapsed})")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.set_message(what);
            bar
        });
        Progress {
            bar,
            what,
            last_line: Instant::now(),
        }
    }

    /// Records that `done` of `total` are finished.
    pub fn update(&mut self, done: usize, total: usize) {
        match &self.bar {
            Some(bar) => {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            }
            None => {
                if done == total || self.last_line.elapsed() >= Duration::from_secs(5) {
                    tracing::info!("{done} of {total} {} done", self.what);
                    self.last_line = Instant::now();
                }
            }
        }
    }

    /// Removes the bar.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
