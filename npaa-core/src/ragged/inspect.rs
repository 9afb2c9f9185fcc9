//! Looking at a pair without changing it: [`inspect_ragged`].

use std::fs::File;
use std::path::Path;

use crate::error::{Error, Result};
use crate::inspect::FileInfo;

use super::index_path;
use super::repair::check_index;

/// What a ragged pair holds and whether it is consistent: [`inspect_ragged`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RaggedInfo {
    /// The data file, as [`inspect`](crate::inspect()) describes it; `None` when there is
    /// none (a new pair before its first record).
    pub data: Option<FileInfo>,
    /// The index file, as [`inspect`](crate::inspect()) describes it.
    pub index: FileInfo,
    /// Complete records: index entries whose rows the data counts.
    pub records: u64,
    /// Entries the index counts.
    pub entries: u64,
    /// The data's length along its growth axis, as its header counts it.
    pub rows: u64,
    /// Rows the complete records span (the last complete record's end).
    pub indexed_rows: u64,
    /// What is wrong, one sentence each; empty for a consistent pair. All but a decreasing
    /// or negative entry are what a crash leaves, and [`recover_ragged`](super::recover_ragged) repairs them.
    pub problems: Vec<String>,
}

impl RaggedInfo {
    /// True when the pair needs no repair.
    pub fn is_consistent(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Looks at a ragged pair without changing it, and checks every index entry (reads the whole
/// index: time proportional to the number of records).
///
/// # Errors
/// The errors of [`inspect`](crate::inspect()) for either file; [`Error::BadIndex`] if the
/// index is not a 1-D `<i8` array.
pub fn inspect_ragged(path: impl AsRef<Path>) -> Result<RaggedInfo> {
    let path = path.as_ref();
    let idx = index_path(path);
    let index = crate::inspect(&idx)?;
    let data = match crate::inspect(path) {
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => None,
        other => Some(other?),
    };
    let entries = check_index(
        &idx,
        Some(index.header.dtype.clone()),
        Some(index.header.shape.clone()),
    )?;
    let rows = data.as_ref().map_or(0, |d| d.header.growth_len());
    let mut problems = Vec::new();
    for (info, what) in [
        (data.as_ref(), "the data file"),
        (Some(&index), "the index"),
    ] {
        let Some(info) = info else { continue };
        if info.needs_recovery {
            problems.push(format!(
                "{what} holds {} bytes of data where its header counts {}",
                info.data_present, info.data_expected
            ));
        }
    }
    // Only the entries the file holds are read.
    let readable = entries.min(index.data_present / 8);
    let mut ends = Vec::with_capacity(usize::try_from(readable).unwrap_or(0));
    if readable > 0 {
        let file = File::open(&idx).map_err(|e| Error::io(&idx, "opening", e))?;
        let len = usize::try_from(index.header_len + readable * 8).map_err(|_| {
            Error::io(
                &idx,
                "mapping the index",
                std::io::Error::other("the index is larger than the address space"),
            )
        })?;
        let map = crate::sys::ReadMap::new(&file, len)
            .map_err(|e| Error::io(&idx, "mapping the index", e))?;
        for chunk in map.bytes()[index.header_len as usize..].chunks_exact(8) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            ends.push(i64::from_le_bytes(b));
        }
    }
    let mut previous = 0i64;
    for (i, &end) in ends.iter().enumerate() {
        if end < previous {
            problems.push(format!(
                "index entry {i} ({end}) is smaller than the one before it ({previous}): record \
                 ends never decrease"
            ));
            break;
        }
        previous = end;
    }
    let records = ends
        .iter()
        .take_while(|&&e| e >= 0 && e as u64 <= rows)
        .count() as u64;
    let indexed_rows = match records {
        0 => 0,
        k => ends[k as usize - 1] as u64,
    };
    if records < entries {
        problems.push(format!(
            "the index names {} records past the {rows} rows the data holds",
            entries - records
        ));
    }
    if indexed_rows < rows {
        problems.push(format!(
            "the data holds {} rows past its last complete record (a half-appended record)",
            rows - indexed_rows
        ));
    }
    Ok(RaggedInfo {
        data,
        index,
        records,
        entries,
        rows,
        indexed_rows,
        problems,
    })
}
