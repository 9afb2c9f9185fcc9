//! `npaa recover`: make files whose data does not match their header loadable again.
//!
//! No progress bar: recovery costs one header rewrite and at most one item of zeros (added
//! as a sparse extension) whatever the file size.

use std::io::Write;

use npaa_core::{RecoverOptions, RecoverReport, Remedy};

use super::{Ctx, Status, for_each_file};
use crate::cli::RecoverArgs;
use crate::report::core_error;

pub fn run(args: &RecoverArgs, ctx: Ctx, out: &mut dyn Write) -> anyhow::Result<Status> {
    let options = RecoverOptions::new()
        .zerofill_incomplete(args.zerofill_incomplete)
        .dry_run(args.dry_run);
    for_each_file(&args.files, out, |path, out| {
        if super::ragged::is_ragged(path) {
            return recover_ragged(args, ctx, path, out);
        }
        let report = npaa_core::recover_with(path, options).map_err(|e| core_error(path, e))?;
        if !ctx.quiet {
            writeln!(
                out,
                "{}: {}",
                path.display(),
                describe(&report, args.dry_run)
            )?;
        }
        Ok(Status::Ok)
    })
}

/// Repairs the ragged pair of `path` (a dry run lists what a repair would fix).
fn recover_ragged(
    args: &RecoverArgs,
    ctx: Ctx,
    path: &std::path::Path,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    if args.zerofill_incomplete {
        anyhow::bail!(
            "{}: --zerofill-incomplete does not apply to a ragged pair: an item no index entry \
             names is cut, not completed",
            path.display()
        );
    }
    if args.dry_run {
        let info = npaa_core::inspect_ragged(path).map_err(|e| core_error(path, e))?;
        if !ctx.quiet {
            let problems = info.problems();
            if problems.is_empty() {
                writeln!(
                    out,
                    "{}: nothing to do: consistent ragged pair",
                    path.display()
                )?;
            }
            for problem in &problems {
                // What recover does not repair (a decreasing index) is said as such.
                let what = if problem.remedy() == Some(Remedy::RecoverRagged) {
                    "would repair (dry run)"
                } else {
                    "would not repair"
                };
                writeln!(out, "{}: {what}: {problem}", path.display())?;
            }
        }
        return Ok(Status::Ok);
    }
    let report = npaa_core::recover_ragged(path).map_err(|e| core_error(path, e))?;
    if !ctx.quiet {
        writeln!(
            out,
            "{}: {}",
            path.display(),
            super::ragged::describe(&report)
        )?;
    }
    Ok(Status::Ok)
}

/// `recovered: 1000 -> 998 items, cut 37 bytes`, or `nothing to do: ...`.
fn describe(report: &RecoverReport, dry_run: bool) -> String {
    if !report.changed {
        return format!(
            "nothing to do: {} items, the data matches the header",
            report.items_after
        );
    }
    let before = report
        .items_before
        .map_or_else(|| "? (placeholder)".to_owned(), |n| n.to_string());
    let mut bytes = Vec::new();
    if report.bytes_cut > 0 {
        bytes.push(format!(
            "{} {} bytes",
            if dry_run { "would cut" } else { "cut" },
            report.bytes_cut
        ));
    }
    if report.bytes_zero_filled > 0 {
        bytes.push(format!(
            "{} {} bytes",
            if dry_run {
                "would zero-fill"
            } else {
                "zero-filled"
            },
            report.bytes_zero_filled
        ));
    }
    if bytes.is_empty() {
        bytes.push("no bytes cut or added".to_owned());
    }
    format!(
        "{}: {before} -> {} items, {}",
        if dry_run {
            "would recover (dry run)"
        } else {
            "recovered"
        },
        report.items_after,
        bytes.join(", ")
    )
}
