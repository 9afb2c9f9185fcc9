//! Shared mode's turns: how a handle that holds its file without the lock takes the lock for
//! one operation, catches up with what the other writers committed, marks its block in flight
//! and lets go ([`OpenFile::take_turn`], [`OpenFile::mark_in_flight`]).

use std::path::Path;

use crate::error::{Error, Result};
use crate::file::{self, Locked, read_header_of};
use crate::header::Leniency;
use crate::sys::{self, PositionalIo};

use super::open_file::{MARK_WINDOW, OpenFile, Opener, with_header_buffer};

impl OpenFile {
    /// The handle of a shared-mode writer: records the calling process as the opener (see
    /// [`take_turn`](Self::take_turn)).
    pub(super) fn shared(mut self) -> Self {
        self.opened_by = Some(Opener::current());
        self
    }

    /// Shared mode: takes the file's lock (waiting at most `wait`) and brings this handle up
    /// to date with what the other writers committed ([`refresh`](Self::refresh); with
    /// `check_length`, the file's length is checked too, and a block a killed writer left in
    /// flight is cut). Release it with [`release`](Self::release).
    pub(super) fn take_turn(
        &mut self,
        path: &Path,
        wait: Option<std::time::Duration>,
        check_length: bool,
    ) -> Result<()> {
        if !self.opened_by.as_ref().is_some_and(Opener::is_current) {
            // A child forked since the file was opened shares the open file, and the lock is
            // the open file's: parent and child would both hold it. The child opens its own.
            let file =
                sys::open_rw(path).map_err(|e| Error::io(path, "opening for appending", e))?;
            self.window = None;
            self.map = None;
            self.file = Locked::unlocked(file);
            self.opened_by = Some(Opener::current());
        }
        file::acquire(&self.file, path, wait)?;
        let refreshed = self.refresh(path, check_length);
        if refreshed.is_err() {
            let _ = self.file.release();
        }
        refreshed
    }

    /// Releases the lock taken by [`take_turn`](Self::take_turn).
    pub(super) fn release(&self, path: &Path) -> Result<()> {
        self.file
            .release()
            .map_err(|e| Error::io(path, "releasing the lock", e))
    }

    /// Shared mode, under the lock: re-reads the count the writers committed. The file must
    /// still be the one this handle opened: same dtype, order, other dimensions and header
    /// length ([`Error::FileChanged`] otherwise).
    ///
    /// With `check_length`, or when the header is not the template's rendering, the file's
    /// length is checked against the count too, and a block a killed writer left in flight
    /// (marked as not data by [`mark_in_flight`](Self::mark_in_flight)) is cut. An append's
    /// turn skips that (a system call): it writes over such a block from its start, and
    /// whatever of the block lies past the append stays marked, for the next open, `recover`
    /// or close to cut. Bytes past the count are never counted either way: every append
    /// writes its own before counting them.
    fn refresh(&mut self, path: &Path, check_length: bool) -> Result<()> {
        let counted = match self.count_on_disk() {
            Some(growth) if !check_length => Some((growth, true, None)),
            _ => None,
        };
        let (growth, in_template, len) = match counted {
            Some(counted) => counted,
            None => {
                let len = sys::file_len(&self.file)
                    .map_err(|e| Error::io(path, "reading file metadata", e))?;
                let (growth, in_template) = self.parse_count(path, len)?;
                (growth, in_template, Some(len))
            }
        };
        let mut ours = self.header.clone();
        ours.shape[self.axis] = growth;
        let data_end = ours.data_len().map_err(|kind| Error::format(path, kind))? + self.header_len;
        match len {
            Some(len) if len > data_end && sys::is_reserved(&self.file, data_end, len) => {
                sys::cut_killed_reservation(&self.file, data_end, true)
                    .map_err(|e| Error::io(path, "cutting a block a killed writer left", e))?;
            }
            Some(len) if len != data_end => {
                return Err(Error::NeedsRecovery {
                    path: path.to_path_buf(),
                    expected: data_end - self.header_len,
                    present: len.saturating_sub(self.header_len),
                });
            }
            _ => {}
        }
        self.header.shape[self.axis] = growth;
        self.data_end = data_end;
        self.alloc_end = data_end;
        self.disk_digits = in_template.then(|| crate::fmt::decimal_len(growth));
        Ok(())
    }

    /// The growth count of the header on disk when it is this handle's template rendered for
    /// some count (what every npaa writer leaves): its digits are read at the template's
    /// offset and the header is rendered for them and compared, byte for byte. Read from the
    /// header's mapping once there is one (no system call), else with one `pread`; no
    /// parsing. `None` for any other header, or if it cannot be read (then
    /// [`parse_count`](Self::parse_count) decides, or says what is wrong).
    fn count_on_disk(&self) -> Option<u64> {
        let total = usize::try_from(self.header_len).ok()?;
        with_header_buffer(total, |buffer, rendered| {
            let disk = match &self.map {
                Some(map) => map.bytes(),
                None => {
                    self.file.read_exact_at(buffer, 0).ok()?;
                    buffer
                }
            };
            let digits = disk
                .get(self.digits_offset..)
                .unwrap_or_default()
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .try_fold(0u64, |n, &d| {
                    n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
                });
            digits.filter(|&growth| {
                self.template.render_into(growth, self.version, rendered) && rendered == disk
            })
        })
    }

    /// The growth count of the header on disk, parsed, when it is not this handle's template
    /// (written in another spelling): the header must still describe this handle's array
    /// ([`Error::FileChanged`] otherwise). Also tells whether it is the template's rendering.
    fn parse_count(&self, path: &Path, len: u64) -> Result<(u64, bool)> {
        let (parsed, template) = read_header_of(&self.file, path, Leniency::Strict, len)?;
        let growth = parsed.header.shape.get(self.axis).copied().unwrap_or(0);
        let mut ours = self.header.clone();
        ours.shape[self.axis] = growth;
        if parsed.header != ours || parsed.header_len != self.header_len {
            return Err(Error::FileChanged {
                path: path.to_path_buf(),
                what: format!(
                    "its header now describes another array (dtype {}, shape {}), not the one \
                     this shared writer opened",
                    parsed.header.dtype.descr(),
                    crate::fmt::fmt_shape(&parsed.header.shape)
                ),
            });
        }
        Ok((growth, template.is_some()))
    }

    /// Shared mode, under the lock, before writing a block of `bytes` at the end of the data:
    /// makes sure its extent lies in reserved space (ended by the mark of
    /// [`sys::set_reserved_mark`]), so that if this process is killed while writing it, the
    /// rows that reached the file are cut, not counted. The reservation reaches
    /// [`MARK_WINDOW`] past the block: the next appends find their extent reserved and pay
    /// only for checking it (the file's length and its last bytes). Bytes past the count
    /// that no mark covers are refused ([`Error::NeedsRecovery`]): they are not ours to
    /// overwrite.
    pub(super) fn mark_in_flight(&self, path: &Path, bytes: u64) -> Result<()> {
        let end = self.data_end + bytes;
        let len =
            sys::file_len(&self.file).map_err(|e| Error::io(path, "reading file metadata", e))?;
        if len > self.data_end {
            if !sys::is_reserved(&self.file, self.data_end, len) {
                return Err(Error::NeedsRecovery {
                    path: path.to_path_buf(),
                    expected: self.data_end - self.header_len,
                    present: len - self.header_len,
                });
            }
            if len >= end + sys::MARK_LEN {
                return Ok(());
            }
        }
        sys::set_reserved_mark(&self.file, end.saturating_add(MARK_WINDOW))
            .map_err(|e| Error::io(path, "marking the block in flight", e))
    }

    /// Shared mode, under the lock, when the handle closes: no block is in flight (the lock
    /// is held), so the reserved space past the data goes, and its mark with it; the next
    /// shared append reserves again. On Windows, while a reader's mapping forbids the cut,
    /// the space stays, marked, for a later close, open or `recover` to cut.
    pub(super) fn clear_mark(&self, path: &Path) -> Result<()> {
        let len =
            sys::file_len(&self.file).map_err(|e| Error::io(path, "reading file metadata", e))?;
        if len > self.data_end && sys::is_reserved(&self.file, self.data_end, len) {
            sys::unreserve_unless_mapped(&self.file, self.data_end)
                .map_err(|e| Error::io(path, "giving back the reserved space", e))?;
        }
        Ok(())
    }
}
