//! `npaa check`: exit 0 when every file loads and is appendable, 1 when some file needs
//! recovery or is not appendable, 2 when some file cannot be read.

use std::io::Write;

use npaa_core::FileInfo;

use super::{Ctx, Status, for_each_file};
use crate::cli::CheckArgs;
use crate::report::{core_error, remedy};

pub fn run(args: &CheckArgs, ctx: Ctx, out: &mut dyn Write) -> anyhow::Result<Status> {
    for_each_file(&args.files, out, |path, out| {
        // A data file with an index beside it is checked as a pair (its own findings
        // included).
        let problems = if super::ragged::is_ragged(path) {
            super::ragged::problems(path)?
        } else {
            problems(&npaa_core::inspect(path).map_err(|e| core_error(path, e))?)
        };
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

/// What keeps a file from loading in NumPy or from being appended to (npaa-core's
/// [`FileInfo::problems`]), each with the command that fixes it where there is one. Empty
/// when the file is fine.
pub fn problems(info: &FileInfo) -> Vec<String> {
    info.problems()
        .iter()
        .map(|problem| match problem.remedy() {
            Some(r) => format!("{problem}: {}", remedy(r, &info.path)),
            None => problem.to_string(),
        })
        .collect()
}
