//! Small file systems made for one test: a tmpfs of a given size, a ramfs (a file system
//! without extended attributes), or an ext4 image on a loop device. Both need root and the mount tools (the tests run as root in `scripts/test` and in
//! CI); without them the test fails ([`crate::require`]). Unmounted (and detached) when dropped.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::require;

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

/// A tmpfs of `size` (e.g. "256k"), or a ramfs, mounted at a directory.
#[derive(Debug)]
pub struct Tmpfs {
    /// The mount point.
    pub at: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs at `at` (created if needed).
    ///
    /// # Panics
    /// If not root, or if mounting fails.
    pub fn mount(at: &Path, size: &str) -> Tmpfs {
        Self::mount_type(at, "tmpfs", &["-o", &format!("size={size}")])
    }

    /// Mounts a ramfs at `at` (created if needed): a file system in memory that stores no
    /// extended attributes of the `user.` namespace (`setxattr` fails with `EOPNOTSUPP`),
    /// like NFSv3, vfat or exFAT.
    ///
    /// # Panics
    /// If not root, or if mounting fails.
    pub fn mount_ramfs(at: &Path) -> Tmpfs {
        Self::mount_type(at, "ramfs", &[])
    }

    fn mount_type(at: &Path, fs_type: &str, options: &[&str]) -> Tmpfs {
        let why = format!("mount a {fs_type}");
        require::root(&why);
        let mount = require::tool("mount", &why);
        std::fs::create_dir_all(at).unwrap();
        let status = Command::new(mount)
            .args(["-t", fs_type])
            .args(options)
            .arg("npaa-test")
            .arg(at)
            .status()
            .expect("running mount");
        assert!(
            status.success(),
            "mounting a {fs_type} failed although root"
        );
        Tmpfs {
            at: at.to_path_buf(),
        }
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
    /// The loop device, e.g. `/dev/loop3`.
    pub loop_dev: String,
    /// The mount point.
    pub at: PathBuf,
}

impl LoopMount {
    /// Makes an empty ext4 file system without a journal in a new sparse `image` of `size`
    /// bytes. Without a journal, what a sync writes is in place on the device: a copy of the
    /// image is exactly what a power loss at that moment would leave.
    ///
    /// # Panics
    /// If not root, or if `losetup` or `mkfs.ext4` is missing or fails.
    pub fn make_ext4(image: &Path, size: u64) {
        const NEEDED_FOR: &str = "make an ext4 file system on a loop device";
        require::root(NEEDED_FOR);
        require::tool("losetup", NEEDED_FOR);
        let mkfs = require::tool("mkfs.ext4", NEEDED_FOR);
        std::fs::File::create(image).unwrap().set_len(size).unwrap();
        run(
            mkfs.to_str().expect("a UTF-8 path"),
            &[
                "-q".as_ref(),
                "-F".as_ref(),
                "-O".as_ref(),
                "^has_journal".as_ref(),
                image.as_os_str(),
            ],
        );
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
