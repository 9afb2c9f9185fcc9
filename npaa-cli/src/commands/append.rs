//! `npaa append DEST SRC.npy...`: append the arrays of .npy files to DEST.
//!
//! Safety rules, in order:
//! 1. Every source is inspected before DEST is opened (complete, not an object array, not
//!    0-d, not DEST itself).
//! 2. Every source is checked against the real destination with
//!    [`npaa_core::AppendArray::check_append`] (shape, dtype cast under `--casting`), before
//!    any data is written. Memory order is DEST's business, as with `np.concatenate`: a source
//!    in the other order is converted while it is appended (npaa-core's `relayout` rule).
//! 3. A DEST that does not exist yet (or is replaced, with `--delete-if-exists`) is built under
//!    a temporary name in DEST's directory and renamed into place only when complete: the
//!    checks of rule 2 run against that file, and on any failure it is removed, leaving DEST
//!    as it was. Readers never see a half-built DEST.
//! 4. Appending to an existing DEST happens under its lock, after rule 2. If writing fails
//!    half-way (a full disk), DEST is returned to its savepoint (header, then length) while
//!    still locked.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use npaa_core::{AppendFileOptions, Error, FileInfo, fmt_shape};

use super::{Ctx, Status};
use crate::cli::AppendArgs;
use crate::report::{core_error, open_for_reading, render, require_complete, shell_quote};

/// A validated source.
struct Source {
    path: PathBuf,
    info: FileInfo,
}

pub fn run(args: &AppendArgs, ctx: Ctx, out: &mut dyn Write) -> anyhow::Result<Status> {
    let options = super::raw::append_options(args);
    let dest = args.dest.as_path();
    let dest_meta = match std::fs::metadata(dest) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(anyhow!(e).context(format!("{}: reading metadata", dest.display()))),
    };
    if dest_meta.as_ref().is_some_and(|m| m.is_dir()) {
        bail!("{}: is a directory, not a .npy file", dest.display());
    }

    // Rule 1: look at every source before touching DEST.
    let mut sources = Vec::with_capacity(args.sources.len());
    for path in &args.sources {
        let info = validate_source(path)?;
        if let Some(dm) = &dest_meta {
            let sm = std::fs::metadata(path)
                .with_context(|| format!("{}: reading metadata", path.display()))?;
            if (sm.dev(), sm.ino()) == (dm.dev(), dm.ino()) {
                bail!(
                    "{}: is DEST itself; copy it first to append a file to itself",
                    path.display()
                );
            }
        }
        sources.push(Source {
            path: path.clone(),
            info,
        });
    }
    let total: u64 = sources.iter().map(|s| s.info.data_expected).sum();

    let (array, target) = match dest_meta {
        Some(_) if !args.delete_if_exists => {
            let array = options.open(dest).map_err(|e| core_error(dest, e))?;
            (array, Target::Existing)
        }
        _ => {
            // Replacing an existing DEST: hold its lock, as another writer would, so that
            // nobody is appending to the file we replace.
            let old_lock = match dest_meta {
                Some(_) => Some(lock_existing(dest)?),
                None => None,
            };
            let first = &sources[0];
            let scratch = Scratch::new(dest)?;
            let array = options
                .clone()
                .order(first.info.header.order())
                .open(&scratch.path)
                .map_err(|e| scratch.error(dest, e))?;
            // Create it with the first source's dtype and shape, growth dimension 0: the
            // checks below then run against a real file, exactly as for an existing DEST.
            let header = &first.info.header;
            let mut empty = header.shape.clone();
            if let Some(axis) = header.growth_axis() {
                empty[axis] = 0;
            }
            array
                .append_raw(&header.dtype, &empty, &[])
                .map_err(|e| scratch.error(dest, e))?;
            (array, Target::New { scratch, old_lock })
        }
    };

    // Rule 2: every source against the destination, before any data is written.
    for src in &sources {
        let header = &src.info.header;
        array
            .check_append(&header.dtype, &header.shape)
            .map_err(|e| core_error(&src.path, e))?;
    }

    // Where to return to if a source fails half-way (an existing DEST only: a new one is a
    // scratch file that is simply not moved into place).
    let savepoint = match &target {
        Target::Existing => array.savepoint().map_err(|e| core_error(dest, e))?,
        Target::New { .. } => None,
    };
    let progress = ctx.progress.bytes(total, "appending");
    let mut items = 0u64;
    let mut done_before = 0u64;
    let mut outcome = Ok(());
    for src in &sources {
        let options = AppendFileOptions::new().progress(|done, _| {
            progress.set(done_before + done);
        });
        let result = array.append_npy_file_with(&src.path, options);
        match result {
            Ok(rows) => items += rows,
            Err(e) => {
                outcome = Err(match &target {
                    Target::New { scratch, .. } => scratch.error(&src.path, e),
                    Target::Existing => core_error(&src.path, e),
                });
                break;
            }
        }
        done_before += src.info.data_expected;
    }
    progress.finish();
    // Undo a failed append under the lock, before closing: no other writer can interleave.
    let undone = match (&outcome, savepoint) {
        (Err(_), Some(savepoint)) => Some(array.rollback_to(savepoint)),
        _ => None,
    };
    let shape = array.shape().unwrap_or_default();
    let closed = array.close().map_err(|e| match &target {
        Target::New { scratch, .. } => scratch.error(dest, e),
        Target::Existing => core_error(dest, e),
    });
    let outcome = outcome.and(closed);

    match target {
        Target::New { scratch, old_lock } => {
            outcome?;
            scratch.persist(dest, old_lock.is_some())?;
            drop(old_lock);
        }
        Target::Existing => {
            if let Err(e) = outcome {
                let message = render(&e);
                return Err(match undone {
                    Some(Ok(())) => anyhow!(
                        "{message}; the append was undone: {} is as it was",
                        dest.display()
                    ),
                    Some(Err(r)) => anyhow!(
                        "{message}; undoing the append failed too ({}): run `npaa recover {}`",
                        render(&core_error(dest, r)),
                        shell_quote(dest)
                    ),
                    None => e,
                });
            }
        }
    }
    if !ctx.quiet {
        let n = sources.len();
        writeln!(
            out,
            "appended {n} source{} ({items} items) to {}: shape {}",
            if n == 1 { "" } else { "s" },
            dest.display(),
            fmt_shape(&shape)
        )?;
    }
    Ok(Status::Ok)
}

/// Checks what can be checked about a source on its own.
fn validate_source(path: &Path) -> anyhow::Result<FileInfo> {
    let info = npaa_core::inspect(path).map_err(|e| core_error(path, e))?;
    let header = &info.header;
    if header.dtype.has_object() {
        let err = Error::ObjectDtype {
            descr: header.dtype.descr(),
        };
        return Err(core_error(path, err));
    }
    require_complete(path, &info)?;
    if header.shape.is_empty() {
        let err = Error::ScalarFile {
            path: path.to_path_buf(),
        };
        return Err(core_error(path, err));
    }
    Ok(info)
}

enum Target {
    /// Appending to DEST itself.
    Existing,
    /// Building a new DEST under a temporary name.
    New {
        scratch: Scratch,
        /// The lock on the DEST being replaced (`--delete-if-exists`).
        old_lock: Option<File>,
    },
}

/// Takes the lock npaa writers take on `path`, failing at once if another writer holds it.
fn lock_existing(path: &Path) -> anyhow::Result<File> {
    let file = open_for_reading(path)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(core_error(
            path,
            Error::Locked {
                path: path.to_path_buf(),
            },
        )),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(anyhow!(e).context(format!("{}: locking", path.display())))
        }
    }
}

/// A file being built beside DEST, removed unless it is renamed into place.
struct Scratch {
    path: PathBuf,
    dest: PathBuf,
    persisted: bool,
}

impl Scratch {
    /// A fresh name in DEST's directory (the file itself is created by the first append).
    fn new(dest: &Path) -> anyhow::Result<Self> {
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = dest
            .file_name()
            .ok_or_else(|| anyhow!("{}: not a file name", dest.display()))?
            .to_string_lossy();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = dir.join(format!(
            ".{name}.npaa-{}-{nanos:09}.tmp",
            std::process::id()
        ));
        Ok(Scratch {
            path,
            dest: dest.to_path_buf(),
            persisted: false,
        })
    }

    /// An error of npaa-core about `path` (DEST or a source), where DEST is the scratch file
    /// for now: the message names DEST, as the user knows it, not the temporary name.
    fn error(&self, path: &Path, err: Error) -> anyhow::Error {
        let message = render(&core_error(path, err));
        let scratch = self.path.display().to_string();
        anyhow!(
            "{}",
            message.replace(&scratch, &self.dest.display().to_string())
        )
    }

    /// Moves the finished file to `dest`: replacing it if `replace`, else only if `dest`
    /// still does not exist.
    fn persist(mut self, dest: &Path, replace: bool) -> anyhow::Result<()> {
        let placed = if replace {
            std::fs::rename(&self.path, dest)
        } else {
            // A hard link fails if DEST appeared meanwhile, where a rename would replace it.
            std::fs::hard_link(&self.path, dest).and_then(|()| std::fs::remove_file(&self.path))
        };
        placed.with_context(|| {
            format!(
                "{}: moving the new file into place (from {})",
                dest.display(),
                self.path.display()
            )
        })?;
        self.persisted = true;
        Ok(())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !self.persisted {
            // Nothing of the user's is in it: the sources are untouched.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
