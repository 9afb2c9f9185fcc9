//! What many writers' ways of appending refuse: a region write's chunks and targets
//! ([`RegionError`]), a collective append's steps ([`CollectiveError`]). Both are carried by
//! [`Error`](super::Error).

/// What a [`RegionTarget`](crate::RegionTarget) refused ([`Error::Region`](crate::Error::Region)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegionError {
    /// A chunk index without one range per axis of the block, or with a range outside it.
    #[error("the chunk index {index:?} does not lie in the block of shape {shape:?}")]
    ChunkOutside {
        /// The chunk's index, one range per axis.
        index: Vec<std::ops::Range<u64>>,
        /// The block's shape.
        shape: Vec<u64>,
    },
    /// A target received from another process that this version cannot read.
    #[error(
        "the region target received is malformed (driver and writers on different versions \
         of npaa?)"
    )]
    MalformedTarget,
}

/// What a [`Collective`](crate::Collective) refused ([`Error::Collective`](crate::Error::Collective)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CollectiveError {
    /// `define` when the file's dtype and shape are already defined.
    #[error("the file's dtype and shape are already defined")]
    AlreadyDefined,
    /// A step before the file is defined.
    #[error("the file does not exist yet and no block defined it: the root's first block does")]
    Undefined,
    /// A layout received from another writer that this version cannot read.
    #[error(
        "the collective layout received is malformed (writers linked against different \
         versions of npaa?)"
    )]
    MalformedLayout,
    /// An option collective appends do not support.
    #[error("collective appends do not support {option}: {reason}; set it to 0")]
    UnsupportedOption {
        /// The option (`mapped_window`, `buffer_capacity`).
        option: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// A step whose end lies past 2^64 bytes.
    #[error("a step of {bytes} bytes overflows the file size")]
    StepOverflow {
        /// The step's size.
        bytes: u64,
    },
}
