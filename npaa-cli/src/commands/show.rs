//! `npaa show`: print an array as NumPy's `print` does, in constant memory.
//!
//! Only the printed elements are read: all of them with `--full` or up to NumPy's threshold,
//! the edge items of every long axis otherwise. They are read twice through a small block
//! cache: once to fix the column widths (as NumPy's first pass does), once to print. A read
//! covers the next printed items that lie within one block, so a summarised array of any
//! size costs a few small reads. Fortran-order files are read in the printed (C) order with
//! strided reads (one item per read where the items lie more than a page apart).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use anyhow::{Context, anyhow, bail};
use npaa_core::Order;

use super::Status;
use crate::cli::{Rows, ShowArgs};
use crate::report::core_error;
use crate::show::{Axis, Plan, THRESHOLD, write_array};

/// Bytes read at once, at most.
const BLOCK: usize = 1 << 20;

/// The largest gap between two printed items that one read spans (one page): a wider one
/// costs more to read than a second read does.
const GAP: u64 = 4096;

pub fn run(args: &ShowArgs, out: &mut dyn Write) -> anyhow::Result<Status> {
    let path = args.file.as_path();
    let info = npaa_core::inspect(path).map_err(|e| core_error(path, e))?;
    info.require_complete().map_err(|e| core_error(path, e))?;
    let header = &info.header;
    let mut plan = Plan::new(header.dtype(), !args.full).map_err(|why| {
        anyhow!(
            "{}: cannot show dtype {}: {why}",
            path.display(),
            header.dtype().descr()
        )
    })?;
    let file = File::open(path).with_context(|| format!("{}: opening", path.display()))?;
    let mut reader = Reader {
        source: Source::File(file),
        path,
        data_start: info.header_len,
        itemsize: header.dtype().itemsize() as u64,
        block: Vec::new(),
        block_start: 0,
    };

    let Some(&rows) = header.shape().first() else {
        if args.rows.is_some() {
            bail!("{}: holds a 0-d array, which has no rows", path.display());
        }
        return print_scalar(&mut plan, &mut reader, 0, out);
    };
    let (start, stop) = match args.rows {
        None => (0, rows),
        Some(selection) => selection
            .resolve(rows)
            .map_err(|why| anyhow!("{}: --rows: {why}", path.display()))?,
    };
    let index_only = matches!(args.rows, Some(Rows::Index(_)));
    let layout = Layout::new(header.shape(), header.order() == Order::Fortran, start);
    if index_only && header.shape().len() == 1 {
        // `print(arr[N])` of a 1-D array prints the scalar.
        return print_scalar(&mut plan, &mut reader, layout.element([0]), out);
    }
    let mut selected = header.shape().to_vec();
    selected[0] = stop - start;
    print_selection(
        &mut plan,
        &mut reader,
        &selected,
        &layout,
        !args.full,
        index_only,
        out,
    )
}

/// Prints `block`, rows of `path` in memory (`shape`, in the file's dtype and order), as
/// `print(block)` does: what `npaa tail` prints.
pub fn print_block(
    path: &Path,
    dtype: &npaa_core::Dtype,
    shape: &[u64],
    fortran: bool,
    block: &[u8],
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let mut plan = Plan::new(dtype, true).map_err(|why| {
        anyhow!(
            "{}: cannot show dtype {}: {why}",
            path.display(),
            dtype.descr()
        )
    })?;
    let mut reader = Reader {
        source: Source::Memory(block),
        path,
        data_start: 0,
        itemsize: dtype.itemsize() as u64,
        block: Vec::new(),
        block_start: 0,
    };
    let layout = Layout::new(shape, fortran, 0);
    print_selection(&mut plan, &mut reader, shape, &layout, true, false, out)?;
    Ok(())
}

/// Prints the items of `selected` (the shape printed, its first axis from `layout`'s start)
/// as NumPy prints an array, summarised when `summarise` and it is large; with
/// `index_only`, without its first axis (`print(arr[N])`).
fn print_selection(
    plan: &mut Plan,
    reader: &mut Reader<'_>,
    selected: &[u64],
    layout: &Layout,
    summarise: bool,
    index_only: bool,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    if selected.contains(&0) {
        writeln!(out, "[]")?;
        return Ok(Status::Ok);
    }
    // The core checked that the shape's element count fits in u64.
    let size: u64 = selected.iter().product();
    let summarise = summarise && size > THRESHOLD;
    let axes: Vec<Axis> = selected
        .iter()
        .map(|&len| Axis::new(len, summarise))
        .collect();
    let items = Items::new(&axes, layout);

    // Pass 1: the statistics NumPy's formatters take from the printed items.
    let mut pass = items.clone();
    while let Some(element) = pass.next() {
        plan.observe(reader.item(element, pass.clone())?);
    }
    plan.finish();

    // Pass 2: print, streaming. `arr[N]` is printed without its first axis (of length 1).
    let mut pass = items;
    let mut next = || -> io::Result<String> {
        let element = pass.next().ok_or_else(|| {
            io::Error::other("npaa show: the layout asked for more items than it printed")
        })?;
        Ok(plan.format(reader.item(element, pass.clone())?))
    };
    let printed = if index_only { &axes[1..] } else { &axes[..] };
    write_array(out, printed, &mut next)?;
    Ok(Status::Ok)
}

/// Prints element number `element` as `print` prints a NumPy scalar (or a 0-d array).
fn print_scalar(
    plan: &mut Plan,
    reader: &mut Reader<'_>,
    element: u64,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    let item = reader.item(element, std::iter::empty())?.to_vec();
    plan.observe(&item);
    plan.finish();
    writeln!(out, "{}", plan.format_scalar(&item))?;
    Ok(Status::Ok)
}

/// The file element numbers of the printed items, in printed (C) order.
#[derive(Clone)]
struct Items<'a> {
    axes: &'a [Axis],
    layout: &'a Layout,
    /// The printed position along each axis (`< axes[i].count()`), or `None` when done.
    position: Option<Vec<u64>>,
}

impl<'a> Items<'a> {
    fn new(axes: &'a [Axis], layout: &'a Layout) -> Self {
        Items {
            axes,
            layout,
            position: Some(vec![0; axes.len()]),
        }
    }
}

impl Iterator for Items<'_> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        let position = self.position.as_mut()?;
        let index = position
            .iter()
            .zip(self.axes)
            .map(|(&i, axis)| axis.index(i));
        let element = self.layout.element(index);
        // Step the C-order position; past the last one, the iteration is over.
        let mut more = false;
        for axis in (0..position.len()).rev() {
            position[axis] += 1;
            if position[axis] < self.axes[axis].count() {
                more = true;
                break;
            }
            position[axis] = 0;
        }
        if !more {
            self.position = None;
        }
        Some(element)
    }
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

    /// The element number of the multi-index `index` (one entry per axis).
    fn element(&self, index: impl IntoIterator<Item = u64>) -> u64 {
        index
            .into_iter()
            .zip(&self.strides)
            .enumerate()
            .map(|(axis, (i, &s))| {
                if axis == 0 {
                    (i + self.start) * s
                } else {
                    i * s
                }
            })
            .sum()
    }
}

/// Where the items are: a file, read through a cache of one block, or memory (a block of
/// rows `npaa tail` has mapped).
enum Source<'a> {
    File(File),
    Memory(&'a [u8]),
}

/// Reads items through a cache of one block (or straight from memory).
struct Reader<'a> {
    source: Source<'a>,
    path: &'a Path,
    data_start: u64,
    itemsize: u64,
    block: Vec<u8>,
    /// File offset of `block[0]`.
    block_start: u64,
}

impl Reader<'_> {
    /// The bytes of element number `element`. On a cache miss, the read also covers the
    /// elements `upcoming` yields next, as long as each follows the previous one in the file
    /// by at most [`GAP`] bytes and all lie within [`BLOCK`] bytes; nothing past the last of
    /// them is read.
    fn item(&mut self, element: u64, upcoming: impl Iterator<Item = u64>) -> io::Result<&[u8]> {
        let offset = self.data_start + element * self.itemsize;
        let end = offset + self.itemsize;
        let file = match &self.source {
            Source::Memory(bytes) => {
                return bytes.get(offset as usize..end as usize).ok_or_else(|| {
                    io::Error::other(format!(
                        "{}: item {element} lies past the rows read",
                        self.path.display()
                    ))
                });
            }
            Source::File(file) => file,
        };
        let cached =
            offset >= self.block_start && end <= self.block_start + self.block.len() as u64;
        if !cached {
            let limit = offset + (BLOCK as u64).max(self.itemsize);
            let mut read_end = end;
            for next in upcoming {
                let next_start = self.data_start + next * self.itemsize;
                let next_end = next_start + self.itemsize;
                if next_start < read_end || next_start - read_end > GAP || next_end > limit {
                    break;
                }
                read_end = next_end;
            }
            self.block.resize((read_end - offset) as usize, 0);
            let mut reader: &File = file;
            reader
                .seek(SeekFrom::Start(offset))
                .and_then(|_| reader.read_exact(&mut self.block))
                .map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!("{}: reading data: {e}", self.path.display()),
                    )
                })?;
            self.block_start = offset;
        }
        let at = (offset - self.block_start) as usize;
        Ok(&self.block[at..at + self.itemsize as usize])
    }
}
