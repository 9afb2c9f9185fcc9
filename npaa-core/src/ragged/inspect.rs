//! Looking at a pair without changing it: [`inspect_ragged`], and what it finds wrong
//! ([`RaggedInfo::problems`], [`RaggedProblem`]).

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Error, Remedy, Result};
use crate::inspect::{FileInfo, Problem};

use super::index_path;
use super::repair::check_index;

/// What a ragged pair holds and whether it is consistent: [`inspect_ragged`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RaggedInfo {
    /// The data file of the pair (whether or not it exists).
    pub path: PathBuf,
    /// The data file, as [`inspect`](crate::inspect()) describes it; `None` when there is
    /// none (a new pair before its first record).
    pub data: Option<FileInfo>,
    /// The index file, as [`inspect`](crate::inspect()) describes it.
    pub index: FileInfo,
    /// Complete records: index entries whose items the data counts.
    pub records: u64,
    /// Entries the index's header counts.
    pub entries: u64,
    /// Entries the index holds past the data's end (only a power loss or a hand edit leaves
    /// those).
    pub entries_past_data: u64,
    /// The data's length along its growth axis (items), as its header counts it.
    pub items: u64,
    /// Items the complete records span (the last complete record's end).
    pub indexed_items: u64,
    /// The first index entry smaller than the one before it (or negative): its position, its
    /// value and the value before it (0 before the first).
    decrease: Option<(u64, i64, i64)>,
}

/// What is wrong with a ragged pair: one finding of [`RaggedInfo::problems`].
///
/// The message ([`Display`](std::fmt::Display)) says what is wrong, starting with "needs
/// recovery: " where a repair fixes it; what fixes it is [`RaggedProblem::remedy`], which each
/// front end words in its own terms.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RaggedProblem {
    /// A finding about the data file on its own ([`FileInfo::problems`]).
    #[error("the data file: {0}")]
    Data(Problem),
    /// A finding about the index on its own ([`FileInfo::problems`]).
    #[error("the index: {0}")]
    Index(Problem),
    /// The index names records that end past the items the data counts: the index is ahead
    /// of the data, which only a power loss (or a hand edit) leaves.
    #[error("needs recovery: {entries} index entries end past the {items} items the data holds")]
    #[non_exhaustive]
    EntriesPastData {
        /// Index entries past the data.
        entries: u64,
        /// The data's length along its growth axis.
        items: u64,
    },
    /// The data counts items past the end of its last indexed record: the data is ahead of the
    /// index, as a writer killed between the two leaves it (a half-appended record).
    #[error(
        "needs recovery: the data holds {items} items past its last indexed record (a \
         half-appended record)"
    )]
    #[non_exhaustive]
    UnindexedItems {
        /// Items no index entry names.
        items: u64,
    },
    /// An index entry is smaller than the one before it (or negative): record ends never
    /// decrease, so this is not an index a writer left, and no repair restores it.
    #[error(
        "index entry {entry} ({end}) is smaller than the one before it ({previous}): record \
         ends never decrease"
    )]
    #[non_exhaustive]
    EndsDecrease {
        /// The entry's position in the index.
        entry: u64,
        /// Its value.
        end: i64,
        /// The value of the entry before it (0 for the first entry).
        previous: i64,
    },
}

impl RaggedProblem {
    /// The call that fixes the problem, if one does: [`Remedy::RecoverRagged`] for what a
    /// crash leaves in either file or between them, the remedy of the file's own finding
    /// otherwise (see [`RaggedInfo::file_of`] for the file it concerns).
    pub fn remedy(&self) -> Option<Remedy> {
        match self {
            RaggedProblem::Data(p) | RaggedProblem::Index(p) => match p.remedy() {
                Some(Remedy::Recover) => Some(Remedy::RecoverRagged),
                other => other,
            },
            RaggedProblem::EntriesPastData { .. } | RaggedProblem::UnindexedItems { .. } => {
                Some(Remedy::RecoverRagged)
            }
            RaggedProblem::EndsDecrease { .. } => None,
        }
    }
}

impl RaggedInfo {
    /// What is wrong with the pair, the files' own findings first (the data's, then the
    /// index's), then how they are out of step. Empty for a consistent pair.
    pub fn problems(&self) -> Vec<RaggedProblem> {
        let mut problems: Vec<RaggedProblem> = self
            .data
            .iter()
            .flat_map(FileInfo::problems)
            .map(RaggedProblem::Data)
            .chain(self.index.problems().into_iter().map(RaggedProblem::Index))
            .collect();
        if let Some((entry, end, previous)) = self.decrease {
            problems.push(RaggedProblem::EndsDecrease {
                entry,
                end,
                previous,
            });
        }
        if self.entries_past_data > 0 {
            problems.push(RaggedProblem::EntriesPastData {
                entries: self.entries_past_data,
                items: self.items,
            });
        }
        if self.indexed_items < self.items {
            problems.push(RaggedProblem::UnindexedItems {
                items: self.items - self.indexed_items,
            });
        }
        problems
    }

    /// True when the pair has no problem ([`RaggedInfo::problems`] is empty).
    pub fn is_consistent(&self) -> bool {
        self.problems().is_empty()
    }

    /// The file a problem's remedy is given: the data file for
    /// [`Remedy::RecoverRagged`] (which repairs both files), otherwise the file the finding is
    /// about (the index for [`RaggedProblem::Index`]).
    pub fn file_of(&self, problem: &RaggedProblem) -> &Path {
        match problem {
            RaggedProblem::Index(_) if problem.remedy() != Some(Remedy::RecoverRagged) => {
                &self.index.path
            }
            _ => &self.path,
        }
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
    let items = data.as_ref().map_or(0, |d| d.header.growth_len());
    let ends = read_ends(&index, entries)?;
    let mut decrease = None;
    let mut previous = 0i64;
    for (i, &end) in ends.iter().enumerate() {
        if end < previous {
            decrease = Some((i as u64, end, previous));
            break;
        }
        previous = end;
    }
    let records = ends
        .iter()
        .take_while(|&&e| e >= 0 && e as u64 <= items)
        .count() as u64;
    let indexed_items = match records {
        0 => 0,
        k => ends[k as usize - 1] as u64,
    };
    Ok(RaggedInfo {
        path: path.to_path_buf(),
        data,
        index,
        records,
        entries,
        entries_past_data: ends.len() as u64 - records,
        items,
        indexed_items,
        decrease,
    })
}

/// The entries of the index `index` that the file holds, of the `entries` its header counts.
fn read_ends(index: &FileInfo, entries: u64) -> Result<Vec<i64>> {
    let idx = &index.path;
    let readable = entries.min(index.data_present / 8);
    if readable == 0 {
        return Ok(Vec::new());
    }
    let file = File::open(idx).map_err(|e| Error::io(idx, "opening", e))?;
    let len = usize::try_from(index.header_len + readable * 8).map_err(|_| {
        Error::io(
            idx,
            "mapping the index",
            std::io::Error::other("the index is larger than the address space"),
        )
    })?;
    let map =
        crate::sys::ReadMap::new(&file, len).map_err(|e| Error::io(idx, "mapping the index", e))?;
    Ok(map.bytes()[index.header_len as usize..]
        .chunks_exact(8)
        .map(|chunk| {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            i64::from_le_bytes(b)
        })
        .collect())
}
