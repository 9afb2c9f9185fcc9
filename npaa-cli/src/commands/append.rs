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
//!    a temporary name in DEST's directory ([`npaa_core::StagedFile`]) and renamed into place
//!    only when complete: the
//!    checks of rule 2 run against that file, and on any failure it is removed, leaving DEST
//!    as it was. Readers never see a half-built DEST.
//! 4. Appending to an existing DEST happens under its lock, after rule 2. If writing fails
//!    half-way (a full disk), DEST is returned to its savepoint (header, then length) while
//!    still locked.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, anyhow, bail};
use npaa_core::repr::fmt_shape;
use npaa_core::{AppendFileOptions, FileInfo, Remedy, StagedFile, WriterLock};

use super::{Ctx, Status};
use crate::cli::AppendArgs;
use crate::report::{core_error, remedy, render};

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

    // Rule 1: look at every source before touching DEST.
    let mut sources = Vec::with_capacity(args.sources.len());
    for path in &args.sources {
        let info = npaa_core::inspect_source(path).map_err(|e| core_error(path, e))?;
        if dest_meta.is_some() {
            let same = npaa_core::same_file(path, dest)
                .with_context(|| format!("{}: reading metadata", path.display()))?;
            if same {
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
                Some(_) => Some(WriterLock::acquire(dest).map_err(|e| core_error(dest, e))?),
                None => None,
            };
            let first = &sources[0];
            let staged = StagedFile::beside(dest).map_err(|e| core_error(dest, e))?;
            let array = options
                .clone()
                .order(first.info.header.order())
                .open(staged.path())
                .map_err(|e| staged_error(&staged, core_error(dest, e)))?;
            // Create it with the first source's dtype and shape, growth dimension 0: the
            // checks below then run against a real file, exactly as for an existing DEST.
            let header = &first.info.header;
            let empty = header.order().block_shape(0, &header.item_shape());
            array
                .append_raw(header.dtype(), &empty, &[])
                .map_err(|e| staged_error(&staged, core_error(dest, e)))?;
            (array, Target::New { staged, old_lock })
        }
    };

    // Rule 2: every source against the destination, before any data is written.
    for src in &sources {
        let header = &src.info.header;
        array
            .check_append(header.dtype(), header.shape())
            .map_err(|e| target.error(core_error(&src.path, e)))?;
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
                // About the source (reading it) or about DEST (writing): the file it names.
                let about = e.path().unwrap_or(&src.path).to_path_buf();
                outcome = Err(target.error(core_error(&about, e)));
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
    let closed = array.close().map_err(|e| target.error(core_error(dest, e)));
    let outcome = outcome.and(closed);

    match target {
        Target::New { staged, old_lock } => {
            outcome?;
            // Replace DEST only if it existed (and is locked); else only if it still does not.
            staged
                .persist(old_lock.is_some())
                .map_err(|e| core_error(dest, e))?;
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
                        "{message}; undoing the append failed too ({}): {}",
                        render(&core_error(dest, r)),
                        remedy(Remedy::Recover, dest)
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

enum Target {
    /// Appending to DEST itself.
    Existing,
    /// Building a new DEST under a temporary name.
    New {
        staged: StagedFile,
        /// The lock on the DEST being replaced (`--delete-if-exists`).
        old_lock: Option<WriterLock>,
    },
}

impl Target {
    /// An error while appending, as the user should read it (see [`staged_error`]).
    fn error(&self, err: anyhow::Error) -> anyhow::Error {
        match self {
            Target::Existing => err,
            Target::New { staged, .. } => staged_error(staged, err),
        }
    }
}

/// An error where DEST is still the staged file: the message names DEST, as the user knows
/// it, not the temporary name.
fn staged_error(staged: &StagedFile, err: anyhow::Error) -> anyhow::Error {
    let temp = staged.path().display().to_string();
    let dest = staged.dest().display().to_string();
    anyhow!("{}", render(&err).replace(&temp, &dest))
}
