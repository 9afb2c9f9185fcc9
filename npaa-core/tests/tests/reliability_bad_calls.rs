//! Bad calls leave files untouched: every refused call returns its own error, and the bytes of
//! every file involved are exactly what they were (the inode too: nothing was replaced).
//!
//! Covered: invalid blocks and sources (shape, dtype, cast, length, object, 0-d, overflow,
//! damaged or missing source), files that cannot be appended to (legacy header,
//! needs recovery, object, 0-d, not a .npy file, empty, placeholder, locked), invalid options,
//! `recover` and `ensure_appendable` on files they must refuse; and, from the operating system:
//! a path that is a directory, permission denied (as an unprivileged user: the tests run as
//! root, which bypasses file modes, so that part runs in a child process as `nobody`), an
//! immutable file (`chattr +i`, which even root cannot write), a read-only file system (a
//! tmpfs remounted read-only), and a file deleted or replaced while a handle appends to it.
//! The immutable file and the read-only file system need root (`#[ignore]`d otherwise;
//! `scripts/test` runs them as root, as CI does).

use std::fs::{self, File};
#[cfg(unix)]
use std::os::unix::fs::{MetadataExt, PermissionsExt};
#[cfg(unix)]
use std::os::unix::process::CommandExt;
use std::path::Path;
#[cfg(unix)]
use std::path::PathBuf;
#[cfg(unix)]
use std::process::Command;

use npaa_core::{
    AppendArray, AppendOptions, Dtype, Durability, EnsureOptions, Error, FormatError,
    RecoverOptions, ensure_appendable_with, inspect, recover, recover_with,
};
#[cfg(unix)]
use npaa_testutil::child::{self, describe};
#[cfg(unix)]
use npaa_testutil::mount::Tmpfs;
#[cfg(unix)]
use npaa_testutil::require;
use npaa_testutil::rows::{rows, rows_expr};
use npaa_testutil::{assert_numpy_loads, run_python, tempdir};

/// What a file is, for "untouched": its bytes and, on Unix, its inode (std tells no file
/// index on Windows).
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    bytes: Vec<u8>,
    #[cfg(unix)]
    ino: u64,
}

fn snapshot(path: &Path) -> Snapshot {
    Snapshot {
        bytes: fs::read(path).unwrap(),
        #[cfg(unix)]
        ino: fs::metadata(path).unwrap().ino(),
    }
}

/// Runs a call that must fail, checks the error with `expected` and that none of `files`
/// changed.
fn refused<T: std::fmt::Debug>(
    what: &str,
    files: &[&Path],
    call: impl FnOnce() -> Result<T, Error>,
    expected: impl FnOnce(&Error) -> bool,
) {
    let before: Vec<Snapshot> = files.iter().map(|p| snapshot(p)).collect();
    match call() {
        Ok(v) => panic!("{what}: expected an error, got Ok({v:?})"),
        Err(e) => {
            assert!(expected(&e), "{what}: unexpected error {e:?}");
            // Every message names what it is about and reads as a sentence.
            assert!(!e.to_string().is_empty());
        }
    }
    for (path, before) in files.iter().zip(before) {
        assert_eq!(snapshot(path), before, "{what}: {} changed", path.display());
    }
}

/// A predicate on the error a refused call returns.
type ErrorCheck = fn(&Error) -> bool;

fn io_kind(e: &Error, kind: std::io::ErrorKind) -> bool {
    matches!(e, Error::Io { source, .. } if source.kind() == kind)
}

#[cfg(unix)]
fn errno(e: &Error, code: i32) -> bool {
    matches!(e, Error::Io { source, .. } if source.raw_os_error() == Some(code))
}

/// The files the API-level cases use, written by NumPy and by hand.
fn make_files(d: &Path) {
    run_python(
        r#"
import sys, os, numpy as np
d = sys.argv[1]
p = lambda n: os.path.join(d, n)
np.save(p('scalar.npy'), np.float64(3))
np.save(p('obj.npy'), np.array([1, 'a', None], dtype=object), allow_pickle=True)
np.save(p('src_f8.npy'), np.zeros((2, 3)))
np.save(p('src_cut.npy'), np.zeros((2, 3), dtype='<u8'))
b = open(p('src_cut.npy'), 'rb').read(); open(p('src_cut.npy'), 'wb').write(b[:-3])
b = open(p('obj.npy'), 'rb').read(); open(p('obj_cut.npy'), 'wb').write(b[:-3])
b = open(p('scalar.npy'), 'rb').read(); open(p('scalar_extra.npy'), 'wb').write(b + b'xyz')
# A header written before NumPy 1.24: 16-byte aligned, no spare room for the shape to grow.
text = "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }"
text += ' ' * (-(10 + len(text) + 1) % 16) + '\n'
open(p('legacy.npy'), 'wb').write(b'\x93NUMPY\x01\x00' + len(text).to_bytes(2, 'little') + text.encode() + bytes(24))
# An unfinished npyz file: placeholder shape.
text = "{'descr': '<f8', 'fortran_order': False, 'shape': (********************,), }"
text += ' ' * (-(10 + len(text) + 1) % 16) + '\n'
open(p('placeholder.npy'), 'wb').write(b'\x93NUMPY\x01\x00' + len(text).to_bytes(2, 'little') + text.encode() + bytes(16))
open(p('text.npy'), 'wb').write(b'hello, not an array')
open(p('empty.npy'), 'wb').write(b'')
"#,
        &[d],
    );
}

#[test]
fn refused_calls_change_nothing() {
    let dir = tempdir();
    let d = dir.path();
    make_files(d);
    let p = |name: &str| d.join(name);
    let good = p("good.npy");
    let array = AppendArray::open(&good).unwrap();
    array.append(&rows(0, 10), &[10, 3]).unwrap();
    let u8_dtype = Dtype::parse("<u8").unwrap();
    let g: &[&Path] = &[&good];

    // Blocks the open file refuses. The handle stays usable after each.
    refused(
        "wrong number of dimensions",
        g,
        || array.append(&rows(10, 1), &[3]),
        |e| matches!(e, Error::ShapeMismatch { .. }),
    );
    refused(
        "wrong row length",
        g,
        || array.append(&[0u64; 4], &[1, 4]),
        |e| matches!(e, Error::ShapeMismatch { .. }),
    );
    refused(
        "cast refused (f8 into u8 under same_kind)",
        g,
        || array.append(&[1.5f64, 2.0, 3.0], &[1, 3]),
        |e| matches!(e, Error::Cast { .. }),
    );
    refused(
        "cast of strings into integers",
        g,
        || array.append_raw(&Dtype::parse("<U1").unwrap(), &[1, 3], &[0u8; 12]),
        |e| matches!(e, Error::Cast { .. } | Error::CastUnsupported { .. }),
    );
    refused(
        "data length does not match the shape",
        g,
        || array.append_raw(&u8_dtype, &[1, 3], &[0u8; 23]),
        |e| {
            matches!(
                e,
                Error::DataLength {
                    expected: 24,
                    got: 23,
                    ..
                }
            )
        },
    );
    refused(
        "object dtype",
        g,
        || array.append_raw(&Dtype::parse("O").unwrap(), &[1, 3], &[0u8; 24]),
        |e| matches!(e, Error::ObjectDtype { .. }),
    );
    refused(
        "0-d block",
        g,
        || array.append(&[1u64], &[]),
        |e| matches!(e, Error::ZeroDimensional { .. }),
    );
    refused(
        "size overflow",
        g,
        || array.append_raw(&u8_dtype, &[u64::MAX / 2, 3], &[]),
        |e| matches!(e, Error::Overflow { .. }),
    );
    // Sources for append_npy_file: the source is untouched too.
    let src = |name: &str| p(name);
    for (name, check) in [
        (
            "src_f8.npy",
            (|e: &Error| matches!(e, Error::Cast { .. })) as ErrorCheck,
        ),
        ("scalar.npy", |e| matches!(e, Error::ScalarFile { .. })),
        ("src_cut.npy", |e| matches!(e, Error::NeedsRecovery { .. })),
        ("text.npy", |e| matches!(e, Error::Format { .. })),
        ("obj.npy", |e| matches!(e, Error::ObjectDtype { .. })),
    ] {
        let s = src(name);
        refused(
            &format!("append_npy_file({name})"),
            &[&good, &s],
            || array.append_npy_file(&s),
            check,
        );
    }
    refused(
        "append_npy_file(missing)",
        g,
        || array.append_npy_file(d.join("missing.npy")),
        |e| io_kind(e, std::io::ErrorKind::NotFound),
    );

    // Files that cannot be opened for appending.
    let open = |name: &str| AppendArray::open(p(name)).map(drop);
    let cases: [(&str, ErrorCheck); 8] = [
        ("legacy.npy", |e| matches!(e, Error::NotAppendable { .. })),
        ("src_cut.npy", |e| matches!(e, Error::NeedsRecovery { .. })),
        ("obj.npy", |e| matches!(e, Error::ObjectDtype { .. })),
        ("scalar.npy", |e| matches!(e, Error::ScalarFile { .. })),
        ("text.npy", |e| {
            matches!(
                e,
                Error::Format {
                    kind: FormatError::BadMagic { .. },
                    ..
                }
            )
        }),
        ("empty.npy", |e| {
            matches!(
                e,
                Error::Format {
                    kind: FormatError::Empty,
                    ..
                }
            )
        }),
        ("placeholder.npy", |e| {
            matches!(
                e,
                Error::Format {
                    kind: FormatError::PlaceholderShape,
                    ..
                }
            )
        }),
        ("good.npy", |e| matches!(e, Error::Locked { .. })),
    ];
    for (name, check) in cases {
        refused(&format!("open({name})"), &[&p(name)], || open(name), check);
    }
    refused(
        "open with delete_if_exists of a locked file",
        g,
        || {
            AppendOptions::new()
                .delete_if_exists(true)
                .open(&good)
                .map(drop)
        },
        |e| matches!(e, Error::Locked { .. }),
    );
    let new = p("never.npy");
    let r = AppendOptions::new()
        .durability(Durability::EveryBytes(0))
        .open(&new);
    assert!(matches!(r, Err(Error::ZeroSyncInterval { .. })), "{r:?}");
    assert!(!new.exists());

    // recover and ensure_appendable on files they must refuse.
    let cases: [(&str, ErrorCheck); 4] = [
        ("text.npy", |e| matches!(e, Error::Format { .. })),
        ("obj_cut.npy", |e| matches!(e, Error::ObjectDtype { .. })),
        ("scalar_extra.npy", |e| {
            matches!(e, Error::ScalarFile { .. })
        }),
        ("good.npy", |e| matches!(e, Error::Locked { .. })),
    ];
    for (name, check) in cases {
        for zerofill in [false, true] {
            refused(
                &format!("recover({name}, {zerofill})"),
                &[&p(name)],
                || recover_with(p(name), RecoverOptions::new().zerofill_incomplete(zerofill)),
                check,
            );
        }
    }
    let cases: [(&str, ErrorCheck); 5] = [
        ("text.npy", |e| matches!(e, Error::Format { .. })),
        ("obj.npy", |e| matches!(e, Error::ObjectDtype { .. })),
        ("scalar.npy", |e| matches!(e, Error::ScalarFile { .. })),
        ("placeholder.npy", |e| matches!(e, Error::Format { .. })),
        ("good.npy", |e| matches!(e, Error::Locked { .. })),
    ];
    for (name, check) in cases {
        for in_place in [false, true] {
            refused(
                &format!("ensure_appendable({name}, {in_place})"),
                &[&p(name)],
                || ensure_appendable_with(p(name), EnsureOptions::new().in_place(in_place)),
                check,
            );
        }
    }
    // No temporary file was left in the directory by any refused call.
    let leftovers: Vec<_> = fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') || n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // After all that, the handle appends normally.
    array.append(&rows(10, 2), &[2, 3]).unwrap();
    array.close().unwrap();
    assert_numpy_loads(&good, &rows_expr(12));
}

#[test]
fn a_directory_is_refused() {
    let dir = tempdir();
    let target = dir.path().join("a_directory.npy");
    fs::create_dir(&target).unwrap();
    let listing = || fs::read_dir(&target).unwrap().count();
    // Every operation gives the same typed error, naming the directory.
    let is_dir_error = |e: &Error| matches!(e, Error::IsDirectory { path, .. } if *path == target);
    for delete in [false, true] {
        let r = AppendOptions::new().delete_if_exists(delete).open(&target);
        assert!(r.as_ref().is_err_and(is_dir_error), "{r:?}");
    }
    assert!(recover(&target).is_err_and(|e| is_dir_error(&e)));
    let dry = recover_with(&target, RecoverOptions::new().dry_run(true));
    assert!(dry.is_err_and(|e| is_dir_error(&e)));
    for in_place in [false, true] {
        assert!(
            ensure_appendable_with(&target, EnsureOptions::new().in_place(in_place))
                .is_err_and(|e| is_dir_error(&e))
        );
    }
    assert!(inspect(&target).is_err_and(|e| is_dir_error(&e)));
    let other = dir.path().join("other.npy");
    let array = AppendArray::open(&other).unwrap();
    array.append(&rows(0, 1), &[1, 3]).unwrap();
    assert!(
        array
            .append_npy_file(&target)
            .is_err_and(|e| is_dir_error(&e))
    );
    array.close().unwrap();
    assert!(target.is_dir() && listing() == 0);
}

/// Unix file modes and users (Windows has ACLs, and no `nobody` to run as).
#[cfg(unix)]
#[test]
fn permission_denied_changes_nothing() {
    let dir = tempdir();
    // The child runs as another user: it must be able to enter the directory.
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let ro_file = dir.path().join("readonly.npy");
    let array = AppendArray::open(&ro_file).unwrap();
    array.append(&rows(0, 5), &[5, 3]).unwrap();
    array.close().unwrap();
    // Needs recovery and has a legacy-size problem nowhere: every call would write if allowed.
    let f = fs::OpenOptions::new().append(true).open(&ro_file).unwrap();
    std::io::Write::write_all(&mut &f, &[1, 2, 3]).unwrap();
    drop(f);
    fs::set_permissions(&ro_file, fs::Permissions::from_mode(0o444)).unwrap();
    let ro_dir = dir.path().join("readonly_dir");
    fs::create_dir(&ro_dir).unwrap();
    fs::set_permissions(&ro_dir, fs::Permissions::from_mode(0o555)).unwrap();
    let before = snapshot(&ro_file);

    // The calls are made by the helper's `permission` child (its calls:
    // `testutil/src/bin/npaa-test-child/core.rs`). As root, which bypasses file modes, it runs
    // as `nobody`: a copy of the helper inside the temporary directory, so that it does not
    // depend on whether `nobody` may enter the build directory.
    let copy = dir.path().join("child-binary");
    let mut command = if require::is_root() {
        fs::copy(child::exe(), &copy).unwrap();
        // Through the target's runner (qemu) when the tests are cross-built.
        let mut c = child::target_command(&copy);
        c.arg("permission").uid(65534).gid(65534);
        c
    } else {
        child::command("permission")
    };
    let out = command
        .env("NPAA_RO_FILE", &ro_file)
        .env("NPAA_RO_DIR", &ro_dir)
        .current_dir(dir.path())
        .output()
        .unwrap();
    if copy.exists() {
        fs::remove_file(&copy).unwrap();
    }
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{}: {stdout}{}",
        describe(out.status),
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("RESULT "))
        .collect();
    assert_eq!(
        results,
        [
            "open: EACCES",
            "recover: EACCES",
            "ensure copy: EACCES",
            "ensure in place: EACCES",
            "create in a read-only directory: EACCES",
            "inspect: Ok",
        ]
    );
    assert_eq!(snapshot(&ro_file), before);
    assert_eq!(fs::read_dir(&ro_dir).unwrap().count(), 0);
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        2,
        "a temporary file was left"
    );
    fs::set_permissions(&ro_dir, fs::Permissions::from_mode(0o755)).unwrap();
}

/// Clears the immutable flag when dropped, so that the temporary directory can be removed.
#[cfg(unix)]
struct Immutable(PathBuf);

#[cfg(unix)]
impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

#[cfg(unix)]
#[test]
#[ignore = "needs root and chattr; scripts/test runs it"]
fn an_immutable_file_changes_nothing() {
    require::root("make a file immutable");
    let chattr = require::tool("chattr", "make a file immutable");
    let dir = tempdir();
    let path = dir.path().join("immutable.npy");
    let array = AppendArray::open(&path).unwrap();
    array.append(&rows(0, 5), &[5, 3]).unwrap();
    array.close().unwrap();
    let set = Command::new(chattr).arg("+i").arg(&path).status();
    assert!(
        set.as_ref().is_ok_and(|s| s.success()),
        "chattr +i {} failed although root (no support by the file system?): {set:?}",
        path.display()
    );
    let _guard = Immutable(path.clone());
    let eperm = |e: &Error| errno(e, libc::EPERM);
    let before = snapshot(&path);
    refused(
        "open",
        &[&path],
        || AppendArray::open(&path).map(drop),
        eperm,
    );
    refused(
        "recover",
        &[&path],
        || recover_with(&path, RecoverOptions::new().zerofill_incomplete(true)),
        eperm,
    );
    // Copy mode writes a new file, then fails to rename it over the immutable one.
    refused(
        "ensure copy",
        &[&path],
        || npaa_core::ensure_appendable(&path),
        |e| errno(e, libc::EPERM),
    );
    refused(
        "ensure in place",
        &[&path],
        || ensure_appendable_with(&path, EnsureOptions::new().in_place(true)),
        eperm,
    );
    assert_eq!(snapshot(&path), before);
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        1,
        "a temporary file was left"
    );
}

#[cfg(unix)]
#[test]
#[ignore = "needs root (mounts a tmpfs); scripts/test runs it"]
fn a_read_only_file_system_changes_nothing() {
    let dir = tempdir();
    let guard = Tmpfs::mount(&dir.path().join("mnt"), "1m");
    let mnt = guard.at.clone();
    let path = mnt.join("data.npy");
    let array = AppendArray::open(&path).unwrap();
    array.append(&rows(0, 5), &[5, 3]).unwrap();
    array.close().unwrap();
    // Needs recovery: recover would write if it could.
    let f = fs::OpenOptions::new().append(true).open(&path).unwrap();
    std::io::Write::write_all(&mut &f, &[9; 30]).unwrap();
    drop(f);
    guard.remount_read_only();
    let erofs = |e: &Error| errno(e, libc::EROFS);
    refused(
        "open",
        &[&path],
        || AppendArray::open(&path).map(drop),
        erofs,
    );
    refused("recover", &[&path], || recover(&path), erofs);
    refused(
        "ensure copy",
        &[&path],
        || npaa_core::ensure_appendable(&path),
        erofs,
    );
    refused(
        "ensure in place",
        &[&path],
        || ensure_appendable_with(&path, EnsureOptions::new().in_place(true)),
        erofs,
    );
    let new = mnt.join("new.npy");
    let r = AppendArray::open(&new).and_then(|a| a.append(&rows(0, 1), &[1, 3]));
    assert!(r.as_ref().is_err_and(erofs), "{r:?}");
    assert!(!new.exists());
    // Reading works: inspect and a dry-run recover.
    assert!(inspect(&path).unwrap().needs_recovery);
    let dry = recover_with(&path, RecoverOptions::new().dry_run(true)).unwrap();
    assert_eq!((dry.items_after, dry.bytes_cut), (6, 6));
    drop(guard);
}

/// A handle keeps appending to the file it opened (POSIX: the inode, not the name). If the
/// name is deleted or taken by another file meanwhile, close (and sync, update_header) report
/// `FileChanged`, and the file now at the path is untouched.
#[test]
fn a_file_deleted_or_replaced_underneath_is_reported() {
    let dir = tempdir();
    for how in ["replaced", "deleted"] {
        let path = dir.path().join(format!("{how}.npy"));
        let array = AppendArray::open(&path).unwrap();
        array.append(&rows(0, 5), &[5, 3]).unwrap();
        // Keep a way to read the original file after its name is gone.
        let original = File::open(&path).unwrap();
        let newcomer = dir.path().join("newcomer.npy");
        let newcomer_bytes = {
            let other = AppendArray::open(&newcomer).unwrap();
            other.append(&[42u8; 7], &[7]).unwrap();
            other.close().unwrap();
            fs::read(&newcomer).unwrap()
        };
        if how == "replaced" {
            fs::rename(&newcomer, &path).unwrap();
        } else {
            fs::remove_file(&newcomer).unwrap();
            fs::remove_file(&path).unwrap();
        }
        // Appends still succeed: they go to the original file.
        array.append(&rows(5, 5), &[5, 3]).unwrap();
        for (what, r) in [
            ("update_header", array.update_header()),
            ("sync", array.sync()),
            ("close", array.close()),
        ] {
            match r {
                Err(Error::FileChanged {
                    path: p,
                    what: detail,
                    ..
                }) => {
                    assert_eq!(p, path, "{how} {what}");
                    assert!(detail.contains(how), "{how} {what}: {detail}");
                }
                other => panic!("{how} {what}: expected FileChanged, got {other:?}"),
            }
        }
        if how == "replaced" {
            assert_eq!(
                fs::read(&path).unwrap(),
                newcomer_bytes,
                "the newcomer was touched"
            );
        } else {
            assert!(!path.exists(), "the deleted file was recreated");
        }
        // The original file holds all ten rows, header included.
        let kept = dir.path().join(format!("{how}-original.npy"));
        let mut out = File::create(&kept).unwrap();
        std::io::copy(&mut &original, &mut out).unwrap();
        assert_numpy_loads(&kept, &rows_expr(10));
    }
}

/// A file the first append would create in a missing directory is refused at open, by the
/// core, for every front end (the C ABI and Python present this error).
#[test]
fn a_missing_directory_fails_at_open() {
    let dir = tempdir();
    let path = dir.path().join("no").join("such").join("x.npy");
    for delete in [false, true] {
        match AppendOptions::new().delete_if_exists(delete).open(&path) {
            Err(Error::NoSuchDirectory {
                path: p, dir: d, ..
            }) => {
                assert_eq!(p, path);
                assert_eq!(d, dir.path().join("no").join("such"));
            }
            other => panic!("expected NoSuchDirectory, got {other:?}"),
        }
    }
    assert!(!dir.path().join("no").exists());
    // A directory that exists: nothing is created until the first append.
    let fine = dir.path().join("fine.npy");
    AppendArray::open(&fine).unwrap().close().unwrap();
    assert!(!fine.exists());
}

/// More dimensions than NumPy's NPY_MAXDIMS (64) are refused before anything is written,
/// in a block and in a header read from a file.
#[test]
fn more_than_64_dimensions_are_refused() {
    let dir = tempdir();
    let path = dir.path().join("deep.npy");
    let f8 = Dtype::parse("<f8").unwrap();
    let array = AppendArray::open(&path).unwrap();
    let ok = vec![1u64; npaa_core::MAX_DIMS];
    array.check_append(&f8, &ok).unwrap();
    let deep = vec![1u64; npaa_core::MAX_DIMS + 1];
    let err = array.append_raw(&f8, &deep, &[0; 8]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooManyDimensions {
                ndim: 65,
                limit: 64,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "a shape of 65 dimensions has more than the 64 NumPy can load"
    );
    array.close().unwrap();
    assert!(!path.exists());

    // A header of 65 dimensions (NumPy refuses to load it: "maximum supported dimension").
    let shape = format!("({})", vec!["1"; 65].join(", "));
    let dict = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}");
    let text = format!("{dict}{}\n", " ".repeat(63 - (10 + dict.len()) % 64));
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(text.len() as u16).to_le_bytes());
    bytes.extend_from_slice(text.as_bytes());
    bytes.extend_from_slice(&[0; 8]);
    fs::write(&path, &bytes).unwrap();
    let err = inspect(&path).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Format {
                kind: FormatError::TooManyDimensions { ndim: 65, .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(fs::read(&path).unwrap(), bytes);
}
