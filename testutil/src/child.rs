//! The helper binary `npaa-test-child`: the processes that tests kill with SIGKILL, trace with
//! strace, run under a file-size limit or as another user. Each role is a subcommand
//! (`npaa-test-child crash-writer`, ...; see `src/bin/npaa-test-child/main.rs`); the parent
//! passes paths and modes through environment variables, which the child reads with [`arg`].
//!
//! Cargo gives integration tests the path of their own package's binaries only, so [`exe`]
//! builds the helper with the Cargo, target directory, target and profile of the running test
//! (a no-op when it is up to date, as it is after `cargo test --workspace --all-features`).
//! Tests cross-built for another target (`--target aarch64-unknown-linux-gnu`, run under
//! qemu-user) get a helper built for that target, run through the same runner as the tests
//! (`CARGO_TARGET_<TRIPLE>_RUNNER`, as `assert_cmd` does for the crates' own binaries).

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;

/// The helper binary's name.
pub const BIN: &str = "npaa-test-child";

/// The path of the helper binary, built once per test process.
///
/// # Panics
/// If building it fails (the message holds Cargo's output).
///
/// [`EXE_ENV`] names a helper built beforehand instead.
pub fn exe() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| std::env::var_os(EXE_ENV).map_or_else(build, PathBuf::from))
}

/// The target the tests (and so this library) are built for.
const TARGET: &str = env!("NPAA_TESTUTIL_TARGET");

/// The environment variable that names a helper binary built beforehand, for test binaries
/// that cannot run Cargo themselves (a Windows test binary run under Wine:
/// `scripts/wine-tests` builds the helper for Windows and sets it).
pub const EXE_ENV: &str = "NPAA_TEST_CHILD";

/// Builds the helper next to the running test binary (`<target>/<profile>/deps/<test>` puts
/// it at `<target>/<profile>/npaa-test-child`; `<target>/<triple>/<profile>/deps/<test>`, a
/// build with `--target <triple>`, at `<target>/<triple>/<profile>/npaa-test-child`) and
/// returns its path.
fn build() -> PathBuf {
    let test_exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = test_exe
        .parent()
        .and_then(Path::parent)
        .expect("a test binary lives in <target>/<profile>/deps");
    let mut target_dir = profile_dir.parent().expect("the target directory");
    let explicit_target = target_dir.file_name().and_then(|n| n.to_str()) == Some(TARGET);
    if explicit_target {
        target_dir = target_dir.parent().expect("the target directory");
    }
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .expect("the profile directory's name");
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args([
            "build",
            "--quiet",
            "-p",
            "npaa-testutil",
            "--features",
            "child",
        ])
        .args(["--bin", BIN, "--manifest-path"])
        .arg(crate::workspace_root().join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir);
    if explicit_target {
        cargo.args(["--target", TARGET]);
    }
    // The `test` and `dev` profiles both build into `debug`.
    if profile != "debug" {
        cargo.args(["--profile", profile]);
    }
    let out = cargo.output().expect("starting cargo");
    assert!(
        out.status.success(),
        "building the helper binary {BIN} failed ({}):\n{}",
        describe(out.status),
        String::from_utf8_lossy(&out.stderr)
    );
    let exe = profile_dir.join(BIN);
    assert!(exe.exists(), "cargo built no {}", exe.display());
    exe
}

/// The runner of the tests' target (`CARGO_TARGET_<TRIPLE>_RUNNER`, such as
/// `qemu-aarch64 -p 65536`), split at spaces: empty when the tests run natively.
pub fn runner() -> Vec<String> {
    if cfg!(windows) {
        // Tests of the Windows target run under Wine here, and what they start runs there too:
        // the runner is the host's way into Wine, not a program Wine has.
        return Vec::new();
    }
    let var = format!(
        "CARGO_TARGET_{}_RUNNER",
        TARGET.replace('-', "_").to_uppercase()
    );
    std::env::var(var)
        .map(|r| r.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// A command that runs `program`, a binary built for the tests' target, through the target's
/// runner if the tests have one (as Cargo runs the tests themselves).
pub fn target_command(program: &Path) -> Command {
    match runner().as_slice() {
        [runner, args @ ..] => {
            let mut cmd = Command::new(runner);
            cmd.args(args).arg(program);
            cmd
        }
        [] => Command::new(program),
    }
}

/// A command that runs the helper binary in `role`, with no standard input (through the
/// target's runner, if the tests have one).
pub fn command(role: &str) -> Command {
    let mut cmd = target_command(exe());
    cmd.arg(role)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null());
    cmd
}

/// In the child: an environment variable the parent set.
///
/// # Panics
/// If the parent did not set it.
pub fn arg(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("the parent did not set {name}"))
}

/// How a child ended by [`std::process::Child::kill`] is described ([`describe`]): SIGKILL on
/// Unix; on Windows, `TerminateProcess` with exit code 1 (std's), which the helper never exits
/// with by itself (a panic exits with 101).
pub const KILLED: &str = if cfg!(windows) {
    "exit code 1"
} else {
    "signal 9"
};

/// Describes how a child ended: `exit code N` or `signal N`.
pub fn describe(status: ExitStatus) -> String {
    #[cfg(unix)]
    let signal = std::os::unix::process::ExitStatusExt::signal(&status);
    // Windows has no signals: a killed process has an exit code (`TerminateProcess`'s).
    #[cfg(not(unix))]
    let signal: Option<i32> = None;
    match (status.code(), signal) {
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(s)) => format!("signal {s}"),
        _ => format!("{status:?}"),
    }
}

/// The `Durability` of a mode named as the durability tests and their traced child name them:
/// `none`, `on-close`, `every-append`, `every-bytes` (a sync every 8 rows of
/// [`crate::rows::ROW_BYTES`]) and `mapped` (no syncs; the child maps its appends).
///
/// # Panics
/// On an unknown name.
pub fn durability(mode: &str) -> npaa_core::Durability {
    use npaa_core::Durability;
    match mode {
        "none" | "mapped" | "large" => Durability::None,
        "on-close" => Durability::OnClose,
        "every-append" => Durability::EveryAppend,
        "every-bytes" => Durability::EveryBytes(8 * crate::rows::ROW_BYTES as u64),
        _ => panic!("unknown durability mode {mode}"),
    }
}

/// Reads a child's output `out` up to the `count`-th line saying `marker` (less if it ends
/// first): what a parent does to kill a child at a moment the child announced.
pub fn wait_for(out: &mut impl BufRead, marker: &str, count: u64) {
    let mut line = String::new();
    let mut seen = 0;
    while seen < count {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if line.trim() == marker {
            seen += 1;
        }
    }
}
