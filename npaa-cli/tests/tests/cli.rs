//! The command line itself: help, completions, usage errors, and bad input common to every
//! command (missing file, directory, not an .npy file, read-only file).

#[cfg(unix)]
use std::os::unix::fs::PermissionsExt;
#[cfg(unix)]
use std::process::Command;

use crate::common::*;

const COMMANDS: [&str; 7] = [
    "info",
    "check",
    "recover",
    "ensure-appendable",
    "append",
    "show",
    "completions",
];

#[test]
fn every_command_has_help_with_an_example() {
    let out = npaa().arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("Exit codes:\n  0  success\n  1  "), "{help}");
    for command in COMMANDS {
        assert!(help.contains(command), "{command} missing from --help");
        let out = npaa().args([command, "--help"]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{command}");
        let help = String::from_utf8(out.stdout).unwrap();
        assert!(
            help.contains("Example"),
            "{command} --help has no example:\n{help}"
        );
        assert!(
            help.contains(&format!("npaa {command}")),
            "{command}:\n{help}"
        );
    }
    npaa()
        .arg("--version")
        .assert()
        .code(0)
        .stdout("npaa 0.1.0\n");
}

#[test]
fn completions_for_each_shell() {
    for (shell, marker) in [
        ("bash", "_npaa()"),
        ("zsh", "#compdef npaa"),
        ("fish", "complete -c npaa"),
    ] {
        let out = npaa().args(["completions", shell]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains(marker), "{shell}");
        assert!(script.contains("ensure-appendable"), "{shell}");
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["frobnicate"][..],
        &["info"][..],
        &["append", "only-dest.npy"][..],
        &["show", "a.npy", "--rows", "x:y"][..],
        &["completions", "tcsh"][..],
    ] {
        let out = npaa().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

/// Missing file, directory, not a .npy file: for every command that reads files, exit 2 and
/// one line naming the file, and nothing changed on disk.
#[test]
fn bad_inputs_for_every_command() {
    let dir = tempdir();
    let d = dir.path();
    std::fs::create_dir(d.join("adir")).unwrap();
    std::fs::write(d.join("text.npy"), b"PK\x03\x04 this is a zip file").unwrap();
    std::fs::write(d.join("empty.npy"), b"").unwrap();
    make(d, "save('good.npy', np.arange(4.))");
    let snapshot = || {
        listing(d)
            .into_iter()
            .filter(|n| n != "adir")
            .map(|n| (n.clone(), bytes(&at(d, &n))))
            .collect::<Vec<_>>()
    };
    let before = snapshot();
    let commands: [&[&str]; 8] = [
        &["info"],
        &["info", "--json"],
        &["check"],
        &["recover"],
        &["recover", "--dry-run"],
        &["ensure-appendable"],
        &["ensure-appendable", "--in-place"],
        &["show"],
    ];
    let not_found = not_found_text();
    for command in commands {
        for (file, what) in [
            ("missing.npy", not_found.as_str()),
            ("adir", "is a directory, not a .npy file"),
            (
                "text.npy",
                "not a valid .npy file: it starts with b'PK\\x03\\x04 t'",
            ),
            ("empty.npy", "not a valid .npy file: the file is empty"),
        ] {
            let out = npaa()
                .current_dir(d)
                .args(command)
                .arg(file)
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(2), "{command:?} {file}: {out:?}");
            let line = one_error_line(&out.stderr);
            assert!(
                line.starts_with(&format!("npaa: {file}: ")) && line.contains(what),
                "{command:?} {file}: {line}"
            );
            assert_eq!(line.matches(file).count(), 1, "path printed twice: {line}");
        }
    }
    // append, as DEST and as SRC.
    for file in ["text.npy", "empty.npy"] {
        for args in [["append", file, "good.npy"], ["append", "good.npy", file]] {
            let out = npaa().current_dir(d).args(args).output().unwrap();
            assert_eq!(out.status.code(), Some(2), "{args:?}");
            one_error_line(&out.stderr);
        }
    }
    assert_eq!(snapshot(), before, "a failed command changed a file");
}

/// The same problem gets the same message, whatever the command: exactly this stderr for a
/// directory, an empty file, a text file and a zip archive (an .npz file written by NumPy)
/// given to `info`, `show`, `check` and `append` (as DEST and as SRC).
#[test]
fn one_message_per_problem_in_every_command() {
    let dir = tempdir();
    let d = dir.path();
    make(
        d,
        r#"
save('good.npy', np.arange(4.))
os.mkdir(p('adir'))
open(p('empty.npy'), 'wb').close()
open(p('notes.txt'), 'w').write('hello world\n')
np.savez(p('arrays.npz'), a=np.arange(3), b=np.ones(2))
"#,
    );
    let cases = [
        ("adir", "npaa: adir: is a directory, not a .npy file"),
        (
            "empty.npy",
            "npaa: empty.npy: not a valid .npy file: the file is empty",
        ),
        (
            "notes.txt",
            "npaa: notes.txt: not a valid .npy file: it starts with b'hello ' instead of \
             b'\\x93NUMPY' (it looks like a text file)",
        ),
        (
            "arrays.npz",
            "npaa: arrays.npz: not a valid .npy file: it starts with b'PK\\x03\\x04-\\x00' \
             instead of b'\\x93NUMPY' (a zip archive: an .npz file holds one .npy file per \
             array; load it with np.load or unzip it)",
        ),
    ];
    for (file, expected) in cases {
        let runs: [&[&str]; 5] = [
            &["info", file],
            &["show", file],
            &["check", file],
            &["append", file, "good.npy"],
            &["append", "good.npy", file],
        ];
        for args in runs {
            let out = npaa().current_dir(d).args(args).output().unwrap();
            assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
            assert_eq!(
                String::from_utf8_lossy(&out.stderr),
                format!("{expected}\n"),
                "{args:?}"
            );
        }
    }
}

/// A read-only file: commands that write refuse it with a clear error and change nothing;
/// commands that only read work.
///
/// The tests run as root in CI containers, and root ignores file permissions (chmod 0444
/// does not stop it writing). So, as root, npaa is run as the unprivileged user `nobody`
/// with `setpriv` (util-linux), on root-owned files it may read but not write, in a directory
/// it may read but not write: exactly the situation of an operator without write access.
/// As a normal user, chmod 0444 suffices. Unix only (file modes, users).
#[cfg(unix)]
#[test]
fn read_only_files_are_refused_untouched() {
    let dir = tempdir();
    let d = dir.path();
    make(
        d,
        r#"
save('ro.npy', np.arange(12.).reshape(4, 3)); cut('ro.npy', 5)
legacy('legacy.npy', np.arange(5, dtype='<i2'))
save('src.npy', np.ones((1, 3)))
save('dest.npy', np.zeros((2, 3)))
"#,
    );
    for name in ["ro.npy", "legacy.npy", "src.npy", "dest.npy"] {
        std::fs::set_permissions(at(d, name), std::fs::Permissions::from_mode(0o444)).unwrap();
    }
    std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o555)).unwrap();
    let run = |args: &[&str]| {
        let mut cmd = if npaa_testutil::require::is_root() {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .args(npaa_testutil::child::runner())
                .arg(npaa_path());
            c
        } else {
            npaa_std()
        };
        cmd.current_dir(d)
            .args(args)
            .output()
            .expect("running npaa (setpriv as root)")
    };
    let files = ["ro.npy", "legacy.npy", "src.npy", "dest.npy"];
    let before: Vec<Vec<u8>> = files.iter().map(|f| bytes(&at(d, f))).collect();

    for args in [
        &["recover", "ro.npy"][..],
        &["ensure-appendable", "legacy.npy"][..],
        &["ensure-appendable", "--in-place", "legacy.npy"][..],
        &["append", "dest.npy", "src.npy"][..],
        &["append", "new.npy", "src.npy"][..],
        &["append", "--delete-if-exists", "dest.npy", "src.npy"][..],
        &[
            "append",
            "dest.npy",
            "--raw",
            "-",
            "--dtype",
            "f8",
            "--item-shape",
            "3",
        ][..],
        &[
            "append",
            "new.npy",
            "--raw",
            "-",
            "--dtype",
            "f8",
            "--item-shape",
            "3",
        ][..],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let line = one_error_line(&out.stderr);
        let file = args[1..].iter().find(|a| !a.starts_with('-')).unwrap();
        assert!(
            line.starts_with(&format!("npaa: {file}: "))
                && line.ends_with("Permission denied (os error 13)"),
            "{args:?}: {line}"
        );
    }
    // Reading works.
    assert_eq!(
        run(&["recover", "--dry-run", "ro.npy"]).status.code(),
        Some(0)
    );
    assert_eq!(run(&["check", "ro.npy"]).status.code(), Some(1));
    assert_eq!(run(&["show", "src.npy"]).status.code(), Some(0));

    std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    let after: Vec<Vec<u8>> = files.iter().map(|f| bytes(&at(d, f))).collect();
    assert_eq!(before, after, "a read-only file was changed");
    assert_eq!(listing(d), ["dest.npy", "legacy.npy", "ro.npy", "src.npy"]);
}

/// `append` with both SRC files and `--raw`: a usage error that names the conflict and shows
/// both forms of the command.
#[test]
fn raw_with_source_files_is_a_clear_usage_error() {
    let dir = tempdir();
    let out = npaa()
        .current_dir(dir.path())
        .args([
            "append", "dest.npy", "a.npy", "--raw", "-", "--dtype", "<f8",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with(
            "error: the argument '[SRC.npy]...' cannot be used with '--raw <FILE|->'\n"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "Usage: npaa append [OPTIONS] <DEST> <SRC.npy>...\n       \
             npaa append [OPTIONS] <DEST> --raw <FILE|-> --dtype <DESCR>"
        ),
        "{stderr}"
    );
    assert_eq!(listing(dir.path()), Vec::<String>::new());
}

/// One error path: a file that is not a .npy file gets the same line from every command that
/// reads it (the CLI prints the core's message, never its own wording of it).
#[test]
fn every_command_words_a_bad_file_alike() {
    let dir = tempdir();
    let d = dir.path();
    std::fs::create_dir(d.join("adir")).unwrap();
    std::fs::write(d.join("text.npy"), b"hello world\n").unwrap();
    std::fs::write(d.join("zip.npy"), b"PK\x03\x04\x14\x00\x00\x00").unwrap();
    std::fs::write(d.join("empty.npy"), b"").unwrap();
    let readers: [&[&str]; 7] = [
        &["info"],
        &["check"],
        &["show"],
        &["append", "new.npy"],
        &["recover"],
        &["recover", "--dry-run"],
        &["ensure-appendable"],
    ];
    for file in ["text.npy", "zip.npy", "empty.npy", "adir"] {
        let lines: Vec<(String, String)> = readers
            .iter()
            .map(|command| {
                let out = npaa()
                    .current_dir(d)
                    .args(*command)
                    .arg(file)
                    .output()
                    .unwrap();
                assert_eq!(out.status.code(), Some(2), "{command:?} {file}");
                (command.join(" "), one_error_line(&out.stderr))
            })
            .collect();
        for (command, line) in &lines[1..] {
            assert_eq!(
                line, &lines[0].1,
                "`npaa {command} {file}` and `npaa info {file}`"
            );
        }
    }
    assert!(!d.join("new.npy").exists());
}
