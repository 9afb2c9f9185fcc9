//! `npaa info`: what the header and size of each file say, as text or JSON Lines.

use std::io::Write;

use npaa_core::repr::fmt_shape;
use npaa_core::{FileInfo, Order};
use serde::Serialize;

use super::check::problems;
use super::ragged;
use super::{Status, for_each_file};
use crate::cli::InfoArgs;
use crate::report::{core_error, render};

/// The JSON object printed per file. Field names are stable: scripts depend on them. Each is
/// documented for users in `npaa info --help` (`INFO_HELP`) and the README, in this order; a
/// test compares both lists with the keys printed.
#[derive(Debug, Serialize)]
struct InfoJson<'a> {
    /// The file as given.
    path: String,
    /// "1.0", "2.0" or "3.0".
    version: String,
    /// Header size in bytes, magic included: the offset of the data.
    header_len: u64,
    /// Bytes by which the header text can still grow in place.
    spare: u64,
    /// The descr as in the header, without quotes: `<f8`, `[('a', '<i4'), ...]`.
    descr: String,
    /// A readable form: `float64`, `struct { ... }`.
    dtype: String,
    /// The shape; for a placeholder header the growth dimension reads 0.
    shape: &'a [u64],
    /// "C" or "F".
    order: &'static str,
    /// 0 for C order, the last axis for Fortran order, null for 0-d arrays.
    growth_axis: Option<usize>,
    /// Bytes per item.
    itemsize: usize,
    /// Bytes in the file after the header.
    data_bytes_present: u64,
    /// Bytes the shape announces.
    data_bytes_expected: u64,
    /// The header has room for a growth dimension of any length.
    appendable: bool,
    /// The data does not match the header (`npaa recover FILE`).
    needs_recovery: bool,
    /// Bytes past the data reserved by a mapped-mode writer that did not close the file.
    reserved_tail: u64,
    /// The shape is the `****` placeholder of an unfinished streaming writer.
    placeholder: bool,
    /// The header is longer than `np.load` reads by default (`max_header_size`).
    exceeds_numpy_header_limit: bool,
    /// Records of the ragged pair whose data file this is; null without an index beside it.
    ragged_records: Option<u64>,
}

#[derive(Debug, Serialize)]
struct ErrorJson {
    path: String,
    error: String,
}

pub fn run(args: &InfoArgs, out: &mut dyn Write) -> anyhow::Result<Status> {
    let mut first = true;
    for_each_file(&args.files, out, |path, out| {
        let info = match npaa_core::inspect(path) {
            Ok(info) => info,
            Err(e) => {
                let err = core_error(path, e);
                if args.json {
                    let obj = ErrorJson {
                        path: path.display().to_string(),
                        error: render(&err),
                    };
                    writeln!(out, "{}", serde_json::to_string(&obj)?)?;
                }
                return Err(err);
            }
        };
        let records = if ragged::is_ragged(path) {
            Some(ragged::records(path)?)
        } else {
            None
        };
        if args.json {
            writeln!(out, "{}", serde_json::to_string(&to_json(&info, records))?)?;
        } else {
            if !first {
                writeln!(out)?;
            }
            write_text(&info, records, out)?;
        }
        first = false;
        Ok(Status::Ok)
    })
}

fn order(info: &FileInfo) -> Order {
    info.header.order()
}

fn to_json(info: &FileInfo, ragged_records: Option<u64>) -> InfoJson<'_> {
    let header = &info.header;
    InfoJson {
        path: info.path.display().to_string(),
        version: info.version.to_string(),
        header_len: info.header_len,
        spare: info.spare,
        descr: header.dtype().descr(),
        dtype: header.dtype().readable(),
        shape: header.shape(),
        order: match order(info) {
            Order::Fortran => "F",
            Order::C => "C",
        },
        growth_axis: header.growth_axis(),
        itemsize: info.itemsize(),
        data_bytes_present: info.data_present,
        data_bytes_expected: info.data_expected,
        appendable: info.appendable,
        needs_recovery: info.needs_recovery,
        reserved_tail: info.reserved_tail,
        placeholder: info.placeholder,
        exceeds_numpy_header_limit: info.exceeds_numpy_header_limit,
        ragged_records,
    }
}

fn write_text(info: &FileInfo, records: Option<u64>, out: &mut dyn Write) -> std::io::Result<()> {
    let header = &info.header;
    let shape = shape_text(info);
    let order = match (order(info), header.growth_axis()) {
        (Order::C, Some(_)) => "C (grows along axis 0)".to_owned(),
        (Order::Fortran, Some(axis)) => format!("Fortran (grows along axis {axis}, the last)"),
        (Order::C, None) => "C".to_owned(),
        (Order::Fortran, None) => "Fortran".to_owned(),
    };
    let data = if info.data_present == info.data_expected {
        format!("{} bytes", info.data_present)
    } else {
        format!(
            "{} bytes present, {} expected",
            info.data_present, info.data_expected
        )
    };
    let problems = problems(info);
    let find = |prefix: &str| {
        problems
            .iter()
            .find(|p| p.starts_with(prefix))
            .map(|p| p[prefix.len()..].trim_start_matches(": ").to_owned())
    };
    let appendable = match find("not appendable") {
        Some(why) => format!("no: {why}"),
        None if info.appendable => "yes".to_owned(),
        None => "no".to_owned(),
    };
    let recovery = match find("needs recovery") {
        Some(why) => format!("yes: {why}"),
        None => "no".to_owned(),
    };
    writeln!(out, "{}", info.path.display())?;
    let rows = [
        ("version", info.version.to_string()),
        (
            "header",
            format!("{} bytes ({} spare)", info.header_len, info.spare),
        ),
        (
            "dtype",
            format!("{} ({})", header.dtype().descr(), header.dtype().readable()),
        ),
        ("shape", shape),
        ("order", order),
        ("item size", format!("{} bytes", info.itemsize())),
        ("data", data),
        ("appendable", appendable),
        ("needs recovery", recovery),
    ];
    for (name, value) in rows {
        writeln!(out, "  {:<16}{value}", format!("{name}:"))?;
    }
    if let Some(records) = records {
        writeln!(
            out,
            "  {:<16}{records} (ragged pair, index {})",
            "records:",
            npaa_core::index_path(&info.path).display()
        )?;
    }
    if info.exceeds_numpy_header_limit {
        writeln!(
            out,
            "  {:<16}header longer than NumPy reads by default (np.load needs max_header_size=)",
            "warning:"
        )?;
    }
    Ok(())
}

/// The shape as a Python tuple, with `?` for the growth dimension of a placeholder header.
fn shape_text(info: &FileInfo) -> String {
    let shape = fmt_shape(info.header.shape());
    match (info.placeholder, info.header.growth_axis()) {
        (true, Some(axis)) => {
            let parts: Vec<String> = info
                .header
                .shape()
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    if i == axis {
                        "?".to_owned()
                    } else {
                        d.to_string()
                    }
                })
                .collect();
            if parts.len() == 1 {
                format!("({},) (placeholder of an unfinished writer)", parts[0])
            } else {
                format!(
                    "({}) (placeholder of an unfinished writer)",
                    parts.join(", ")
                )
            }
        }
        _ => shape,
    }
}
