//! `npaa ragged`: ragged pairs (a data file and its index of record ends); and what `info`,
//! `check` and `recover` add for a file that has an index beside it.

use std::io::Write;
use std::path::Path;

use npaa_core::RaggedRecoverReport;

use super::{Ctx, Status};
use crate::cli::{RaggedArgs, RaggedCommand};
use crate::report::{core_error, remedy};

pub fn run(args: &RaggedArgs, ctx: Ctx, out: &mut dyn Write) -> anyhow::Result<Status> {
    match &args.command {
        RaggedCommand::Index(args) => {
            let path = args.file.as_path();
            let lengths =
                npaa_core::read_lengths(&args.lengths).map_err(|e| core_error(&args.lengths, e))?;
            let records =
                npaa_core::index_from_lengths(path, &lengths).map_err(|e| core_error(path, e))?;
            if !ctx.quiet {
                writeln!(
                    out,
                    "{}: indexed {records} records in {}",
                    path.display(),
                    npaa_core::index_path(path).display()
                )?;
            }
            Ok(Status::Ok)
        }
    }
}

/// True when `path` is the data file of a ragged pair: an index lies beside it (and it is
/// not itself an index).
pub fn is_ragged(path: &Path) -> bool {
    let is_index = path
        .file_name()
        .is_some_and(|n| n.to_string_lossy().ends_with(npaa_core::INDEX_SUFFIX));
    !is_index && npaa_core::index_path(path).exists()
}

/// What is wrong with the ragged pair of `path` (npaa-core's [`RaggedInfo::problems`]),
/// each with the command that fixes it where one does (`npaa check`).
///
/// [`RaggedInfo::problems`]: npaa_core::RaggedInfo::problems
pub fn problems(path: &Path) -> anyhow::Result<Vec<String>> {
    let info = npaa_core::inspect_ragged(path).map_err(|e| core_error(path, e))?;
    Ok(info
        .problems()
        .iter()
        .map(|problem| match problem.remedy() {
            Some(r) => format!(
                "ragged pair: {problem}: {}",
                remedy(r, info.file_of(problem))
            ),
            None => format!("ragged pair: {problem}"),
        })
        .collect())
}

/// The record count of the ragged pair of `path` (`npaa info`).
pub fn records(path: &Path) -> anyhow::Result<u64> {
    let info = npaa_core::inspect_ragged(path).map_err(|e| core_error(path, e))?;
    Ok(info.records)
}

/// `recovered ragged pair: 12 records, 3071 items, cut 2 items of a half-appended record`.
pub fn describe(report: &RaggedRecoverReport) -> String {
    if !report.changed {
        return format!(
            "nothing to do: ragged pair of {} records, {} items, consistent",
            report.records, report.items
        );
    }
    let mut cuts = Vec::new();
    if report.items_cut > 0 {
        cuts.push(format!(
            "cut {} items of a half-appended record",
            report.items_cut
        ));
    }
    if report.entries_cut > 0 {
        cuts.push(format!(
            "cut {} index entries past the data",
            report.entries_cut
        ));
    }
    if cuts.is_empty() {
        cuts.push("repaired the files".to_owned());
    }
    format!(
        "recovered ragged pair: {} records, {} items, {}",
        report.records,
        report.items,
        cuts.join(", ")
    )
}
