//! [`Sink`]: where an append's bytes go (the buffer, the mapped window, or `pwrite`),
//! converted to the file's dtype in bounded chunks.

use std::fs::File;
use std::path::Path;

use crate::cast::CastPlan;
use crate::error::{Error, Result};
use crate::sys::{self, PositionalIo};

use super::{CHUNK_ITEMS, OpenFile};

/// Where [`AppendArray::append_with`]'s fill function writes the block's bytes.
pub(crate) struct Sink<'a> {
    pub(super) file: &'a mut OpenFile,
    pub(super) path: &'a Path,
    pub(super) plan: &'a CastPlan,
    pub(super) buffered: bool,
    /// [`AppendOptions::mapped_window`]: 0, or the size of the reservations small writes are
    /// copied into.
    pub(super) window: usize,
    /// Bytes written so far, in the file's dtype.
    pub(super) written: u64,
}

impl Sink<'_> {
    /// Writes whole items in the block's dtype.
    pub(super) fn write(&mut self, src: &[u8]) -> Result<()> {
        let src_size = self.plan.src_itemsize();
        if src_size == 0 || src.is_empty() {
            return Ok(());
        }
        if !src.len().is_multiple_of(src_size) {
            return Err(Error::PartialItem {
                len: src.len() as u64,
                itemsize: src_size,
            });
        }
        if self.plan.is_identity() {
            return self.put(src);
        }
        let dst_size = self.plan.dst_itemsize();
        let mut scratch = std::mem::take(&mut self.file.scratch);
        let mut result = Ok(());
        for chunk in src.chunks(CHUNK_ITEMS * src_size) {
            let n = chunk.len() / src_size;
            scratch.resize(n * dst_size, 0);
            self.plan.convert(chunk, &mut scratch);
            result = self.put(&scratch);
            if result.is_err() {
                break;
            }
        }
        self.file.scratch = scratch;
        result
    }

    /// Writes `len` bytes of `src` starting at `offset` (data in the block's dtype).
    pub(super) fn copy_from(
        &mut self,
        src: &File,
        src_path: &Path,
        offset: u64,
        len: u64,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<()> {
        if self.plan.is_identity() && !self.buffered {
            let at = self.file.data_end + self.written;
            self.file
                .clear_way(at, len)
                .map_err(|e| Error::io(self.path, "giving back reserved space", e))?;
            sys::copy_range(src, offset, &self.file.file, at, len, &mut |done| {
                progress(done, len)
            })
            .map_err(|e| Error::io(self.path, "copying data", e))?;
            self.written += len;
            return Ok(());
        }
        let step = (CHUNK_ITEMS * self.plan.src_itemsize().max(1)) as u64;
        let mut buf = vec![0u8; len.min(step) as usize];
        let mut done = 0u64;
        while done < len {
            let n = (len - done).min(step) as usize;
            src.read_exact_at(&mut buf[..n], offset + done)
                .map_err(|e| Error::io(src_path, "reading data", e))?;
            self.write(&buf[..n])?;
            done += n as u64;
            progress(done, len);
        }
        Ok(())
    }

    /// Writes bytes already in the file's dtype.
    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        let at = self.file.data_end + self.written;
        if self.buffered {
            self.file.buffer.extend_from_slice(bytes);
        } else if !self.file.write_mapped(bytes, at, self.window) {
            self.file
                .clear_way(at, bytes.len() as u64)
                .map_err(|e| Error::io(self.path, "giving back reserved space", e))?;
            self.file
                .file
                .write_all_at(bytes, at)
                .map_err(|e| Error::io(self.path, "writing data", e))?;
        }
        self.written += bytes.len() as u64;
        Ok(())
    }
}
