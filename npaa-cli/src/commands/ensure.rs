//! `npaa ensure-appendable`: give legacy headers the room appends need.

use std::io::Write;

use npaa_core::{EnsureMethod, EnsureOptions, EnsureReport, Remedy};

use super::{Ctx, Status, for_each_file};
use crate::cli::EnsureArgs;
use crate::report::{core_error, remedy, warning};

pub fn run(args: &EnsureArgs, ctx: Ctx, out: &mut dyn Write) -> anyhow::Result<Status> {
    for_each_file(&args.files, out, |path, out| {
        // The size is only needed to decide whether a progress bar is worth drawing.
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let progress = ctx.progress.bytes(size, &path.display().to_string());
        let options = EnsureOptions::new()
            .in_place(args.in_place)
            .progress(|done, _total| progress.set(done));
        let report =
            npaa_core::ensure_appendable_with(path, options).map_err(|e| core_error(path, e))?;
        progress.finish();
        if !ctx.quiet {
            writeln!(out, "{}: {}", path.display(), describe(&report))?;
        }
        if report.method != EnsureMethod::AlreadyAppendable
            && npaa_core::needs_recovery(path).unwrap_or(false)
        {
            warning(&format!(
                "{}: the file still needs recovery (its data does not match its header): {}",
                path.display(),
                remedy(Remedy::Recover, path)
            ));
        }
        Ok(Status::Ok)
    })
}

fn describe(report: &EnsureReport) -> String {
    let grown = format!(
        "header grown from {} to {} bytes",
        report.header_len_before, report.header_len_after
    );
    match report.method {
        EnsureMethod::AlreadyAppendable => format!(
            "already appendable (header {} bytes), nothing changed",
            report.header_len_before
        ),
        EnsureMethod::InsertedBlocks => {
            format!("{grown} by inserting file-system blocks (no data moved)")
        }
        EnsureMethod::MovedInPlace => {
            format!("{grown}; {} data bytes moved in place", report.data_len)
        }
        EnsureMethod::Copied => format!(
            "{grown}; {} data bytes copied to a new file renamed over the old one",
            report.data_len
        ),
        _ => grown,
    }
}
