//! `npaa show`: print items as NumPy's `print` does, in constant memory.
//!
//! The selected rows are read twice through a small block cache: once to fix the column
//! widths (as NumPy's first pass does), once to print. Fortran-order files are read in the
//! printed (C) order with strided reads.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use anyhow::{anyhow, bail};

use super::Status;
use crate::cli::ShowArgs;
use crate::report::{core_error, open_for_reading, require_complete};
use crate::show::{Plan, write_array};

/// Bytes read at once.
const BLOCK: usize = 1 << 20;

pub fn run(args: &ShowArgs, out: &mut dyn Write) -> anyhow::Result<Status> {
    let path = args.file.as_path();
    let info = npaa_core::inspect(path).map_err(|e| core_error(path, e))?;
    require_complete(path, &info)?;
    let header = &info.header;
    let mut plan = Plan::new(&header.dtype).map_err(|why| {
        anyhow!(
            "{}: cannot show dtype {}: {why}",
            path.display(),
            header.dtype.descr()
        )
    })?;
    let file = open_for_reading(path)?;
    let mut reader = Reader {
        file,
        path,
        data_start: info.header_len,
        data_end: info.header_len + info.data_expected,
        itemsize: header.dtype.itemsize(),
        block: Vec::new(),
        block_start: 0,
    };

    if header.shape.is_empty() {
        if args.rows.is_some() {
            bail!("{}: holds a 0-d array, which has no rows", path.display());
        }
        let item = reader.item(0)?.to_vec();
        plan.observe(&item);
        plan.finish();
        writeln!(out, "{}", plan.format_scalar(&item))?;
        return Ok(Status::Ok);
    }

    let (start, stop) = args
        .rows
        .map_or((0, header.shape[0]), |rows| rows.resolve(header.shape[0]));
    let mut selected = header.shape.clone();
    selected[0] = stop - start;
    if selected.contains(&0) {
        writeln!(out, "[]")?;
        return Ok(Status::Ok);
    }
    let layout = Layout::new(&header.shape, header.fortran_order, start);

    // Pass 1: the statistics NumPy's formatters take from the whole array.
    let mut index = vec![0u64; selected.len()];
    loop {
        plan.observe(reader.item(layout.element(&index))?);
        if !advance(&mut index, &selected) {
            break;
        }
    }
    plan.finish();

    // Pass 2: print, streaming.
    let mut index = vec![0u64; selected.len()];
    let mut next = || -> io::Result<String> {
        let text = plan.format(reader.item(layout.element(&index))?);
        advance(&mut index, &selected);
        Ok(text)
    };
    write_array(out, &selected, &mut next)?;
    Ok(Status::Ok)
}

/// Steps a C-order multi-index; false after the last element.
fn advance(index: &mut [u64], shape: &[u64]) -> bool {
    for axis in (0..index.len()).rev() {
        index[axis] += 1;
        if index[axis] < shape[axis] {
            return true;
        }
        index[axis] = 0;
    }
    false
}

/// Maps a multi-index of the selection to the element number in the file.
struct Layout {
    /// Element strides of each axis in the file.
    strides: Vec<u64>,
    /// First selected row.
    start: u64,
}

impl Layout {
    fn new(shape: &[u64], fortran: bool, start: u64) -> Self {
        let n = shape.len();
        let mut strides = vec![1u64; n];
        if fortran {
            for axis in 1..n {
                strides[axis] = strides[axis - 1] * shape[axis - 1];
            }
        } else {
            for axis in (0..n.saturating_sub(1)).rev() {
                strides[axis] = strides[axis + 1] * shape[axis + 1];
            }
        }
        Layout { strides, start }
    }

    fn element(&self, index: &[u64]) -> u64 {
        index
            .iter()
            .zip(&self.strides)
            .enumerate()
            .map(|(axis, (&i, &s))| {
                if axis == 0 {
                    (i + self.start) * s
                } else {
                    i * s
                }
            })
            .sum()
    }
}

/// Reads items through a cache of one block.
struct Reader<'a> {
    file: File,
    path: &'a Path,
    data_start: u64,
    data_end: u64,
    itemsize: usize,
    block: Vec<u8>,
    /// File offset of `block[0]`.
    block_start: u64,
}

impl Reader<'_> {
    /// The bytes of element number `element`.
    fn item(&mut self, element: u64) -> io::Result<&[u8]> {
        let offset = self.data_start + element * self.itemsize as u64;
        let end = offset + self.itemsize as u64;
        let cached =
            offset >= self.block_start && end <= self.block_start + self.block.len() as u64;
        if !cached {
            let len = (self.data_end - offset).min(BLOCK.max(self.itemsize) as u64) as usize;
            self.block.resize(len, 0);
            self.file
                .read_exact_at(&mut self.block, offset)
                .map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!("{}: reading data: {e}", self.path.display()),
                    )
                })?;
            self.block_start = offset;
        }
        let at = (offset - self.block_start) as usize;
        Ok(&self.block[at..at + self.itemsize])
    }
}
