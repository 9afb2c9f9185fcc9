//! Error messages: one line on stderr, `npaa: <file>: <what went wrong>[: <cause>]`, ending
//! with what to do about it where there is something to do.
//!
//! Every message starts with the file the command was working on ([`core_error`]); npaa-core's
//! errors that start with it already do not get it twice ([`render`]). What fixes
//! an error comes from the core as a [`Remedy`]; here it is worded as the command that does it
//! (`npaa recover FILE`, see [`remedy`]).

use std::io;
use std::path::Path;

use npaa_core::{Error, Remedy};

/// Prints `err` on stderr as `npaa: <message>`.
pub fn error(err: &anyhow::Error) {
    eprintln!("npaa: {}", render(err));
}

/// Prints a warning on stderr as `npaa: warning: <message>`.
pub fn warning(message: &str) {
    eprintln!("npaa: warning: {message}");
}

/// True if `err` comes from writing into a closed pipe (`npaa show big.npy | head`).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Wraps an error of npaa-core about `path`: the message starts with `path`, which
/// [`render`] does not repeat when the core's message starts with it already.
pub fn core_error(path: &Path, err: Error) -> anyhow::Error {
    anyhow::Error::new(err).context(path.display().to_string())
}

/// The one-line message for an error chain: contexts and causes joined by `: `, stopping at
/// the first npaa-core error (whose message already includes its causes).
pub fn render(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        if let Some(core) = cause.downcast_ref::<Error>() {
            parts.push(describe(core));
            break;
        }
        let text = cause.to_string();
        // An io::Error wrapped by a context that already quoted it: skip the repeat.
        if parts.last().is_some_and(|last| last.ends_with(&text)) {
            continue;
        }
        parts.push(text);
    }
    // Drop a context that merely repeats the start of what follows ("a.npy" before
    // "a.npy: not a valid .npy file").
    let mut kept: Vec<String> = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        let repeated = parts
            .get(i + 1)
            .is_some_and(|next| next.starts_with(&format!("{part}: ")));
        if !repeated {
            kept.push(part.clone());
        }
    }
    kept.join(": ").replace('\n', " ")
}

/// The message for an npaa-core error, followed by its remedy as an npaa command.
pub fn describe(err: &Error) -> String {
    match err.remedy() {
        Some(r @ Remedy::AllowUnsafeCasting) => format!("{err}; {}", remedy(r, Path::new(""))),
        // A call that needs the file repaired or converted first.
        Some(r) => {
            let path = err.path().unwrap_or(Path::new("FILE"));
            format!("{err}: {} first", remedy(r, path))
        }
        None => err.to_string(),
    }
}

/// What fixes a problem of `path`, as the npaa command (or option) that does it.
pub fn remedy(remedy: Remedy, path: &Path) -> String {
    match remedy {
        // `npaa recover` repairs the pair of a data file that has an index beside it.
        Remedy::Recover | Remedy::RecoverRagged => {
            format!("run `npaa recover {}`", shell_quote(path))
        }
        Remedy::EnsureAppendable => format!("run `npaa ensure-appendable {}`", shell_quote(path)),
        Remedy::AllowUnsafeCasting => "pass `--casting unsafe` to force it".to_owned(),
        // Remedy is #[non_exhaustive]: one this version does not know is not worded.
        other => format!("see npaa-core's Remedy::{other:?}"),
    }
}

/// `path` as a shell word: unchanged when it is made of safe characters, else single-quoted.
pub fn shell_quote(path: &Path) -> String {
    let s = path.to_string_lossy();
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./,:=+@%".contains(c));
    if safe {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The core's errors are only built by the core: these tests get real ones.

    #[test]
    fn core_errors_name_the_file_once() {
        let path = Path::new("no-such-dir/a.npy");
        let err = npaa_core::inspect(path).unwrap_err();
        let rendered = render(&core_error(path, err));
        assert_eq!(rendered.matches("a.npy").count(), 1, "{rendered}");
        assert!(
            rendered.starts_with("no-such-dir/a.npy: opening: "),
            "{rendered}"
        );
    }

    #[test]
    fn errors_without_a_path_get_one() {
        let dir = tempfile::tempdir().unwrap();
        let array = npaa_core::AppendArray::open(dir.path().join("never.npy")).unwrap();
        let object = npaa_core::Dtype::parse("|O").unwrap();
        let err = array.check_append(&object, &[1]).unwrap_err();
        let rendered = render(&core_error(Path::new("b.npy"), err));
        assert!(
            rendered.starts_with("b.npy: dtype |O holds Python objects"),
            "{rendered}"
        );
    }

    #[test]
    fn hints_are_commands() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("my file.npy");
        let array = npaa_core::AppendArray::open(&path).unwrap();
        array.append(&[1.0f64; 10], &[10]).unwrap();
        array.close().unwrap();
        let info = npaa_core::inspect(&path).unwrap();
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(info.header_len + 72).unwrap();
        let err = npaa_core::inspect(&path)
            .unwrap()
            .require_complete()
            .unwrap_err();
        let rendered = render(&core_error(&path, err));
        assert!(
            rendered.ends_with(&format!("run `npaa recover {}` first", shell_quote(&path))),
            "{rendered}"
        );
        assert!(shell_quote(&path).starts_with('\''), "{rendered}");
        assert_eq!(rendered.matches("my file.npy").count(), 2, "{rendered}");
    }

    #[test]
    fn contexts_and_io_causes_join_on_one_line() {
        let io = io::Error::new(io::ErrorKind::PermissionDenied, "Permission denied");
        let err = anyhow::Error::new(io).context("in.bin: reading");
        assert_eq!(render(&err), "in.bin: reading: Permission denied");
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote(Path::new("data/x.npy")), "data/x.npy");
        assert_eq!(shell_quote(Path::new("it's.npy")), "'it'\\''s.npy'");
    }
}
