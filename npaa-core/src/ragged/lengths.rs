//! Migration from a fairseq-style dump: [`read_lengths`], [`index_from_lengths`].

use std::path::Path;

use crate::appender::{AppendOptions, Durability};
use crate::error::{Error, Result};

use super::index_path;

/// Reads a lengths file as fairseq writes them: one record length (a non-negative integer) per
/// line; blank lines are skipped.
///
/// # Errors
/// [`Error::Io`] if it cannot be read; [`Error::BadLengths`] naming the first line that is
/// not a length.
pub fn read_lengths(path: impl AsRef<Path>) -> Result<Vec<u64>> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "reading", e))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            line.trim().parse::<u64>().map_err(|_| Error::BadLengths {
                path: path.to_path_buf(),
                what: format!(
                    "line {}: {:?} is not a record length (a non-negative integer)",
                    n + 1,
                    line.trim()
                ),
            })
        })
        .collect()
}

/// Builds the index of the existing data file `path` from its records' lengths (in items, in
/// order), as a fairseq-style feature dump has them: the migration to a ragged pair. The
/// index ([`index_path`]) appears complete or not at all; returns the number of records.
///
/// # Errors
/// [`Error::BadLengths`] unless the lengths add up to the data's items; [`Error::Io`]
/// (kind `AlreadyExists`) if the index exists; [`Error::Locked`] while a writer has the data
/// open; [`Error::NeedsRecovery`] if the data does not match its header.
pub fn index_from_lengths(path: impl AsRef<Path>, lengths: &[u64]) -> Result<u64> {
    let path = path.as_ref();
    let _lock = crate::file::WriterLock::acquire(path)?;
    let data = crate::inspect(path)?;
    if data.needs_recovery {
        return Err(Error::NeedsRecovery {
            path: path.to_path_buf(),
            expected: data.data_expected,
            present: data.data_present,
        });
    }
    crate::file::growth_axis_of(path, &data.header)?;
    let rows = data.header.growth_len();
    let mut ends = Vec::with_capacity(lengths.len());
    let mut total = 0u64;
    for &n in lengths {
        total = total.saturating_add(n);
        ends.push(i64::try_from(total).unwrap_or(i64::MAX));
    }
    if total != rows {
        return Err(Error::BadLengths {
            path: path.to_path_buf(),
            what: format!(
                "the {} lengths add up to {total} items, but the data holds {rows}",
                lengths.len()
            ),
        });
    }
    let idx = index_path(path);
    if idx.exists() {
        return Err(Error::io(
            &idx,
            "the index exists already (delete it to build it again)",
            std::io::Error::from(std::io::ErrorKind::AlreadyExists),
        ));
    }
    let staged = crate::file::StagedFile::beside(&idx)?;
    let index = AppendOptions::new()
        .durability(Durability::OnClose)
        .open(staged.path())?;
    index.append(&ends, &[ends.len() as u64])?;
    index.close()?;
    staged.persist(false)?;
    Ok(lengths.len() as u64)
}
