//! Ragged records: a data file of records of any length along the growth axis, and an index
//! of where each ends, committed together ([`RaggedAppendArray`], [`recover_ragged`]).
//!
//! # The pair on disk
//! - The data file (`feats.npy`) is a plain .npy file: NumPy loads it as the concatenation of
//!   all records along the growth axis (axis 0 for C order, the last for Fortran order).
//! - The index beside it ([`index_path`]: `feats.idx.npy`) is a 1-D `<i8` .npy file of record
//!   *ends*: record `i` is items `ends[i-1]..ends[i]` of the data (`0..ends[0]` for the first).
//!   It has one entry per record, never decreases, and its last entry is the data's length
//!   along the growth axis once the pair is closed. fairseq's `offsets` (the starts) are
//!   `np.concatenate(([0], ends[:-1]))`, its lengths `np.diff(ends, prepend=0)`.
//!
//! # Commit order
//! A record is appended to the data first (its items written, then counted by the data's
//! header), and only then its end to the index (written, then counted). A process killed at
//! any moment therefore leaves an index that names no items the data does not count; at most
//! the data counts items no index entry names yet: a half-appended record. Readers
//! ([`RaggedReader`]) read the indexed records and ignore those items; opening for appending and
//! [`recover_ragged`] cut them, so that every record that was fully appended and indexed
//! survives exactly, and a half-appended one is gone.
//!
//! Where the data's header lags behind its appends on purpose (a write buffer,
//! [`Durability::EveryBytes`](crate::Durability::EveryBytes)), index entries are held back as well, and appended only once
//! the data that they name is counted (and, for `EveryBytes`, durable): the index then never
//! runs ahead of the data after a power loss either.
//!
//! # Lock
//! The index file's writer lock is the pair's: it is taken first and held as long as the pair
//! is open, so a second ragged writer fails with [`Error::Locked`](crate::Error::Locked)
//! whatever it opens first.

use std::path::{Path, PathBuf};

use crate::dtype::Dtype;
use crate::element::Element;

mod inspect;
mod lengths;
mod pair;
mod reader;
mod repair;
mod writer;

pub use inspect::{RaggedInfo, RaggedProblem, inspect_ragged};
pub use lengths::{index_from_lengths, read_lengths};
pub use reader::{RaggedReader, RaggedView};
pub use repair::{RaggedRecoverReport, recover_ragged};
pub use writer::RaggedAppendArray;

/// What an index file name ends with: `feats.npy` has the index `feats.idx.npy`.
pub const INDEX_SUFFIX: &str = ".idx.npy";

/// The mapping window of an index whose data file is written in mapped mode: entries are 8
/// bytes, so a small window serves thousands of records.
const INDEX_WINDOW: usize = 64 << 10;

/// The index file of the ragged data file `data`: `feats.npy` → `feats.idx.npy`; a name that
/// does not end in `.npy` gets `.idx.npy` added (`feats` → `feats.idx.npy`).
pub fn index_path(data: impl AsRef<Path>) -> PathBuf {
    let data = data.as_ref();
    let name = data.file_name().map(|n| n.to_string_lossy().into_owned());
    let stem = match &name {
        Some(n) => n.strip_suffix(".npy").unwrap_or(n).to_owned(),
        None => String::new(),
    };
    data.with_file_name(format!("{stem}{INDEX_SUFFIX}"))
}

/// The dtype of a ragged index: `<i8` (record ends, little-endian 64-bit integers).
pub fn index_dtype() -> Dtype {
    i64::dtype()
}
