//! What a test needs from the system: root, or a tool such as strace. Such tests are
//! `#[ignore]`d, so that a normal `cargo test` reports them as ignored instead of passing them
//! unchecked; `scripts/test` (run as root, as CI does) sets [`ENV`] and runs them with
//! `--include-ignored`. Whenever such a test runs, a missing requirement fails it: it never
//! passes without checking what it is about.

use std::path::PathBuf;

/// Set to `1` by `scripts/test`: every test that needs root or a system tool is required, and
/// runs (`--include-ignored`).
pub const ENV: &str = "NPAA_REQUIRE_SYSTEM_TESTS";

/// True when [`ENV`] is `1`.
pub fn required() -> bool {
    std::env::var_os(ENV).is_some_and(|v| v == "1")
}

/// True when this process runs as root (`/proc/self` belongs to the effective user); never on
/// Windows, which has no root (tests that need root are Unix tests).
pub fn is_root() -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// The failure of a test whose requirement is missing.
///
/// # Panics
/// Always, naming what is missing and what it was needed for.
pub fn missing(what: &str, needed_for: &str) -> ! {
    let context = if required() {
        format!("{ENV}=1 requires every system test")
    } else {
        "this test is ignored by default; it runs with --include-ignored (scripts/test, as root)"
            .to_owned()
    };
    panic!("{what} is needed to {needed_for}, and missing ({context})")
}

/// Returns when this process runs as root.
///
/// # Panics
/// Otherwise, saying what root was needed for.
pub fn root(needed_for: &str) {
    if !is_root() {
        missing("root", needed_for);
    }
}

/// The path of the system tool `name`, searched in `$PATH` (then `/usr/sbin` and `/sbin`).
///
/// # Panics
/// If it is not installed, saying what it was needed for.
pub fn tool(name: &str, needed_for: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| missing(&format!("the tool {name}"), needed_for))
}
