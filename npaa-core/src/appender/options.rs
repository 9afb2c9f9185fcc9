//! The options of an append: [`AppendOptions`] (for opening), [`Durability`], and
//! [`AppendFileOptions`] (for appending another .npy file).

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use crate::cast::Casting;
use crate::error::{Error, Result};
use crate::layout::Order;
use crate::progress::Progress;

use super::AppendArray;

/// When appended data is forced to stable storage.
///
/// What survives a crash of the *process* does not depend on this setting: the header never
/// counts bytes that were not written, so the file always loads as a prefix of what was
/// appended. This setting is about a crash of the *machine* (power loss, kernel panic).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Durability {
    /// Never sync explicitly (what NumPy does). After a power loss, the file may hold any
    /// mixture of old and new pages: the header may count items whose bytes never reached the
    /// disk (they read as zeros or garbage) until `recover` is run.
    #[default]
    None,
    /// Sync data, then header, on [`AppendArray::close`] and [`AppendArray::sync`]. Everything
    /// appended before a successful close survives a power loss; appends after the last sync
    /// may be lost as with `None`.
    OnClose,
    /// Sync data and then the header on every append (`fdatasync` twice): a successful append
    /// survives a power loss. Slow: two disk flushes per append.
    EveryAppend,
    /// Sync whenever at least this many bytes were appended since the last sync. The header
    /// is advanced only at those sync points (after the data it counts is durable), so after
    /// a power loss the file loads as a prefix that ends at the last sync point; `recover`
    /// restores whatever later data did reach the disk.
    EveryBytes(u64),
}

impl Durability {
    /// The names [`FromStr`] accepts, as an error message lists them.
    const NAMES: &'static str = "none, close, append or every:BYTES (BYTES > 0, e.g. 64M)";

    /// The one check of a durability setting: [`Durability::EveryBytes`] needs a positive
    /// byte count. Opening an [`AppendArray`] (or a [`Collective`](crate::Collective)) makes
    /// it, as does [`FromStr`].
    ///
    /// # Errors
    /// [`Error::ZeroSyncInterval`] for `EveryBytes(0)`.
    pub fn check(self) -> Result<Durability> {
        match self {
            Durability::EveryBytes(0) => Err(Error::ZeroSyncInterval),
            ok => Ok(ok),
        }
    }
}

impl FromStr for Durability {
    type Err = Error;

    /// Parses the names every front end accepts: `none`, `close`, `append` and
    /// `every:BYTES`, with BYTES as [`parse_byte_count`] reads it (`every:64M`).
    ///
    /// ```
    /// use npaa_core::Durability;
    /// assert_eq!("every:1K".parse::<Durability>()?, Durability::EveryBytes(1024));
    /// assert_eq!(Durability::EveryBytes(1024).to_string(), "every:1024");
    /// assert!("every:0".parse::<Durability>().is_err());
    /// # Ok::<(), npaa_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::UnknownName`] for another name or an invalid byte count;
    /// [`Error::ZeroSyncInterval`] for `every:0`.
    fn from_str(s: &str) -> Result<Self> {
        let durability = match s.trim() {
            "none" => Durability::None,
            "close" => Durability::OnClose,
            "append" => Durability::EveryAppend,
            other => match other.strip_prefix("every:") {
                Some(bytes) => Durability::EveryBytes(parse_byte_count(bytes)?),
                None => {
                    return Err(Error::UnknownName {
                        what: "durability mode",
                        given: s.to_owned(),
                        expected: Durability::NAMES,
                    });
                }
            },
        };
        durability.check()
    }
}

impl fmt::Display for Durability {
    /// The name [`FromStr`] reads back: `none`, `close`, `append`, `every:BYTES`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Durability::None => f.write_str("none"),
            Durability::OnClose => f.write_str("close"),
            Durability::EveryAppend => f.write_str("append"),
            Durability::EveryBytes(n) => write!(f, "every:{n}"),
        }
    }
}

/// Reads a byte count as the front ends accept one: digits with an optional binary suffix,
/// `K`, `M`, `G` or `T` (powers of 1024), optionally followed by `B` or `iB`, in any case
/// (`4096`, `64K`, `8MiB`, `1g`).
///
/// # Errors
/// [`Error::UnknownName`] for text that is not such a count, or one past 2^64 - 1.
pub fn parse_byte_count(s: &str) -> Result<u64> {
    let bad = || Error::UnknownName {
        what: "byte count",
        given: s.to_owned(),
        expected: "a number of bytes below 2^64, e.g. 4096, 64K, 8M, 1G",
    };
    let upper = s.trim().to_ascii_uppercase();
    let upper = upper
        .strip_suffix("IB")
        .or_else(|| upper.strip_suffix('B'))
        .unwrap_or(&upper);
    let (digits, shift) = match upper.chars().last() {
        Some('K') => (&upper[..upper.len() - 1], 10),
        Some('M') => (&upper[..upper.len() - 1], 20),
        Some('G') => (&upper[..upper.len() - 1], 30),
        Some('T') => (&upper[..upper.len() - 1], 40),
        _ => (upper, 0),
    };
    let n: u64 = digits.trim().parse().map_err(|_| bad())?;
    n.checked_mul(1u64 << shift).ok_or_else(bad)
}

/// Options for opening an [`AppendArray`].
///
/// ```
/// use npaa_core::{AppendOptions, Casting, Durability};
/// let options = AppendOptions::new()
///     .casting(Casting::Unsafe)
///     .durability(Durability::OnClose)
///     .buffer_capacity(1 << 20);
/// # let _ = options;
/// ```
#[derive(Clone, Debug)]
pub struct AppendOptions {
    pub(crate) delete_if_exists: bool,
    pub(crate) rewrite_header_on_append: bool,
    pub(crate) order: Option<Order>,
    pub(crate) casting: Casting,
    pub(crate) durability: Durability,
    pub(crate) buffer_capacity: usize,
    pub(crate) mapped_window: usize,
    pub(crate) shared: bool,
    /// `None`: the mode's default; `Some(None)`: wait forever; `Some(Some(d))`: at most `d`.
    pub(crate) lock_timeout: Option<Option<Duration>>,
    pub(crate) recover: bool,
}

impl Default for AppendOptions {
    fn default() -> Self {
        AppendOptions {
            delete_if_exists: false,
            rewrite_header_on_append: true,
            order: None,
            casting: Casting::SameKind,
            durability: Durability::None,
            buffer_capacity: 0,
            mapped_window: 0,
            shared: false,
            lock_timeout: None,
            recover: false,
        }
    }
}

impl AppendOptions {
    /// The defaults: keep an existing file, rewrite the header on every append, C order for
    /// new files, `same_kind` casting, no explicit syncs, no buffering.
    pub fn new() -> Self {
        Self::default()
    }

    /// Delete an existing file when opening, so the first append starts a new one. An existing
    /// file locked by another writer is not deleted ([`Error::Locked`](crate::Error::Locked)).
    pub fn delete_if_exists(mut self, yes: bool) -> Self {
        self.delete_if_exists = yes;
        self
    }

    /// Rewrite the header after every append (default true). When false, the header is
    /// written by [`AppendArray::update_header`], [`AppendArray::sync`] and on close only:
    /// until then NumPy sees the shape of the last header update.
    pub fn rewrite_header_on_append(mut self, yes: bool) -> Self {
        self.rewrite_header_on_append = yes;
        self
    }

    /// Memory order for a file created by the first append. Ignored for existing files (their
    /// header decides). Unset: C order, except that [`AppendArray::append_array`] follows the
    /// array's own layout.
    pub fn order(mut self, order: Order) -> Self {
        self.order = Some(order);
        self
    }

    /// Which dtype conversions appends may make (default [`Casting::SameKind`], as NumPy).
    pub fn casting(mut self, casting: Casting) -> Self {
        self.casting = casting;
        self
    }

    /// When data is forced to stable storage (default [`Durability::None`]).
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Coalesce appends in memory up to this many bytes (0, the default, disables it).
    ///
    /// Buffered items are **not on disk** until the buffer is flushed: when it is full, on
    /// [`AppendArray::flush`], [`AppendArray::sync`], [`AppendArray::update_header`] and on
    /// close. A crash loses them; the file still loads as a prefix of what was appended.
    /// Appends larger than the capacity bypass the buffer.
    pub fn buffer_capacity(mut self, bytes: usize) -> Self {
        self.buffer_capacity = bytes;
        self
    }

    /// Write small appends through a shared memory mapping of space reserved past the data,
    /// `bytes` at a time (0, the default, disables it). An append then costs a memory copy
    /// and the header update, no system call: several times faster than a `pwrite` for rows
    /// of a few hundred bytes. Blocks larger than an eighth of the window, and buffered
    /// appends, are written as usual. 1 MiB is a good window for rows of up to a few KiB.
    ///
    /// What a reader or a crash sees is the same as without it (the header counts only bytes
    /// already copied, and is updated after every append), except that
    /// while the handle is open, and after the process is killed, the file is longer than its
    /// data: the reserved space, ended by a 24-byte mark (the file's last bytes, which record
    /// its length) that says so. NumPy ignores both; [`recover`](crate::recover()) and the
    /// next [`AppendArray::open`] cut them, and so does [`close`](AppendArray::close). The
    /// mark is in the file's bytes: it needs no file system feature and survives any copy of
    /// the whole file, on any system. (A file cut short through its mark, such as a broken
    /// copy, loses it: its tail is then recovered like any other writer's.)
    ///
    /// Mapped mode needs the header to count every append: with
    /// [`rewrite_header_on_append(false)`](Self::rewrite_header_on_append) or
    /// [`Durability::EveryBytes`], appends are written as usual (their uncounted bytes must
    /// stay recoverable). Where space cannot be reserved (the disk is full) or the mapping
    /// fails, the handle silently goes on with positional writes. Like any memory-mapped file, a process that
    /// ignores the file's lock and truncates it while it is mapped makes the writer fault
    /// (SIGBUS).
    pub fn mapped_window(mut self, bytes: usize) -> Self {
        self.mapped_window = bytes;
        self
    }

    /// Shared mode (default false): any number of writers (processes, or handles in one
    /// process) hold the file open for appending at once.
    ///
    /// A shared handle does not keep the file's lock. Each operation that writes (an append,
    /// [`sync`](AppendArray::sync), [`close`](AppendArray::close)) takes it for its own
    /// duration, waiting for its turn (see [`lock_timeout`](Self::lock_timeout)), re-reads
    /// the header that the others committed, writes its block after their data, counts it in
    /// the header and lets go. Blocks land whole, in the order their appends took the lock,
    /// never interleaved; the dtype, shape and order rules are those of one writer. A
    /// handle opened before the file exists creates it with its first append, or appends to
    /// the file another writer created first. When several race to create it, one wins: its
    /// header is written to an unnamed file (`O_TMPFILE`), locked, and linked into place
    /// complete; the others find the name taken, open that file and wait for its lock. Where
    /// unnamed files are not available, the winner creates the name empty and then locks and
    /// writes it: a shared writer that finds an empty file under the lock writes the header
    /// for its own block there (an empty file holds nothing), and the creator, once it has
    /// the lock, appends to it as to a file that existed.
    ///
    /// A writer killed at any moment costs at most the block it was writing: before writing a
    /// block, its extent is marked as not data (the mark mapped mode uses, see
    /// [`mapped_window`](Self::mapped_window)), so that the rows of a torn block are cut, not
    /// counted, by the next shared append, the next [`AppendArray::open`] and
    /// [`recover`](crate::recover()). [`close`](AppendArray::close) cuts what killed writers
    /// left and removes the mark: once every writer has closed, the file is clean.
    ///
    /// [`AppendArray::shape`] is the shape as of this handle's last operation: other writers
    /// may have appended since.
    ///
    /// # Refused combinations
    /// [`open`](AppendArray::open_with) fails with [`Error::IncompatibleOptions`] when shared
    /// mode is combined with:
    /// - [`rewrite_header_on_append(false)`](Self::rewrite_header_on_append) or
    ///   [`Durability::EveryBytes`]: the others would not see the rows, and would write over
    ///   them;
    /// - [`buffer_capacity`](Self::buffer_capacity): buffered rows would be counted after
    ///   other writers' later appends, and would be lost without notice to them;
    /// - [`mapped_window`](Self::mapped_window): space reserved past the data cannot be held
    ///   by one writer while others append after it;
    /// - [`delete_if_exists`](Self::delete_if_exists): a writer that opens later would delete
    ///   what the others appended; delete the file before starting the writers.
    ///
    /// [`AppendArray::rollback_to`] is refused in shared mode (others may have appended after
    /// the savepoint).
    pub fn shared(mut self, yes: bool) -> Self {
        self.shared = yes;
        self
    }

    /// How long to wait for the file's lock: `None` waits as long as it takes, `Some(d)` at
    /// most `d` (`Some(Duration::ZERO)`: not at all). A wait that runs out fails with
    /// [`Error::Locked`] and changes nothing.
    ///
    /// In shared mode, every operation that writes waits for its turn; the default is to wait
    /// forever. An exclusive writer waits when it opens (and when its first append creates
    /// the file, if another writer created it first); the default is to fail at once, as
    /// before this option existed.
    pub fn lock_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.lock_timeout = Some(timeout);
        self
    }

    /// The wait for the lock: `None` forever, else at most that long.
    pub(super) fn lock_wait(&self) -> Option<Duration> {
        match self.lock_timeout {
            Some(timeout) => timeout,
            None if self.shared => None,
            None => crate::file::NO_WAIT,
        }
    }

    /// Refuses options that cannot work together: see [`shared`](Self::shared).
    pub(super) fn validate(&self) -> Result<()> {
        self.durability.check()?;
        if !self.shared {
            return Ok(());
        }
        let what = if !self.header_counts_every_append() {
            "shared mode needs the header rewritten on every append (rewrite_header_on_append \
             true, and no Durability::EveryBytes): the other writers read the count from it"
        } else if self.buffer_capacity > 0 {
            "shared mode does not buffer appends (buffer_capacity must be 0): buffered rows \
             would land after other writers' later appends"
        } else if self.mapped_window > 0 {
            "shared mode does not use mapped mode (mapped_window must be 0): one writer cannot \
             reserve space past the data while others append after it"
        } else if self.delete_if_exists {
            "shared mode does not delete an existing file (delete_if_exists must be false): a \
             writer that opens later would delete what the others appended; delete the file \
             before starting the writers"
        } else {
            return Ok(());
        };
        Err(Error::IncompatibleOptions { what })
    }

    /// Repair what a crash left before appending (default false): an existing file whose data
    /// does not match its header (a killed writer's uncounted rows, a cut last row, space a
    /// mapped-mode writer reserved) is recovered as [`recover`](crate::recover()) does, under
    /// the lock this handle then keeps, so that no other writer comes in between. Without it,
    /// such a file fails to open with [`Error::NeedsRecovery`](crate::Error::NeedsRecovery).
    /// [`AppendArray::recovered`] tells what was repaired. Ignored when
    /// [`delete_if_exists`](Self::delete_if_exists) starts a new file.
    pub fn recover(mut self, yes: bool) -> Self {
        self.recover = yes;
        self
    }

    /// True when small appends with these options usually make no system call: mapped mode
    /// is in effect (see [`mapped_window`](Self::mapped_window): not with the header rewrite
    /// off or [`Durability::EveryBytes`]) or appends are buffered, and no append syncs
    /// ([`Durability::None`] or [`Durability::OnClose`]). A front end holding a lock of its own
    /// (Python's GIL) may keep it around such an append: it is a memory copy, where
    /// releasing the lock would cost more. (A window or a full buffer is still written or
    /// reserved now and then.)
    pub fn small_appends_in_memory(&self) -> bool {
        (self.mapping_window() > 0 || self.buffer_capacity > 0)
            && matches!(self.durability, Durability::None | Durability::OnClose)
    }

    /// The window mapped mode uses, or 0 when it is off. It is off unless the header counts
    /// every append (header rewrite on, and no [`Durability::EveryBytes`], whose header lags
    /// behind on purpose): appended bytes the header does not count yet must stay
    /// recoverable data, and reserved space is cut, not recovered.
    pub(super) fn mapping_window(&self) -> usize {
        if self.header_counts_every_append() {
            self.mapped_window
        } else {
            0
        }
    }

    /// False in the modes where appended bytes may stay uncounted by the header for a while
    /// (header rewrite off, [`Durability::EveryBytes`]): such bytes are data to `recover`.
    pub(super) fn header_counts_every_append(&self) -> bool {
        self.rewrite_header_on_append && !matches!(self.durability, Durability::EveryBytes(_))
    }

    /// Opens `path` with these options: see [`AppendArray::open_with`].
    pub fn open(self, path: impl AsRef<Path>) -> Result<AppendArray> {
        AppendArray::open_with(path, self)
    }
}

/// Options for [`AppendArray::append_npy_file_with`]: a builder, as [`AppendOptions`] is.
///
/// ```
/// use npaa_core::{AppendArray, AppendFileOptions};
/// # let dir = tempfile::tempdir()?;
/// # let source = dir.path().join("chunk.npy");
/// # let chunk = AppendArray::open(&source)?;
/// # chunk.append(&[1.0f64, 2.0, 3.0], &[3])?;
/// # chunk.close()?;
/// let array = AppendArray::open(dir.path().join("all.npy"))?;
/// let mut copied = 0;
/// let options = AppendFileOptions::new().progress(|done, _total| copied = done);
/// assert_eq!(array.append_npy_file_with(&source, options)?, 3);
/// array.close()?;
/// assert_eq!(copied, 24);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct AppendFileOptions<'a> {
    pub(super) progress: Progress<'a>,
}

impl<'a> AppendFileOptions<'a> {
    /// The defaults: no progress calls.
    pub fn new() -> Self {
        Self::default()
    }

    /// Call `progress(bytes_done, bytes_total)` (bytes of the source's data) as the copy
    /// advances.
    pub fn progress(mut self, progress: impl FnMut(u64, u64) + 'a) -> Self {
        self.progress = Progress::new(progress);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durability_names_round_trip() {
        for d in [
            Durability::None,
            Durability::OnClose,
            Durability::EveryAppend,
            Durability::EveryBytes(4096),
        ] {
            assert_eq!(d.to_string().parse::<Durability>().unwrap(), d);
        }
        assert_eq!(
            "every:8MiB".parse::<Durability>().unwrap(),
            Durability::EveryBytes(8 << 20)
        );
        assert!(matches!(
            "every:0".parse::<Durability>(),
            Err(Error::ZeroSyncInterval)
        ));
        assert!(matches!(
            Durability::EveryBytes(0).check(),
            Err(Error::ZeroSyncInterval)
        ));
        let err = "sometimes".parse::<Durability>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown durability mode \"sometimes\" (expected none, close, append or \
             every:BYTES (BYTES > 0, e.g. 64M))"
        );
        assert!("every:x".parse::<Durability>().is_err());
        assert_eq!(parse_byte_count("64k").unwrap(), 65536);
        assert_eq!(parse_byte_count("1G").unwrap(), 1 << 30);
        assert!(parse_byte_count("99999999999T").is_err());
    }
}
