//! Progress lines on stderr while a run goes, each with the seconds since the run began.

use std::sync::OnceLock;
use std::time::Instant;

static START: OnceLock<Instant> = OnceLock::new();

/// Starts the clock the progress lines show (the first call wins).
pub fn start() {
    START.get_or_init(Instant::now);
}

/// Prints one progress line.
pub fn line(text: impl AsRef<str>) {
    let elapsed = START.get_or_init(Instant::now).elapsed().as_secs_f64();
    eprintln!("[{elapsed:6.1}s] {}", text.as_ref());
}
