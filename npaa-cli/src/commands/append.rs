//! `npaa append DEST SRC.npy...`: append the arrays of .npy files to DEST.
//!
//! The transaction (every source checked before DEST is touched, a new DEST built beside it
//! and renamed into place, a failed write undone) is npaa-core's
//! [`append_files`](npaa_core::append_files()); this command draws its progress and prints its
//! report.

use std::cell::OnceCell;
use std::io::Write;

use npaa_core::repr::fmt_shape;
use npaa_core::{AppendFilesOptions, append_files};

use super::{Ctx, Status};
use crate::cli::AppendArgs;
use crate::progress::Progress;
use crate::report::core_error;

pub fn run(args: &AppendArgs, ctx: Ctx, out: &mut dyn Write) -> anyhow::Result<Status> {
    let dest = args.dest.as_path();
    let bar: OnceCell<Progress> = OnceCell::new();
    let options = AppendFilesOptions::new()
        .append_options(super::raw::append_options(args).delete_if_exists(args.delete_if_exists))
        .progress(|done, total| {
            bar.get_or_init(|| ctx.progress.bytes(total, "appending"))
                .set(done);
        });
    let result = append_files(dest, &args.sources, options);
    if let Some(bar) = bar.get() {
        bar.finish();
    }
    // The error names the file it is about (a source, or DEST).
    let report = result.map_err(|e| {
        let about = e.path().unwrap_or(dest).to_path_buf();
        core_error(&about, e)
    })?;
    if !ctx.quiet {
        let n = args.sources.len();
        writeln!(
            out,
            "appended {n} source{} ({} items) to {}: shape {}",
            if n == 1 { "" } else { "s" },
            report.items,
            dest.display(),
            fmt_shape(report.header.shape())
        )?;
    }
    Ok(Status::Ok)
}
