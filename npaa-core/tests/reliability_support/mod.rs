//! Shared by the `reliability_*` tests: running a test binary again as a child process, a
//! small deterministic random generator, and the row contents that encode their index.
//!
//! # Child processes: the re-exec trick
//! Crashes, locks and file-size limits must be tested across real processes, but Cargo gives
//! integration tests no path to example binaries. So a test re-executes its own test binary
//! (`std::env::current_exe()`), asking libtest to run exactly one `#[test]` function (the
//! "child" test) with an environment variable that tells it what to do. Run normally, without
//! the variable, the child test returns at once and passes.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of this module"
)]

pub mod crash;
pub mod mount;

use std::ffi::OsStr;
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

/// The environment variable that turns a child test into the child's work.
pub const CHILD_ENV: &str = "NPAA_RELIABILITY_CHILD";

/// The role this process was started for, if it is a child.
pub fn child_role() -> Option<String> {
    std::env::var(CHILD_ENV).ok()
}

/// A command that runs only the test `test_name` of this test binary, as a child with `role`.
pub fn child_command(test_name: &str, role: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("the test binary's path"));
    cmd.args([
        test_name,
        "--exact",
        "--nocapture",
        "--test-threads=1",
        "-q",
    ])
    .env(CHILD_ENV, role)
    .env("RUST_BACKTRACE", "0")
    .stdin(Stdio::null());
    cmd
}

/// Reads an environment variable the parent set for the child.
pub fn child_arg(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("the parent did not set {name}"))
}

/// Sets several variables on a child command.
pub fn with_args<'a>(cmd: &'a mut Command, args: &[(&str, &dyn AsRef<OsStr>)]) -> &'a mut Command {
    for (k, v) in args {
        cmd.env(k, v.as_ref());
    }
    cmd
}

/// xorshift64*: reproducible randomness without a dependency. The seed is printed by the
/// tests that use it and can be fixed with `NPAA_TEST_SEED`.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// From `NPAA_TEST_SEED`, else from the clock.
    pub fn from_env() -> Self {
        let seed = std::env::var("NPAA_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        eprintln!("random seed: NPAA_TEST_SEED={seed}");
        Rng::new(seed)
    }

    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// u64 values per row in the rows that encode their index. Three, so that a row (24 bytes)
/// does not divide a page (4096 bytes): a write cut short at a page boundary cuts a row.
pub const ROW_WORDS: usize = 3;
/// Bytes per such row.
pub const ROW_BYTES: usize = ROW_WORDS * 8;

/// Row `i`: `[i * 1000003, i * 1000003 + 1, i * 1000003 + 2]` as little-endian u64. Any
/// 8 bytes tell their row.
pub fn row(i: u64) -> [u64; ROW_WORDS] {
    let base = i.wrapping_mul(1_000_003);
    [base, base + 1, base + 2]
}

/// Rows `start..start + n`, flattened.
pub fn rows(start: u64, n: u64) -> Vec<u64> {
    (start..start + n).flat_map(row).collect()
}

/// The bytes of row `i`.
pub fn row_bytes(i: u64) -> [u8; ROW_BYTES] {
    let mut out = [0u8; ROW_BYTES];
    for (chunk, w) in out.chunks_exact_mut(8).zip(row(i)) {
        chunk.copy_from_slice(&w.to_le_bytes());
    }
    out
}

/// Checks that `data` is rows 0, 1, 2, ... followed by at most a prefix of the next row.
/// Returns (whole rows, bytes of the partial row).
pub fn check_rows_prefix(data: &[u8], what: &str) -> (u64, usize) {
    let whole = data.len() / ROW_BYTES;
    for (i, chunk) in data.chunks(ROW_BYTES).enumerate() {
        let expected = row_bytes(i as u64);
        assert_eq!(
            chunk,
            &expected[..chunk.len()],
            "{what}: row {i} does not hold its index (data is not a prefix of what was appended)"
        );
    }
    (whole as u64, data.len() % ROW_BYTES)
}

/// The Python expression (using `np`) for rows `0..n` as NumPy loads them.
pub fn rows_expr(n: u64) -> String {
    format!(
        "(np.arange({n}, dtype='<u8')[:, None] * 1000003 + np.arange({ROW_WORDS}, dtype='<u8'))"
    )
}

/// Describes how a child ended: `exit code N` or `signal N`.
pub fn describe(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(s)) => format!("signal {s}"),
        _ => format!("{status:?}"),
    }
}
