//! `npaa check`: exit 0 when every file loads and is appendable, 1 when some file needs
//! recovery or is not appendable, 2 when some file cannot be read.

use std::io::Write;

use npaa_core::{FileInfo, Remedy};

use super::{Ctx, Status, for_each_file};
use crate::cli::CheckArgs;
use crate::report::{core_error, remedy};

pub fn run(args: &CheckArgs, ctx: Ctx, out: &mut dyn Write) -> anyhow::Result<Status> {
    for_each_file(&args.files, out, |path, out| {
        let info = npaa_core::inspect(path).map_err(|e| core_error(path, e))?;
        let mut problems = problems(&info);
        if super::ragged::is_ragged(path) {
            problems.extend(super::ragged::problems(path)?);
        }
        if problems.is_empty() {
            if !ctx.quiet {
                writeln!(out, "{}: ok", path.display())?;
            }
            return Ok(Status::Ok);
        }
        for problem in problems {
            writeln!(out, "{}: {problem}", path.display())?;
        }
        Ok(Status::Problems)
    })
}

/// What keeps a file from loading in NumPy or from being appended to, each with the command
/// that fixes it where there is one. Empty when the file is fine.
pub fn problems(info: &FileInfo) -> Vec<String> {
    let recover = remedy(Remedy::Recover, &info.path);
    let header = &info.header;
    let mut problems = Vec::new();
    if info.placeholder {
        problems.push(format!(
            "needs recovery: the shape is a placeholder left by a streaming writer that did \
             not finish ({} data bytes present): {recover}",
            info.data_present
        ));
    } else if info.reserved_tail > 0 {
        problems.push(format!(
            "needs recovery: {} bytes past the data are space reserved by a writer in mapped \
             mode that did not close the file (NumPy loads the {} items the header counts): \
             {recover} to cut it (opening the file for appending also does)",
            info.reserved_tail,
            header.growth_len()
        ));
    } else if info.needs_recovery {
        let what = if info.data_present < info.data_expected {
            "NumPy cannot load it"
        } else {
            "NumPy loads only the items the header counts"
        };
        problems.push(format!(
            "needs recovery: {} data bytes present, the header announces {} ({what}): \
             {recover}",
            info.data_present, info.data_expected
        ));
    }
    if header.dtype.has_object() {
        problems.push(
            "not appendable: it holds Python objects (pickles), which cannot be appended to"
                .to_owned(),
        );
    } else if header.shape.is_empty() {
        problems.push(
            "not appendable: it holds a 0-d (scalar) array, which has no axis to grow along"
                .to_owned(),
        );
    } else if !info.appendable && !info.placeholder {
        problems.push(format!(
            "not appendable: its {}-byte header has no spare room for a growing shape: {}",
            info.header_len,
            remedy(Remedy::EnsureAppendable, &info.path)
        ));
    }
    if info.exceeds_numpy_header_limit {
        problems.push(
            "its header is longer than the 10000 characters NumPy reads by default: np.load \
             needs max_header_size= to open it"
                .to_owned(),
        );
    }
    problems
}
