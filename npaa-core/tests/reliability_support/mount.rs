//! Small file systems made for one test: a tmpfs of a given size, or an ext4 image on a loop
//! device. Both need root (the tests run as root here and in CI); `None` elsewhere, and the
//! test says what it could not check. Unmounted (and detached) when dropped.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// True when this process runs as root (`/proc/self` belongs to the effective user; no libc
/// needed, so that the C ABI tests can share this module).
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Runs a command that must succeed and returns its standard output, trimmed.
pub fn run(program: &str, args: &[&OsStr]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A tmpfs of `size` (e.g. "256k") mounted at a directory.
#[derive(Debug)]
pub struct Tmpfs {
    pub at: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs at `at` (created if needed); `None` if mounting is not permitted.
    pub fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "npaa-test"])
            .arg(at)
            .status()
            .ok()?;
        if !status.success() {
            assert!(
                !is_root(),
                "mounting a tmpfs failed although running as root"
            );
            return None;
        }
        Some(Tmpfs {
            at: at.to_path_buf(),
        })
    }

    /// Makes it read-only.
    pub fn remount_read_only(&self) {
        run(
            "mount",
            &["-o".as_ref(), "remount,ro".as_ref(), self.at.as_os_str()],
        );
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.at).status();
    }
}

/// A file system image attached to a loop device and mounted.
#[derive(Debug)]
pub struct LoopMount {
    pub loop_dev: String,
    pub at: PathBuf,
}

impl LoopMount {
    /// Makes an empty ext4 file system without a journal in a new sparse `image` of `size`
    /// bytes. Without a journal, what a sync writes is in place on the device: a copy of the
    /// image is exactly what a power loss at that moment would leave.
    pub fn make_ext4(image: &Path, size: u64) -> bool {
        if !is_root() || Command::new("losetup").arg("-V").output().is_err() {
            return false;
        }
        std::fs::File::create(image).unwrap().set_len(size).unwrap();
        run(
            "mkfs.ext4",
            &[
                "-q".as_ref(),
                "-F".as_ref(),
                "-O".as_ref(),
                "^has_journal".as_ref(),
                image.as_os_str(),
            ],
        );
        true
    }

    /// Attaches `image` (read-only if `read_only`) to a free loop device and mounts it at `at`.
    pub fn mount(image: &Path, at: &Path, read_only: bool) -> LoopMount {
        std::fs::create_dir_all(at).unwrap();
        let mut args: Vec<&OsStr> = vec!["-f".as_ref(), "--show".as_ref()];
        if read_only {
            args.push("-r".as_ref());
        }
        args.push(image.as_os_str());
        let mounted = LoopMount {
            loop_dev: run("losetup", &args),
            at: at.to_path_buf(),
        };
        let options = if read_only { "ro" } else { "errors=continue" };
        run(
            "mount",
            &[
                "-o".as_ref(),
                options.as_ref(),
                mounted.loop_dev.as_ref(),
                at.as_os_str(),
            ],
        );
        mounted
    }
}

impl Drop for LoopMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.at).status();
        let _ = Command::new("losetup")
            .arg("-d")
            .arg(&self.loop_dev)
            .status();
    }
}
